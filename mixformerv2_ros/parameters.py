"""The tracking node's parameters: one table gives names, defaults, descriptors, ranges and validation.

``stage`` says when a value is read: ``start`` (construction only; a ``read_only`` descriptor), ``configure``
(model loading), ``activate`` (topics, QoS, frame buffer) or ``runtime`` (read every frame; may change at any
time). Changing a configure/activate parameter while it is in use is refused with the reason, so a running node
never silently ignores a change.

Tracker parameters are "unset" by default (``preset`` '', ``search_factor`` 0.0, ``update_interval`` 0,
``update_threshold`` and ``tight_search_factor`` -1.0): the node then passes None and the core resolves the
value (user-set > preset > checkpoint's stored defaults > variant default), exactly as ``mixformerv2-track``
does.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType

from mixformerv2_core.tracker import TrackerParams

_PYTHON_TO_ROS_TYPE = {
    bool: ParameterType.PARAMETER_BOOL,
    int: ParameterType.PARAMETER_INTEGER,
    float: ParameterType.PARAMETER_DOUBLE,
    str: ParameterType.PARAMETER_STRING,
}


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    default: Any
    description: str
    stage: str = "runtime"
    value_range: Optional[tuple[float, float]] = None
    choices: Optional[Sequence[str]] = None

    def descriptor(self) -> ParameterDescriptor:
        constraints = []
        if self.choices is not None:
            constraints.append("one of: " + ", ".join(repr(choice) for choice in self.choices))
        if self.stage == "start":
            constraints.append("read at start-up only")
        elif self.stage != "runtime":
            constraints.append(f"read on {self.stage}; change it while the node is not {self.stage}d")
        descriptor = ParameterDescriptor(
            name=self.name,
            type=_PYTHON_TO_ROS_TYPE[type(self.default)],
            description=self.description,
            additional_constraints="; ".join(constraints),
            read_only=self.stage == "start",
        )
        if self.value_range is not None and isinstance(self.default, float):
            descriptor.floating_point_range = [
                FloatingPointRange(from_value=float(self.value_range[0]), to_value=float(self.value_range[1]), step=0.0)]
        elif self.value_range is not None and isinstance(self.default, int) and not isinstance(self.default, bool):
            descriptor.integer_range = [
                IntegerRange(from_value=int(self.value_range[0]), to_value=int(self.value_range[1]), step=1)]
        return descriptor


PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("autostart", True, "Configure and activate right after start-up.", stage="start"),
    # model (read on configure)
    ParameterSpec("weights", "", "Weights file: an official MixFormerV2 .pth.tar or a mixformerv2 checkpoint.",
                  stage="configure"),
    ParameterSpec("variant", "", "Expected variant ('B', 'S'); empty accepts whatever the weights hold.",
                  stage="configure", choices=("", "B", "S")),
    ParameterSpec("backend", "torch", "Inference backend (see mixformerv2_core.backends.available_backends()).",
                  stage="configure"),
    ParameterSpec("device", "cpu", "Inference device: 'cpu', 'cuda' or 'cuda:N'.", stage="configure"),
    ParameterSpec("precision", "", "Inference precision: '' (float32), 'float32', 'float16' (CUDA), 'bfloat16', "
                  "'int8' (onnx backend).", stage="configure", choices=("", "float32", "float16", "bfloat16", "int8")),
    ParameterSpec("backend_threads", 0, "CPU threads of the inference backend; 0 keeps the backend's default.",
                  stage="configure", value_range=(0, 256)),
    ParameterSpec("onnx_bundle_dir", "", "Exported ONNX bundle (mixformerv2-export) for the onnx backends; empty "
                  "exports one into the cache on first configure.", stage="configure"),
    ParameterSpec("preset", "", "Tracker preset of the official scripts (e.g. 'lasot', 'got10k_test'); '' or "
                  "'default': none.", stage="configure"),
    ParameterSpec("search_factor", 0.0, "Search region size relative to the box; 0: unset (preset > checkpoint > "
                  "variant default).", stage="configure", value_range=(0.0, 10.0)),
    ParameterSpec("tight_search_factor", -1.0, "A second, tighter search window around a tracked target's box "
                  "(same batch, about twice the network's work; the better-scoring window's box is kept); 0: off; "
                  "negative: unset (checkpoint > tracker default, off).", stage="configure",
                  value_range=(-1.0, 10.0)),
    ParameterSpec("color_order", "rgb", "Channel order handed to the tracker; match the camera ('bgr' for bgr8) "
                  "so frames need no copy.", stage="configure", choices=("rgb", "bgr")),
    # tracking (read every frame)
    ParameterSpec("update_interval", 0, "Frames between online template updates; 0: unset (preset > checkpoint > "
                  "variant default, resolved on configure).", value_range=(0, 100000)),
    ParameterSpec("update_threshold", -1.0, "Minimum score of a frame to become the online template; negative: "
                  "unset (preset > checkpoint > variant default, resolved on configure).", value_range=(-1.0, 1.0)),
    ParameterSpec("lost_threshold", -1.0, "A frame scoring below this counts as not seen: the target turns "
                  "'uncertain', and 'lost' after lost_after such frames (results[1], diagnostics, debug image); "
                  f"negative: unset (checkpoint > tracker default {TrackerParams.lost_threshold}).",
                  value_range=(-1.0, 1.0)),
    ParameterSpec("lost_after", 0, "Frames in a row under lost_threshold before a target is lost; 0: unset "
                  f"(tracker default {TrackerParams.lost_after}).", value_range=(0, 1000)),
    ParameterSpec("reacquire", "", "Search for a lost target with wider windows: 'wide' or 'off' (the official "
                  "tracker); '': unset ('wide', or 'off' under a benchmark preset).", choices=("", "wide", "off")),
    ParameterSpec("reacquire_threshold", -1.0, "Score a lost target's window needs to count as found; negative: "
                  f"unset (checkpoint > tracker default {TrackerParams.reacquire_threshold}).",
                  value_range=(-1.0, 1.0)),
    ParameterSpec("found_after", 0, "Frames in a row found at the same place before a lost target is "
                  f"re-acquired; 0: unset (tracker default {TrackerParams.found_after}).", value_range=(0, 1000)),
    ParameterSpec("reacquire_windows", 0, "Most search windows per lost target and frame (its cost: about one "
                  f"step each, in one batch); 0: unset (tracker default {TrackerParams.reacquire_windows}).",
                  value_range=(0, 64)),
    ParameterSpec("reacquire_similarity", -1.0, "Colour-histogram correlation with the target's first pixels "
                  "that a lost target's find needs (look-alikes of other colours are not re-acquired); 0: no "
                  f"check; negative: unset (tracker default {TrackerParams.reacquire_similarity}).",
                  value_range=(-1.0, 1.0)),
    ParameterSpec("label", "object", "results[0].hypothesis.class_id of every target, tracked or lost."),
    ParameterSpec("max_targets", 8, "Most targets tracked at once; further init requests are refused.",
                  value_range=(1, 256)),
    ParameterSpec("click_target_id", "click", "Target id given to a box made of two rqt_image_view clicks."),
    ParameterSpec("debug_image_scale", 1.0, "Scale of ~/debug_image relative to the input image.",
                  value_range=(0.05, 1.0)),
    ParameterSpec("max_image_side", 8192, "Largest accepted image width/height in px, checked before decoding "
                  "(raw: message fields; compressed: the PNG/JPEG header).", value_range=(16, 65536)),
    ParameterSpec("loss_warn_share", 0.05, "/diagnostics goes WARN when more than this share of recent frames "
                  "never reached the node (estimated from header stamp gaps).", value_range=(0.0, 1.0)),
    ParameterSpec("warn_throttle_sec", 5.0, "Shortest interval between two warnings of the same kind.",
                  value_range=(0.0, 3600.0)),
    # topics (read on activate)
    ParameterSpec("image_transport", "raw", "'raw' subscribes to image (sensor_msgs/Image), 'compressed' to "
                  "image/compressed (sensor_msgs/CompressedImage).", stage="activate", choices=("raw", "compressed")),
    ParameterSpec("qos_reliability", "best_effort", "Image subscription reliability (REP-2003: best_effort).",
                  stage="activate", choices=("best_effort", "reliable")),
    ParameterSpec("qos_depth", 1, "Image subscription queue depth (keep last).", stage="activate",
                  value_range=(1, 100)),
    ParameterSpec("mouse_topic", "", "geometry_msgs/Point clicks; empty uses rqt_image_view's "
                  "'<image topic>_mouse_left'.", stage="activate"),
    ParameterSpec("frame_buffer_size", 30, "Recent frames kept to match an init message's stamp.",
                  stage="activate", value_range=(1, 300)),
    ParameterSpec("diagnostics_period", 1.0, "Seconds between /diagnostics messages.", stage="start",
                  value_range=(0.05, 60.0)),
)

SPECS = {spec.name: spec for spec in PARAMETERS}
_DEVICE_PATTERN = re.compile(r"^(cpu|cuda(:\d+)?)$")


def check_value(name: str, value: Any, backends: Sequence[str] = ()) -> Optional[str]:
    """The reason why ``value`` is not acceptable for parameter ``name``, or None when it is."""
    spec = SPECS.get(name)
    if spec is None:
        return None  # not ours (e.g. use_sim_time)
    if isinstance(spec.default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not type(spec.default):
        return f"{name} must be a {type(spec.default).__name__}, got {type(value).__name__}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name} must be finite, got {value}"
    if spec.value_range is not None and not spec.value_range[0] <= value <= spec.value_range[1]:
        return f"{name} must lie in [{spec.value_range[0]}, {spec.value_range[1]}], got {value}"
    if spec.choices is not None and value not in spec.choices:
        return f"{name} must be one of {list(spec.choices)}, got {value!r}"
    if name == "device" and not _DEVICE_PATTERN.match(value):
        return f"device must be 'cpu', 'cuda' or 'cuda:N', got {value!r}"
    if name == "backend" and backends and value not in backends:
        return f"backend must be one of {list(backends)}, got {value!r}"
    if name in ("label", "click_target_id") and not value:
        return f"{name} must not be empty"
    return None


UNSET_AT_RUNTIME = "is resolved on configure: clean the node up and configure it again to unset it"


# Target-state settings the tracker reads every frame; the node hands changes to set_state_settings().
STATE_SETTINGS = ("lost_threshold", "lost_after", "reacquire", "reacquire_threshold", "found_after",
                  "reacquire_windows", "reacquire_similarity")
TRACKER_SETTINGS = ("preset", "search_factor", "tight_search_factor", "update_interval",
                    "update_threshold") + STATE_SETTINGS


def is_unset(name: str, value: Any) -> bool:
    """Whether ``value`` is the "unset" sentinel of tracker parameter ``name``."""
    if name in ("preset", "reacquire"):
        return value in ("", "default")
    if name in ("search_factor", "update_interval", "lost_after", "found_after", "reacquire_windows"):
        return value == 0
    if name in ("update_threshold", "reacquire_threshold", "lost_threshold", "reacquire_similarity",
                "tight_search_factor"):
        return value < 0
    return False


def tracker_overrides(get: Callable[[str], Any], names: tuple[str, ...] = TRACKER_SETTINGS) -> dict[str, Any]:
    """The tracker settings the user set (``get(name)`` reads a parameter); None for every unset one."""
    return {name: None if is_unset(name, get(name)) else get(name) for name in names}
