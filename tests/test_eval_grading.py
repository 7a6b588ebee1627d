"""Eval scoring: canned responses through the real path (scripted engine -> verify -> shards -> results).

Every expected number below is counted by hand from the canned responses.
"""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from eval_fixtures import write_mathvista, write_mmlu
from http_fixtures import RefusingHandler, send_json, serving

from vrd.distill.templates import render_prompt
from vrd.engines.base import Completion, Engine, GenerationRequest, SamplingParams
from vrd.errors import VrdError
from vrd.eval import EvalConfig, compare_runs, load_benchmark, run_eval, write_comparison
from vrd.eval.compare import comparison_markdown
from vrd.schema import RESPONSE_COLUMNS, read_dataset, write_dataset

THINK = "<think>{}</think>\n\\boxed{{{}}}"
UNSURE = "Let me think about this question carefully, considering every option in turn before deciding anything."

# MathVista fixture, pids 1-4 (gold C, 6, 2.5, B): correct, wrong, correct (no format), correct (option text).
MATHVISTA = [THINK.format("angles", "C"), THINK.format("count", "5"),
             "The length is 2.50 cm so the answer is 2.5", THINK.format("it is blue", "blue")]
# MMLU fixture (gold B, A, D, B): correct (no format), correct via option text, no answer, wrong.
MMLU = ["\\boxed{B}", THINK.format("3*3", "9"), UNSURE, "The answer is (A)"]


class ScriptedEngine(Engine):
    """Answers each prompt with the canned texts given for it; counts what it was asked."""

    name = "scripted"

    def __init__(self, script: dict[str, list[str]]) -> None:
        super().__init__("scripted")
        self.script = script
        self.prompts: list[str] = []

    def generate(self, requests: list[GenerationRequest], params: SamplingParams) -> list[list[Completion]]:
        out = []
        for r in requests:
            self.prompts.append(r.prompt)
            texts = self.script[r.prompt]
            out.append([Completion(texts[j % len(texts)], len(texts[j % len(texts)].split()), "stop")
                        for j in range(params.n)])
        return out


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("grading")
    return {"mathvista": str(write_mathvista(root / "mathvista")), "mmlu": str(write_mmlu(root / "mmlu"))}


def script_for(paths: dict[str, str], answers: dict[str, list], template: str = "math") -> dict[str, list[str]]:
    script: dict[str, list[str]] = {}
    for name, texts in answers.items():
        for problem, text in zip(load_benchmark(name, paths=paths).problems, texts, strict=True):
            script[render_prompt(problem, template)] = text if isinstance(text, list) else [text]
    return script


def config(paths: dict[str, str], **kw) -> EvalConfig:
    return EvalConfig(model="scripted-model", benchmarks=kw.pop("benchmarks", ["mathvista", "mmlu"]), paths=paths,
                      batch_size=kw.pop("batch_size", 3), **kw)


def test_accuracy_subsets_and_rates_match_hand_counts(data, tmp_path: Path) -> None:
    engine = ScriptedEngine(script_for(data, {"mathvista": MATHVISTA, "mmlu": MMLU}))
    results = run_eval(config(data), tmp_path / "run", engine=engine)
    mv, mm = results["benchmarks"]["mathvista"], results["benchmarks"]["mmlu"]
    assert (mv["n_problems"], mv["accuracy"], mv["format_rate"], mv["answer_rate"]) == (4, 0.75, 0.75, 1.0)
    assert mv["subsets"]["multi_choice"]["accuracy"] == 1.0 and mv["subsets"]["free_form"]["accuracy"] == 0.5
    assert (mm["accuracy"], mm["format_rate"], mm["answer_rate"]) == (0.5, 0.25, 0.75)
    assert mm["subsets"]["elementary_mathematics"]["accuracy"] == 1.0
    assert mm["subsets"]["high_school_geography"]["accuracy"] == 0.0
    assert mm["mean_tokens"] == pytest.approx(sum(len(t.split()) for t in MMLU) / 4)
    assert results["mean_accuracy"] == pytest.approx((0.75 + 0.5) / 2)
    assert results["judge"] == {"enabled": False, "used": 0}
    # every response is kept, in vrd response columns, one shard per batch of 3 problems
    responses = read_dataset(tmp_path / "run" / "responses")
    assert set(RESPONSE_COLUMNS) <= set(responses.column_names) and len(responses) == 8
    assert sorted(p.name for p in (tmp_path / "run" / "responses" / "mmlu").glob("*.parquet")) == [
        "part-00000.parquet", "part-00001.parquet"]
    row = next(r for r in responses if r["id"] == "mathvista/testmini/2")
    assert (row["pred"], row["correct"], row["format_ok"], row["model"]) == ("5", False, True, "scripted-model")
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["benchmarks"]["mathvista"]["accuracy"] == 0.75


