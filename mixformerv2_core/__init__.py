"""MixFormerV2 core: network, checkpoints, tracker. Free of ROS imports by design."""
from .checkpoint import CheckpointError, load_model, read_checkpoint, save_checkpoint
from .config import VARIANTS, ModelConfig
from .models import MixFormerV2, build_model
from .tracker import (
    MixFormerV2Tracker,
    MultiTargetTracker,
    TrackerParams,
    TrackResult,
    load_tracker,
    resolve_params,
)

__version__ = "0.1.0"

__all__ = [
    "CheckpointError", "MixFormerV2", "MixFormerV2Tracker", "ModelConfig", "MultiTargetTracker", "TrackResult",
    "TrackerParams", "VARIANTS", "build_model", "load_model", "load_tracker", "read_checkpoint", "resolve_params",
    "save_checkpoint",
]
