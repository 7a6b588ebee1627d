"""`vrd train sft --num-processes 2` on CPU: accelerate starts two gloo ranks (torchrun) that train together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from train_fixtures import curate_output

pytestmark = pytest.mark.slow


def test_sft_with_two_cpu_processes(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = curate_output(tmp_path / "cur", n_sft=8, n_rl=2, n_val=2)
    out = tmp_path / "sft2"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "vrd.cli.main", "train", "sft", "--model", str(tiny_model_dir), "--data", str(data),
           "--out", str(out), "--max-steps", "2", "--global-batch", "4", "--batch-size", "2", "--lr", "1e-3",
           "--save-steps", "1000", "--num-processes", "2"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=540)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    # 8 rows / (2 per device x 2 ranks x no accumulation) = 2 steps per epoch: one step is half an
    # epoch. One process (or accumulation) would make it a quarter: the ranks really shared the batch.
    assert [r["epoch"] for r in state["log_history"] if "loss" in r] == [0.5, 1.0]
    assert (out / "model.safetensors").is_file() and (out / "processor_config.json").is_file()
    run = json.loads((out / "vrd_train_config.json").read_text())["run"]
    assert run["world_size"] == 2 and run["gradient_accumulation_steps"] == 1