def test_samples_give_mean_accuracy_and_pass_at_k(data, tmp_path: Path) -> None:
    # two samples each: mathvista 1: right+wrong, 2: wrong+wrong, 3: right+right, 4: wrong+right
    per_problem = [[THINK.format("", "C"), THINK.format("", "A")], [THINK.format("", "5"), THINK.format("", "7")],
                   [THINK.format("", "2.5"), THINK.format("", "2.50")], [THINK.format("", "A"), THINK.format("", "B")]]
    engine = ScriptedEngine(script_for(data, {"mathvista": per_problem}))
    results = run_eval(config(data, benchmarks=["mathvista"], samples=2, temperature=1.0), tmp_path / "k", engine=engine)
    mv = results["benchmarks"]["mathvista"]
    assert (mv["n_responses"], mv["accuracy"], mv["pass@2"]) == (8, 4 / 8, 3 / 4)
    rows = read_dataset(tmp_path / "k" / "responses")
    first = [r for r in rows if r["id"] == "mathvista/testmini/1"]
    assert sorted(r["sample"] for r in first) == [0, 1]
    assert {(r["n_samples"], r["n_correct"], r["pass_rate"]) for r in first} == {(2, 1, 0.5)}


def test_resume_skips_done_problems_and_refuses_other_settings(data, tmp_path: Path) -> None:
    script = script_for(data, {"mathvista": MATHVISTA, "mmlu": MMLU})
    out = tmp_path / "resume"
    engine = ScriptedEngine(script)
    run_eval(config(data, limit=2), out, engine=engine)
    assert len(engine.prompts) == 4
    (out / "responses" / "mmlu" / "part-00009.parquet.tmp").write_bytes(b"half a shard from a crash")
    results = run_eval(config(data), out, engine=engine)
    assert len(engine.prompts) == 8  # only the 2 + 2 new problems were generated
    assert results["last_run"]["problems_generated"] == 4 and results["benchmarks"]["mmlu"]["n_problems"] == 4
    assert results["benchmarks"]["mathvista"]["accuracy"] == 0.75
    run_eval(config(data), out, engine=engine)
    assert len(engine.prompts) == 8
    limited = run_eval(config(data, limit=1), out, engine=engine)  # a smaller limit reports just those problems
    assert limited["benchmarks"]["mathvista"]["n_problems"] == 1
    with pytest.raises(VrdError, match="temperature"):
        run_eval(config(data, temperature=0.7), out, engine=engine)
    run_eval(config(data, temperature=0.7, new_run=True), out, engine=engine)
    assert len(engine.prompts) == 16


class _JudgeHandler(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, **body})
        send_json(self, 200, {"choices": [{"message": {"role": "assistant", "content": "Answer: D"}}]})

    def log_message(self, *args) -> None:
        pass


