"""The launch description shared by the deployment launch files (S on CPU, B on GPU); needs ROS 2 launch.

The node is a ``LifecycleNode`` so ``ros2 lifecycle`` and lifecycle managers see it; with ``autostart:=false`` it
waits unconfigured for them (nav2 style). The parameter files are keyed ``/**`` so they apply under any namespace
and node name. Everything that can fail before a process starts (rviz2 missing) is checked first, so a failed
launch never leaves a tracking node behind.
"""
from __future__ import annotations

import os
import shutil

NODE_EXECUTABLE = "tracking_node"
PACKAGE = "mixformerv2_ros"
NODE_NAME = "mixformerv2_tracker"
DDS_PROFILE_FILE = "fastdds_large_images.xml"
# Fast DDS 3 (Kilted on) reads FASTDDS_DEFAULT_PROFILES_FILE and warns that the FASTRTPS_ name is deprecated;
# Fast DDS 2 (Humble, Jazzy) reads only FASTRTPS_DEFAULT_PROFILES_FILE.
DDS_PROFILE_VARIABLE = "FASTDDS_DEFAULT_PROFILES_FILE"
LEGACY_DDS_PROFILE_VARIABLE = "FASTRTPS_DEFAULT_PROFILES_FILE"
FAST_DDS_2_DISTROS = ("humble", "iron", "jazzy")


class LaunchArgumentError(RuntimeError):
    """A launch argument that cannot work (raised before any process starts, so launch ends cleanly)."""


def rviz2_executable() -> str | None:
    """Path of rviz2 if ROS has it installed (ament index) or it is on PATH; None otherwise."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError:  # pragma: no cover - launch itself needs ament_index_python
        return shutil.which("rviz2")
    try:
        candidate = os.path.join(get_package_prefix("rviz2"), "lib", "rviz2", "rviz2")
    except PackageNotFoundError:
        return shutil.which("rviz2")
    return candidate if os.access(candidate, os.X_OK) else shutil.which("rviz2")


def is_true(value: str) -> bool:
    """Launch's own reading of a boolean argument ('true'/'false', '1'/'0', any case); other text is an error."""
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise LaunchArgumentError(f"expected true or false, got '{value}'")


def dds_environment(profile: str) -> dict[str, str]:
    """Environment of the node process that loads ``profile`` into Fast DDS; none when ``profile`` is empty."""
    if not profile:
        return {}
    if not os.path.isfile(profile):
        raise LaunchArgumentError(f"dds_profile '{profile}' is not a file")
    legacy = os.environ.get("ROS_DISTRO", "").lower() in FAST_DDS_2_DISTROS
    return {LEGACY_DDS_PROFILE_VARIABLE if legacy else DDS_PROFILE_VARIABLE: profile}


def default_dds_profile(shipped: str) -> str:
    """A profile the user already exported wins; else the shipped one (empty if the install lacks it)."""
    for name in (DDS_PROFILE_VARIABLE, LEGACY_DDS_PROFILE_VARIABLE):
        if os.environ.get(name):
            return os.environ[name]
    return shipped if os.path.isfile(shipped) else ""


def tracker_launch_description(parameters_file: str, default_device: str):
    """Tracking node with ``config/<parameters_file>``; the arguments override the file's values."""
    from ament_index_python.packages import get_package_share_directory
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import LifecycleNode, Node

    share = get_package_share_directory(PACKAGE)
    config = os.path.join(share, "config")
    arguments = [
        DeclareLaunchArgument("image_topic", default_value="image",
                              description="sensor_msgs/Image topic, relative to the namespace unless it starts "
                                          "with / (its /compressed sibling with image_transport:=compressed)"),
        DeclareLaunchArgument("weights", default_value="", description="MixFormerV2 weights file (.pth.tar or ours)"),
        DeclareLaunchArgument("device", default_value=default_device, description="cpu, cuda or cuda:N"),
        DeclareLaunchArgument("image_transport", default_value="raw", description="raw or compressed"),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(config, parameters_file),
                              description="parameter file of the node (keys under /**: apply to any name)"),
        DeclareLaunchArgument("autostart", default_value="true",
                              description="configure and activate at start; false waits for a lifecycle manager"),
        DeclareLaunchArgument("use_sim_time", default_value="false",
                              description="use /clock (bag replay with ros2 bag play --clock)"),
        DeclareLaunchArgument("dds_profile",
                              default_value=default_dds_profile(os.path.join(config, DDS_PROFILE_FILE)),
                              description="Fast DDS XML profile of the node (UDP with large socket buffers for "
                                          "camera images from another process); empty: Fast DDS defaults"),
        DeclareLaunchArgument("rviz", default_value="false", description="also start RViz2 showing the debug image"),
    ]

    def processes(context):
        """The node (and rviz2), built only after every argument was checked."""
        def value(name: str) -> str:
            return LaunchConfiguration(name).perform(context)

        start_rviz = is_true(value("rviz"))
        rviz_path = rviz2_executable() if start_rviz else None
        if start_rviz and rviz_path is None:
            raise LaunchArgumentError("rviz:=true but rviz2 is not installed (apt install ros-$ROS_DISTRO-rviz2); "
                                      "nothing was started")
        namespace = value("namespace")
        actions = [LifecycleNode(
            package=PACKAGE,
            executable=NODE_EXECUTABLE,
            name=NODE_NAME,
            namespace=namespace,
            output="screen",
            parameters=[
                value("params_file"),
                {
                    "weights": value("weights"),
                    "device": value("device"),
                    "image_transport": value("image_transport"),
                    "autostart": is_true(value("autostart")),
                    "use_sim_time": is_true(value("use_sim_time")),
                },
            ],
            remappings=[("image", value("image_topic"))],
            additional_env=dds_environment(value("dds_profile")),
        )]
        if start_rviz:
            # The display's topic is the relative "debug_image": rviz2 in the node's own namespace shows its image.
            actions.append(Node(
                package="rviz2",
                executable="rviz2",
                namespace="/".join(part for part in (namespace.strip("/"), NODE_NAME) if part),
                arguments=["-d", os.path.join(config, "debug_image.rviz")],
                parameters=[{"use_sim_time": is_true(value("use_sim_time"))}],
            ))
        return actions

    return LaunchDescription(arguments + [OpaqueFunction(function=processes)])
