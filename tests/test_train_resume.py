"""Training resume after a real SIGKILL: between saves and in the middle of a save.

The killed-and-resumed run must end with the same weights as an uninterrupted run with the same
settings (not the base model, as a resume that only restored `lm_head` did), a half-written
checkpoint must be skipped, and another run's checkpoints in --out must be refused.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from train_fixtures import curate_output, run_killable


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return curate_output(tmp_path_factory.mktemp("curated"), n_sft=4, n_rl=2, n_val=1)


def _args(model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "sft", "--model", str(model), "--data", str(data), "--out", str(out), "--max-steps", "4",
            "--save-steps", "2", "--lr", "1e-2", "--global-batch", "2", "--batch-size", "2", *extra]


def _run(tmp: Path, mode: str, at: int, args: list[str]) -> subprocess.CompletedProcess:
    return run_killable(tmp, mode, at, args)


def _weights(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def test_sigkills_between_and_during_saves_end_like_an_uninterrupted_run(tiny_model_dir: Path, curated: Path,
                                                                          tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vrd.cli.main import app

    straight = tmp_path / "straight"
    result = CliRunner().invoke(app, _args(tiny_model_dir, curated, straight))
    assert result.exit_code == 0, result.output

    out = tmp_path / "out"
    killed = _run(tmp_path, "between", 3, _args(tiny_model_dir, curated, out))  # checkpoint-2 whole, step 3 lost
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert (out / "checkpoint-2" / "vrd_checkpoint.json").exists() and not (out / "model.safetensors").exists()

    killed = _run(tmp_path, "save", 4, _args(tiny_model_dir, curated, out))  # resumes, then dies saving ckpt-4
    assert killed.returncode == -9, killed.stderr[-3000:]
    partial = out / "checkpoint-4"
    assert partial.is_dir() and not (partial / "vrd_checkpoint.json").exists()
    assert not (partial / "trainer_state.json").exists()

    again = _run(tmp_path, "none", 0, _args(tiny_model_dir, curated, out))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "skipping" in again.stderr and "checkpoint-4" in again.stderr
    assert "missing keys" not in again.stderr
    assert json.loads((out / "checkpoint-4" / "vrd_checkpoint.json").read_text())["step"] == 4
    final, reference, base = _weights(out), _weights(straight), _weights(tiny_model_dir)
    assert _max_diff(final, reference) < 1e-5
    # Training moved the weights far beyond that tolerance, so the comparison has teeth: a resume
    # that restored only lm_head ends about this far from the uninterrupted run.
    assert _max_diff(reference, {k: base[k] for k in reference}) > 1e-3
    # metrics.jsonl: the steps redone after each resume are logged once, as in the uninterrupted run.
    def logged(run: Path) -> list[tuple[int, str]]:
        return [(r["step"], r["kind"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())]

    assert logged(out) == logged(straight) and len(logged(out)) >= 4

    # Another run's checkpoints in OUT: refused, naming what differs; the same run with more steps resumes.
    from vrd.trainers.config import VrdSFTConfig
    from vrd.trainers.resume import CheckpointError, find_checkpoint, run_identity

    same = VrdSFTConfig(model=str(tiny_model_dir), data=str(curated), out=str(out), max_steps=8, save_steps=2,
                        lr=1e-2, global_batch=2, batch_size=2)
    assert find_checkpoint(out, run_identity(same)) == out / "checkpoint-4"
    other = VrdSFTConfig(**{**same.__dict__, "lr": 3e-3})
    with pytest.raises(CheckpointError, match="another run.*lr"):
        find_checkpoint(out, run_identity(other))


def test_load_converted_restores_every_tensor_and_refuses_a_partial_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForImageTextToText

    from vrd.trainers.resume import CheckpointError, CheckpointMixin, load_converted
    from vrd.trainers.rl import VrdGRPOTrainer
    from vrd.trainers.sft import sft_trainer_class

    assert issubclass(VrdGRPOTrainer, CheckpointMixin) and issubclass(sft_trainer_class(), CheckpointMixin)
    model = AutoModelForImageTextToText.from_pretrained(tiny_model_dir)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    model.save_pretrained(tmp_path / "ckpt")  # the hub layout: `model.*`, `visual.*`
    saved = load_file(str(tmp_path / "ckpt" / "model.safetensors"))
    assert any(k.startswith("visual.") for k in saved)
    fresh = AutoModelForImageTextToText.from_pretrained(tiny_model_dir)
    load_converted(fresh, saved, tmp_path / "ckpt")
    want, got = model.state_dict(), fresh.state_dict()
    assert all(torch.equal(want[k], got[k]) for k in want)
    partial = {k: v for k, v in saved.items() if not k.startswith("visual.")}
    save_file(partial, str(tmp_path / "partial.safetensors"))
    with pytest.raises(CheckpointError, match="missing"):
        load_converted(fresh, partial, tmp_path)