def test_llm_judge_only_asked_when_no_answer_found(data, tmp_path: Path) -> None:
    with serving(_JudgeHandler) as url:
        engine = ScriptedEngine(script_for(data, {"mmlu": MMLU}))
        results = run_eval(config(data, benchmarks=["mmlu"], judge_url=url, judge_model="judge-1"), tmp_path / "j",
                           engine=engine)
    assert len(_JudgeHandler.requests) == 1  # only the response with no rule-found answer
    asked = _JudgeHandler.requests[0]
    assert asked["path"] == "/v1/chat/completions" and asked["model"] == "judge-1"
    assert UNSURE in asked["messages"][0]["content"] and "(D) Paris" in asked["messages"][0]["content"]
    mm = results["benchmarks"]["mmlu"]
    assert (mm["accuracy"], mm["judged"]) == (0.75, 1)  # the judge read "D" (Paris): graded correct by rule
    assert results["judge"] == {"enabled": True, "url": url, "model": "judge-1", "used": 1}
    judged = [r for r in read_dataset(tmp_path / "j" / "responses") if r["id"].endswith("high_school_geography-0")]
    assert judged[0]["pred"] == "D" and json.loads(judged[0]["meta"])["judge"] == {"extracted": "D"}


def test_rollout_pass_rate_bins(data, tmp_path: Path) -> None:
    problems = load_benchmark("mmlu", paths=data).problems
    rollouts = []
    # base-model pass rates: problem 0 -> 0/4, 1 -> 2/4, 2 -> 4/4, 3 -> no rollouts; round 2 is ignored
    for p, oks in zip(problems[:3], ([0, 0, 0, 0], [1, 0, 1, 0], [1, 1, 1, 1]), strict=True):
        for j, ok in enumerate(oks):
            rollouts.append({**p, "model": "base", "round": 1, "sample": j, "prompt": "", "response": "",
                             "pred": None, "correct": bool(ok), "format_ok": False, "n_tokens": 1,
                             "finish_reason": "stop", "n_samples": 4, "n_correct": sum(oks),
                             "pass_rate": sum(oks) / 4, "n_samples_r1": 4, "n_correct_r1": sum(oks),
                             "pass_rate_r1": sum(oks) / 4})
    rollouts.append({**rollouts[0], "round": 2, "correct": True})
    write_dataset(rollouts, tmp_path / "rollouts", kind="responses")
    engine = ScriptedEngine(script_for(data, {"mmlu": MMLU}))
    results = run_eval(config(data, benchmarks=["mmlu"], rollouts=str(tmp_path / "rollouts")), tmp_path / "r",
                       engine=engine)
    bins = results["benchmarks"]["mmlu"]["pass_rate_bins"]
    # synergy levels: 4/4 -> L1, 2/4 -> L2, 0/4 -> L5
    assert list(bins) == ["L1", "L2", "L5", "no rollouts"]
    assert [bins[k]["accuracy"] for k in bins] == [0.0, 1.0, 1.0, 0.0]
    info = results["benchmarks"]["mmlu"]["pass_rate_bins_info"]
    assert info["scheme"] == "synergy" and info["independent"] is True


def test_compare_two_runs(data, tmp_path: Path) -> None:
    base = ScriptedEngine(script_for(data, {"mathvista": MATHVISTA, "mmlu": MMLU}))
    run_eval(config(data), tmp_path / "base", engine=base)
    better = ScriptedEngine(script_for(data, {"mathvista": [THINK.format("", a) for a in ("C", "6", "2.5", "B")],
                                              "mmlu": [THINK.format("", a) for a in ("A", "A", "A", "A")]}))
    run_eval(config(data), tmp_path / "sft", engine=better)
    cmp = compare_runs([tmp_path / "base", tmp_path / "sft"])
    assert cmp["runs"] == ["base", "sft"]
    rows = {(r["benchmark"], r["slice"]): r for r in cmp["rows"]}
    assert rows[("mathvista", "all")]["accuracy"] == [0.75, 1.0]
    assert rows[("mathvista", "all")]["delta"] == [None, 0.25]
    assert rows[("mmlu", "all")]["delta"] == [None, pytest.approx(-0.25)]
    # paired intervals over the 4 problems: one flip out of 4 cannot exclude 0
    ci = rows[("mathvista", "all")]["ci95"][1]
    assert ci[0] <= 0.0 <= 0.25 <= ci[1] and rows[("mathvista", "all")]["significant"] == [False, False]
    assert rows[("mathvista", "all")]["method"][1] == "paired bootstrap over 4 problems"
    assert rows[("mean", "macro")]["ci95"][1] is not None
    assert rows[("mmlu", "subset=elementary_mathematics")]["accuracy"] == [1.0, 0.5]
    assert rows[("mean", "macro")]["delta"][1] == pytest.approx(0.0)
    assert rows[("mathvista", "all")]["n_errors"] == [0, 0] and cmp["notes"] == []
    md = comparison_markdown(cmp)
    # expanded percentile over 4 pairs (vrd.stats, Hesterberg 2015): the upper end reaches +100
    assert "| mathvista | all | 75.0 | 100.0 (+25.0 [+0.0, +100.0]) |" in md
    write_comparison(cmp, tmp_path / "cmp.json")
    assert json.loads((tmp_path / "cmp.json").read_text())["runs"] == ["base", "sft"]
    with pytest.raises(ValueError, match=".json or .md"):
        write_comparison(cmp, tmp_path / "cmp.txt")


