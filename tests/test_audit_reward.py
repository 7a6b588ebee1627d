"""`vrd reward-audit`: rank correlation and the deceptive-reward onset on synthetic logs with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vrd.errors import VrdError
from vrd.trainers.audit import audit, find_onset


def _log(run: Path, *, onset: int | None, seed: int = 0, steps: int = 400, every: int = 10) -> Path:
    """Reward rises linearly all run; accuracy rises until `onset`, then sags (None = keeps tracking)."""
    rng = np.random.default_rng(seed)
    run.mkdir(parents=True, exist_ok=True)
    lines = []
    for s in range(1, steps + 1):
        lines.append({"step": s, "kind": "train", "loss": 0.1, "reward": 0.2 + 0.6 * s / steps + rng.normal(0, 0.05)})
        if s % every == 0:
            if onset is None:
                acc = 0.1 + 0.5 * s / steps
            else:
                acc = 0.1 + 0.4 * min(s, onset) / onset - 0.05 * max(0, s - onset) / 200
            lines.append({"step": s, "kind": "eval", "eval_accuracy": acc + rng.normal(0, 0.015)})
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return run


@pytest.mark.parametrize("onset", [120, 200, 280])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_finds_known_onset(tmp_path: Path, onset: int, seed: int) -> None:
    result = audit(_log(tmp_path / "run", onset=onset, seed=seed))
    assert result.onset_step is not None, result.reason
    assert abs(result.onset_step - onset) <= 20, (result.onset_step, onset)  # within two eval intervals
    assert result.n_points == 40


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_onset_when_accuracy_tracks_reward(tmp_path: Path, seed: int) -> None:
    result = audit(_log(tmp_path / "run", onset=None, seed=seed))
    assert result.onset_step is None and "keeps rising" in result.reason
    assert result.spearman is not None and result.spearman > 0.9


def test_saturation_is_not_an_onset_and_a_fall_with_reward_is_not_deceptive() -> None:
    steps = np.arange(10, 410, 10, dtype=float)
    acc = np.minimum(steps, 200) / 400
    found = find_onset(steps, 0.2 + steps / 500, acc)  # reward keeps rising, accuracy saturates
    assert found["onset_step"] is None and "saturates" in found["reason"]
    assert found["knee_step"] == 200
    falls = np.where(steps <= 200, steps / 400, 0.5 - (steps - 200) / 800)
    found = find_onset(steps, falls, falls)  # reward falls along with accuracy
    assert found["onset_step"] is None and "so did reward" in found["reason"]


def test_isotonic_fit_by_hand() -> None:
    from vrd.trainers.audit import isotonic

    # 3 > 1 violates order: pooled to 2, 2; then 2, 2, 5 is fine; 4 < 5 pools to 4.5, 4.5
    assert isotonic(np.array([3.0, 1.0, 5.0, 4.0])).tolist() == [2.0, 2.0, 4.5, 4.5]


def test_binomial_evals_onset_with_interval_epochs_and_samples(tmp_path: Path) -> None:
    # 20 evals of 200 problems from step 0; accuracy 0.30 -> 0.50 at step 100, down to 0.38.
    rng = np.random.default_rng(5)
    lines = []
    for s in range(0, 200, 10):
        if s:
            lines.append({"step": s, "kind": "train", "reward": 0.2 + 0.6 * s / 190, "epoch": s / 100})
        acc = 0.30 + 0.20 * s / 100 if s <= 100 else 0.50 - 0.12 * (s - 100) / 90
        lines.append({"step": s, "kind": "eval", "eval_accuracy": rng.binomial(200, acc) / 200, "eval_n": 200,
                      "epoch": s / 100, "samples_seen": s * 16})
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    result = audit(tmp_path)
    assert result.steps[0] == 0 and result.reward[0] is None and result.n_points == 20  # step 0 kept
    assert result.onset_step is not None and abs(result.onset_step - 100) <= 40, result.reason
    lo, hi = result.onset_ci95
    assert lo <= result.onset_step <= hi
    assert result.onset_epoch == pytest.approx(result.onset_step / 100)
    assert result.onset_samples == pytest.approx(result.onset_step * 16)
    assert result.onset_p_value is not None and result.onset_p_value <= 0.05
    assert result.spearman_ci95 is not None and result.spearman_ci95[0] <= result.spearman <= result.spearman_ci95[1]


def test_flat_accuracy_while_reward_rises_is_deceptive_from_the_start() -> None:
    steps = np.arange(10, 410, 10, dtype=float)
    found = find_onset(steps, 0.2 + steps / 500, np.full_like(steps, 0.3))
    assert found["onset_step"] == 10


def test_reads_trainer_state_and_cli_writes_plot(tmp_path: Path) -> None:
    from vrd.cli.main import app

    run = _log(tmp_path / "src", onset=200, seed=3)
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    ckpt = tmp_path / "run" / "checkpoint-400"
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    result = CliRunner().invoke(app, ["reward-audit", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "onset: step" in result.output and "Spearman" in result.output
    report = json.loads((tmp_path / "run" / "reward_audit.json").read_text())
    assert abs(report["onset_step"] - 200) <= 20 and report["source"].endswith("trainer_state.json")
    png = (tmp_path / "run" / "reward_audit.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_sft_run_without_reward_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 1, "kind": "train", "loss": 2.0}) + "\n")
    with pytest.raises(VrdError, match="no train reward"):
        audit(tmp_path)
    with pytest.raises(FileNotFoundError):
        audit(tmp_path / "missing")
