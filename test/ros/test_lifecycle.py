"""Lifecycle transitions through the standard lifecycle services; the model lives from configure to cleanup."""
from __future__ import annotations

from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState

from mixformerv2_core.synthetic import generate_sequence
from mixformerv2_ros.tracking_node import NODE_NAME
from harness import wait_for


def _service(harness, kind, name):
    client = harness.client.create_client(kind, f"{harness.namespace}/{NODE_NAME}/{name}")
    assert client.wait_for_service(timeout_sec=5.0)

    def call(request):
        future = client.call_async(request)
        wait_for(future.done)
        return future.result()
    return call


def test_transitions_load_and_release_the_model(make_harness):
    frames = generate_sequence(seed=6, num_frames=3, frame_size=(96, 128)).frames
    harness = make_harness(autostart=False)
    change = _service(harness, ChangeState, "change_state")
    state = lambda: _service(harness, GetState, "get_state")(GetState.Request()).current_state.label  # noqa: E731
    transition = lambda tid: change(ChangeState.Request(transition=Transition(id=tid))).success  # noqa: E731

    assert state() == "unconfigured" and not harness.node.model_loaded
    assert transition(Transition.TRANSITION_CONFIGURE)
    assert state() == "inactive" and harness.node.model_loaded
    assert harness.image_pub.get_subscription_count() == 0  # inactive: not listening

    assert transition(Transition.TRANSITION_ACTIVATE) and state() == "active"
    harness.wait_connected()
    sent, output = harness.send_and_wait(frames[0], 0)
    assert output.header == sent.header

    assert transition(Transition.TRANSITION_DEACTIVATE) and state() == "inactive"
    wait_for(lambda: harness.image_pub.get_subscription_count() == 0)
    assert transition(Transition.TRANSITION_CLEANUP) and state() == "unconfigured"
    assert not harness.node.model_loaded

    assert transition(Transition.TRANSITION_CONFIGURE) and transition(Transition.TRANSITION_ACTIVATE)
    harness.wait_connected()
    sent, output = harness.send_and_wait(frames[1], 1)
    assert output.header == sent.header
    assert transition(Transition.TRANSITION_ACTIVE_SHUTDOWN) and state() == "finalized"


def test_sigint_ends_the_node_process_quickly_and_cleanly(ros_context, tiny_weights):
    """ros2 launch sends SIGINT and escalates to SIGTERM after 5 s: the node must be gone well before."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import numpy as np
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from harness import make_frame_message

    namespace = f"/sigint{os.getpid()}"
    process = subprocess.Popen(
        [sys.executable, "-m", "mixformerv2_ros.tracking_node", "--ros-args", "-r", f"__ns:={namespace}",
         "-p", f"weights:={tiny_weights}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    client = rclpy.create_node("sigint_client", namespace=namespace)
    try:
        publisher = client.create_publisher(Image, "image", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        wait_for(lambda: publisher.get_subscription_count() > 0, timeout=60.0)
        frame = np.zeros((480, 640, 3), np.uint8)
        for index in range(10):  # the worker is busy or waiting on the mailbox when the signal comes
            publisher.publish(make_frame_message(frame, index))
            time.sleep(0.03)
        start = time.monotonic()
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=5.0)
        elapsed = time.monotonic() - start
    finally:
        client.destroy_node()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output[-2000:]
    print(f"SIGINT -> exit in {elapsed:.2f} s")
    assert elapsed < 5.0
    assert "Traceback" not in output


def test_the_node_says_once_what_the_built_in_demo_weights_cannot_track(make_harness, capfd):
    from mixformerv2_core.demo_model import DEMO_WEIGHTS

    make_harness()  # tiny random weights: nothing to say
    assert "trained on generated scenes only" not in capfd.readouterr().err
    harness = make_harness(weights=str(DEMO_WEIGHTS))
    wait_for(lambda: harness.node.model_loaded)
    assert capfd.readouterr().err.count("the built-in demo weights were trained on generated scenes only") == 1
