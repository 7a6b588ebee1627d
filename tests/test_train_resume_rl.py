"""`vrd train rl` killed with SIGKILL and rerun with the same command ends where an uninterrupted run ends.

GRPO samples its rollouts, so this only holds if the resumed run draws the same prompts and the
same random numbers: the checkpoint's RNG state, TRL's sampler order in a later epoch (which a
fresh process would restart from epoch 0), and TRL's generation counter. The reward is a dense
score of the text (train_fixtures.DenseReward) so the weights move and the comparison has teeth.
metrics.jsonl must come out with one record per step, and `vrd reward-audit` must read it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from train_fixtures import curate_output, dense_reward_functions, run_killable

# 4 RL prompts, 2 per step: 2 steps an epoch, so step 3 is in the second epoch.
RL_ARGS = ["--num-generations", "2", "--global-batch", "4", "--batch-size", "4", "--max-new-tokens", "6",
           "--max-steps", "4", "--save-steps", "1", "--lr", "1e-3"]


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return curate_output(tmp_path_factory.mktemp("curated"), n_sft=4, n_rl=4, n_val=1)


def _args(model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "rl", "--model", str(model), "--data", str(data), "--out", str(out), *RL_ARGS,
            "--eval-data", str(data / "val"), "--eval-every", "3", *extra]


@pytest.fixture(scope="module")
def straight(tiny_model_dir: Path, curated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted run, in this process (same seeds, same code path as the CLI subprocesses)."""
    from typer.testing import CliRunner

    from vrd.cli.main import app
    from vrd.trainers import rewards

    out = tmp_path_factory.mktemp("rl") / "straight"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rewards, "reward_functions", dense_reward_functions)
        result = CliRunner().invoke(app, _args(tiny_model_dir, curated, out))
    assert result.exit_code == 0, result.output
    return out


def _weights(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _steps(out: Path) -> list[tuple[int, str]]:
    """(step, kind) of every per-step record, in file order (the end-of-train summary left out)."""
    return [(r["step"], r["kind"]) for r in _records(out) if "train_runtime" not in r]


def test_rl_killed_during_a_save_resumes_to_the_uninterrupted_weights(tiny_model_dir: Path, curated: Path,
                                                                      straight: Path, tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    from typer.testing import CliRunner

    from vrd.cli.main import app
    from vrd.trainers import rewards

    out = tmp_path / "out"
    args = _args(tiny_model_dir, curated, out)
    killed = run_killable(tmp_path, "save", 3, args, dense_reward=True)  # ckpt-1, -2 whole; dies saving ckpt-3
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert (out / "checkpoint-2" / "vrd_checkpoint.json").exists()
    assert not (out / "checkpoint-3" / "vrd_checkpoint.json").exists()
    assert (3, "train") in _steps(out)  # step 3 was logged before the kill; the resumed run logs it again

    # The same command again (in this process, to save a start-up): resumes from checkpoint-2.
    with pytest.MonkeyPatch.context() as mp, caplog.at_level("WARNING"):
        mp.setattr(rewards, "reward_functions", dense_reward_functions)
        again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output[-3000:]
    assert "skipping" in caplog.text and "checkpoint-3" in caplog.text

    final, reference, base = _weights(out), _weights(straight), _weights(tiny_model_dir)
    assert _max_diff(final, reference) < 1e-6
    assert _max_diff(reference, {k: base[k] for k in reference}) > 1e-4  # RL moved the weights: the check has teeth

    # One record per step and kind, in order, and the same rewards as the uninterrupted run.
    assert _steps(out) == _steps(straight)
    # step 3's eval precedes its train record (on_step_end, then log); step 4's comes at train end, after it.
    assert _steps(out) == [(0, "eval"), (1, "train"), (2, "train"), (3, "eval"), (3, "train"), (4, "train"),
                           (4, "eval")]
    rewards = [(r["step"], r["reward"]) for r in _records(out) if "reward" in r]
    assert rewards == [(r["step"], r["reward"]) for r in _records(straight) if "reward" in r]
    assert sum("train_runtime" in r for r in _records(out)) == 1

    from vrd.trainers.audit import read_run

    series, reference_series = read_run(out), read_run(straight)
    assert series["train_steps"].tolist() == [1, 2, 3, 4] and series["eval_steps"].tolist() == [0, 3, 4]
    assert series["rewards"].tolist() == reference_series["rewards"].tolist()


def test_rl_resumed_mid_epoch_two_draws_the_prompts_of_the_uninterrupted_run(tiny_model_dir: Path, curated: Path,
                                                                              straight: Path, tmp_path: Path) -> None:
    """Resume from checkpoint-3 (second epoch, one batch in): TRL's sampler would restart at epoch 0's order."""
    from vrd.trainers import rewards
    from vrd.trainers.config import VrdRLConfig
    from vrd.trainers.rl import train_rl

    out = tmp_path / "mid"
    out.mkdir()
    shutil.copytree(straight / "checkpoint-3", out / "checkpoint-3")
    kept = [r for r in _records(straight) if r["step"] <= 3 and "train_runtime" not in r]
    # A kill after step 4 was logged, with a torn line: both go when the run resumes.
    (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept)
                                       + json.dumps({"step": 4, "kind": "train", "loss": 9.0}) + "\n{\"step\": 5, ")
    cfg = VrdRLConfig.load(model=str(tiny_model_dir), data=str(curated), out=str(out), num_generations=2,
                           global_batch=4, batch_size=4, max_new_tokens=6, max_steps=4, save_steps=1, lr=1e-3,
                           eval_data=str(curated / "val"), eval_every=3)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rewards, "reward_functions", dense_reward_functions)
        train_rl(cfg)
    assert _max_diff(_weights(out), _weights(straight)) < 1e-6
    assert _steps(out) == _steps(straight)
    step4 = [r for r in _records(out) if r["step"] == 4 and "reward" in r]
    assert step4 and step4[0]["reward"] == next(r["reward"] for r in _records(straight) if r["step"] == 4
                                                and "reward" in r)
    # Rerunning the finished run resumes from its last checkpoint, trains nothing and logs nothing twice
    # (step 4's eval ran after checkpoint-4 was saved, so the rerun scores it again, once).
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rewards, "reward_functions", dense_reward_functions)
        train_rl(cfg)
    assert _steps(out) == _steps(straight) and sum("train_runtime" in r for r in _records(out)) == 1
    assert _max_diff(_weights(out), _weights(straight)) < 1e-6


