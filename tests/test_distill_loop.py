"""Rejection sampling logic (keep, rounds, aggregates, seeds, rejects) with a scripted engine.

The engine's outputs are fixed per problem and per call, so every correctness-dependent rule
is exercised for real, which a random tiny model (acceptance ~0) could not do.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path

import pytest
from distill_fixtures import ScriptedEngine, config_for, make_problem
from http_fixtures import RefusingHandler, serving
from PIL import Image

from vrd.distill.loop import call_seed, problem_seed
from vrd.distill.runner import run_distill
from vrd.distill.store import check_unique, read_rejects
from vrd.engines.base import Completion
from vrd.schema import read_rows


def rows_by_id(out: Path) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for row in read_rows(out):
        found[row["id"].split("/")[-1]].append(row)
    return found


def test_keep_rounds_and_aggregates(tmp_path: Path) -> None:
    problems = [make_problem("A"), make_problem("B"), make_problem("C")]
    engine = ScriptedEngine({
        "A": ["WRRR"],  # solved in round 1: 3 of 4 correct, keep the first 2 correct
        "B": ["WWWW", "WWRW"],  # unsolved in round 1, one correct in round 2
        "C": ["WWWW", "WWWW"],  # never solved: done, but no rows
    })
    cfg = config_for(tmp_path, rounds=2, keep=2)
    summary = run_distill(cfg, engine=engine, problems=problems)

    rows = rows_by_id(tmp_path / "out")
    assert set(rows) == {"A", "B"}
    a, b = rows["A"], rows["B"]
    assert [(r["round"], r["sample"]) for r in a] == [(1, 1), (1, 2)]
    assert all(r["correct"] and r["pred"] == "42" and r["format_ok"] for r in a)
    assert (a[0]["n_samples"], a[0]["n_correct"], a[0]["pass_rate"]) == (4, 3, pytest.approx(0.75))
    assert (a[0]["n_samples_r1"], a[0]["n_correct_r1"], a[0]["pass_rate_r1"]) == (4, 3, pytest.approx(0.75))
    assert [(r["round"], r["sample"]) for r in b] == [(2, 2)]
    assert (b[0]["n_samples"], b[0]["n_correct"], b[0]["pass_rate"]) == (8, 1, pytest.approx(1 / 8))
    assert (b[0]["n_samples_r1"], b[0]["n_correct_r1"], b[0]["pass_rate_r1"]) == (4, 0, 0.0)
    assert b[0]["prompt"].startswith("<image>") or "<image>" in b[0]["prompt"]
    assert b[0]["model"] == "scripted" and b[0]["finish_reason"] == "stop"
    # A was solved in round 1, so only B and C were re-sampled.
    assert engine.calls == {"A": 1, "B": 2, "C": 2}
    assert summary.generated == 4 + 8 + 8 and summary.kept == 3
    assert summary.acceptance == pytest.approx(3 / 20)
    assert summary.totals["problems_done"] == 3  # C counts as done although it kept nothing
    assert summary.totals["pass_rate_mean"] == pytest.approx((0.75 + 1 / 8 + 0) / 3)
    assert summary.totals["pass_rate_r1_mean"] == pytest.approx((0.75 + 0 + 0) / 3)

    # A rerun finds all three done (C through its done-marker) and samples nothing.
    again = ScriptedEngine({})
    second = run_distill(config_for(tmp_path, rounds=2, keep=2), engine=again, problems=problems)
    assert again.calls == {} and second.problems_done == 0 and second.problems_done_before == 3


def test_keep_all_keeps_every_sample_with_unique_indices(tmp_path: Path) -> None:
    problems = [make_problem("A"), make_problem("B")]
    engine = ScriptedEngine({"A": ["RWRW"], "B": ["WWW", "RWW"]})
    run_distill(config_for(tmp_path, samples=3, keep=None, rounds=2), engine=engine, problems=problems)
    rows = rows_by_id(tmp_path / "out")
    assert sorted((r["round"], r["sample"], r["correct"]) for r in rows["A"]) == [
        (1, 0, True), (1, 1, False), (1, 2, True)]
    assert sorted((r["round"], r["sample"], r["correct"]) for r in rows["B"]) == [
        (1, 0, False), (1, 1, False), (1, 2, False), (2, 0, True), (2, 1, False), (2, 2, False)]
    assert {r["n_samples"] for r in rows["B"]} == {6} and {r["n_samples_r1"] for r in rows["B"]} == {3}
    assert check_unique(tmp_path / "out") == 9


def test_seeds_are_fresh_per_round_and_reproducible(tmp_path: Path) -> None:
    assert problem_seed(0, 1, "x") != problem_seed(0, 2, "x") != problem_seed(1, 1, "x")
    assert problem_seed(0, 1, "x") != problem_seed(0, 1, "y")
    assert call_seed(0, 1, ["a", "b"]) == call_seed(0, 1, ["b", "a"])
    problems = [make_problem("A"), make_problem("B")]
    script = {"A": ["WW", "WW", "WW"], "B": ["WW", "WW", "WW"]}
    first = ScriptedEngine(script)
    run_distill(config_for(tmp_path, samples=2, rounds=3, seed=7), engine=first, problems=problems)
    seeds = [s for _, s in first.seeds]
    assert len(seeds) == 3 and len(set(seeds)) == 3
    assert seeds[0] == call_seed(7, 1, ["t/train/A", "t/train/B"])
    second = ScriptedEngine(script)
    run_distill(config_for(tmp_path, samples=2, rounds=3, seed=7, out=str(tmp_path / "out2")), engine=second,
                problems=problems)
    assert [s for _, s in second.seeds] == seeds


def test_bad_rows_are_set_aside_and_the_run_goes_on(tmp_path: Path) -> None:
    corrupt = {"bytes": b"definitely not a png", "path": None}
    problems = [make_problem("A"), make_problem("BAD", image=corrupt), make_problem("BOOM"), make_problem("D")]
    engine = ScriptedEngine({"A": ["RR"], "D": ["ER"], "BOOM": ["RR"]}, explode={"BOOM"})
    summary = run_distill(config_for(tmp_path, samples=2, keep=None), engine=engine, problems=problems)

    rows = rows_by_id(tmp_path / "out")
    assert set(rows) == {"A", "D"}
    # D's first completion was an engine error: not a sample, not counted, its index skipped.
    assert [(r["sample"], r["n_samples"]) for r in rows["D"]] == [(1, 1)]
    rejects = read_rejects(tmp_path / "out")
    by_kind = {(r["id"].split("/")[-1], r["kind"]) for r in rejects}
    assert by_kind == {("BAD", "input"), ("BOOM", "engine"), ("D", "engine")}
    bad = next(r for r in rejects if r["id"].endswith("BAD"))
    assert "UnidentifiedImageError" in bad["reason"] or "image" in bad["reason"].lower()
    boom = next(r for r in rejects if r["id"].endswith("BOOM"))
    assert "server refused" in boom["reason"]
    assert summary.problems_failed == 1 and summary.status == "incomplete"
    assert summary.totals["problems_rejected"] == 1  # BAD is done (permanent); BOOM is left for a rerun

    # The rerun retries only BOOM (the server works now) and finishes the run.
    fixed = ScriptedEngine({"BOOM": ["RR"]})
    second = run_distill(config_for(tmp_path, samples=2, keep=None), engine=fixed, problems=problems)
    assert fixed.calls == {"BOOM": 1} and second.status == "complete"
    assert set(rows_by_id(tmp_path / "out")) == {"A", "D", "BOOM"}
    assert check_unique(tmp_path / "out") == 2 + 1 + 2


def test_r1v_template_checks_its_own_format(tmp_path: Path) -> None:
    class R1V(ScriptedEngine):
        def generate(self, requests, params):
            text = "<think>sum</think><answer>42</answer>"
            return [[Completion(text, 9, "stop")] * params.n for _ in requests]

    run_distill(config_for(tmp_path, samples=1, keep=None, template="r1v"), engine=R1V({}),
                problems=[make_problem("A")])
    (row,) = read_rows(tmp_path / "out")
    assert row["correct"] and row["format_ok"] and row["pred"] == "42"
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["distill"]["result_settings"]["template"] == "r1v"


def test_png_bytes_images_survive_into_rows(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buf, format="PNG")
    problems = [make_problem("A", image={"bytes": buf.getvalue(), "path": None})]
    run_distill(config_for(tmp_path, samples=1, keep=1), engine=ScriptedEngine({"A": ["R"]}), problems=problems)
    (row,) = read_rows(tmp_path / "out")
    assert row["images"][0]["bytes"] == buf.getvalue()


def test_an_item_the_verifier_rejects_is_set_aside(tmp_path: Path) -> None:
    problems = [make_problem("A"), make_problem("NOANS", answer=None)]
    engine = ScriptedEngine({"A": ["R"], "NOANS": ["R"]})
    summary = run_distill(config_for(tmp_path, samples=1, keep=None), engine=engine, problems=problems)
    assert set(rows_by_id(tmp_path / "out")) == {"A"}
    (reject,) = read_rejects(tmp_path / "out")
    assert reject["stage"] == "verify" and reject["id"].endswith("NOANS") and "answer" in reject["reason"]
    assert summary.status == "complete" and summary.totals["problems_done"] == 2


def test_data_may_be_a_responses_dir_or_a_source_name(tmp_path: Path) -> None:
    from vrd.distill.inputs import load_problems
    from vrd.errors import UnknownNameError

    run_distill(config_for(tmp_path, samples=2, keep=None), engine=ScriptedEngine({"A": ["RW"], "B": ["WW"]}),
                problems=[make_problem("A"), make_problem("B")])
    loaded = load_problems(str(tmp_path / "out"))  # e.g. base-model rollouts re-used as the problem set
    assert sorted(r["id"] for r in loaded.rows) == ["t/train/A", "t/train/B"]
    assert set(loaded.rows[0]) == {"id", "source", "split", "images", "question", "choices", "answer",
                                   "answer_type", "meta"}
    assert loaded.data_id.startswith("dataset:sha256:")
    with pytest.raises(UnknownNameError, match="geometry3k"):
        load_problems("geometry3kk")


# -- engine failures that stop the run (the rule is vrd.engines.failures, shared with eval) -------------------


def _status(out: Path) -> str:
    from vrd.schema import read_manifest

    (shard,) = read_manifest(out)["distill"]["shards"].values()
    return shard["status"]


def _four() -> tuple[list[dict], dict[str, list[str]]]:
    return [make_problem(n) for n in "ABCD"], {n: ["RR"] for n in "ABCD"}


def test_a_refused_key_stops_distill_at_once_sets_nothing_aside_and_resumes(tmp_path: Path) -> None:
    from vrd.engines.failures import EngineFailedError
    from vrd.engines.openai import RejectedRequest

    problems, script = _four()
    refused = RejectedRequest("http://h/v1/chat/completions: HTTP 401: Incorrect API key sk-abcdefghijklmnop", status=401)
    engine = ScriptedEngine(script, explode=set("ABCD"), error=refused)
    config = config_for(tmp_path, samples=2, keep=None, batch_size=2)
    with pytest.raises(EngineFailedError, match="distill stopped: .*HTTP 401.*credentials") as err:
        run_distill(config, engine=engine, problems=problems)
    assert engine.attempts == 1  # not once per request, not once per batch
    assert "\n" not in str(err.value) and "sk-abcdefghijklmnop" not in str(err.value)
    assert read_rejects(tmp_path / "out") == [] and not list((tmp_path / "out").glob("*.parquet"))
    assert _status(tmp_path / "out") == "failed"

    # after answers too: the answered batch is kept, the refused one is not set aside
    later = ScriptedEngine(script, explode={"C", "D"}, error=refused)
    with pytest.raises(EngineFailedError, match="HTTP 401"):
        run_distill(config, engine=later, problems=problems)
    assert set(rows_by_id(tmp_path / "out")) == {"A", "B"} and read_rejects(tmp_path / "out") == []

    fixed = ScriptedEngine(script)
    summary = run_distill(config, engine=fixed, problems=problems)
    assert summary.status == "complete" and dict(fixed.calls) == {"C": 1, "D": 1}
    assert set(rows_by_id(tmp_path / "out")) == set("ABCD") and check_unique(tmp_path / "out") == 8


def test_a_dead_server_stops_after_a_bounded_number_of_calls(tmp_path: Path) -> None:
    from vrd.engines.failures import EngineFailedError

    problems = [make_problem(f"P{i}") for i in range(8)]
    script = {f"P{i}": ["RR"] for i in range(8)}
    dead = ScriptedEngine(script, explode=set(script), error=ConnectionError("connection refused"))
    with pytest.raises(EngineFailedError, match="first 2 requests tried alone failed the same way"):
        run_distill(config_for(tmp_path, samples=2, batch_size=8), engine=dead, problems=problems)
    assert dead.attempts == 1 + 2 and read_rejects(tmp_path / "out") == []

    # failures that differ per request: every request of the first batch, then stop (not the next batch)
    varied = ScriptedEngine(script, explode=set(script))
    with pytest.raises(EngineFailedError, match=r"every request of the first batch failed \(4 problem"):
        run_distill(config_for(tmp_path, samples=2, batch_size=4), engine=varied, problems=problems)
    assert varied.attempts == 1 + 4 and read_rejects(tmp_path / "out") == []

    # every completion an engine error (openai on_error=mark): the same
    broken = ScriptedEngine({f"P{i}": ["EE"] for i in range(8)})
    with pytest.raises(EngineFailedError, match="backend said 500"):
        run_distill(config_for(tmp_path, samples=2, batch_size=4), engine=broken, problems=problems)
    assert broken.attempts == 1 and read_rejects(tmp_path / "out") == []


def test_a_later_failing_batch_is_set_aside_and_retried_on_rerun(tmp_path: Path) -> None:
    problems, script = _four()
    flaky = ScriptedEngine(script, explode={"C"}, error=ConnectionError("connection reset"))
    config = config_for(tmp_path, samples=2, keep=None, batch_size=1)
    summary = run_distill(config, engine=flaky, problems=problems)
    assert summary.status == "incomplete" and summary.problems_failed == 1
    (reject,) = read_rejects(tmp_path / "out")
    assert reject["id"].endswith("C") and reject["kind"] == "engine" and "connection reset" in reject["reason"]
    healed = ScriptedEngine(script)
    again = run_distill(config, engine=healed, problems=problems)
    assert again.status == "complete" and dict(healed.calls) == {"C": 1}
    assert set(rows_by_id(tmp_path / "out")) == set("ABCD") and check_unique(tmp_path / "out") == 8


def test_the_ray_actor_hands_a_stop_back_instead_of_raising(tmp_path: Path, monkeypatch) -> None:
    import pickle

    import pyarrow as pa

    import vrd.engines
    from vrd.distill.ray_executor import DistillActor
    from vrd.engines.failures import EngineFailedError
    from vrd.engines.openai import RejectedRequest

    problems, script = _four()
    engine = ScriptedEngine(script, explode={"B"}, error=RejectedRequest("http://h/v1: HTTP 403: forbidden"))
    monkeypatch.setattr(vrd.engines, "get_engine", lambda *a, **k: engine)
    actor = DistillActor(config_for(tmp_path, samples=2, keep=None))
    block = lambda names: pa.table({"payload": [pickle.dumps(p) for p in problems if p["id"][-1] in names]})  # noqa: E731
    ok = [pickle.loads(b) for b in actor(block("A")).column("outcome").to_pylist()]
    assert [o.id for o in ok] == ["t/train/A"] and ok[0].answered
    (stop,) = [pickle.loads(b) for b in actor(block("BC")).column("outcome").to_pylist()]
    assert isinstance(stop, EngineFailedError) and "HTTP 403" in str(stop)


def test_cli_distill_against_a_server_that_answers_401(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vrd.cli.main import app

    RefusingHandler.calls = 0  # a class counter: the Ray test in test_distill_e2e uses this server too
    out = tmp_path / "out"
    with serving(RefusingHandler) as url:
        result = CliRunner().invoke(app, ["distill", "--teacher", "served-model", "--backend", "openai", "--base-url",
                                          url, "--data", "synth", "--limit", "6", "--batch-size", "3", "--samples",
                                          "2", "--out", str(out), "--no-progress"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert result.exception.__class__ is SystemExit
    assert [ln for ln in result.output.splitlines() if ln.startswith("error:")] == [result.output.splitlines()[0]]
    line = " ".join(result.output.split())
    assert line.startswith("error: distill stopped: engine") and "HTTP 401" in line and "credentials" in line
    assert RefusingHandler.calls <= 3  # the first batch's 3 requests, sent together; no per-request retry
    assert read_rejects(out) == [] and _status(out) == "failed"
