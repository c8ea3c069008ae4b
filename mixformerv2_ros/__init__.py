"""ROS 2 adapter over mixformerv2_core: the lifecycle tracking node and its tools (needs rclpy)."""
