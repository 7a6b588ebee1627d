#!/usr/bin/env bash
# Scratch venvs holding the real peers, beside (not inside) vrd's .venv, for scripts/peers/*.py.
# Each sees vrd's site-packages through a .pth file and installs its peer with --no-deps, so
# vrd's torch/transformers are reused and never touched. Needs the network for PyPI and a
# checkout of EasyR1's source (verl/ is not on PyPI): EASYR1_SRC=/path/to/EasyR1.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SITE="$("$ROOT/.venv/bin/python" -c 'import site; print(site.getsitepackages()[0])')"
OUT="${PEERS_VENVS:-/tmp/vrd-peers}"
mk() { python3 -m venv "$OUT/$1" && echo "$SITE" > "$OUT/$1/lib/python3.11/site-packages/zz_vrd.pth"; }
mkdir -p "$OUT"
# LLaMA-Factory 0.9.5 (transformers<=5.6 pinned, version check off at run time); its mm_plugin
# imports torchaudio for audio only, so an empty module stands in for it.
mk lf && "$OUT/lf/bin/pip" install -q --no-deps llamafactory==0.9.5 omegaconf antlr4-python3-runtime==4.9.3
echo "# audio only" > "$OUT/lf/lib/python3.11/site-packages/torchaudio.py"
# mergekit 0.1.5
mk mk && "$OUT/mk/bin/pip" install -q --no-deps mergekit==0.1.5 immutables
# mathruler 0.1.0 (EasyR1's reward grader)
mk mr && "$OUT/mr/bin/pip" install -q --no-deps mathruler==0.1.0 pylatexenc
# EasyR1 needs transformers<5 (and the hub/datasets that go with it)
mk er && "$OUT/er/bin/pip" install -q --no-deps qwen-vl-utils codetiming transformers==4.57.1 \
  huggingface_hub==0.36.0 tokenizers==0.22.1 datasets==4.1.1
echo "venvs in $OUT; EasyR1 source: ${EASYR1_SRC:-unset}"
