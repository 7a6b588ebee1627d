"""Shared fixtures: tiny local models and data, built once per session. Nothing is downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never touch the hub: fail fast instead of hanging on a network call.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
# One math thread per process. The tests run tiny models and small fits, where a second OpenMP/BLAS thread
# gains little; on a loaded 2-core machine the threads' barriers made one tiny-model SFT test 267 s instead
# of 92 s (and time out at 600 s under a heavier load). Subprocesses inherit these.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2.5-VL (seed 0): the 'base model' in most tests."""
    from vrd.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-seed0"), seed=0)


@pytest.fixture(scope="session")
def tiny_model_dir_b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, different tiny model (seed 1): a 'foreign teacher'."""
    from vrd.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-seed1"), seed=1)


@pytest.fixture(scope="session")
def synth_problems_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 synth problems (seed 0), written as a vrd problems dataset."""
    from vrd.sources.prepare import synth

    out = tmp_path_factory.mktemp("synth")
    synth(24, 0, out)
    return out
