#!/usr/bin/env bash
# Create the ROS 2 test environment from pip alone, for ROS 2 Kilted or Jazzy:
#   - the distro's ROS wheels from PyPI (real rclpy over Fast DDS) and the rosidl toolchain;
#   - the launch system and the `ros2` command line (launch, launch_ros, ros2cli and its verbs): pure-Python
#     wheels from ../shared/ros-cli-wheels/<distro>/ (PyPI has none), installed with --no-deps;
#   - colcon-common-extensions (PyPI), so tests can build the package into a colcon workspace;
#   - the interface packages that have no wheel, generated with the wheels' own rosidl toolchain into the
#     environment directory: vision_msgs 4.1.1 and composition_interfaces (imported by launch_ros).
#
# Usage: scripts/setup_ros_env.sh [--distro kilted|jazzy] [VENV_DIR]
#   kilted (default): VENV_DIR defaults to .venv,       environment directory .ros_env/
#   jazzy:            VENV_DIR defaults to .venv-jazzy, environment directory .ros_env-jazzy/
#   PYTHON=python3.11 selects the interpreter used when VENV_DIR does not exist yet (the wheels are cp311).
#   ROS_CLI_WHEELS=DIR points at the ros-cli-wheels folder when it is not ../shared/ros-cli-wheels.
# Afterwards:  source .ros_env/setup.sh   (or .ros_env-jazzy/setup.sh)
#
# Needs neither root nor any path outside the repository (and VENV_DIR). All of it is test infrastructure;
# a robot with ROS 2 uses its apt packages instead (see docs/ros.md). Re-running is cheap: every step is
# skipped when its inputs did not change.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DISTRO=kilted
if [[ "${1:-}" == "--distro" ]]; then
  DISTRO="${2:?--distro needs kilted or jazzy}"
  shift 2
elif [[ "${1:-}" == --distro=* ]]; then
  DISTRO="${1#--distro=}"
  shift
fi
PYTHON="${PYTHON:-python3.11}"

log() { printf '[setup_ros_env:%s] %s\n' "$DISTRO" "$*"; }
die() { printf 'setup_ros_env: error: %s\n' "$*" >&2; exit 1; }

# Package names per distro. On PyPI, ros-<name> is the newest distro (Kilted); ros-jazzy-<name> are
# meta-packages pinning the Jazzy builds of the same ros-<name> distributions, hence one venv per distro.
case "$DISTRO" in
  kilted)
    DEFAULT_VENV="$REPO_ROOT/.venv"; ENV_DIR="$REPO_ROOT/.ros_env"; P="ros-"
    RCLPY="ros-rclpy[fastrtps]==9.1.2"; AMENT_CMAKE_ROS=(ros-ament-cmake-ros-core)
    ;;
  jazzy)
    DEFAULT_VENV="$REPO_ROOT/.venv-jazzy"; ENV_DIR="$REPO_ROOT/.ros_env-jazzy"; P="ros-jazzy-"
    RCLPY="ros-jazzy-rclpy[fastrtps]==7.1.6"
    AMENT_CMAKE_ROS=(ros-jazzy-ament-cmake-ros ros-jazzy-ament-cmake-gmock ros-jazzy-ament-cmake-gtest
                     ros-jazzy-ament-cmake-pytest ros-jazzy-python-cmake-module)
    ;;
  *) die "unknown distro '$DISTRO' (expected kilted or jazzy)" ;;
esac
VENV_DIR="$(realpath -m "${1:-$DEFAULT_VENV}")"
BUILD_ROOT="$ENV_DIR/build"
INSTALL_DIR="$ENV_DIR/install"
INTERFACES=(vision_msgs composition_interfaces)   # composition_interfaces needs nothing from vision_msgs

