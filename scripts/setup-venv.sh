#!/usr/bin/env bash
# Create .venv and install vrd with its dev extras. Idempotent: a stamp keyed by pyproject.toml
# skips the install when nothing changed, so the README commands stay fast on a second run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
VENV="${VRD_VENV:-.venv}"
STAMP="$VENV/.vrd-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  exit 0
fi
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# Qwen VL processors need torchvision. These pins match the wheels this kind of machine keeps on
# local disk; elsewhere pip fetches them from PyPI.
case "$(uname -m)" in
  x86_64) TORCH=("torch==2.14.1" "torchvision==0.29.1") ;;
  aarch64|arm64) TORCH=("torch==2.9.1" "torchvision==0.24.1") ;;
  *) TORCH=("torch" "torchvision") ;;
esac
if ! "$VENV/bin/python" -c "import torch, torchvision" 2>/dev/null; then
  "$VENV/bin/python" -m pip install --quiet "${TORCH[@]}"
fi
"$VENV/bin/python" -m pip install --quiet -e ".[dev]"
echo "$want" > "$STAMP"