def test_greedy_with_several_samples_is_refused(data, tmp_path: Path) -> None:
    with pytest.raises(VrdError, match="copies of one greedy answer"):
        run_eval(config(data, samples=4), tmp_path / "g", engine=ScriptedEngine({}))


def test_compare_without_responses_falls_back_to_unpaired(data, tmp_path: Path) -> None:
    import shutil

    run_eval(config(data), tmp_path / "a", engine=ScriptedEngine(script_for(data, {"mathvista": MATHVISTA,
                                                                                    "mmlu": MMLU})))
    run_eval(config(data), tmp_path / "b", engine=ScriptedEngine(script_for(data, {"mathvista": MATHVISTA,
                                                                                    "mmlu": MMLU})))
    shutil.rmtree(tmp_path / "b" / "responses")
    rows = {(r["benchmark"], r["slice"]): r for r in compare_runs([tmp_path / "a", tmp_path / "b"])["rows"]}
    row = rows[("mathvista", "all")]
    assert row["method"][1] == "unpaired (responses not on disk)" and row["ci95"][1][0] < 0 < row["ci95"][1][1]


class FlakyEngine(ScriptedEngine):
    """ScriptedEngine whose `explode` prompts make any call holding them raise (a request the server
    refuses), and whose `broken` prompts come back with finish_reason "error" (openai on_error=mark)."""

    def __init__(self, script: dict[str, list[str]], explode: set[str] = frozenset(),
                 broken: set[str] = frozenset(), error: Exception | None = None) -> None:
        super().__init__(script)
        self.explode, self.broken = set(explode), set(broken)
        self.error = error or RuntimeError("server said 500 (Authorization: Bearer sk-abcdefghijklmnop1234567890)")
        self.calls = 0

    def generate(self, requests: list[GenerationRequest], params: SamplingParams) -> list[list[Completion]]:
        self.calls += 1
        if any(r.prompt in self.explode for r in requests):
            raise self.error
        out = super().generate(requests, params)
        return [[Completion("backend aborted the request", 0, "error") if r.prompt in self.broken else c for c in cs]
                for r, cs in zip(requests, out, strict=True)]


