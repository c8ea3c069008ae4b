"""ament_python package that also installs with plain pip (``pip install -e .``).

Works from any working directory: the README is read next to this file and the data files are globbed there
(colcon --symlink-install runs it from its build folder).
setup.cfg sends the console scripts to lib/mixformerv2_ros/ under colcon, where `ros2 run` looks for them;
pip puts them on the environment's bin/ as usual.
"""
import os
from glob import glob

from setuptools import find_packages, setup

PACKAGE_NAME = "mixformerv2_ros"
# The real folder: colcon --symlink-install runs a symlink to this file from its build folder.
HERE = os.path.dirname(os.path.realpath(__file__))
# Executables of `ros2 run mixformerv2_ros NAME` (and of the launch files): short names as ROS packages use.
ROS_EXECUTABLES = [
    "tracking_node = mixformerv2_ros.tracking_node:main",
    "box_picker = mixformerv2_ros.box_picker:main",
    "init = mixformerv2_ros.init_tool:main",
]


def _files(pattern: str) -> list:
    """Files matching ``pattern`` (relative to this file), named relative to this file as setuptools wants."""
    return sorted(os.path.relpath(path, HERE) for path in glob(os.path.join(HERE, pattern)))


setup(
    name=PACKAGE_NAME,
    version="0.1.0",
    description="MixFormerV2 transformer tracker: core library, ROS 2 node and training toolkit",
    long_description=open(os.path.join(HERE, "README.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["mixformerv2_core*", "mixformerv2_ros*", "mixformerv2_training*"]),
    package_data={"mixformerv2_core": ["assets/*"], "mixformerv2_training": ["configs/*.yaml"],
                  # bags.types registers vision_msgs from these field layouts (no vision_msgs install needed)
                  "mixformerv2_ros": ["interfaces/vision_msgs/msg/*.msg"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE_NAME}"]),
        (f"share/{PACKAGE_NAME}", ["package.xml"]),
        (f"share/{PACKAGE_NAME}/launch", _files("launch/*.py")),
        (f"share/{PACKAGE_NAME}/config", _files("config/*.yaml") + _files("config/*.rviz") + _files("config/*.xml")),
    ],
    install_requires=[
        "numpy>=1.23",
        "opencv-python-headless>=4.6",
        "pyyaml>=5.4",
        "tqdm>=4.60",
        # torch is deliberately unpinned here: install torch==2.13.0 (CPU) or your CUDA build first.
        "torch>=2.1",
    ],
    extras_require={
        "onnx": ["onnx>=1.15", "onnxruntime>=1.17"],  # tested pins: requirements/onnx.txt
        "training": ["tensorboard>=2.12"],
        "eval": ["matplotlib>=3.6", "rosbags>=0.10", "mcap>=1.1"],
        "test": ["pytest>=7"],
    },
    zip_safe=True,
    entry_points={
        "console_scripts": [
            "mixformerv2-track = mixformerv2_core.cli.track:main",
            "mixformerv2-export = mixformerv2_core.cli.export:main",
            "mixformerv2-tracking-node = mixformerv2_ros.tracking_node:main",
            "mixformerv2-box-picker = mixformerv2_ros.box_picker:main",
            "mixformerv2-init = mixformerv2_ros.init_tool:main",
            "mixformerv2-camera = mixformerv2_ros.camera_publisher:main",
            "mixformerv2-eval = mixformerv2_core.cli.eval:main",
            "mixformerv2-report = mixformerv2_core.cli.report:main",
            "mixformerv2-make-bag = mixformerv2_ros.make_bag:main",
            "mixformerv2-replay = mixformerv2_ros.replay:main",
            "mixformerv2-train = mixformerv2_training.cli:main",
            "mixformerv2-train-export = mixformerv2_training.export:main",
            *ROS_EXECUTABLES,
        ],
    },
)
