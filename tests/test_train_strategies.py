"""SFT+RL combination strategies (`vrd train combo`): schedules, and a few steps of each on the tiny VLM."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from train_fixtures import curate_output
from typer.testing import CliRunner

from vrd.errors import VrdError
from vrd.trainers.callbacks import METRICS_FILE
from vrd.trainers.strategies import PHASES_FILE, Schedule, VrdComboConfig


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return curate_output(tmp_path_factory.mktemp("curated"), n_sft=4, n_rl=4, n_val=2)


def _phases(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / PHASES_FILE).read_text().splitlines()]


def _train_logs(out: Path) -> list[dict]:
    recs = [json.loads(line) for line in (out / METRICS_FILE).read_text().splitlines()]
    return [r for r in recs if r["kind"] == "train" and "loss" in r]


def test_schedules_are_functions_of_the_step() -> None:
    inter = Schedule("interleaved", every=2)
    assert [inter.phase(t, 8) for t in range(6)] == ["sft", "sft", "rl", "rl", "sft", "sft"]
    prog = Schedule("progressive", share_start=1.0, share_end=0.0)
    # shares 1, .75, .5, .25, 0 -> running sums 1, 1.75, 2.25, 2.5, 2.5: SFT where an integer is crossed
    assert [prog.phase(t, 5) for t in range(5)] == ["sft", "rl", "sft", "rl", "rl"]
    assert [prog.share(t, 5) for t in range(5)] == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
    assert prog.sft_steps_before(5, 5) == 2
    assert [Schedule("mix").phase(t, 3) for t in range(3)] == ["mix"] * 3
    assert Schedule("mix").sft_steps_before(3, 3) == 3
    with pytest.raises(VrdError, match="unknown strategy 'mixed'"):
        VrdComboConfig(model="m", strategy="mixed")


def _cfg(tiny: Path, data: Path, out: Path, **kw) -> VrdComboConfig:
    base = dict(model=str(tiny), data=str(data), out=str(out), num_generations=2, global_batch=4, batch_size=4,
                max_new_tokens=6, save_steps=1000, sft_batch_size=2, sft_max_length=512, lr=1e-4, sft_lr=1e-3,
                warmup_ratio=0.0)
    return VrdComboConfig(**{**base, **kw})


def test_interleaved_alternates_logs_phases_and_resumes(tiny_model_dir: Path, curated: Path, tmp_path: Path) -> None:
    from vrd.trainers.combo import train_combo

    out = tmp_path / "inter"
    train_combo(_cfg(tiny_model_dir, curated, out, strategy="interleaved", every=1, max_steps=3, save_steps=2,
                     scheduler="constant"))
    assert [(p["step"], p["phase"]) for p in _phases(out)] == [(1, "sft"), (2, "rl"), (3, "sft")]
    logs = _train_logs(out)
    # SFT steps run at --sft-lr, RL steps at --lr (the scheduler's rate is only scaled for the SFT step)
    assert [r.get("sft/lr") for r in logs] == [pytest.approx(1e-3), None, pytest.approx(1e-3)]
    assert all(r["learning_rate"] == pytest.approx(1e-4) for r in logs)
    assert [r["phase/sft"] for r in logs] == [1.0, 0.0, 1.0]
    assert all(math.isfinite(r["loss"]) for r in logs)
    assert "sft/nll" in logs[0] and "sft/nll" not in logs[1]
    assert "rewards/accuracy/mean" in logs[1] and "rewards/accuracy/mean" not in logs[0]  # no rollouts in SFT steps
    assert json.loads((out / "vrd_strategy.json").read_text())["strategy"] == "interleaved"
    # Resume from checkpoint-2 with a longer run: step 3 is redone once, step 4 (RL) follows.
    import shutil

    shutil.rmtree(out / "checkpoint-3", ignore_errors=True)
    train_combo(_cfg(tiny_model_dir, curated, out, strategy="interleaved", every=1, max_steps=4, save_steps=2,
                     scheduler="constant"))
    assert [(p["step"], p["phase"]) for p in _phases(out)] == [(1, "sft"), (2, "rl"), (3, "sft"), (4, "rl")]


def test_progressive_hands_steps_over_to_rl(tiny_model_dir: Path, curated: Path, tmp_path: Path) -> None:
    from vrd.trainers.combo import train_combo

    out = tmp_path / "prog"
    train_combo(_cfg(tiny_model_dir, curated, out, strategy="progressive", max_steps=4, sft_share_start=1.0,
                     sft_share_end=0.0))
    phases = _phases(out)
    # shares 1, 2/3, 1/3, 0 -> sums 1, 5/3, 2, 2: sft, rl, sft, rl
    assert [p["phase"] for p in phases] == ["sft", "rl", "sft", "rl"]
    assert [p["sft_share"] for p in phases] == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0], abs=1e-5)
    assert [r["progressive/sft_share"] for r in _train_logs(out)] == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0], abs=1e-5)


def test_mix_adds_lambda_sft_nll_every_step(tiny_model_dir: Path, curated: Path, tmp_path: Path) -> None:
    from vrd.trainers.combo import build_combo_trainer

    cfg = _cfg(tiny_model_dir, curated, tmp_path / "mix", strategy="mix", mix_lambda=0.5, max_steps=2,
               resume="never")
    trainer, _ = build_combo_trainer(cfg)
    trainer.train()
    phases = _phases(tmp_path / "mix")
    assert [(p["phase"], p["lambda"]) for p in phases] == [("mix", 0.5), ("mix", 0.5)]
    logs = [r for r in trainer.state.log_history if "loss" in r]
    for r in logs:
        assert r["mix/lambda"] == 0.5 and r["sft/nll"] > 0 and "rewards/accuracy/mean" in r
    # The objective is RL loss + lambda * NLL: with the same rollouts, lambda = 0 and lambda = 0.5 differ by 0.5 * NLL.
    import torch

    inputs = trainer._buffered_inputs[0]
    trainer.model.train()
    trainer._micro_of, trainer._micro_step = None, -1
    with torch.no_grad():
        mixed = trainer.compute_loss(trainer.model, inputs).item()
        trainer._micro_of, trainer._micro_step = None, -1
        nll = trainer._sft_nll(trainer.model).item()
        trainer.schedule = Schedule("mix", mix_lambda=0.0)
        rl_only = trainer.compute_loss(trainer.model, inputs).item()
    assert mixed == pytest.approx(rl_only + 0.5 * nll / trainer.current_gradient_accumulation_steps, rel=1e-4)


def test_two_stage_cli_writes_both_models_in_one_folder(tiny_model_dir: Path, curated: Path, tmp_path: Path) -> None:
    from vrd.cli.main import app

    out = tmp_path / "two"
    args = ["train", "combo", "--strategy", "two-stage", "--model", str(tiny_model_dir), "--data", str(curated),
            "--out", str(out), "--sft-max-steps", "1", "--sft-global-batch", "2", "--sft-batch-size", "2",
            "--max-steps", "1", "--num-generations", "2", "--global-batch", "4", "--batch-size", "4",
            "--max-new-tokens", "6", "--save-steps", "1000"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for stage in ("sft", "rl"):
        assert (out / stage / "model.safetensors").is_file() and (out / stage / "processor_config.json").is_file()
    assert json.loads((out / "rl" / "vrd_train_config.json").read_text())["model"] == str(out / "sft")
    assert [(p["step"], p["phase"]) for p in _phases(out)] == [(1, "sft"), (2, "rl")]
    record = json.loads((out / "vrd_strategy.json").read_text())
    assert record["final_model"] == str(out / "rl") and record["stages"]["sft"] == str(out / "sft")
    # Rerun: the SFT model is there, so SFT is not run again; only the RL stage resumes.
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert [p["phase"] for p in _phases(out)][:2] == ["sft", "rl"]
    assert [r["step"] for r in _train_logs(out / "sft")] == [1]
