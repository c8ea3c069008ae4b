#!/usr/bin/env bash
# Set up the environment and run the main job on its built-in default: the demo model tracking a generated
# scene. Writes out/demo.txt (one x,y,w,h line per frame) and out/demo.mp4 (annotated video).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
.venv/bin/mixformerv2-track --input synthetic:1 --results out/demo.txt --output out/demo.mp4 "$@"