def test_engine_errors_are_set_aside_not_graded_and_a_rerun_retries_exactly_them(data, tmp_path: Path) -> None:
    script = script_for(data, {"mathvista": MATHVISTA})
    prompts = [render_prompt(p, "math") for p in load_benchmark("mathvista", paths=data).problems]
    out = tmp_path / "flaky"
    # one batch of 4: problem 2 raises (the batch is retried per request), problem 3 returns an error completion
    engine = FlakyEngine(script, explode={prompts[1]}, broken={prompts[2]})
    results = run_eval(config(data, benchmarks=["mathvista"], batch_size=4), out, engine=engine)
    mv = results["benchmarks"]["mathvista"]
    # problems 1 and 4 answered (both right): accuracy over answered problems only, failures counted beside
    assert (mv["n_problems"], mv["n_errors"], mv["accuracy"]) == (2, 2, 1.0)
    assert results["n_errors"] == 2 and results["last_run"]["problems_set_aside"] == 2
    assert results["last_run"]["problems_generated"] == 2 and engine.calls == 1 + 4
    assert sorted(r["id"] for r in read_dataset(out / "responses")) == ["mathvista/testmini/1", "mathvista/testmini/4"]
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    by_id = {r["id"]: r for r in rejects}
    assert set(by_id) == {"mathvista/testmini/2", "mathvista/testmini/3"}
    raised, marked = by_id["mathvista/testmini/2"], by_id["mathvista/testmini/3"]
    assert raised["benchmark"] == "mathvista" and raised["kind"] == "engine" and raised["samples"] is None
    assert raised["reason"].startswith("RuntimeError: server said 500") and "sk-abcdefghij" not in raised["reason"]
    assert marked["samples"] == [0] and "finish_reason 'error'" in marked["reason"] and "aborted" in marked["reason"]
    assert json.loads((out / "results.json").read_text())["benchmarks"]["mathvista"]["n_errors"] == 2

    healed = ScriptedEngine(script)
    again = run_eval(config(data, benchmarks=["mathvista"], batch_size=4), out, engine=healed)
    assert sorted(healed.prompts) == sorted([prompts[1], prompts[2]])  # exactly the two set aside
    ids = [r["id"] for r in read_dataset(out / "responses")]
    assert sorted(ids) == [f"mathvista/testmini/{i}" for i in (1, 2, 3, 4)]  # none twice
    mv = again["benchmarks"]["mathvista"]
    assert (mv["n_problems"], mv["n_errors"], mv["accuracy"]) == (4, 0, 0.75)
    assert again["last_run"] == {**again["last_run"], "problems_generated": 2, "problems_skipped": 2,
                                 "problems_set_aside": 0}
    assert not (out / "rejects.jsonl").exists()
    run_eval(config(data, benchmarks=["mathvista"], batch_size=4), out, engine=healed)
    assert len(healed.prompts) == 2  # nothing left to do


