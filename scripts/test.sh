#!/usr/bin/env bash
# The README's test command: set up .venv, run the whole suite. pytest's exit code 5 (no tests collected) is a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh || { echo "setup failed"; exit 1; }
# one math thread per process (see tests/conftest.py); set here too, before any plugin can load torch or numpy
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit $rc
