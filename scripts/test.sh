#!/usr/bin/env bash
# Set up everything from scratch (Python env and the ROS 2 test environment) and run the whole test suite.
# Usage: scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
if [ -f scripts/setup_ros_env.sh ]; then
  bash scripts/setup_ros_env.sh .venv
  # shellcheck disable=SC1091
  source .ros_env/setup.sh
fi
set +e
.venv/bin/python -m pytest test "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: treating that as a failure" >&2
  exit 1
fi
exit "$status"
