"""What can be checked without `ros2 launch`: launch files, parameter files, executables, the box picker."""
from __future__ import annotations

import ast
import configparser
import importlib
import os
import re
from pathlib import Path

import pytest
import yaml

from mixformerv2_ros import launch_description
from mixformerv2_ros.launch_description import NODE_EXECUTABLE, PACKAGE
from mixformerv2_ros.parameters import PARAMETERS, check_value
from mixformerv2_ros.tracking_node import NODE_NAME

ROOT = Path(__file__).resolve().parents[2]
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))


def _module_constants(path: Path) -> dict:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {target.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}


def test_both_deployments_have_a_launch_file():
    assert {path.name for path in LAUNCH_FILES} == {"tracker_s_cpu.launch.py", "tracker_b_gpu.launch.py"}


@pytest.mark.parametrize("launch_file", LAUNCH_FILES, ids=lambda path: path.name)
def test_launch_file_names_existing_files_and_valid_parameters(launch_file):
    constants = _module_constants(launch_file)
    parameters_file = ROOT / "config" / constants["PARAMETERS_FILE"]
    assert parameters_file.is_file()
    assert check_value("device", constants["DEFAULT_DEVICE"]) is None
    content = yaml.safe_load(parameters_file.read_text(encoding="utf-8"))
    assert list(content) == ["/**"]  # applies under any namespace and node name
    values = content["/**"]["ros__parameters"]
    declared = {spec.name for spec in PARAMETERS}
    assert set(values) <= declared, f"undeclared keys: {set(values) - declared}"
    for name, value in values.items():
        assert check_value(name, value) is None, (name, value, check_value(name, value))


def _ros_executables() -> dict:
    """setup.py's ROS_EXECUTABLES as {name: "module:function"} (read, not run: setup.py calls setup())."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    value = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                 and any(isinstance(target, ast.Name) and target.id == "ROS_EXECUTABLES" for target in node.targets))
    return dict((part.strip() for part in entry.split("=")) for entry in ast.literal_eval(value))


def test_executables_named_by_the_launch_description_are_installed_by_setup_py():
    executables = _ros_executables()
    assert {NODE_EXECUTABLE, "box_picker", "init"} <= set(executables)
    for target in executables.values():  # every executable names an existing main()
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), target
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert re.search(rf'^PACKAGE_NAME = "{PACKAGE}"$', setup, re.MULTILINE)
    assert "*ROS_EXECUTABLES" in setup
    # colcon runs setup.py install/develop: the console scripts must land where `ros2 run` looks.
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    assert config["develop"]["script_dir"] == config["install"]["install_scripts"] == f"$base/lib/{PACKAGE}"


def test_launch_description_names_the_node_as_the_node_does():
    """launch_description keeps its own copy so that ros2 launch need not import torch with the node module."""
    assert launch_description.NODE_NAME == NODE_NAME


def test_rviz_config_shows_the_relative_debug_image_topic():
    """rviz2 runs in the node's namespace (see launch_description), so a relative name follows namespace:=."""
    rviz = yaml.safe_load((ROOT / "config" / "debug_image.rviz").read_text(encoding="utf-8"))
    assert rviz["Visualization Manager"]["Displays"][0]["Topic"]["Value"] == "debug_image"


def test_box_picker_turns_a_selection_into_a_stamped_init_message():
    from mixformerv2_ros.box_picker import selection_to_detection
    from mixformerv2_ros.detection_messages import init_request_from_detection
    from harness import stamped_header

    header = stamped_header(42)
    detection = selection_to_detection(header, (10, 20, 30, 40), "person")
    assert detection.header == header and detection.id == "person"
    request = init_request_from_detection(detection)
    assert request.target_id == "person" and request.box_xywh == (10.0, 20.0, 30.0, 40.0)
    assert selection_to_detection(header, (0, 0, 0, 0), "person") is None  # cancelled selection


