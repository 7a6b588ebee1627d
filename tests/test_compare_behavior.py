"""`vrd eval compare` length / truncation / reflection / transfer / level columns, hand-checked on a fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from train_fixtures import response
from typer.testing import CliRunner

from vrd.eval.behavior import level_accuracy, reflection_count
from vrd.eval.compare import compare_runs
from vrd.eval.results import RESPONSES_DIR, macro_average, summarize, write_results
from vrd.schema import write_shard

RATES = {"mathvista/testmini/1": 0.9, "mathvista/testmini/2": 0.9, "mathvista/testmini/3": 0.1,
         "mathvista/testmini/4": 0.1}


def _row(bench: str, pid: str, *, tokens: int, correct: bool, text: str, finish: str = "stop") -> dict:
    row = response(0)
    row.update(id=f"{bench}/{'testmini' if bench == 'mathvista' else 'train'}/{pid}", source=bench,
               n_tokens=tokens, correct=correct, response=text, finish_reason=finish, images=[],
               question="q", meta=json.dumps({"native_id": pid}))
    return row


def _run(folder: Path, vista: list[tuple[int, bool, str, str]], gpqa: list[tuple[int, bool]]) -> Path:
    benches = {
        "mathvista": [_row("mathvista", str(i + 1), tokens=t, correct=c, text=x, finish=f)
                      for i, (t, c, x, f) in enumerate(vista)],
        "gpqa": [_row("gpqa", f"g{i + 1}", tokens=t, correct=c, text="answer") for i, (t, c) in enumerate(gpqa)],
    }
    summary = {}
    for bench, rows in benches.items():
        write_shard(rows, folder / RESPONSES_DIR / bench / "shard-00000.parquet", "responses")
        summary[bench] = summarize(rows, pass_rates=RATES if bench == "mathvista" else None)
    write_results({"model": folder.name, "benchmarks": summary, "mean_accuracy": macro_average(summary)}, folder)
    return folder


@pytest.fixture()
def runs(tmp_path: Path) -> tuple[Path, Path]:
    base = _run(tmp_path / "base",
                [(10, True, "Wait, hmm. 3", "stop"), (20, True, "3", "stop"), (30, False, "4", "stop"),
                 (40, False, "5", "length")],
                [(100, True), (100, False)])
    sft = _run(tmp_path / "sft",
               [(20, True, "wait 3", "stop"), (40, False, "wait 2", "stop"), (60, True, "wait 4", "length"),
                (80, False, "Wait", "length")],
               [(200, True), (300, True)])
    return base, sft


def _metric(cmp: dict, bench: str, metric: str) -> dict:
    return next(r for r in cmp["behavior"] if r["benchmark"] == bench and r["metric"] == metric)


def test_length_truncation_and_reflection_columns_by_hand(runs: tuple[Path, Path]) -> None:
    cmp = compare_runs([str(p) for p in runs])
    expect = {  # (base, sft) worked by hand from the fixture above
        ("mathvista", "mean tokens"): (25.0, 50.0),  # (10+20+30+40)/4, (20+40+60+80)/4
        ("mathvista", "p95 tokens"): (40.0, 80.0),  # the 4th of 4 responses: first with cumulative share >= 95%
        ("mathvista", "truncated %"): (25.0, 50.0),
        ("mathvista", "reflections /1k tok"): (20.0, 20.0),  # 2 markers / 100 tokens; 4 / 200
        ("gpqa", "mean tokens"): (100.0, 250.0),
        ("all", "mean tokens"): (50.0, 700 / 6),  # 300 / 6 responses; 700 / 6
        ("all", "truncated %"): (100 / 6, 200 / 6),
        ("all", "reflections /1k tok"): (2000 / 300, 4000 / 700),
    }
    for (bench, metric), (a, b) in expect.items():
        row = _metric(cmp, bench, metric)
        assert row["values"] == [pytest.approx(a), pytest.approx(b)], (bench, metric)
        assert row["delta"][1] == pytest.approx(b - a), (bench, metric)
    ci = _metric(cmp, "all", "mean tokens")["ci95"][1]
    assert ci[0] <= 700 / 6 - 50 <= ci[1] and ci[0] > 0  # every resample of problems: sft is longer
    assert _metric(cmp, "all", "mean tokens")["significant"][1]
    assert not _metric(cmp, "mathvista", "reflections /1k tok")["significant"][1]
    transfer = next(r for r in cmp["rows"] if r["benchmark"] == "transfer")
    assert transfer["slice"] == "macro (gpqa)" and transfer["accuracy"] == [0.5, 1.0]
    assert transfer["delta"][1] == pytest.approx(0.5) and transfer["ci95"][1][0] <= 0.5 <= transfer["ci95"][1][1]
    levels, acc = level_accuracy(cmp)
    assert levels == ["L1", "L5"] and acc == [[1.0, 0.5], [0.0, 0.5]]
    assert reflection_count("Wait... let me double-check. Hmmm, alternatively: waiter") == 4


def test_truncated_share_interval_is_never_a_false_point() -> None:
    from vrd.eval.behavior import Responses, paired_metric

    def run(flags: list[list[float]]) -> Responses:
        return Responses([f"p{i}" for i in range(len(flags))], [[100.0] * len(f) for f in flags], flags,
                         [[0.0] * len(f) for f in flags])

    none = run([[0.0] * 4 for _ in range(10)])
    res = paired_metric("truncated %", none, none)  # no truncated reply in either run
    assert res["delta"] == 0 and res["ci95"][0] < 0 < res["ci95"][1] and not res["significant"]
    assert res["ci95"][1] - res["ci95"][0] >= 10  # 40 replies each still allow several points
    some = run([[1.0, 1.0, 1.0, 0.0]] * 5 + [[0.0] * 4] * 5)
    res = paired_metric("truncated %", none, some)  # 15 of 40 truncated, all in half of the problems
    assert res["delta"] == pytest.approx(37.5) and res["ci95"][0] <= 37.5 <= res["ci95"][1] <= 100
    most = run([[1.0] * 4] * 8 + [[0.0] * 4] * 2)
    res = paired_metric("truncated %", none, most)
    assert res["delta"] == pytest.approx(80.0) and res["significant"] and 0 < res["ci95"][0] < 80 < res["ci95"][1] <= 100


def test_compare_cli_prints_the_columns_and_writes_the_figures(runs: tuple[Path, Path], tmp_path: Path) -> None:
    from vrd.cli.main import app

    md, figs = tmp_path / "cmp.md", tmp_path / "figs"
    result = CliRunner().invoke(app, ["eval", "compare", *map(str, runs), "--out", str(md), "--plot", str(figs)],
                                terminal_width=250)
    assert result.exit_code == 0, result.output
    assert "reflections /1k tok" in result.output and "p95 tokens" in result.output
    text = md.read_text()
    assert "| mathvista | mean tokens | 25 | 50 (+25.0" in text and "| transfer | macro (gpqa) |" in text
    for name in ("accuracy_by_level.png", "length_by_method.png", "accuracy_vs_length.png"):
        assert (figs / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