def test_run_logs_cut_back_to_a_checkpoint_and_a_torn_last_line_is_read_past(tmp_path: Path) -> None:
    from vrd.errors import DataError
    from vrd.trainers.audit import read_run
    from vrd.trainers.callbacks import cut_run_log, seen_by

    recs = [{"step": 0, "kind": "eval", "eval_accuracy": 0.1}]
    for s in (1, 2, 3):
        recs += [{"step": s, "kind": "train", "reward": 0.1 * s}, {"step": s, "kind": "eval", "eval_accuracy": 0.2}]
    recs.append({"step": 3, "kind": "train", "train_runtime": 1.0, "train_loss": 0.5})
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs) + '{"step": 4, "kind": "tr')
    assert read_run(tmp_path)["train_steps"].tolist() == [1, 2, 3]  # a killed run is audited as it stands
    kept = cut_run_log(path, seen_by(3))  # rerun of the finished run: its summary goes, step 3's metrics stay
    assert kept == recs[:-1] and path.read_text().endswith("\n")
    assert cut_run_log(path, seen_by(2)) == recs[:5]
    assert cut_run_log(path, seen_by(2, scored=False)) == recs[:4]  # step 2's eval is not in the checkpoint
    assert cut_run_log(path, seen_by(0)) == [] and path.read_text() == ""
    # Several optimizer updates per vrd step: `update` is the Trainer's step the checkpoint counts in.
    multi = [{"step": 0.5, "update": 1, "kind": "train"}, {"step": 1, "update": 2, "kind": "train"},
             {"step": 1.5, "update": 3, "kind": "train"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in multi))
    assert cut_run_log(path, seen_by(2)) == multi[:2]
    path.write_text('{"step": 1, "kind": "train", "reward": 0.1}\n{"step": 2, "ki\n{"step": 3, "reward": 0.2}\n')
    with pytest.raises(DataError, match="line 2"):
        read_run(tmp_path)


