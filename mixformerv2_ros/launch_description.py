"""The launch description shared by the deployment launch files (S on CPU, B on GPU); needs ROS 2 launch."""
from __future__ import annotations

import os

NODE_EXECUTABLE = "tracking_node"
PACKAGE = "mixformerv2_ros"


def tracker_launch_description(parameters_file: str, default_device: str):
    """Tracking node with ``config/<parameters_file>``; the arguments override the file's values."""
    from ament_index_python.packages import get_package_share_directory
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument
    from launch.conditions import IfCondition
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    share = get_package_share_directory(PACKAGE)
    arguments = [
        DeclareLaunchArgument("image_topic", default_value="/camera/image_raw",
                              description="sensor_msgs/Image topic (its /compressed sibling for compressed input)"),
        DeclareLaunchArgument("weights", default_value="", description="MixFormerV2 weights file (.pth.tar or ours)"),
        DeclareLaunchArgument("device", default_value=default_device, description="cpu, cuda or cuda:N"),
        DeclareLaunchArgument("image_transport", default_value="raw", description="raw or compressed"),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", parameters_file),
                              description="parameter file of the node"),
        DeclareLaunchArgument("rviz", default_value="false", description="also start RViz2 showing the debug image"),
    ]
    tracker = Node(
        package=PACKAGE,
        executable=NODE_EXECUTABLE,
        name="mixformerv2_tracker",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        parameters=[
            LaunchConfiguration("params_file"),
            {
                "weights": LaunchConfiguration("weights"),
                "device": LaunchConfiguration("device"),
                "image_transport": LaunchConfiguration("image_transport"),
            },
        ],
        remappings=[("image", LaunchConfiguration("image_topic"))],
    )
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        arguments=["-d", os.path.join(share, "config", "debug_image.rviz")],
        condition=IfCondition(LaunchConfiguration("rviz")),
    )
    return LaunchDescription(arguments + [tracker, rviz])
