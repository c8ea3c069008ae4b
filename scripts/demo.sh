#!/usr/bin/env bash
# The main job on its built-in default, through the ROS 2 node: sets up .venv and the ROS 2 environment (quick
# when already done), starts the tracking node on the built-in demo weights, plays a generated camera stream
# from a separate process, initialises the target over /mixformerv2_tracker/init, records the node's answers and
# prints frames sent/answered, latency and IoU. Outputs go to out/demo/ (annotated H.264 video, contact sheet,
# the node's debug image video, detections.csv).
#   Usage: scripts/demo.sh [--frames N] [--rate HZ] [--seed S] [--out DIR]     (DEMO_FRAMES=N also works)
# The core-only run without ROS:  .venv/bin/mixformerv2-track --input synthetic:1 --output out/track.mp4
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup_env.sh
bash scripts/setup_ros_env.sh .venv
# shellcheck disable=SC1091
source .ros_env/setup.sh

# The driver stops every process it starts (own process groups) on exit, error and Ctrl-C; this trap is the
# backstop for whatever a killed driver leaves behind (it records their group ids in out/demo/pids).
OUT_DIR=out/demo
for ((i = 1; i <= $#; i++)); do
  case "${!i}" in
    --out) j=$((i + 1)); OUT_DIR="${!j:-$OUT_DIR}" ;;
    --out=*) OUT_DIR="${!i#--out=}" ;;
  esac
done
cleanup() {
  if [ -f "$OUT_DIR/pids" ]; then
    while read -r pid; do kill -KILL -- "-$pid" 2>/dev/null || true; done < "$OUT_DIR/pids"
    rm -f "$OUT_DIR/pids"
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
.venv/bin/python -m mixformerv2_ros.demo "$@"
