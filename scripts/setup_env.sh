#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv: PyTorch 2.13.0 CPU, the package in editable
# mode and its extras. Idempotent. Usage: scripts/setup_env.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON_BIN="${PYTHON:-}"
if [ -z "$PYTHON_BIN" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON_BIN="$candidate"; break; fi
  done
fi
[ -x .venv/bin/python ] || "$PYTHON_BIN" -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" --upgrade pip setuptools wheel
# Exact pin: a looser spec would pull the CUDA build (several GB).
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" -e ".[test]"
for requirements in requirements/*.txt; do
  [ -f "$requirements" ] && "${PIP[@]}" -r "$requirements"
done
# The got10k toolkit is an independent check of our AO/SR numbers in the tests; its CLI extras are not needed.
"${PIP[@]}" --no-deps got10k==0.1.3
.venv/bin/python -c "import torch, cv2, mixformerv2_core; print('environment ready: torch', torch.__version__, '| opencv', cv2.__version__)"
