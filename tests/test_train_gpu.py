"""On a CUDA device: one bf16 SFT step and one GRPO step on the tiny model (skipped without a GPU)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
import torch
from train_fixtures import curate_output

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_bf16_sft_and_grpo_step_on_cuda(tiny_model_dir: Path, tmp_path: Path) -> None:
    from vrd.trainers.config import VrdRLConfig, VrdSFTConfig
    from vrd.trainers.rl import build_rl_trainer
    from vrd.trainers.sft import build_sft_trainer

    data = curate_output(tmp_path / "cur", n_sft=4, n_rl=4)
    sft_cfg = VrdSFTConfig.load(model=str(tiny_model_dir), data=str(data), out=str(tmp_path / "sft"),
                          max_steps=1, global_batch=4, batch_size=4, save_steps=1000)
    trainer, _ = build_sft_trainer(sft_cfg)
    assert trainer.args.bf16 and next(trainer.model.parameters()).dtype == torch.float32  # fp32 masters, bf16 autocast
    t0 = time.perf_counter()
    trainer.train()
    sft_s = time.perf_counter() - t0
    assert next(trainer.model.parameters()).device.type == "cuda"
    sft_loss = [r["loss"] for r in trainer.state.log_history if "loss" in r][0]

    rl_cfg = VrdRLConfig.load(model=str(tiny_model_dir), data=str(data), out=str(tmp_path / "rl"),
                         max_steps=1, num_generations=2, global_batch=4, batch_size=4, max_new_tokens=16,
                         save_steps=1000)
    rl_trainer, _ = build_rl_trainer(rl_cfg)
    t0 = time.perf_counter()
    rl_trainer.train()
    rl_s = time.perf_counter() - t0
    rl_log = [r for r in rl_trainer.state.log_history if "loss" in r][0]
    assert math.isfinite(sft_loss) and math.isfinite(rl_log["loss"])
    print(json.dumps({"device": torch.cuda.get_device_name(0), "sft_step_s": round(sft_s, 3), "sft_loss": sft_loss,
                      "grpo_step_s": round(rl_s, 3), "grpo_loss": rl_log["loss"], "reward": rl_log["reward"]}))
