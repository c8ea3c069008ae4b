#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv: PyTorch 2.13.0 CPU, the package in editable
# mode and its extras. Prints one line per step; pip's own output is kept in .venv/setup.log and shown only
# when a step fails. Idempotent: when nothing it installs from changed, it checks the environment and stops.
# Usage: scripts/setup_env.sh
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION=2.13.0
LOG=.venv/setup.log
STAMP=.venv/setup_env.stamp

step() { printf '[setup] %s\n' "$*"; }

PYTHON_BIN="${PYTHON:-}"
if [ -z "$PYTHON_BIN" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON_BIN="$candidate"; break; fi
  done
fi
if [ ! -x .venv/bin/python ]; then
  step "creating .venv with $PYTHON_BIN ..."
  "$PYTHON_BIN" -m venv .venv
fi

# What the environment is built from: when this digest matches the last successful run, nothing is reinstalled.
inputs_digest() {
  cat scripts/setup_env.sh setup.py requirements/*.txt 2>/dev/null | sha256sum | cut -d' ' -f1
}
check_environment() {
  .venv/bin/python -c "import torch, cv2, mixformerv2_core; print('[setup] environment ready: torch', torch.__version__, '| opencv', cv2.__version__)"
}
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(inputs_digest)" ] && check_environment 2>/dev/null; then
  exit 0
fi

: > "$LOG"
# Run one pip install quietly; on failure show what pip said (it is also kept in $LOG).
pip_step() {
  local message="$1"; shift
  step "$message ..."
  local output
  if ! output="$(.venv/bin/python -m pip install --disable-pip-version-check --no-input "$@" 2>&1)"; then
    printf '%s\n' "$output" | tee -a "$LOG" >&2
    printf '[setup] error: %s failed (pip output above, also in %s)\n' "$message" "$LOG" >&2
    exit 1
  fi
  printf '%s\n' "$output" >> "$LOG"
}

pip_step "updating pip, setuptools and wheel" --upgrade pip setuptools wheel
# Exact pin: a looser spec would pull the CUDA build (several GB).
pip_step "installing PyTorch $TORCH_VERSION (CPU)" "torch==$TORCH_VERSION"
pip_step "installing this package (editable) and its test tools" -e ".[test]"
for requirements in requirements/*.txt; do
  [ -f "$requirements" ] || continue
  pip_step "installing $(basename "$requirements" .txt) requirements ($requirements)" -r "$requirements"
done
# The got10k toolkit is an independent check of our AO/SR numbers in the tests; its CLI extras are not needed.
pip_step "installing the got10k toolkit (metric cross-check)" --no-deps got10k==0.1.3
check_environment
inputs_digest > "$STAMP"
