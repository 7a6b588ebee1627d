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
# its CUDA driver. pyarrow is not carried (49 MB); datasets is picked to fit the image's pyarrow.
#
# On a lent device: `scripts/gpu-check.sh --fetch-wheels` here (18 MB), then one device call with
# command `scripts/gpu-check.sh`, carry [".whl"], timeout_s 540; the table comes back in
# $OUT/gpu-check.json. Checked here, without a GPU: a `--tiny` run with the image's missing
# packages (polars, datasketch, imagehash, the embedding model) blocked from import passes, with
# datasets 5.2 and with 4.8.
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
  dill==0.4.1 multiprocess==0.70.19
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
  # pyarrow's wheel (49 MB) would take the carried tree over the device's 64 MiB, so the image's
  # pyarrow is used: datasets 5.2 needs pyarrow>=24, 4.8 (trl 1.16's floor is 4.7) pyarrow>=21, and
  # the install below picks the one the image can run. vrd's training path runs on both.
  for v in 5.2.0 4.8.0; do
    "$PY" -m pip download --no-deps --only-binary=:all: -d "$WHEELS/datasets" "datasets==$v"
  done
  du -sh "$WHEELS"
  exit 0
fi

if compgen -G "$WHEELS/*.whl" >/dev/null; then
  SITE=${VRD_SITE:-/tmp/vrd-gpu-check-site}
  extra=()
  if compgen -G "$WHEELS/datasets/*.whl" >/dev/null; then
    arrow=$("$PY" -c 'import pyarrow; print(pyarrow.__version__.split(".")[0])' 2>/dev/null || echo 0)
    if (( arrow >= 24 )); then extra=("$WHEELS"/datasets/datasets-5.*.whl)
    elif (( arrow >= 21 )); then extra=("$WHEELS"/datasets/datasets-4.*.whl)
    else echo "gpu-check: the image's pyarrow is ${arrow:-missing} but datasets needs >= 21; carry a pyarrow wheel" >&2; exit 2
    fi
  fi
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
    "$WHEELS"/*.whl "${extra[@]}"
  export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
exec "$PY" scripts/gpu_check.py "$@"
