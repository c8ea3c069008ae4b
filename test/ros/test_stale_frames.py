"""Latest-frame policy: frames arriving faster than the model runs are dropped (and counted), never queued."""
from __future__ import annotations

import time

import pytest
import torch

from mixformerv2_core import ModelConfig, build_model, save_checkpoint
from mixformerv2_core.synthetic import generate_sequence
from harness import stamped_header, wait_for


@pytest.fixture(scope="module")
def slow_weights(tmp_path_factory) -> str:
    """A wider random network, so that one tracker step clearly takes longer than the frame interval."""
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("slow") / "slow.pt"
    save_checkpoint(build_model(ModelConfig.tiny(embed_dim=128, depth=4, search_size=128, template_size=64)), path)
    return str(path)


def test_output_lags_by_at_most_one_frame(make_harness, slow_weights):
    sequence = generate_sequence(seed=7, num_frames=2, frame_size=(240, 320))
    # a deep reliable DDS queue hands every frame to the node, so only the node's own policy can drop them
    harness = make_harness(weights=slow_weights, qos_reliability="reliable", qos_depth=50)
    harness.wait_connected()
    first, _ = harness.send_and_wait(sequence.frames[0], 0)
    for index in range(3):
        harness.init_and_wait(f"t{index}", (10.0 + 60 * index, 40.0, 40.0, 40.0), first.header)

    frames = 40
    for index in range(1, frames + 1):  # ~500 Hz, far faster than the model
        harness.publish_frame(sequence.frames[index % 2], index)
        time.sleep(0.002)
    last = harness.output_for(stamped_header(frames), timeout=20.0)  # the newest frame is always processed

    stats = harness.node.stats
    wait_for(lambda: stats.processed + stats.dropped + stats.bad == stats.received)
    processed = [m.header.stamp.sec - 1000 for m in harness.arrays]
    assert processed == sorted(processed) and processed[-1] == frames == last.header.stamp.sec - 1000
    assert stats.dropped > 0 and stats.bad == 0
    # nothing queued behind the model: every received frame was either processed once or counted as dropped
    assert len(processed) == stats.processed == stats.received - stats.dropped
    assert stats.received == frames + 1  # nothing lost before the node: the drops above are all its own
