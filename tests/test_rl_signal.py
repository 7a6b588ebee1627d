"""Learning signal per RL step: hand-made reward groups with known shares, a real GRPO step, the audit plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from train_fixtures import problem

from vrd.trainers.rl_signal import signal_series, step_signal


def test_step_signal_counts_zero_and_format_only_groups_by_level() -> None:
    # G = 2; per group (accuracy, total reward):
    #   g0 (1,1) (1,1)      all correct: zero advantage              base pass 0.9 -> L1
    #   g1 (0,0) (0.1,0)    differs only by the format term          base pass 0.0 -> L5
    #   g2 (1,0) (1,0.1)    a real signal                            base pass 0.6 -> L2
    #   g3 (0,0) (0,0)      all wrong: zero advantage                base pass 0.0 -> L5
    acc = torch.tensor([1, 1, 0, 0, 1, 0, 0, 0], dtype=torch.float32)
    total = torch.tensor([1, 1, 0.1, 0, 1, 0.1, 0, 0])
    adv = torch.tensor([0, 0, 0.7, -0.7, 0.7, -0.7, 0, 0])
    rates = [0.9, 0.9, 0.0, 0.0, 0.6, 0.6, 0.0, 0.0]
    out = step_signal(total, acc, 2, advantages=adv, pass_rates=rates)
    assert out["signal/zero_adv_frac"] == pytest.approx(0.5)
    assert out["signal/format_only_frac"] == pytest.approx(0.25)
    assert out["signal/zero_adv_frac/L1"] == 1.0 and out["signal/groups/L1"] == 1.0
    assert out["signal/zero_adv_frac/L5"] == 0.5 and out["signal/format_only_frac/L5"] == 0.5
    assert out["signal/groups/L5"] == 2.0 and out["signal/zero_adv_frac/L2"] == 0.0
    assert out["signal/adv_q50"] == pytest.approx(0.0) and out["signal/adv_q05"] == pytest.approx(-0.7)
    assert out["signal/adv_q95"] == pytest.approx(0.7)
    # a reward function that returned None (NaN) does not make a constant group look informative
    nan_total = torch.tensor([1.0, float("nan")])
    assert step_signal(nan_total, torch.tensor([1.0, float("nan")]), 2)["signal/zero_adv_frac"] == 1.0
    # rows without a pass rate are left out of the by-level split
    assert not any("/L" in k for k in step_signal(total, acc, 2, pass_rates=[None] * 8))


def test_grpo_step_logs_signal_by_level(tiny_model_dir: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vrd.schema import write_dataset
    from vrd.trainers.callbacks import METRICS_FILE
    from vrd.trainers.config import VrdRLConfig
    from vrd.trainers.rl import train_rl

    split = write_dataset([problem(i) for i in range(2)], tmp_path / "data" / "rl", kind="problems")
    shard = next(split.glob("data-*.parquet"))  # the base pass rate column, as `vrd curate` appends it
    table = pq.read_table(shard)
    pq.write_table(table.append_column("pass_rate", pa.array([0.0, 0.9], pa.float32())), shard)
    out = tmp_path / "run"
    cfg = VrdRLConfig(model=str(tiny_model_dir), data=str(tmp_path / "data"), out=str(out), max_steps=1,
                      num_generations=2, global_batch=4, batch_size=4, max_new_tokens=6, save_steps=1000)
    train_rl(cfg)
    rec = [json.loads(line) for line in (out / METRICS_FILE).read_text().splitlines()]
    rec = [r for r in rec if r["kind"] == "train" and "loss" in r][0]
    for key in ("signal/zero_adv_frac", "signal/format_only_frac", "signal/adv_q05", "signal/adv_q50",
                "signal/adv_q95", "signal/zero_adv_frac/L1", "signal/zero_adv_frac/L5", "signal/groups/L1"):
        assert key in rec, key
    assert rec["signal/groups/L1"] == 1.0 and rec["signal/groups/L5"] == 1.0
    # TRL's own zero-std share is the same quantity as signal/zero_adv_frac under the run's reward
    assert rec["signal/zero_adv_frac"] == pytest.approx(rec["frac_reward_zero_std"])


def test_reward_audit_plots_the_signal_panel(tmp_path: Path) -> None:
    from vrd.trainers.audit import audit, write_report

    lines = []
    for s in range(1, 41):
        lines.append({"step": s, "kind": "train", "reward": 0.2 + s / 100, "signal/zero_adv_frac": 1 - s / 50,
                      "signal/format_only_frac": 0.1, "signal/zero_adv_frac/L5": 1.0})
        if s % 5 == 0:
            lines.append({"step": s, "kind": "eval", "eval_accuracy": 0.1 + s / 200})
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    result = audit(tmp_path)
    assert set(result.signal) == {"signal/zero_adv_frac", "signal/format_only_frac", "signal/zero_adv_frac/L5"}
    assert result.signal["signal/zero_adv_frac"][0] == [1, pytest.approx(0.98)]
    js, png = write_report(result, tmp_path)
    assert json.loads(js.read_text())["signal"]["signal/format_only_frac"][-1] == [40, 0.1]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert signal_series([{"step": 1, "signal/zero_adv_frac": 0.5}, {"step": 1, "signal/zero_adv_frac": 0.25}]) == {
        "signal/zero_adv_frac": [[1, 0.25]]}
