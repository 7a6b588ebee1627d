#!/usr/bin/env bash
# Device check for the GPU-only paths, meant to run first time on a lent GPU (< 8 min on one H200).
#
#   scripts/gpu-check.sh                 # on the GPU machine
#   scripts/gpu-check.sh --tiny          # dry run of the same steps on the tiny model (CPU is fine)
#   scripts/gpu-check.sh --fetch-wheels  # here, with network: download the packages the GPU image lacks
#   VRD_WHEELS=none scripts/gpu-check.sh --tiny   # dry run with this machine's packages (wheels are cp312)
#
# The GPU image has torch, transformers, accelerate and peft, but not trl, datasets or math-verify
# (and possibly older transformers/accelerate). `--fetch-wheels` puts pinned wheels into .whl/
# (git-ignored); carry that folder to the machine and this script installs them into a private
# site dir that shadows the image's copies. torch is never replaced: the image's build matches
# its CUDA driver.
#
# Steps (see scripts/gpu_check.py): a bf16-autocast SFT step and a GRPO step on a random
# Qwen2.5-VL-shaped model of about 1B parameters with fp32 master weights, checking that most
# parameters move at lr 1e-6; the hf engine on CUDA against raw `generate` (a ratio); a table
# of figures, also written as JSON to $OUT (or ./gpu-check-out) when that is set.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WHEELS=${VRD_WHEELS:-.whl}

# Pinned to what vrd is tested with (pyproject.toml); --no-deps, so every needed one is named.
PACKAGES=(
  transformers==5.24.0 accelerate==1.16.0 peft==0.21.2 trl==1.16.0
  datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19
  math-verify==0.9.0 latex2sympy2_extended==1.11.0 antlr4-python3-runtime==4.13.2
  regex==2026.11.19  # transformers 5.24 checks regex>=2025.10.22 at import; the image's may be older
)

if [[ "${1:-}" == "--fetch-wheels" ]]; then
  mkdir -p "$WHEELS"
  platforms=()
  for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    platforms+=(--platform "$p")
  done
  "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" -d "$WHEELS" "${PACKAGES[@]}"
  du -sh "$WHEELS"
  exit 0
fi

if compgen -G "$WHEELS/*.whl" >/dev/null; then
  SITE=${VRD_SITE:-/tmp/vrd-gpu-check-site}
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/*.whl
  export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
exec "$PY" scripts/gpu_check.py "$@"
