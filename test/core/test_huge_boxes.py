"""A huge box costs no memory: windows too large to lay out are sampled from the frame, not padded first."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from mixformerv2_core.geometry import CropWindow, sample_target
from mixformerv2_core.preprocessing import MAX_PADDED_SIDE, FusedCropper


@pytest.mark.parametrize("x1,y1", [(-1500, -1600), (-2000, 10), (30, -2050)])
def test_large_padded_window_stays_within_one_grey_level_of_the_reference(x1, y1):
    frame = np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    window = CropWindow(x1, y1, MAX_PADDED_SIDE + 100, 96)
    crop = FusedCropper("rgb").crop_uint8(frame, window).astype(int)
    reference = sample_target(frame, window).astype(int)
    assert np.abs(crop - reference).max() <= 1
    assert crop.any()  # the image part is really sampled (not an all-zero answer)


_MEASURE = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    from mixformerv2_core import MultiTargetTracker, ModelConfig, build_model
    from mixformerv2_core.backends import TorchBackend

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    tracker = MultiTargetTracker(TorchBackend(build_model(ModelConfig.tiny()).eval()))
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    for _ in range(3):  # warm-up: an ordinary target, a few frames
        tracker.add("a", frame, (100, 100, 80, 60))
        tracker.track(frame)
    before = peak_mb()
    for box in json.loads(sys.argv[1]):
        tracker.add("huge", frame, box)
        result = tracker.track(frame)["huge"]
        assert 0 <= result.box[0] <= 640 and 0 <= result.box[1] <= 480, result
        tracker.reset()
        tracker.add("a", frame, (100, 100, 80, 60))
    print(json.dumps({"before_mb": before, "after_mb": peak_mb()}))
""")


def test_huge_init_boxes_do_not_grow_memory():
    """Before: a 3000x3000 box on 640x480 took RSS 457 -> 920 MB, a 100000x100000 box raised MemoryError."""
    boxes = [(-1000, -1000, 3000, 3000), (-50000, -50000, 100000, 100000), (0, 0, 640, 480)]
    out = subprocess.run([sys.executable, "-c", _MEASURE, json.dumps(boxes)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    peaks = json.loads(out.stdout.strip().splitlines()[-1])
    assert peaks["after_mb"] - peaks["before_mb"] < 50, peaks
