"""End to end through real DDS: generated frames in, vision_msgs detections out, checked against the core."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from std_srvs.srv import Trigger

from mixformerv2_core import MultiTargetTracker
from mixformerv2_core.geometry import xywh_to_cxcywh
from mixformerv2_core.synthetic import generate_sequence
from mixformerv2_ros.image_conversion import compressed_to_frame
from mixformerv2_ros.tracking_node import NODE_NAME
from harness import wait_for

HEIGHT, WIDTH = 240, 320


@pytest.fixture(scope="module")
def sequence():
    return generate_sequence(seed=3, num_frames=8, frame_size=(HEIGHT, WIDTH))


def _box_of(detection) -> tuple[float, float, float, float]:
    center = detection.bbox.center.position
    return (center.x, center.y, detection.bbox.size_x, detection.bbox.size_y)


def test_detections_match_the_core_tracker_frame_by_frame(make_harness, tiny_weights, sequence):
    harness = make_harness(label="drone")
    harness.wait_connected()
    first, before_init = harness.send_and_wait(sequence.frames[0], 0)
    assert before_init.header == first.header and before_init.detections == []
    harness.init_and_wait("drone-1", sequence.boxes[0], first.header)

    reference = MultiTargetTracker.from_checkpoint(tiny_weights)
    reference.add("drone-1", sequence.frames[0], sequence.boxes[0])
    for index in range(1, len(sequence.frames)):
        sent, output = harness.send_and_wait(sequence.frames[index], index)
        assert output.header.stamp == sent.header.stamp and output.header.frame_id == sent.header.frame_id
        assert [d.id for d in output.detections] == ["drone-1"]
        detection = output.detections[0]
        assert detection.header == sent.header
        expected = reference.track(sequence.frames[index])["drone-1"]
        np.testing.assert_allclose(_box_of(detection), xywh_to_cxcywh(expected.box), atol=1e-6)
        x, y, w, h = expected.box
        assert 0 <= x and 0 <= y and x + w <= WIDTH and y + h <= HEIGHT  # image pixels, not crop coordinates
        hypothesis = detection.results[0].hypothesis
        assert hypothesis.class_id == "drone" and hypothesis.score == pytest.approx(expected.score)
        assert 0.0 <= hypothesis.score <= 1.0

    single = wait_for(lambda: [m for m in harness.singles if m.header.stamp == sent.header.stamp])
    assert single[0].id == "drone-1" and _box_of(single[0]) == _box_of(output.detections[0])
    stamps = [(m.header.stamp.sec, m.header.stamp.nanosec) for m in harness.arrays]
    assert len(stamps) == len(set(stamps)) == len(sequence.frames)  # exactly one output per processed frame


def test_two_targets_one_removed_by_zero_box_then_reset(make_harness, sequence):
    harness = make_harness()
    harness.wait_connected()
    first, _ = harness.send_and_wait(sequence.frames[0], 0)
    harness.init_and_wait("a", sequence.boxes[0], first.header)
    harness.init_and_wait("b", (40.0, 50.0, 30.0, 30.0), first.header)
    _, output = harness.send_and_wait(sequence.frames[1], 1)
    assert [d.id for d in output.detections] == ["a", "b"]
    wait_for(lambda: harness.node.stats.processed == 2)  # counted right after publishing

    harness.publish_init("a", (10.0, 10.0, 0.0, 0.0), first.header)  # zero size: remove "a"
    wait_for(lambda: harness.tracked_ids() == ["b"])
    _, output = harness.send_and_wait(sequence.frames[2], 2)
    assert [d.id for d in output.detections] == ["b"]
    single = wait_for(lambda: [m for m in harness.singles if m.header.stamp == output.header.stamp])
    assert single[0].id == "b"

    client = harness.client.create_client(Trigger, f"{harness.namespace}/{NODE_NAME}/reset")
    assert client.wait_for_service(timeout_sec=5.0)
    response = wait_for(lambda: _call(client, Trigger.Request()))
    assert response.success and response.message == "removed 1 target(s)"
    _, output = harness.send_and_wait(sequence.frames[3], 3)
    assert output.detections == []


def _call(client, request, timeout: float = 5.0):
    future = client.call_async(request)
    wait_for(future.done, timeout)
    return future.result()


def test_compressed_input(make_harness, tiny_weights, sequence):
    harness = make_harness(transport="compressed")
    harness.wait_connected("compressed")
    first, _ = harness.send_and_wait(sequence.frames[0], 0, "compressed")
    harness.init_and_wait("t", sequence.boxes[0], first.header)
    reference = MultiTargetTracker.from_checkpoint(tiny_weights)
    reference.add("t", compressed_to_frame(first), sequence.boxes[0])
    for index in (1, 2):
        sent, output = harness.send_and_wait(sequence.frames[index], index, "compressed")
        assert output.header == sent.header
        expected = reference.track(compressed_to_frame(sent))["t"]
        np.testing.assert_allclose(_box_of(output.detections[0]), xywh_to_cxcywh(expected.box), atol=1e-6)


def test_two_clicks_define_a_box(make_harness, sequence):
    from geometry_msgs.msg import Point

    harness = make_harness(click_target_id="clicked")
    harness.wait_connected()
    wait_for(lambda: harness.click_pub.get_subscription_count() > 0)
    harness.send_and_wait(sequence.frames[0], 0)
    harness.click_pub.publish(Point(x=150.0, y=120.0, z=0.0))
    wait_for(lambda: harness.node._clicks.waiting_for_second)
    harness.click_pub.publish(Point(x=100.0, y=80.0, z=0.0))
    wait_for(lambda: harness.tracked_ids() == ["clicked"])
    assert harness.node.last_results()["clicked"].box == (100.0, 80.0, 50.0, 40.0)


def test_lost_target_keeps_its_label_and_reports_the_state(make_harness, sequence):
    """The core's state machine, driven through runtime parameters: tracking -> lost -> reacquired -> tracking."""
    harness = make_harness(label="object")
    harness.wait_connected()
    first, _ = harness.send_and_wait(sequence.frames[0], 0)
    harness.init_and_wait("t", sequence.boxes[0], first.header)
    from rclpy.parameter import Parameter

    def states(output):
        return [entry.hypothesis.class_id for entry in output.detections[0].results]

    never_good_enough = [Parameter("lost_after", value=1), Parameter("reacquire_threshold", value=1.0),
                         Parameter("lost_threshold", value=1.0)]
    assert harness.node.set_parameters_atomically(never_good_enough).successful
    _, output = harness.send_and_wait(sequence.frames[1], 1)
    label, state = (entry.hypothesis for entry in output.detections[0].results)
    assert label.class_id == "object" and label.score < 1.0  # the class never changes with the state
    assert state.class_id == "state:lost" and state.score == label.score
    status, values = harness.latest_diagnostics(lambda v: v.get("target.t", "").startswith("lost"))
    assert status.level == status.WARN and status.message == "target lost"
    assert values["target_lost_events"] == "1"

    refused = harness.node.set_parameters([Parameter("reacquire_threshold", value=0.5)])[0]
    assert not refused.successful and "reacquire_threshold" in refused.reason  # under lost_threshold: refused
    always_good_enough = [Parameter("lost_threshold", value=0.0), Parameter("reacquire_threshold", value=0.0),
                          Parameter("found_after", value=1)]
    assert harness.node.set_parameters_atomically(always_good_enough).successful
    _, output = harness.send_and_wait(sequence.frames[2], 2)
    assert states(output) == ["object", "state:reacquired"]
    _, output = harness.send_and_wait(sequence.frames[3], 3)
    assert states(output) == ["object", "state:tracking"]
    status, values = harness.latest_diagnostics(
        lambda v: v.get("target.t", "").startswith("tracking") and int(v["frames_processed"]) == 4)
    assert status.level == status.OK and values["state"] == "active" and values["frames_dropped"] == "0"
    assert values["target_reacquired_events"] == "1" and values["tracker.reacquire"] == "wide"


