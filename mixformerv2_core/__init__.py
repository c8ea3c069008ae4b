"""MixFormerV2 core: network, checkpoints, tracker. Free of ROS imports by design."""
import os

# A tracker shares its CPU with the rest of the robot. With OpenMP's default busy-waiting, idle torch threads
# spin between the small per-frame kernels and starve everything else, the tracker included (measured: the
# demo model's step took 325 ms instead of 3 ms on two busy cores). It must be set before torch loads
# OpenMP; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .checkpoint import CheckpointError, load_model, read_checkpoint, save_checkpoint
from .config import VARIANTS, ModelConfig
from .models import MixFormerV2, build_model
from .tracker import (
    MixFormerV2Tracker,
    MultiTargetTracker,
    TargetState,
    TrackerParams,
    TrackResult,
    DEFAULT_LOST_THRESHOLD,
    is_lost,
    load_tracker,
    resolve_params,
)

__version__ = "0.1.0"

__all__ = [
    "CheckpointError", "DEFAULT_LOST_THRESHOLD", "MixFormerV2", "MixFormerV2Tracker", "ModelConfig", "MultiTargetTracker", "TargetState",
    "TrackResult",
    "TrackerParams", "VARIANTS", "build_model", "is_lost", "load_model", "load_tracker", "read_checkpoint", "resolve_params",
    "save_checkpoint",
]
