"""The MixFormerV2 tracking procedure (docs/tracker.md): one batched forward per frame for all targets.

Per target: crop the search region around the previous box, run the network, map the box back, clip it,
and keep the best-scoring crop of each ``update_interval`` frames as the next online template (falling back
to the initial template when nothing scored above the threshold).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Hashable, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from .backends import InferenceBackend, create_backend
from .backends.base import NetworkInput
from .checkpoint import LoadedCheckpoint, read_checkpoint
from .config import VARIANT_TRACKING, CropSpec, ModelConfig, tracking_defaults
from .geometry import Box, CropWindow, clip_box, crop_window, map_box_back, validate_box, validate_init_box
from .preprocessing import check_color_order, check_frame
from .reacquire import (REACQUIRE_MODES, appearance_proposals, best_window, colour_histogram, is_near, looks_like,
                        search_windows, target_patch, window_anchor)
from .target_state import DEFAULT_LOST_THRESHOLD, StateRules, TargetState, TargetStateMachine, is_lost
from .tracker_crops import crops_for

# Every default comes from the variant table (config.VARIANT_TRACKING); a tracker resolves them for its model.
TRACKER_PRESETS = {name: dict(row.presets) for name, row in VARIANT_TRACKING.items()}


@dataclass
class TrackerParams:
    """Tracking hyper-parameters. ``None`` means "the model's default": the row of its variant in
    ``config.VARIANT_TRACKING`` (B 5.0, S 4.4 search factor; template factor 2.0, update every 200 frames
    above 0.5), filled in when a tracker is built for a model.

    Only one online template is supported: the official code's ``online_size > 1`` path crashes (docs/tracker.md, "Deviations").

    Target states and re-acquisition (docs/tracker.md, ``target_state``, ``reacquire``): a target is
    ``uncertain`` after a frame scoring under ``lost_threshold`` and ``lost`` after ``lost_after`` such frames
    in a row; it is ``reacquired`` after ``found_after`` frames in a row at or above ``reacquire_threshold`` whose
    box has the target's colours (``reacquire_similarity``, a histogram correlation with its first pixels).
    ``reacquire="wide"`` (plain use, the robot's default) searches a lost target with up to
    ``reacquire_windows`` windows per frame in one batch, keeps its box where it was last seen until found,
    and takes online templates only from ``tracking`` frames. ``"off"`` is the official tracker (the default
    of every benchmark preset): the state is reported, and changes nothing. ``None`` in any of these means
    "not set" too (entry points pass it through); it takes the default written here.

    ``tight_search_factor`` (0: off, the official tracker) adds a second, tighter search window around the box
    of a target that is not lost, in the same batch, and keeps the box of the better-scoring window: a small
    network loses fewer targets to a look-alike inside the wide window, at about twice the network's work
    (docs/tracker.md, "A tighter second window"). Weights trained for it store it (mixformerv2-export).
    """

    search_factor: Optional[float] = None
    template_factor: Optional[float] = None
    update_interval: Optional[int] = None
    update_threshold: Optional[float] = None
    max_score_decay: float = 1.0
    clip_margin: float = 10.0
    use_cache: bool = True
    color_order: str = "rgb"
    reacquire: str = "wide"
    lost_threshold: float = StateRules.lost_threshold
    lost_after: int = StateRules.lost_after
    reacquire_threshold: float = StateRules.reacquire_threshold
    found_after: int = StateRules.found_after
    reacquire_windows: int = 3
    reacquire_similarity: float = 0.6
    tight_search_factor: float = 0.0

    def state_rules(self) -> StateRules:
        return StateRules(self.lost_threshold, self.lost_after, self.reacquire_threshold, self.found_after)

    def validate(self) -> "TrackerParams":
        for name in _STATE_SETTINGS + ("tight_search_factor",):  # None = not set: the default written here
            if getattr(self, name) is None:
                setattr(self, name, _FIELD_DEFAULTS[name])
        problems = []
        if self.search_factor is not None and not (self.search_factor > 0 and math.isfinite(self.search_factor)):
            problems.append(f"search_factor must be positive, got {self.search_factor}")
        if self.template_factor is not None and not self.template_factor > 0:
            problems.append(f"template_factor must be positive, got {self.template_factor}")
        if self.update_interval is not None and (
                int(self.update_interval) != self.update_interval or self.update_interval < 1):
            problems.append(f"update_interval must be a positive integer, got {self.update_interval}")
        if self.update_threshold is not None and not 0.0 <= self.update_threshold <= 1.0:
            problems.append(f"update_threshold must lie in [0, 1], got {self.update_threshold}")
        if not 0.0 <= self.max_score_decay <= 1.0:
            problems.append(f"max_score_decay must lie in [0, 1], got {self.max_score_decay}")
        if not (self.tight_search_factor >= 0 and math.isfinite(self.tight_search_factor)):
            problems.append(f"tight_search_factor must be >= 0 (0: off), got {self.tight_search_factor}")
        if self.clip_margin < 0:
            problems.append(f"clip_margin must be >= 0, got {self.clip_margin}")
        try:
            self.color_order = check_color_order(self.color_order)
        except ValueError as error:
            problems.append(str(error))
        if self.reacquire not in REACQUIRE_MODES:
            problems.append(f"reacquire must be one of {list(REACQUIRE_MODES)}, got {self.reacquire!r}")
        if not 0.0 <= self.lost_threshold <= 1.0:
            problems.append(f"lost_threshold must lie in [0, 1], got {self.lost_threshold}")
        if not (0.0 <= self.reacquire_threshold <= 1.0 and self.reacquire_threshold >= self.lost_threshold):
            problems.append(f"reacquire_threshold must lie in [lost_threshold, 1], got {self.reacquire_threshold}")
        if not 0.0 <= self.reacquire_similarity <= 1.0:
            problems.append(f"reacquire_similarity must lie in [0, 1], got {self.reacquire_similarity}")
        for name in ("lost_after", "found_after", "reacquire_windows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < 1:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        if problems:
            raise ValueError("invalid tracker parameters: " + "; ".join(problems))
        if self.update_interval is not None:
            self.update_interval = int(self.update_interval)
        self.lost_after, self.found_after = int(self.lost_after), int(self.found_after)
        self.reacquire_windows = int(self.reacquire_windows)
        return self


_STATE_SETTINGS = ("reacquire", "lost_threshold", "lost_after", "reacquire_threshold", "found_after",
                   "reacquire_windows", "reacquire_similarity")
_FIELD_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrackerParams)}


def resolve_params(
    config: Union[ModelConfig, CropSpec],
    preset: Optional[str] = None,
    checkpoint_defaults: Optional[Mapping[str, Any]] = None,
    **overrides: Any,
) -> TrackerParams:
    """Variant defaults <- checkpoint's tracker defaults <- benchmark preset <- explicit overrides.

    The one precedence (docs/tracker.md): what the user set > preset > checkpoint > variant table. An override
    of ``None`` means "not set" and keeps the value below it.
    """
    values: dict[str, Any] = {}
    known = {f.name for f in dataclasses.fields(TrackerParams)}
    for source in (checkpoint_defaults or {}, _preset_values(config, preset), overrides):
        unknown = sorted(set(source) - known)
        if unknown:
            raise ValueError(f"unknown tracker parameters {unknown}; known: {sorted(known)}")
        values.update({key: value for key, value in source.items() if value is not None})
    return with_model_defaults(TrackerParams(**values), config).validate()


def with_model_defaults(params: TrackerParams, config: Union[ModelConfig, CropSpec]) -> TrackerParams:
    """Fills every unset (None) setting from the model's row of the variant table."""
    row = tracking_defaults(config)
    for name in ("search_factor", "template_factor", "update_interval", "update_threshold"):
        if getattr(params, name) is None:
            setattr(params, name, getattr(row, name))
    return params


def _preset_values(config: Union[ModelConfig, CropSpec], preset: Optional[str]) -> Mapping[str, Any]:
    if preset in (None, "", "default"):
        return {}
    presets = tracking_defaults(config).presets
    if preset not in presets:
        raise ValueError(f"unknown tracker preset {preset!r}; available: {sorted(presets)} (or 'default')")
    return {"reacquire": "off", **presets[preset]}  # a benchmark preset is the official test script


def confidence(score_logits: np.ndarray) -> list[float]:
    """Sigmoid in float32, as the official tracker computes it.

    The precision matters: in float32 every logit above ~16.6 gives exactly 1.0, so among saturated frames
    the earliest keeps the online-template slot (``score > best`` fails on ties). NaN logits give 0.
    """
    logits = torch.from_numpy(np.nan_to_num(np.asarray(score_logits, dtype=np.float32), nan=-np.inf))
    return torch.sigmoid(logits).tolist()


@dataclass(frozen=True)
class TrackResult:
    target_id: Hashable
    box: Box  # (x, y, w, h) in image pixels
    score: float  # confidence in [0, 1]
    frame_index: int  # 0 for the initialisation frame
    search_window: Optional[CropWindow] = None
    state: TargetState = TargetState.TRACKING  # from the target's state machine (target_state)

    def is_lost(self, threshold: float = DEFAULT_LOST_THRESHOLD) -> bool:
        """Whether this frame's score alone is under ``threshold`` (what ``state`` counts, frame by frame)."""
        return is_lost(self.score, threshold)


@dataclass
class _TargetState:
    box: Box
    template: NetworkInput  # a NumPy array, or a tensor on the backend's device with device crops
    online_max_template: NetworkInput
    states: TargetStateMachine
    max_score: float = -1.0
    frame_index: int = 0
    last: Optional[TrackResult] = field(default=None, repr=False)
    confident_box: Optional[Box] = None  # the box of the last tracking / reacquired frame
    sweep: int = 0  # tiles of the wide search visited while lost
    probe: Optional[Box] = None  # where the best window of the last lost frame pointed
    pending_tiles: int = 0
    patch: Optional[np.ndarray] = field(default=None, repr=False)  # the target's first pixels (proposals)
    colours: Optional[np.ndarray] = field(default=None, repr=False)  # their colour histogram (looks_like)


class MultiTargetTracker:
    """Tracks any number of targets with one batched network step per frame."""

    def __init__(self, backend: InferenceBackend, params: Optional[TrackerParams] = None) -> None:
        self.backend = backend
        self.crop_spec: CropSpec = backend.crop_spec
        self.params = with_model_defaults(params or TrackerParams(), self.crop_spec).validate()
        self._targets: dict[Hashable, _TargetState] = {}
        self._crops = crops_for(backend, self.params, self.crop_spec.search_size)

    @classmethod
    def from_checkpoint(
        cls,
        path: Union[str, LoadedCheckpoint],
        variant: Optional[str] = None,
        device: str = "cpu",
        backend: str = "torch",
        preset: Optional[str] = None,
        precision: Optional[str] = None,
        backend_options: Optional[Mapping[str, Any]] = None,
        **params: Any,
    ) -> "MultiTargetTracker":
        checkpoint = path if isinstance(path, LoadedCheckpoint) else read_checkpoint(path, variant)
        tracker_params = resolve_params(checkpoint.config, preset, checkpoint.tracker_defaults, **params)
        engine = create_backend(backend, checkpoint, device=device, precision=precision,
                                use_cache=tracker_params.use_cache, **dict(backend_options or {}))
        return cls(engine, tracker_params)

    @property
    def config(self) -> Optional[ModelConfig]:
        """The backend's description of its network, where it keeps one (every registered backend does);
        tracking itself reads only ``crop_spec``.
        """
        return getattr(self.backend, "config", None)

    @property
    def target_ids(self) -> list:
        return list(self._targets)

    def __len__(self) -> int:
        return len(self._targets)

    def last_result(self, target_id: Hashable) -> Optional[TrackResult]:
        target = self._targets.get(target_id)
        return target.last if target else None

    def set_state_settings(self, **settings: Any) -> None:
        """Change the state and re-acquisition settings (``lost_threshold``, ``lost_after``,
        ``reacquire_threshold``, ``found_after``, ``reacquire``, ``reacquire_windows``, ``reacquire_similarity``)
        while tracking, e.g. from a node's runtime parameters. Invalid values raise ``ValueError`` and change
        nothing; every target keeps its state and counts, and the next frame is judged by the new rules.
        """
        unknown = sorted(set(settings) - set(_STATE_SETTINGS))
        if unknown:
            raise ValueError(f"not a state setting: {unknown}; known: {list(_STATE_SETTINGS)}")
        changed = dataclasses.replace(self.params, **settings).validate()
        for name in settings:
            setattr(self.params, name, getattr(changed, name))
        rules = self.params.state_rules()
        for target in self._targets.values():
            target.states.rules = rules

    def _template(self, source: Any, box: Box) -> NetworkInput:
        return self._crops.template(source, crop_window(box, self.params.template_factor, self.crop_spec.template_size))

    def add(self, target_id: Hashable, frame: np.ndarray, box_xywh: Sequence[float]) -> TrackResult:
        """Start (or restart) tracking ``target_id`` from ``box_xywh`` in ``frame``."""
        frame = check_frame(frame)
        box = validate_init_box(box_xywh, frame.shape[0], frame.shape[1])
        template = self._template(self._crops.prepare(frame), box)
        self.backend.set_templates(target_id, template, template)
        result = TrackResult(target_id, box, 1.0, 0)
        patch = target_patch(frame, box)
        self._targets[target_id] = _TargetState(box=box, template=template, online_max_template=template,
                                                states=TargetStateMachine(self.params.state_rules()), last=result,
                                                confident_box=box, patch=patch,
                                                colours=None if patch is None else colour_histogram(patch))
        return result

    def place(self, target_id: Hashable, box_xywh: Sequence[float]) -> Box:
        """Move a tracked target's box, where its next search looks, keeping its templates and state: a
        correction from outside the tracker (a detector, the camera's own motion, or a benchmark that starts
        every step from the label). ``KeyError`` for an unknown target, ``ValueError`` for an unusable box.
        """
        target = self._targets[target_id]
        target.box = validate_box(box_xywh)
        if target.states.state.confident:
            target.confident_box = target.box
        return target.box

    def warm_up(self, frame_size: tuple[int, int] = (480, 640), steps: int = 3) -> None:
        """Runs ``steps`` tracking steps for a throw-away target on a blank frame, so that one-time costs
        (allocations, kernel selection of the backend) are paid before a live stream's first target and
        not by its first frames. Only while no target is tracked: targets and their templates stay untouched.
        """
        if self._targets:
            raise RuntimeError("warm_up() needs a tracker without targets")
        height, width = frame_size
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        key = object()  # an id no caller can hold
        try:
            self.add(key, frame, (width * 0.4, height * 0.4, width * 0.2, height * 0.2))
            for _ in range(steps):
                self.track(frame)
        finally:
            self.remove(key)

    def remove(self, target_id: Hashable) -> bool:
        """Stop tracking ``target_id``; returns whether it was tracked."""
        if self._targets.pop(target_id, None) is None:
            return False
        self.backend.remove(target_id)
        return True

    def reset(self) -> None:
        self._targets.clear()
        self.backend.clear()

    def track(self, frame: np.ndarray) -> dict[Hashable, TrackResult]:
        """Advance every target by one frame."""
        if not self._targets:
            raise RuntimeError("track() called before any target was initialised (call add()/initialize() first)")
        frame = check_frame(frame)
        source = self._crops.prepare(frame)
        keys = list(self._targets)
        plans = [self._search_windows(self._targets[key], frame) for key in keys]
        # One batch: a target's extra windows repeat its key (the backend reuses its cached templates per row).
        rows = [key for key, (windows, _) in zip(keys, plans) for _ in windows]
        crops = self._crops.search_batch(source, [w for windows, _ in plans for w in windows])
        output = self.backend.infer(rows, crops)
        scores = confidence(output.score_logits)
        results, start = {}, 0
        for key, (windows, elsewhere) in zip(keys, plans):
            pick = best_window(scores[start:start + len(windows)])
            results[key] = self._advance(key, source, frame, windows[pick], output.pred_boxes[start + pick],
                                         scores[start + pick], wide_window=elsewhere and pick > 0)
            start += len(windows)
        return results

    def _search_windows(self, target: _TargetState, frame: np.ndarray) -> tuple[list[CropWindow], bool]:
        """This frame's windows for ``target``, first the one around its box, and whether the others look
        elsewhere: the wide search's for a lost target under ``reacquire="wide"``; else the tighter window
        around the same box, when ``tight_search_factor`` is set.
        """
        params, size = self.params, self.crop_spec.search_size
        if params.reacquire == "wide" and target.states.state is TargetState.LOST:
            cap = params.reacquire_windows
            proposals = [] if target.patch is None or cap < 2 else appearance_proposals(
                frame, target.patch, target.box[2:], cap - 1)
            windows, target.pending_tiles = search_windows(target.box, frame.shape[:2], params.search_factor, size,
                                                           cap, target.sweep, target.probe, proposals)
            return windows, True
        factors = (params.search_factor, params.tight_search_factor) if params.tight_search_factor else (
            params.search_factor,)
        return [crop_window(target.box, factor, size) for factor in factors], False

    def _advance(self, key: Hashable, source: Any, frame: np.ndarray, window: CropWindow,
                 pred: np.ndarray, score: float, wide_window: bool = False) -> TrackResult:
        target = self._targets[key]
        params = self.params
        target.frame_index += 1
        height, width = frame.shape[:2]
        box = map_box_back(pred, window_anchor(window) if wide_window else target.box, window.size)
        finite = all(math.isfinite(v) for v in box)
        if not finite:  # a non-finite prediction (e.g. half-precision overflow) keeps the previous box
            score = 0.0
        was = target.states.state
        evidence = score  # what the state machine judges: while lost, a find must also have the target's colours
        if (params.reacquire == "wide" and was is TargetState.LOST and finite and score >= params.lost_threshold
                and not looks_like(frame, target.colours, box, params.reacquire_similarity)):
            evidence = 0.0
        state = target.states.step(evidence, relocated=wide_window and not (finite and is_near(box, target.box)))
        if params.reacquire == "wide" and state is TargetState.LOST:
            # Lost: the box stays where the target was last seen, unless a window found it above the threshold.
            target.probe = None
            if finite and evidence >= params.reacquire_threshold:
                target.box = clip_box(box, height, width, params.clip_margin)
            else:
                if was is not TargetState.LOST and target.confident_box is not None:
                    target.box = target.confident_box
                if finite and evidence >= params.lost_threshold:
                    target.probe = box
            target.sweep += target.pending_tiles
        else:
            if finite:
                target.box = clip_box(box, height, width, params.clip_margin)
            target.sweep, target.probe = 0, None
        target.pending_tiles = 0
        if state.confident:
            target.confident_box = target.box
        target.max_score *= params.max_score_decay
        official = params.reacquire == "off"
        if (official or state is TargetState.TRACKING) and score > params.update_threshold and score > target.max_score:
            target.online_max_template = self._template(source, target.box)
            target.max_score = score
        if target.frame_index % params.update_interval == 0:
            self.backend.set_templates(key, target.template, target.online_max_template)
            target.max_score = -1.0
            target.online_max_template = target.template
        target.last = TrackResult(key, target.box, score, target.frame_index, window, state)
        return target.last


class MixFormerV2Tracker:
    """Single-target tracker: ``initialize(frame, box)`` then ``track(frame)`` per frame."""

    TARGET_ID = 0

    def __init__(self, backend: InferenceBackend, params: Optional[TrackerParams] = None) -> None:
        self._multi = MultiTargetTracker(backend, params)

    @classmethod
    def from_checkpoint(cls, path: Union[str, LoadedCheckpoint], **kwargs: Any) -> "MixFormerV2Tracker":
        multi = MultiTargetTracker.from_checkpoint(path, **kwargs)
        return cls(multi.backend, multi.params)

    @property
    def params(self) -> TrackerParams:
        return self._multi.params

    @property
    def config(self) -> Optional[ModelConfig]:
        return self._multi.config

    @property
    def crop_spec(self) -> CropSpec:
        return self._multi.crop_spec

    @property
    def initialized(self) -> bool:
        return len(self._multi) > 0

    def initialize(self, frame: np.ndarray, box_xywh: Sequence[float]) -> TrackResult:
        self._multi.reset()
        return self._multi.add(self.TARGET_ID, frame, box_xywh)

    def place(self, box_xywh: Sequence[float]) -> Box:
        """Move the target's box without new templates (:meth:`MultiTargetTracker.place`)."""
        if not self.initialized:
            raise RuntimeError("place() called before initialize(frame, box)")
        return self._multi.place(self.TARGET_ID, box_xywh)

    def track(self, frame: np.ndarray) -> TrackResult:
        if not self.initialized:
            raise RuntimeError("track() called before initialize(frame, box)")
        return self._multi.track(frame)[self.TARGET_ID]


def load_tracker(
    path: str,
    variant: Optional[str] = None,
    device: str = "cpu",
    backend: str = "torch",
    **params: Any,
) -> MixFormerV2Tracker:
    """A ready single-target tracker from a weights file (official ``.pth.tar`` or ours)."""
    return MixFormerV2Tracker.from_checkpoint(path, variant=variant, device=device, backend=backend, **params)
