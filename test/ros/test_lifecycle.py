"""Lifecycle transitions through the standard lifecycle services; the model lives from configure to cleanup."""
from __future__ import annotations

from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState

from mixformerv2_core.synthetic import generate_sequence
from mixformerv2_ros.tracking_node import NODE_NAME
from mixformerv2_ros.harness import wait_for


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

    assert state() == "unconfigured" and harness.node._tracker is None
    assert transition(Transition.TRANSITION_CONFIGURE)
    assert state() == "inactive" and harness.node._tracker is not None
    assert harness.image_pub.get_subscription_count() == 0  # inactive: not listening

    assert transition(Transition.TRANSITION_ACTIVATE) and state() == "active"
    harness.wait_connected()
    sent, output = harness.send_and_wait(frames[0], 0)
    assert output.header == sent.header

    assert transition(Transition.TRANSITION_DEACTIVATE) and state() == "inactive"
    wait_for(lambda: harness.image_pub.get_subscription_count() == 0)
    assert transition(Transition.TRANSITION_CLEANUP) and state() == "unconfigured"
    assert harness.node._tracker is None

    assert transition(Transition.TRANSITION_CONFIGURE) and transition(Transition.TRANSITION_ACTIVATE)
    harness.wait_connected()
    sent, output = harness.send_and_wait(frames[1], 1)
    assert output.header == sent.header
    assert transition(Transition.TRANSITION_ACTIVE_SHUTDOWN) and state() == "finalized"
