"""MixFormerV2-S on the CPU (robot boards): ros2 launch mixformerv2_ros tracker_s_cpu.launch.py weights:=..."""
from mixformerv2_ros.launch_description import tracker_launch_description

PARAMETERS_FILE = "tracker_s_cpu.yaml"
DEFAULT_DEVICE = "cpu"


def generate_launch_description():
    return tracker_launch_description(PARAMETERS_FILE, DEFAULT_DEVICE)
