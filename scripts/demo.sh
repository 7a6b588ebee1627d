#!/usr/bin/env bash
# The README's first command: set up .venv, then run the whole vrd flow on the embedded data on a CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
exec .venv/bin/vrd demo --out "${1:-demo-out}"
