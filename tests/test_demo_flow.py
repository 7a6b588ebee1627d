"""The demo's whole flow at toy size: every stage runs its real command and leaves real output.

The full-size demo trains a teacher for minutes; here the teacher memorises the 8 problems it
is then asked to distill, which is enough for rejection sampling to keep responses and so for
every later stage (curate, shift-report, SFT, GRPO, eval, audit) to have data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_runs_every_stage_and_reuses_the_teacher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from vrd.demo.flow import Demo, DemoConfig, run_cli
    from vrd.demo.teacher import TeacherConfig, prepare_teacher
    from vrd.schema import read_rows

    monkeypatch.setenv("VRD_CACHE", str(tmp_path / "cache"))
    teacher = TeacherConfig(hidden_size=64, num_layers=2, n_train=10, synth_seed=0, base_steps=10,
                            teacher_steps=150, batch_size=10, lr=5e-3, families="triangle,parallel,inscribed,pythagorean,rectangle",
                            tiers="1,2,3")
    config = DemoConfig(n_problems=10, n_heldout=4, samples=2, keep=1, max_new_tokens=64, sft_steps=2,
                        rl_steps=2, rl_generations=2, seed=0, teacher=teacher)
    out = tmp_path / "demo"
    stages = Demo(out, config, console=Console(width=120)).run()

    names = [s.name for s in stages]
    assert names == ["synth data", "tiny teacher", "distill (rejection sampling)", "base-model rollouts", "curate",
                     "export", "shift-report", "SFT", "GRPO", "eval: base vs SFT vs RL", "reward-audit"]
    assert len(read_rows(out / "data" / "synth")) == 10
    distilled = read_rows(out / "distill")
    assert distilled and all(r["correct"] for r in distilled)
    assert len(read_rows(out / "rollouts")) == 10 * 2
    assert read_rows(out / "curated" / "sft")
    for fmt in ("llamafactory", "easyr1", "trl"):
        assert any(p.is_file() for p in (out / "export" / fmt).rglob("*"))
    metrics = json.loads((out / "shift-report" / "metrics.json").read_text())
    assert set(metrics["datasets"]) == {"sft", "distill"}
    assert "<script" not in (out / "shift-report" / "report.html").read_text()
    for run in ("sft", "rl"):
        assert (out / "train" / run / "config.json").exists()
    for run in ("teacher", "base", "sft", "rl"):
        assert json.loads((out / "eval" / run / "results.json").read_text())["benchmarks"]
    assert (out / "train" / "rl" / "reward_audit.json").exists()
    summary = json.loads((out / "demo-summary.json").read_text())
    assert summary["teacher"]["cached"] is False
    assert 0.0 <= summary["teacher"]["heldout_accuracy"] <= 1.0

    again = prepare_teacher(run_cli, tmp_path / "work-again", teacher, log=lambda _: None)
    assert again.cached and again.teacher == Path(summary["teacher"]["teacher"])
