#!/usr/bin/env bash
# Set up everything from scratch and run the tests as CI does: the whole suite on ROS 2 Kilted, then the ROS
# and system tests (test/ros, test/system) again on ROS 2 Jazzy, each distro in its own virtual environment.
# Usage: scripts/test.sh [extra pytest arguments]
#   TEST_DISTROS="kilted" (or "jazzy", default "kilted jazzy") limits the run to some distros.
# Exit status: non-zero when any distro's run fails; pytest's "no tests collected" (5) counts as a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
DISTROS="${TEST_DISTROS:-kilted jazzy}"

section() { printf '\n========== %s ==========\n' "$*"; }

run_pytest() {  # run_pytest PYTHON ARGS...: pytest with exit 5 (nothing collected) turned into a failure
  local python="$1" status
  shift
  set +e
  "$python" -m pytest "$@"
  status=$?
  set -e
  if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: treating that as a failure" >&2
    return 1
  fi
  return "$status"
}

section "setup: Python environment (.venv)"
bash scripts/setup_env.sh
section "setup: labelled real clips (Debian opencv-doc into data/registry)"
# Their tests skip, naming the package, where apt-get cannot fetch it; that must not stop the other tests.
bash scripts/fetch_training_data.sh --opencv-doc-only || echo "real clips unavailable: test/training/test_real_clips.py will skip"
for distro in $DISTROS; do
  case "$distro" in
    kilted)
      section "setup: ROS 2 Kilted (.venv, .ros_env)"
      bash scripts/setup_ros_env.sh --distro kilted .venv
      ;;
    jazzy)
      section "setup: ROS 2 Jazzy (.venv-jazzy, .ros_env-jazzy)"
      bash scripts/setup_env.sh .venv-jazzy    # the project, pinned torch and its extras, as for Kilted
      bash scripts/setup_ros_env.sh --distro jazzy .venv-jazzy
      ;;
    *) echo "unknown distro '$distro' in TEST_DISTROS" >&2; exit 2 ;;
  esac
done

failed=()
for distro in $DISTROS; do
  if [ "$distro" = kilted ]; then
    section "tests: whole suite on ROS 2 Kilted"
    # shellcheck disable=SC1091
    # Training in its own process: its long CPU runs need none of the native libraries (DDS, ONNX Runtime,
    # OpenVINO thread pools) that the other tests leave loaded, and one crash cannot hide the other half.
    (source .ros_env/setup.sh && run_pytest .venv/bin/python test --ignore test/training "$@") || failed+=(kilted)
    section "tests: training on ROS 2 Kilted's environment"
    (source .ros_env/setup.sh && run_pytest .venv/bin/python test/training "$@") || failed+=(kilted-training)
  else
    section "tests: ROS and system tests on ROS 2 Jazzy"
    # shellcheck disable=SC1091
    # (scripts/demo.sh sets up and runs its own Kilted .venv: its test runs once, in the Kilted suite.)
    (source .ros_env-jazzy/setup.sh && run_pytest .venv-jazzy/bin/python test/ros test/system \
      --ignore test/ros/test_demo_script.py "$@") || failed+=(jazzy)
  fi
done

section "summary"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAILED on: ${failed[*]}"
  exit 1
fi
echo "all test runs passed on: $DISTROS"