ROS_WHEELS=(
  "$RCLPY" "${P}sensor-msgs" "${P}std-msgs" "${P}geometry-msgs" "${P}std-srvs" "${P}diagnostic-msgs"
  "${P}lifecycle-msgs" "${P}rcl-interfaces"
)
ROSIDL_TOOLCHAIN=(
  "${P}rosidl-default-generators" "${P}ament-cmake" "${P}ament-package" "${P}ament-cmake-include-directories"
  "${P}rosidl-core-generators" "${AMENT_CMAKE_ROS[@]}" "${P}rosidl-typesupport-introspection-c"
  "${P}rosidl-typesupport-introspection-cpp" "${P}rosidl-typesupport-fastrtps-c"
  "${P}rosidl-typesupport-fastrtps-cpp" "${P}rosidl-generator-py" catkin-pkg empy lark numpy
)
TEST_TOOLS=(colcon-common-extensions psutil)

# --- 1. the launch/CLI wheelhouse ----------------------------------------------------------------------
CLI_WHEELS=""
for candidate in "${ROS_CLI_WHEELS:-}" "$REPO_ROOT/../shared/ros-cli-wheels" "$REPO_ROOT/../../shared/ros-cli-wheels"; do
  if [[ -n "$candidate" && -f "$candidate/requirements-$DISTRO.txt" ]]; then
    CLI_WHEELS="$(realpath "$candidate")"; break
  fi
done
[[ -n "$CLI_WHEELS" ]] || die "no ros-cli-wheels folder with requirements-$DISTRO.txt (looked in \
\$ROS_CLI_WHEELS and ../shared/ros-cli-wheels, ../../shared/ros-cli-wheels from $REPO_ROOT)"

# --- 2. virtual environment and wheels ---------------------------------------------------------------
if [[ ! -x "$VENV_DIR/bin/python" ]]; then
  log "creating virtual environment $VENV_DIR with $PYTHON"
  "$PYTHON" -m venv "$VENV_DIR"
fi
VPY="$VENV_DIR/bin/python"
[[ "$("$VPY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" == "3.11" ]] \
  || die "$VENV_DIR is not Python 3.11; the ROS 2 wheels are built for cp311"

mkdir -p "$ENV_DIR"
WHEEL_KEY="$( { printf '%s\n' "${ROS_WHEELS[@]}" "${ROSIDL_TOOLCHAIN[@]}" "${TEST_TOOLS[@]}" "$VENV_DIR"
  cat "$CLI_WHEELS/requirements-$DISTRO.txt" "$CLI_WHEELS/$DISTRO/SHA256SUMS"; } | sha256sum | cut -c1-16)"
