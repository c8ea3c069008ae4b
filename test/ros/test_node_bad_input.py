"""Bad input and bad configuration: the node stays up, keeps working, and says what happened."""
from __future__ import annotations

import math

import pytest
from lifecycle_msgs.srv import GetState
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from sensor_msgs.msg import CompressedImage, Image

from mixformerv2_core.synthetic import generate_sequence
from mixformerv2_ros.tracking_node import NODE_NAME
from harness import stamped_header, wait_for


@pytest.fixture(scope="module")
def frames():
    return generate_sequence(seed=4, num_frames=4, frame_size=(120, 160)).frames


def _lifecycle_state(harness) -> str:
    client = harness.client.create_client(GetState, f"{harness.namespace}/{NODE_NAME}/get_state")
    assert client.wait_for_service(timeout_sec=5.0)
    future = client.call_async(GetState.Request())
    wait_for(future.done)
    return future.result().current_state.label


def _problem_count(harness, kind: str, at_least: int = 1) -> int:
    _, values = harness.latest_diagnostics(lambda v: int(v.get(f"problem.{kind}", 0)) >= at_least)
    return int(values[f"problem.{kind}"])


def test_bad_images_are_skipped_and_reported(make_harness, frames):
    harness = make_harness()
    harness.wait_connected()
    unsupported = Image(height=4, width=4, encoding="32FC1", step=16, header=stamped_header(50))
    unsupported.data = bytes(64)
    harness.publish_raw(unsupported)
    assert _problem_count(harness, "unsupported_encoding") == 1
    short = Image(height=120, width=160, encoding="rgb8", step=480, header=stamped_header(51))
    short.data = bytes(480 * 119)
    harness.publish_raw(short)
    assert _problem_count(harness, "short_data") == 1
    status, values = harness.latest_diagnostics(lambda v: v.get("frames_bad") == "2")
    assert status.level == status.WARN and "bad input" in status.message
    sent, output = harness.send_and_wait(frames[0], 0)  # still working
    assert output.header == sent.header


def test_bad_init_requests_are_refused(make_harness, frames):
    harness = make_harness()
    harness.wait_connected()
    harness.publish_init("early", (10.0, 10.0, 20.0, 20.0), stamped_header(0))
    assert _problem_count(harness, "init_before_image") == 1

    first, _ = harness.send_and_wait(frames[0], 0)
    harness.publish_init("outside", (500.0, 400.0, 20.0, 20.0), first.header)
    assert _problem_count(harness, "bad_init") == 1
    harness.publish_init("nan", (10.0, 10.0, math.nan, 20.0), first.header)
    assert _problem_count(harness, "bad_init", at_least=2) == 2
    _, values = harness.latest_diagnostics(lambda v: "non-finite" in v.get("last_problem", ""))
    assert harness.tracked_ids() == []
    harness.init_and_wait("good", (20.0, 20.0, 30.0, 30.0), first.header)
    _, output = harness.send_and_wait(frames[1], 1)
    assert [d.id for d in output.detections] == ["good"]


def test_corrupt_jpeg_is_skipped(make_harness, frames):
    harness = make_harness(transport="compressed")
    harness.wait_connected("compressed")
    corrupt = CompressedImage(format="jpeg", header=stamped_header(70))
    corrupt.data = b"\xff\xd8\xff\xe0" + bytes(200)
    harness.publish_raw(corrupt)
    assert _problem_count(harness, "corrupt_compressed") == 1
    sent, output = harness.send_and_wait(frames[0], 0, "compressed")
    assert output.header == sent.header


def test_missing_weights_fail_configure_but_not_the_process(make_harness, tmp_path):
    harness = make_harness(weights=str(tmp_path / "missing.pt"))
    status, _ = harness.latest_diagnostics(lambda v: v.get("state") == "unconfigured")
    assert status.level == status.ERROR and "weights file not found" in status.message
    assert _lifecycle_state(harness) == "unconfigured"


def test_wrong_variant_fails_configure(make_harness):
    harness = make_harness(variant="S")
    status, _ = harness.latest_diagnostics()
    assert status.level == status.ERROR and "MixFormerV2-S" in status.message
    assert _lifecycle_state(harness) == "unconfigured"


def test_bad_configuration_values_fail_configure(make_harness):
    harness = make_harness(device="gpu0")
    status, _ = harness.latest_diagnostics()
    assert status.level == status.ERROR and "device must be" in status.message


def test_parameter_changes_are_validated(make_harness):
    harness = make_harness()
    node = harness.node
    refused = {
        "lost_threshold": 1.5,  # out of range
        "device": "cuda",  # model already loaded
        "image_transport": "compressed",  # topics in use
        "label": "",  # empty class id
        "update_interval": 0,  # "unset" is resolved on configure
        "update_threshold": -1.0,
    }
    for name, value in refused.items():
        result = node.set_parameters([Parameter(name, value=value)])[0]
        assert not result.successful and name in result.reason, (name, result.reason)
    for name in ("diagnostics_period", "autostart"):  # start-up only: read-only descriptors
        assert node.describe_parameter(name).read_only
        assert not node.set_parameters([Parameter(name, value=node.get_parameter(name).value)])[0].successful
    assert node.set_parameters([Parameter("update_interval", value=7)])[0].successful
    _, values = harness.latest_diagnostics(lambda v: v.get("tracker.update_interval") == "7")
    assert node.get_parameter("lost_threshold").value == -1.0  # still unset: the refused 1.5 changed nothing
    unset = node.set_parameters([Parameter("lost_threshold", value=-1.0)])[0]
    assert not unset.successful and "resolved on configure" in unset.reason


def test_parameter_values_of_wrong_type_or_range_fail_configure_not_the_process(make_harness):
    harness = make_harness(qos_depth=1000, device=3)
    status, _ = harness.latest_diagnostics()
    assert status.level == status.ERROR and "qos_depth" in status.message and "device" in status.message
    assert harness.node.get_parameter("qos_depth").value == 1  # the default, not the bad value
    assert _lifecycle_state(harness) == "unconfigured"
    # fixed at run time: configure succeeds
    results = harness.node.set_parameters([Parameter("qos_depth", value=2), Parameter("device", value="cpu")])
    assert all(result.successful for result in results)
    assert harness.node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert _lifecycle_state(harness) == "inactive"


def test_corrupt_weights_file_fails_configure(make_harness, tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a checkpoint" * 10)
    harness = make_harness(weights=str(corrupt))
    status, _ = harness.latest_diagnostics()
    assert status.level == status.ERROR and "cannot load the tracker" in status.message
    assert _lifecycle_state(harness) == "unconfigured"


def test_onnx_bundle_that_is_not_there_fails_configure(make_harness, tmp_path):
    harness = make_harness(backend="onnx", onnx_bundle_dir=str(tmp_path / "no_bundle"))
    status, _ = harness.latest_diagnostics(lambda v: v.get("state") == "unconfigured")
    assert status.level == status.ERROR and "no_bundle" in status.message
    assert _lifecycle_state(harness) == "unconfigured"


def test_onnx_bundle_with_the_torch_backend_fails_configure_as_the_commands_do(make_harness, tmp_path):
    harness = make_harness(backend="torch", onnx_bundle_dir=str(tmp_path))
    status, _ = harness.latest_diagnostics(lambda v: v.get("state") == "unconfigured")
    assert status.level == status.ERROR and "is read by backend" in status.message
    assert _lifecycle_state(harness) == "unconfigured"
