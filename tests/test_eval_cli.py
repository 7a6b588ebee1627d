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


class _Server:
    """A scripted engine for the CLI: prompts holding a word in `down` raise, those in `broken` come
    back with finish_reason "error", the rest answer 42."""

    name = "scripted"

    def __init__(self, down: tuple[str, ...] = (), broken: tuple[str, ...] = ()) -> None:
        self.down, self.broken, self.asked = down, broken, []

    def generate(self, requests, params):
        from vrd.engines.base import Completion

        if any(w in r.prompt for r in requests for w in self.down):
            raise ConnectionError("connection refused by 127.0.0.1:8000")
        self.asked += [r.prompt for r in requests]
        return [[Completion("", 0, "error") if any(w in r.prompt for w in self.broken)
                 else Completion("<think>x</think> \\boxed{42}", 5, "stop") for _ in range(params.n)]
                for r in requests]

    def close(self) -> None:
        pass


def test_eval_cli_engine_errors_set_aside_counted_retried_and_fatal_first_batch(bench_paths, tmp_path: Path,
                                                                                monkeypatch) -> None:
    import vrd.engines

    args = ["eval", "--model", "m", "--benchmarks", "math500", "--path", f"math500={bench_paths['math500']}",
            "--batch-size", "2", "--out"]
    monkeypatch.setattr(vrd.engines, "get_engine", lambda *a, **k: _Server(down=("Find", "Compute", "1+1",
                                                                                 "Simplify")))
    dead = runner.invoke(app, [*args, str(tmp_path / "dead")])
    assert dead.exit_code == 2 and "Traceback" not in dead.output and dead.exception.__class__ is SystemExit
    errors = [ln for ln in dead.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1
    line = " ".join(dead.output[dead.output.index("error:"):].split())
    assert line.startswith("error: eval stopped: every request of the first batch failed (2 problem(s) of math500")
    assert "ConnectionError: connection refused" in line and line.endswith("then rerun the same command")

    out = tmp_path / "flaky"
    flaky = _Server(down=("sqrt",), broken=("interval",))
    monkeypatch.setattr(vrd.engines, "get_engine", lambda *a, **k: flaky)
    first = runner.invoke(app, [*args, str(out)])
    assert first.exit_code == 0, first.output
    text = " ".join(first.output.split())
    assert f"2 problem(s) set aside for engine errors (see {out / 'rejects.jsonl'}); rerun to retry" in text
    assert "errors" in first.output  # the table's column
    results = json.loads((out / "results.json").read_text())
    assert (results["benchmarks"]["math500"]["n_problems"], results["benchmarks"]["math500"]["n_errors"]) == (2, 2)
    assert len((out / "rejects.jsonl").read_text().splitlines()) == 2

    healed = _Server()
    monkeypatch.setattr(vrd.engines, "get_engine", lambda *a, **k: healed)
    second = runner.invoke(app, [*args, str(out)])
    assert second.exit_code == 0, second.output
    assert len(healed.asked) == 2 and all("sqrt" in p or "interval" in p for p in healed.asked)
    assert "set aside" not in second.output and not (out / "rejects.jsonl").exists()
    ids = [r["id"] for r in read_dataset(out / "responses")]
    assert len(ids) == len(set(ids)) == 4

    # compare reads a run with n_errors beside one written before the field existed
    old = tmp_path / "old"
    old.mkdir()
    legacy = json.loads((out / "results.json").read_text())
    for b in legacy["benchmarks"].values():
        b.pop("n_errors")
    legacy.pop("n_errors")
    (old / "results.json").write_text(json.dumps(legacy))
    cmp = runner.invoke(app, ["eval", "compare", str(out), str(old)])
    assert cmp.exit_code == 0, cmp.output
    assert "math500" in cmp.output