if [[ "$(cat "$ENV_DIR/.wheels.stamp" 2>/dev/null)" != "$WHEEL_KEY" ]]; then
  log "installing the ROS 2 $DISTRO wheels, the rosidl toolchain and colcon into $VENV_DIR"
  # pip's notes about index folders without a given package are noise here; real errors still show.
  "$VPY" -m pip install --quiet "${ROS_WHEELS[@]}" "${ROSIDL_TOOLCHAIN[@]}" "${TEST_TOOLS[@]}" \
    -r "$CLI_WHEELS/requirements-$DISTRO.txt" 2> >(grep -v 'is ignored: it is neither' >&2)
  log "installing the launch system and ros2 command line from $CLI_WHEELS/$DISTRO"
  # --no-deps: the wheels name ROS packages as upstream does (ament_index_python, launch, ...), which PyPI
  # spells differently or not at all (PyPI's 'launch' is an unrelated project).
  "$VPY" -m pip install --quiet --no-index --no-deps "$CLI_WHEELS/$DISTRO"/*.whl
  echo "$WHEEL_KEY" > "$ENV_DIR/.wheels.stamp"
else
  log "wheels already installed"
fi

# --- 3. interface packages, generated with the wheels' rosidl toolchain ----------------------------------
# The wheels' exported CMake targets name the Python/NumPy headers of the machine they were built on;
# scripts/cmake/wheel_python_includes.cmake points them at this venv's headers (nothing outside the repo).
PY_INCLUDE="$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
NUMPY_INCLUDE="$("$VPY" -c 'import numpy; print(numpy.get_include())')"
HOOK="$REPO_ROOT/scripts/cmake/wheel_python_includes.cmake"
SRC_KEY="$( { for name in "${INTERFACES[@]}"; do
    find "$REPO_ROOT/mixformerv2_ros/interfaces/$name" -type f | sort | xargs cat; done
  cat "$HOOK"; echo "$VENV_DIR $WHEEL_KEY"; } | sha256sum | cut -c1-16)"
if [[ "$(cat "$ENV_DIR/.interfaces.stamp" 2>/dev/null)" != "$SRC_KEY" ]]; then
  rm -rf "$BUILD_ROOT" "$INSTALL_DIR"
  : > "$ENV_DIR/cmake.log"
  for name in "${INTERFACES[@]}"; do
    log "building $name into $INSTALL_DIR"
    (
      export CMAKE_PREFIX_PATH="$INSTALL_DIR:$VENV_DIR" AMENT_PREFIX_PATH="$INSTALL_DIR:$VENV_DIR"
      export PATH="$VENV_DIR/bin:$PATH"
      cmake -S "$REPO_ROOT/mixformerv2_ros/interfaces/$name" -B "$BUILD_ROOT/$name" \
        -DCMAKE_INSTALL_PREFIX="$INSTALL_DIR" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
        -DPython3_EXECUTABLE="$VPY" -DPYTHON_EXECUTABLE="$VPY" \
        -DCMAKE_PROJECT_INCLUDE="$HOOK" -DWHEEL_PYTHON_INCLUDE_DIRS="$PY_INCLUDE;$NUMPY_INCLUDE" \
        && cmake --build "$BUILD_ROOT/$name" -j "$(nproc)" && cmake --install "$BUILD_ROOT/$name"
    ) >> "$ENV_DIR/cmake.log" 2>&1 || { tail -60 "$ENV_DIR/cmake.log" >&2; die "building $name failed (log: $ENV_DIR/cmake.log)"; }
  done
  echo "$SRC_KEY" > "$ENV_DIR/.interfaces.stamp"
else
  log "interface packages already built"
fi

# --- 4. environment file -----------------------------------------------------------------------------
IFACE_PY="$(find "$INSTALL_DIR" -type d -path '*-packages/vision_msgs' -printf '%h\n' | head -n1)"
cat > "$ENV_DIR/setup.sh" <<SETUP
# Generated by scripts/setup_ros_env.sh: source it to get ROS 2 $DISTRO from wheels (rclpy, launch, ros2,
# colcon) plus the generated vision_msgs and composition_interfaces.
export VIRTUAL_ENV="$VENV_DIR"
export PATH="$VENV_DIR/bin:\${PATH:-}"
export PYTHONPATH="$IFACE_PY:$REPO_ROOT\${PYTHONPATH:+:\$PYTHONPATH}"
export LD_LIBRARY_PATH="$INSTALL_DIR/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export AMENT_PREFIX_PATH="$INSTALL_DIR:$VENV_DIR"
export CMAKE_PREFIX_PATH="$INSTALL_DIR:$VENV_DIR"
export RMW_IMPLEMENTATION="\${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
export ROS_DISTRO="$DISTRO"
export ROS_VERSION=2
export ROS_PYTHON_VERSION=3
SETUP

# --- 5. check --------------------------------------------------------------------------------------
# In a clean environment: a shell that sourced another distro's setup.sh must not decide the result (the
# distros' libraries differ; source one distro per shell).
env -i HOME="$HOME" PATH="/usr/local/bin:/usr/bin:/bin" bash -c "source '$ENV_DIR/setup.sh' && '$VPY' -c \
  'import rclpy, launch_ros, vision_msgs.msg, composition_interfaces.srv, sensor_msgs.msg, std_srvs.srv, diagnostic_msgs.msg' \
  && ros2 pkg prefix composition_interfaces > /dev/null && command -v colcon > /dev/null" \
  || die "the $DISTRO environment does not work after setup (see $ENV_DIR/cmake.log)"
log "ready: source ${ENV_DIR#"$REPO_ROOT"/}/setup.sh"
