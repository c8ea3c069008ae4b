"""Whether a target is being tracked: the one rule for a lost frame and the state machine built on it.

The network's score of a single frame is noisy (blur, a partial occlusion, a look-alike passing by), so a robot
must not react to one bad frame. The state machine turns the per-frame scores into a state with hysteresis:

    tracking --(score under lost_threshold)--> uncertain --(lost_after such frames in a row)--> lost
    uncertain --(one frame at or above lost_threshold)--> tracking
    lost --(found_after frames in a row at or above reacquire_threshold, at the same place)--> reacquired
    reacquired --(next frame)--> tracking / uncertain, by the same rule as tracking

Node messages, diagnostics, drawing and the CLI read the state from ``TrackResult.state``; nothing else
decides it. docs/tracker.md ("Target states and re-acquisition") explains the defaults.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

# Below this score a frame counts as "target not seen". The official tracker has no such notion (its score only
# gates online-template updates at 0.5); 0.25 keeps short dips (occlusion, blur) from flapping the state.
DEFAULT_LOST_THRESHOLD = 0.25


def is_lost(score: float, threshold: float = DEFAULT_LOST_THRESHOLD) -> bool:
    """The one rule that calls a single frame's score "not seen" (the state machine counts these frames).

    A score that is not a number counts as lost: a NaN must never read as a confident detection.
    """
    return not score >= threshold


class TargetState(str, enum.Enum):
    """What the tracker knows about a target (the value is the label messages and drawings show)."""

    TRACKING = "tracking"  # the box is the target
    UNCERTAIN = "uncertain"  # a few frames under lost_threshold: the box is a guess, not yet lost
    LOST = "lost"  # the box is where the target was last seen; it is being searched for
    REACQUIRED = "reacquired"  # found again on this frame (after lost); tracking from the next frame

    @property
    def confident(self) -> bool:
        """Whether the box may be acted on as a detection of the target (tracking or just re-acquired)."""
        return self in (TargetState.TRACKING, TargetState.REACQUIRED)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class StateRules:
    """The thresholds and frame counts of the state machine (from ``TrackerParams``)."""

    lost_threshold: float = DEFAULT_LOST_THRESHOLD
    lost_after: int = 3
    reacquire_threshold: float = 0.5
    found_after: int = 1


class TargetStateMachine:
    """Owns one target's state. ``step(score)`` once per frame; nothing else changes the state."""

    def __init__(self, rules: StateRules) -> None:
        self.rules = rules
        self.state = TargetState.TRACKING
        self._misses = 0  # consecutive frames under lost_threshold (while not lost)
        self._hits = 0  # consecutive frames at or above reacquire_threshold at the same place (while lost)

    def step(self, score: float, relocated: bool = False) -> TargetState:
        """Advance by one frame scored ``score``. ``relocated``: while lost, the box jumped to a new place on
        this frame (farther than one frame's motion, found by another window of the wide search), which restarts
        the count of confirming frames: only frames that find the target where it was found before confirm it.
        """
        rules = self.rules
        if self.state is TargetState.LOST:
            if score >= rules.reacquire_threshold:  # False for NaN
                self._hits = 1 if relocated else self._hits + 1
            else:
                self._hits = 0
            if self._hits >= rules.found_after:
                self.state, self._hits, self._misses = TargetState.REACQUIRED, 0, 0
            return self.state
        if is_lost(score, rules.lost_threshold):
            self._misses += 1
            self.state = TargetState.LOST if self._misses >= rules.lost_after else TargetState.UNCERTAIN
            self._hits = 0
        else:
            self._misses = 0
            self.state = TargetState.TRACKING
        return self.state


__all__ = ["DEFAULT_LOST_THRESHOLD", "StateRules", "TargetState", "TargetStateMachine", "is_lost"]
