"""The node's executor retries a wait whose entity was destroyed while it was being set up."""
from __future__ import annotations

import pytest
import rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.exceptions import InvalidHandle
from rclpy.executors import MultiThreadedExecutor
from rclpy.waitable import NumberOfEntities, Waitable

from mixformerv2_ros.executors import ResilientMultiThreadedExecutor


class DestroyedWhileWaitIsSetUp(Waitable):
    """Leaves its node and fails to join the wait set, as a QoS event handler of a just destroyed subscription."""

    def __init__(self, node) -> None:
        super().__init__(ReentrantCallbackGroup())
        self.node = node

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def get_num_entities(self) -> NumberOfEntities:
        return NumberOfEntities()

    def add_to_wait_set(self, wait_set) -> None:
        self.node.remove_waitable(self)
        raise InvalidHandle("cannot use Destroyable because destruction was requested")

    def is_ready(self, wait_set) -> bool:
        return False

    def take_data(self):
        return None

    async def execute(self, taken_data) -> None:
        return None


@pytest.mark.parametrize("executor_type", [MultiThreadedExecutor, ResilientMultiThreadedExecutor])
def test_a_wait_set_up_around_a_destroyed_entity(ros_context, executor_type):
    node = rclpy.create_node("destroyed_mid_wait")
    fired = []
    node.create_timer(0.01, lambda: fired.append(True))
    destroyed = DestroyedWhileWaitIsSetUp(node)
    node.add_waitable(destroyed)
    executor = executor_type(num_threads=2)
    executor.add_node(node)
    try:
        if executor_type is MultiThreadedExecutor:  # rclpy's own ends spin() (the node's process) here
            with pytest.raises(InvalidHandle):
                executor.spin_once(timeout_sec=0.5)
            return
        executor.spin_once(timeout_sec=0.5)  # the retried wait no longer sees the entity
        for _ in range(20):
            if fired:
                break
            executor.spin_once(timeout_sec=0.5)
        assert fired and destroyed not in list(node.waitables)
    finally:
        executor.shutdown()
        node.destroy_node()
