"""MixFormerV2-B on a CUDA GPU: ros2 launch mixformerv2_ros tracker_b_gpu.launch.py weights:=..."""
from mixformerv2_ros.launch_description import tracker_launch_description

PARAMETERS_FILE = "tracker_b_gpu.yaml"
DEFAULT_DEVICE = "cuda"


def generate_launch_description():
    return tracker_launch_description(PARAMETERS_FILE, DEFAULT_DEVICE)