def test_every_parameter_is_documented():
    documentation = (ROOT / "docs" / "ros.md").read_text(encoding="utf-8")
    missing = [spec.name for spec in PARAMETERS if f"| `{spec.name}` |" not in documentation]
    assert not missing, f"parameters missing from docs/ros.md: {missing}"


def test_box_picker_without_a_window_exits_2_and_says_why():
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    result = subprocess.run([sys.executable, "-m", "mixformerv2_ros.box_picker"], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("mixformerv2-box-picker: error: ")
    assert "mixformerv2-init" in result.stderr and "Traceback" not in result.stderr


def test_box_picker_names_the_missing_display_or_gui():
    from mixformerv2_ros.box_picker import window_problem

    gui_build = "  GUI:                           GTK3\n"
    assert "DISPLAY" in window_problem({}, gui_build)
    assert window_problem({"DISPLAY": ":0"}, gui_build) is None
    assert window_problem({"WAYLAND_DISPLAY": "wayland-0"}, gui_build) is None
    assert "no GUI support" in window_problem({"DISPLAY": ":0"}, "  GUI:                           NONE\n")


def test_dds_profile_goes_to_the_variable_the_distro_reads(tmp_path, monkeypatch):
    profile = tmp_path / "profile.xml"
    profile.write_text("<profiles/>", encoding="utf-8")
    monkeypatch.setenv("ROS_DISTRO", "kilted")
    assert launch_description.dds_environment(str(profile)) == {"FASTDDS_DEFAULT_PROFILES_FILE": str(profile)}
    monkeypatch.setenv("ROS_DISTRO", "humble")
    assert launch_description.dds_environment(str(profile)) == {"FASTRTPS_DEFAULT_PROFILES_FILE": str(profile)}
    assert launch_description.dds_environment("") == {}
    with pytest.raises(launch_description.LaunchArgumentError, match="is not a file"):
        launch_description.dds_environment(str(tmp_path / "missing.xml"))


def test_an_exported_dds_profile_wins_over_the_shipped_one(tmp_path, monkeypatch):
    shipped = ROOT / "config" / launch_description.DDS_PROFILE_FILE
    monkeypatch.delenv("FASTDDS_DEFAULT_PROFILES_FILE", raising=False)
    monkeypatch.delenv("FASTRTPS_DEFAULT_PROFILES_FILE", raising=False)
    assert launch_description.default_dds_profile(str(shipped)) == str(shipped)
    assert launch_description.default_dds_profile(str(tmp_path / "not_installed.xml")) == ""
    monkeypatch.setenv("FASTRTPS_DEFAULT_PROFILES_FILE", "/etc/mine.xml")
    assert launch_description.default_dds_profile(str(shipped)) == "/etc/mine.xml"


def test_shipped_dds_profile_offers_udp_with_large_buffers_and_no_shared_memory():
    import xml.etree.ElementTree as ElementTree

    namespace = {"f": "http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles"}
    root = ElementTree.parse(ROOT / "config" / launch_description.DDS_PROFILE_FILE).getroot()
    transports = root.findall("f:transport_descriptors/f:transport_descriptor", namespace)
    assert [t.findtext("f:type", namespaces=namespace) for t in transports] == ["UDPv4"]
    assert int(transports[0].findtext("f:receiveBufferSize", namespaces=namespace)) >= 2 * 1280 * 720 * 3 // 2
    participant = root.find("f:participant", namespace)
    assert participant.get("is_default_profile") == "true"
    assert participant.findtext("f:rtps/f:useBuiltinTransports", namespaces=namespace) == "false"


@pytest.mark.parametrize("text, expected", [("true", True), ("True", True), ("1", True), ("false", False),
                                            ("FALSE", False), ("0", False)])
def test_boolean_launch_arguments_read_like_launch_reads_them(text, expected):
    assert launch_description.is_true(text) is expected


def test_a_boolean_launch_argument_with_other_text_is_an_error():
    with pytest.raises(launch_description.LaunchArgumentError, match="expected true or false, got 'yes'"):
        launch_description.is_true("yes")