def test_combo_killed_between_saves_resumes_without_duplicate_phases(tiny_model_dir: Path, curated: Path,
                                                                     tmp_path: Path) -> None:
    """`vrd train combo` (interleaved SFT/RL steps): killed in step 4 with checkpoint-2 the last whole one
    and step 3 logged; rerun: same end, one line a step."""
    from vrd.trainers import rewards
    from vrd.trainers.combo import train_combo
    from vrd.trainers.strategies import PHASES_FILE, VrdComboConfig

    flags = ["--strategy", "interleaved", "--every", "1", "--model", str(tiny_model_dir), "--data", str(curated),
             *RL_ARGS[:-4], "--save-steps", "2", "--lr", "1e-3", "--sft-lr", "1e-2", "--sft-batch-size", "2"]

    def cfg(out: Path) -> VrdComboConfig:
        return VrdComboConfig.load(strategy="interleaved", every=1, model=str(tiny_model_dir), data=str(curated),
                                   out=str(out), num_generations=2, global_batch=4, batch_size=4, max_new_tokens=6,
                                   max_steps=4, save_steps=2, lr=1e-3, sft_lr=1e-2, sft_batch_size=2)

    def phases(out: Path) -> list[dict]:
        return [json.loads(line) for line in (out / PHASES_FILE).read_text().splitlines()]

    straight, out = tmp_path / "straight", tmp_path / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rewards, "reward_functions", dense_reward_functions)
        train_combo(cfg(straight))
    killed = run_killable(tmp_path, "between", 3, ["train", "combo", *flags, "--out", str(out)], dense_reward=True)
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert [p["step"] for p in phases(out)] == [1, 2, 3]  # step 3 was logged after checkpoint-2
    assert not (out / "checkpoint-3").exists()
    with pytest.MonkeyPatch.context() as mp:  # the rerun (in this process, to save a start-up)
        mp.setattr(rewards, "reward_functions", dense_reward_functions)
        train_combo(cfg(out))
    assert phases(out) == phases(straight)
    assert [(p["step"], p["phase"]) for p in phases(out)] == [(1, "sft"), (2, "rl"), (3, "sft"), (4, "rl")]
    assert _steps(out) == _steps(straight) == [(s, "train") for s in (1, 2, 3, 4)]
    assert _max_diff(_weights(out), _weights(straight)) < 1e-6
    base = _weights(tiny_model_dir)
    assert _max_diff(_weights(straight), {k: base[k] for k in _weights(straight)}) > 1e-4


def test_rl_checkpoints_fall_where_a_round_of_rollouts_ends() -> None:
    from types import SimpleNamespace

    from vrd.trainers.rl import align_saves_to_generations

    args = SimpleNamespace(save_steps=5, num_iterations=2)  # `trl: {num_iterations: 2}`: each round used twice
    align_saves_to_generations(args, 4)
    assert args.save_steps == 8
    args = SimpleNamespace(save_steps=16, num_iterations=1)
    align_saves_to_generations(args, 4)
    assert args.save_steps == 16


def test_a_save_killed_after_trainer_state_is_skipped_but_a_foreign_checkpoint_is_refused(tmp_path: Path) -> None:
    """A kill while vrd makes a saved checkpoint durable (trainer_state.json written, no mark yet) left a
    folder that looked like another tool's checkpoint, and the rerun of the same command was refused."""
    from vrd.trainers.config import VrdRLConfig
    from vrd.trainers.resume import (
        PENDING_MARK,
        CheckpointError,
        find_checkpoint,
        mark_complete,
        run_identity,
    )

    identity = run_identity(VrdRLConfig(model="m", data="d", out=str(tmp_path)))
    first = tmp_path / "checkpoint-1"
    first.mkdir()
    (first / "trainer_state.json").write_text("{}")
    (first / PENDING_MARK).write_text(json.dumps({"run": identity["hash"], "step": 1}))
    assert find_checkpoint(tmp_path, identity) is None  # start over, with a warning
    (first / PENDING_MARK).unlink()
    with pytest.raises(CheckpointError, match="did not mark"):
        find_checkpoint(tmp_path, identity)
    mark_complete(first, identity, 1)
    second = tmp_path / "checkpoint-2"
    second.mkdir()
    (second / "trainer_state.json").write_text("{}")
    (second / PENDING_MARK).write_text("{}")
    assert find_checkpoint(tmp_path, identity) == first