def test_debug_image_is_drawn_only_for_subscribers(make_harness, sequence):
    harness = make_harness(debug_image_scale=0.5)
    harness.wait_connected()
    first, _ = harness.send_and_wait(sequence.frames[0], 0)
    harness.init_and_wait("t", sequence.boxes[0], first.header)
    harness.send_and_wait(sequence.frames[1], 1)
    assert harness.node.stats.debug_images == 0

    harness.subscribe_debug_image()
    debug_pub = harness.node._outputs["debug_image"]
    wait_for(lambda: debug_pub.get_subscription_count() > 0)
    sent, _ = harness.send_and_wait(sequence.frames[2], 2)
    image = wait_for(lambda: [m for m in harness.debug_images if m.header.stamp == sent.header.stamp])[0]
    assert image.header == sent.header
    assert (image.height, image.width, image.encoding) == (HEIGHT // 2, WIDTH // 2, "rgb8")
    pixels = np.frombuffer(image.data, np.uint8).reshape(image.height, image.width, 3)
    plain = cv2.resize(sequence.frames[2], (WIDTH // 2, HEIGHT // 2), interpolation=cv2.INTER_AREA)
    changed = np.any(pixels != plain, axis=2)
    assert changed.sum() > 50  # the box and its label were drawn ...
    x, y, w, h = (v / 2 for v in harness.node.last_results()["t"].box)
    far = np.ones_like(changed)
    far[max(0, int(y) - 20):int(y + h) + 4, max(0, int(x) - 4):int(x + w) + 60] = False
    assert not changed[far].any()  # ... around the tracked box only


def test_init_stamp_selects_the_matching_buffered_frame(make_harness, tiny_weights, sequence):
    harness = make_harness()
    harness.wait_connected()
    sent = [harness.send_and_wait(sequence.frames[index], index)[0] for index in range(3)]
    box = sequence.boxes[0]
    harness.init_and_wait("t", box, sent[0].header)  # drawn on frame 0, arrives after frame 2
    _, output = harness.send_and_wait(sequence.frames[3], 3)

    def reference_box(init_frame_index: int):
        tracker = MultiTargetTracker.from_checkpoint(tiny_weights)
        tracker.add("t", sequence.frames[init_frame_index], box)
        return xywh_to_cxcywh(tracker.track(sequence.frames[3])["t"].box)

    on_stamped_frame, on_latest_frame = reference_box(0), reference_box(2)
    assert not np.allclose(on_stamped_frame, on_latest_frame, atol=1e-3)  # the choice of frame is visible
    np.testing.assert_allclose(_box_of(output.detections[0]), on_stamped_frame, atol=1e-6)


def test_onnx_backend_selected_by_parameters_tracks_like_the_torch_core(make_harness, tiny_weights, sequence, tmp_path):
    from mixformerv2_core.backends.onnx_backend import ensure_bundle
    from mixformerv2_core.checkpoint import read_checkpoint

    bundle = ensure_bundle(read_checkpoint(tiny_weights), "fp32", tmp_path)
    harness = make_harness(backend="onnx", backend_threads=1, onnx_bundle_dir=str(bundle))
    harness.wait_connected()
    first, _ = harness.send_and_wait(sequence.frames[0], 0)
    harness.init_and_wait("t", sequence.boxes[0], first.header)
    reference = MultiTargetTracker.from_checkpoint(tiny_weights)
    reference.add("t", sequence.frames[0], sequence.boxes[0])
    for index in range(1, 4):
        _, output = harness.send_and_wait(sequence.frames[index], index)
        expected = reference.track(sequence.frames[index])["t"]
        np.testing.assert_allclose(_box_of(output.detections[0]), xywh_to_cxcywh(expected.box), atol=1e-3)