def test_compare_shows_engine_errors_and_says_the_runs_were_graded_on_different_problems(data, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vrd.cli.main import app

    script = script_for(data, {"mathvista": MATHVISTA})
    prompts = [render_prompt(p, "math") for p in load_benchmark("mathvista", paths=data).problems]
    run_eval(config(data, benchmarks=["mathvista"], batch_size=4), tmp_path / "base", engine=ScriptedEngine(script))
    # problem 2 (answered wrong by base) raises in the second run: that run is graded on 3 problems, 3 of them right
    run_eval(config(data, benchmarks=["mathvista"], batch_size=4), tmp_path / "flaky",
             engine=FlakyEngine(script, explode={prompts[1]}))
    cmp = compare_runs([tmp_path / "base", tmp_path / "flaky"])
    rows = {(r["benchmark"], r["slice"]): r for r in cmp["rows"]}
    row = rows[("mathvista", "all")]
    assert (row["n"], row["n_errors"], row["accuracy"]) == ([4, 3], [0, 1], [0.75, 1.0])
    assert row["method"][1] == "paired bootstrap over 3 problems" and row["delta"][1] == pytest.approx(0.0)
    assert rows[("mean", "macro")]["n_errors"] == [0, 1]
    # the macro difference is the paired one its interval is about, not 100 - 75 over different problem sets
    assert rows[("mean", "macro")]["delta"][1] == pytest.approx(0.0)
    (note,) = cmp["notes"]
    assert note.startswith("mathvista: graded on different numbers of problems (base 4, flaky 3 (1 set aside for "
                           "engine errors))") and "both runs answered" in note and "rejects.jsonl" in note
    md = comparison_markdown(cmp)
    # 75 against 100, yet a difference of +0.0: the note is what explains it
    assert re.search(r"\| mathvista \| all \| 75\.0 \| 100\.0 \(\+0\.0 \[[^]]*\]\), 1 err \|", md), md
    assert f"**Note:** {note}" in md
    shown = CliRunner().invoke(app, ["eval", "compare", str(tmp_path / "base"), str(tmp_path / "flaky")],
                               terminal_width=200)
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "1 err" in text and "graded on different numbers of problems" in text


def test_a_failing_first_batch_stops_the_run_and_sets_nothing_aside(data, tmp_path: Path) -> None:
    from vrd.eval.runner import EngineFailedError

    script = script_for(data, {"mathvista": MATHVISTA})
    prompts = set(script)
    out = tmp_path / "down"
    with pytest.raises(EngineFailedError, match="every request of the first batch failed") as err:
        run_eval(config(data, benchmarks=["mathvista"], batch_size=2), out, engine=FlakyEngine(script, explode=prompts))
    assert "\n" not in str(err.value) and "sk-abcdefghij" not in str(err.value)
    assert not (out / "rejects.jsonl").exists() and not (out / "results.json").exists()
    # every completion an error: the same
    with pytest.raises(EngineFailedError, match="finish_reason 'error'"):
        run_eval(config(data, benchmarks=["mathvista"], batch_size=2), out, engine=FlakyEngine(script, broken=prompts))
    # a dead server is not asked once per request of a big first batch: two identical failures alone suffice
    from vrd.engines.failures import ServerUnreachable

    down = ServerUnreachable("http://h/v1/chat/completions: giving up after 7 attempts; last error ConnectError")
    dead = FlakyEngine(script, explode=prompts, error=down)
    with pytest.raises(EngineFailedError, match="first 2 requests tried alone failed the same way, not reaching"):
        run_eval(config(data, benchmarks=["mathvista"], batch_size=4), out, engine=dead)
    assert dead.calls == 1 + 2 and not (out / "rejects.jsonl").exists()
    # an error that is not about reaching the server (here one of unknown class) is asked once per request
    odd = FlakyEngine(script, explode=prompts)
    with pytest.raises(EngineFailedError, match="every request of the first batch failed"):
        run_eval(config(data, benchmarks=["mathvista"], batch_size=4), out, engine=odd)
    assert odd.calls == 1 + 4 and not (out / "rejects.jsonl").exists()
    # once a problem was answered, a later batch that fails whole is set aside, not fatal
    later = FlakyEngine(script, explode={p for p in prompts if "shape" in p or "length" in p or "color" in p})
    results = run_eval(config(data, benchmarks=["mathvista"], batch_size=1), out, engine=later)
    assert (results["benchmarks"]["mathvista"]["n_problems"], results["benchmarks"]["mathvista"]["n_errors"]) == (1, 3)


def test_an_auth_error_stops_the_run_even_after_answers(data, tmp_path: Path) -> None:
    from vrd.engines.openai import RejectedRequest
    from vrd.eval.runner import EngineFailedError

    script = script_for(data, {"mathvista": MATHVISTA})
    later = [render_prompt(p, "math") for p in load_benchmark("mathvista", paths=data).problems][1:]
    engine = FlakyEngine(script, explode=set(later), error=RejectedRequest("http://h/v1/chat/completions: HTTP 401: bad key"))
    with pytest.raises(EngineFailedError, match="HTTP 401.*credentials"):
        run_eval(config(data, benchmarks=["mathvista"], batch_size=1), tmp_path / "auth", engine=engine)
    assert not (tmp_path / "auth" / "rejects.jsonl").exists()
    assert len(read_dataset(tmp_path / "auth" / "responses")) == 1  # the answered batch is kept

    with serving(RefusingHandler) as url, pytest.raises(EngineFailedError, match="HTTP 401"):
        run_eval(config(data, benchmarks=["mathvista"], backend="openai", base_url=url,
                        engine_options={"max_retries": 0}), tmp_path / "real401")
    assert not (tmp_path / "real401" / "rejects.jsonl").exists()
