"""`vrd eval` end to end: the tiny model on fixture benchmarks through the CLI, then `vrd eval compare`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_fixtures import write_math500, write_mathvista
from typer.testing import CliRunner

from vrd.cli.main import app
from vrd.schema import RESPONSE_COLUMNS, read_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def bench_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli-bench")
    return {"mathvista": write_mathvista(root / "mathvista"), "math500": write_math500(root / "math500")}


def eval_args(model: Path, out: Path, paths: dict[str, Path], *extra: str) -> list[str]:
    return ["eval", "--model", str(model), "--benchmarks", "mathvista,math500", "--out", str(out),
            "--path", f"mathvista={paths['mathvista']}", "--path", f"math500={paths['math500']}",
            "--limit", "2", "--max-new-tokens", "6", "--batch-size", "2", *extra]


@pytest.mark.slow
def test_eval_tiny_model_end_to_end_resume_and_compare(tiny_model_dir, tiny_model_dir_b, bench_paths,
                                                       tmp_path: Path) -> None:
    out_a = tmp_path / "base"
    result = runner.invoke(app, eval_args(tiny_model_dir, out_a, bench_paths))
    assert result.exit_code == 0, result.output
    assert "mathvista" in result.output and "LLM judge: off" in result.output
    results = json.loads((out_a / "results.json").read_text())
    assert set(results["benchmarks"]) == {"mathvista", "math500"}
    for name, b in results["benchmarks"].items():
        assert (b["n_problems"], b["n_responses"]) == (2, 2), name
        assert 0 < b["mean_tokens"] <= 6 and 0.0 <= b["accuracy"] <= 1.0
    assert results["settings"]["model"] == str(Path(tiny_model_dir).resolve())
    responses = read_dataset(out_a / "responses")
    assert set(RESPONSE_COLUMNS) <= set(responses.column_names) and len(responses) == 4
    assert {r["id"] for r in responses} == {"mathvista/testmini/1", "mathvista/testmini/2",
                                             "math500/test/test/prealgebra/1.json", "math500/test/test/algebra/2.json"}
    assert all(r["n_tokens"] <= 6 and r["prompt"] for r in responses)
    assert len(next(r for r in responses if r["source"] == "mathvista")["images"]) == 1

    again = runner.invoke(app, eval_args(tiny_model_dir, out_a, bench_paths))
    assert again.exit_code == 0, again.output
    assert "Generated 0 problem(s), skipped 4" in again.output

    out_b = tmp_path / "other"
    assert runner.invoke(app, eval_args(tiny_model_dir_b, out_b, bench_paths)).exit_code == 0
    md = tmp_path / "cmp.md"
    cmp = runner.invoke(app, ["eval", "compare", str(out_a), str(out_b), "--out", str(md)])
    assert cmp.exit_code == 0, cmp.output
    assert "base" in cmp.output and "other" in cmp.output
    table = md.read_text()
    assert table.startswith("| benchmark | slice | base | other |") and "| mathvista | all |" in table


def test_eval_cli_errors_and_help(bench_paths, tmp_path: Path) -> None:
    help_out = runner.invoke(app, ["eval"])
    assert help_out.exit_code == 0 and "compare" in help_out.output
    missing = runner.invoke(app, ["eval", "--model", "m"])
    assert missing.exit_code == 2 and "--benchmarks" in missing.output
    unknown = runner.invoke(app, ["eval", "--model", "m", "--benchmarks", "mathvsta", "--out", str(tmp_path / "o")])
    assert unknown.exit_code == 2 and "Did you mean: mathvista" in " ".join(unknown.output.split())
    bad_path = runner.invoke(app, ["eval", "--model", "m", "--benchmarks", "mathvista", "--out", str(tmp_path / "o"),
                                   "--path", "mathvista"])
    assert bad_path.exit_code == 2 and "NAME=DIR" in " ".join(bad_path.output.split())
    no_runs = runner.invoke(app, ["eval", "compare", str(tmp_path / "nope"), str(tmp_path / "nope2")])
    assert no_runs.exit_code == 2 and "no results.json here" in " ".join(no_runs.output.split())
