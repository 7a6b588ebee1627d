"""Which engine failures stop a run and which cost only their problem (vrd/engines/failures.py).

The first-batch shortcuts exist to save retry budget against a server that cannot be reached, so
they must not fire on a refusal of one request (HTTP 400 context length, a bad image), which can be
identical for two long problems. Scripted engines raise the exceptions the openai engine raises;
where the HTTP layer decides the class, a local server (tests/http_fixtures.py) answers for real.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from distill_fixtures import ScriptedEngine, config_for, make_problem
from eval_fixtures import write_mathvista
from http_fixtures import send_json, serving

from vrd.distill.runner import run_distill
from vrd.distill.store import read_rejects
from vrd.engines.failures import (
    EngineFailedError,
    RequestRefused,
    ServerUnreachable,
    is_refusal,
    is_setup,
    reaches_server,
)
from vrd.engines.openai import RejectedRequest
from vrd.errors import VrdError
from vrd.eval import EvalConfig, run_eval
from vrd.schema import read_rows

# What vLLM's server answers for a prompt over max_model_len and for an image it cannot read (one per problem).
TOO_LONG = {"object": "error", "type": "BadRequestError", "param": None, "code": 400,
            "message": "This model's maximum context length is 8192 tokens. However, your request has 9001 input "
                       "tokens. Please reduce the length of the input messages."}
BAD_IMAGE = {"error": {"message": "Failed to fetch image: HTTP 404 Not Found", "type": "BadRequestError",
                       "param": None, "code": 400}}
ANSWER = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "\\boxed{2.5}"},
                       "finish_reason": "stop"}], "usage": {"completion_tokens": 3}}


def openai_handler(reply: Callable[[str], tuple[int, dict]]) -> tuple[type[BaseHTTPRequestHandler], list[str]]:
    """A chat-completions server answering `reply(user text)`; a fresh class and call list per test."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = " ".join(part.get("text", "") for m in body["messages"] for part in m["content"]
                            if isinstance(part, dict))
            seen.append(text)
            send_json(self, *reply(text))

        def log_message(self, *args: object) -> None:
            pass

    return Handler, seen


@pytest.fixture(scope="module")
def vista(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {"mathvista": str(write_mathvista(tmp_path_factory.mktemp("failures") / "mathvista"))}


def eval_config(paths: dict[str, str], url: str, **kw) -> EvalConfig:
    options = {"max_retries": 0, "backoff_base": 0.001, **kw.pop("engine_options", {})}
    return EvalConfig(model="served-model", benchmarks=["mathvista"], paths=paths, backend="openai", base_url=url,
                      engine_options=options, batch_size=kw.pop("batch_size", 4), **kw)


# -- the classes, by type and status ------------------------------------------------------------------


def test_failures_are_classed_by_type_and_status_not_by_message() -> None:
    import httpx

    assert reaches_server(ServerUnreachable("giving up after 7 attempts; last error ConnectError"))
    assert reaches_server(ConnectionRefusedError(111, "Connection refused"))
    assert reaches_server(httpx.ConnectError("All connection attempts failed"))
    assert reaches_server(TimeoutError("timed out"))
    assert not reaches_server(RejectedRequest("http://h/v1: HTTP 400: too long", status=400))
    assert not reaches_server(RuntimeError("CUDA out of memory"))  # an in-process engine's: unknown class

    for status in (401, 403, 404):
        assert is_setup(RejectedRequest(f"http://h/v1: HTTP {status}: no", status=status))
    # a 400 whose body quotes another status is a refusal of its problem, not a wrong URL
    quoting = RejectedRequest("http://h/v1: HTTP 400: Failed to fetch image: HTTP 404 Not Found", status=400)
    assert not is_setup(quoting) and is_refusal(quoting)
    assert is_refusal(RejectedRequest("http://h/v1: HTTP 413: too large", status=413))
    assert is_setup(RejectedRequest("http://h/v1: HTTP 429: quota", status=429, code="insufficient_quota"))
    assert not is_setup(RejectedRequest("http://h/v1: HTTP 429: slow down", status=429, code="rate_limit_exceeded"))
    assert not is_refusal(RequestRefused("http://h/v1: HTTP 401: bad key", status=401))
    # an engine of another author that says the status only in words still stops
    assert is_setup(VrdError("http://h/v1: HTTP 401: bad key")) and not is_setup(VrdError("HTTP 400: long"))
    invalid = type("VLLMValidationError", (ValueError,), {"__module__": "vllm.exceptions"})
    assert is_refusal(invalid("The decoder prompt (length 9001) is longer than the maximum model length of 8192."))
    assert not is_refusal(ValueError("The decoder prompt (length 9001) is longer than the maximum model length"))
    dead = type("EngineDeadError", (Exception,), {"__module__": "vllm.v1.engine.exceptions"})
    assert is_setup(dead("EngineCore encountered an issue.")) and not is_setup(type("EngineDeadError", (Exception,), {})())


# -- refusals at the start of a run cost only their problems -----------------------------------------


@pytest.mark.parametrize("body", [TOO_LONG, BAD_IMAGE], ids=["context-length", "quotes-http-404"])
def test_two_identical_400s_at_the_start_of_an_eval_are_set_aside_and_the_rest_answered(
        vista, tmp_path: Path, body: dict) -> None:
    # problems 1 and 2 are refused alike; 3 and 4 answered. Before: "first 2 requests tried alone failed the same
    # way" stopped the run, and every rerun stopped there again.
    handler, seen = openai_handler(lambda text: (400, body) if ("angle x" in text or "sides" in text) else (200, ANSWER))
    out = tmp_path / "run"
    with serving(handler) as url:
        results = run_eval(eval_config(vista, url), out)
    mv = results["benchmarks"]["mathvista"]
    assert (mv["n_problems"], mv["n_errors"], mv["accuracy"]) == (2, 2, 0.5)  # 3 is 2.5 (right), 4 is not
    assert results["last_run"]["problems_set_aside"] == 2 and results["last_run"]["problems_generated"] == 2
    rejects = {r["id"]: r for r in map(json.loads, (out / "rejects.jsonl").read_text().splitlines())}
    assert set(rejects) == {"mathvista/testmini/1", "mathvista/testmini/2"}
    assert all("HTTP 400" in r["reason"] and r["kind"] == "engine" for r in rejects.values())
    assert any("sides" in t for t in seen)  # asked (alone, at least): set aside for its reply, not skipped


def test_two_identical_refusals_at_the_start_of_distill_are_set_aside(tmp_path: Path) -> None:
    problems = [make_problem(n) for n in "ABCD"]
    refused = RejectedRequest(f"http://h/v1/chat/completions: HTTP 400: {json.dumps(TOO_LONG)}", status=400)
    engine = ScriptedEngine({n: ["RR"] for n in "ABCD"}, explode={"A", "B"}, error=refused)
    summary = run_distill(config_for(tmp_path, samples=2, keep=None, batch_size=4), engine=engine, problems=problems)
    assert summary.status == "incomplete" and summary.problems_failed == 2
    assert engine.attempts == 1 + 4  # the batch, then each request alone
    rejects = read_rejects(tmp_path / "out")
    assert sorted(r["id"][-1] for r in rejects) == ["A", "B"] and all("HTTP 400" in r["reason"] for r in rejects)
    assert {row["id"][-1] for row in read_rows(tmp_path / "out")} == {"C", "D"}


@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_first_batch_all_refused_is_set_aside_not_a_stop(tmp_path: Path, batch_size: int) -> None:
    # Decided: a first batch every request of which the server refused on its merits does not stop the run (a stop
    # would recur on every rerun: the same first batch). With --batch-size 1, one over-long first problem.
    problems = [make_problem(n) for n in "ABCDEF"]
    refused = RejectedRequest("http://h/v1/chat/completions: HTTP 400: prompt too long", status=400)
    bad = set("ABC"[:batch_size])
    engine = ScriptedEngine({n: ["RR"] for n in "ABCDEF"}, explode=bad, error=refused)
    summary = run_distill(config_for(tmp_path, samples=2, keep=None, batch_size=batch_size), engine=engine,
                          problems=problems)
    assert summary.problems_failed == batch_size
    assert sorted(r["id"][-1] for r in read_rejects(tmp_path / "out")) == sorted(bad)
    assert {row["id"][-1] for row in read_rows(tmp_path / "out")} == set("ABCDEF") - bad


def test_a_first_batch_that_cannot_reach_the_server_still_stops(tmp_path: Path) -> None:
    problems = [make_problem(n) for n in "ABCD"]
    script = {n: ["RR"] for n in "ABCD"}
    down = ServerUnreachable("http://h/v1/chat/completions: giving up after 7 attempts; last error ConnectError")
    # two requests (too few for the first-two rule): every request of the batch failed, and none was a refusal
    engine = ScriptedEngine(script, explode=set("ABCD"), error=down)
    with pytest.raises(EngineFailedError, match=r"every request of the first batch failed .*ConnectError"):
        run_distill(config_for(tmp_path, samples=2, keep=None, batch_size=2), engine=engine, problems=problems)
    assert engine.attempts == 1 + 2 and read_rejects(tmp_path / "out") == []
    # four: the first two alone, alike, are enough
    engine = ScriptedEngine(script, explode=set("ABCD"), error=down)
    with pytest.raises(EngineFailedError, match="first 2 requests tried alone failed the same way, not reaching"):
        run_distill(config_for(tmp_path, samples=2, keep=None, batch_size=4), engine=engine, problems=problems)
    assert engine.attempts == 1 + 2 and read_rejects(tmp_path / "out") == []


def test_a_dead_hosted_api_stops_fast_though_each_500_names_its_own_request_id(tmp_path: Path) -> None:
    problems = [make_problem(n) for n in "ABCD"]

    class Down(ScriptedEngine):
        def generate(self, requests, params):
            self.attempts += 1
            raise ServerUnreachable(f"https://api/v1/chat/completions: giving up after 7 attempts; last error HTTP 500: "
                                    f"The server had an error (Please include the request ID req_{self.attempts:04x})",
                                    status=500)

    engine = Down({n: ["RR"] for n in "ABCD"})
    with pytest.raises(EngineFailedError, match="first 2 requests tried alone failed the same way"):
        run_distill(config_for(tmp_path, samples=2, keep=None, batch_size=4), engine=engine, problems=problems)
    assert engine.attempts == 1 + 2 and read_rejects(tmp_path / "out") == []


def test_a_first_batch_of_refusals_and_unreachable_requests_stops(tmp_path: Path) -> None:
    problems = [make_problem(n) for n in "AB"]

    class Mixed(ScriptedEngine):
        def generate(self, requests, params):
            names = [self.name_of(r.prompt) for r in requests]
            self.attempts += 1
            if "A" in names:
                raise RejectedRequest("http://h/v1: HTTP 400: prompt too long", status=400)
            raise ConnectionRefusedError(111, "Connection refused")

    engine = Mixed({"A": ["RR"], "B": ["RR"]})
    with pytest.raises(EngineFailedError, match="every request of the first batch failed"):
        run_distill(config_for(tmp_path, samples=2, keep=None, batch_size=2), engine=engine, problems=problems)
    assert read_rejects(tmp_path / "out") == []


def test_a_dead_vllm_engine_stops_the_run_even_after_answers(tmp_path: Path) -> None:
    # vLLM's in-process engine core died: every later request would fail at once; before, each was set aside
    invalid = type("VLLMValidationError", (ValueError,), {"__module__": "vllm.exceptions"})
    assert is_refusal(invalid("The decoder prompt (length 9001) is longer than the maximum model length of 8192."))
    assert not is_refusal(ValueError("The decoder prompt (length 9001) is longer than the maximum model length"))
    dead = type("EngineDeadError", (Exception,), {"__module__": "vllm.v1.engine.exceptions"})
    problems = [make_problem(n) for n in "ABCD"]
    engine = ScriptedEngine({n: ["RR"] for n in "ABCD"}, explode={"B", "C", "D"},
                            error=dead("EngineCore encountered an issue. See stack trace (above) for the root cause."))
    with pytest.raises(EngineFailedError, match="distill stopped: engine 'scripted' died"):
        run_distill(config_for(tmp_path, samples=2, keep=None, batch_size=1), engine=engine, problems=problems)
    assert engine.attempts == 2 and read_rejects(tmp_path / "out") == []
    assert {row["id"][-1] for row in read_rows(tmp_path / "out")} == {"A"}


# -- setup failures still stop at once, over real HTTP -----------------------------------------------


@pytest.mark.parametrize(("status", "body"), [
    (403, {"error": {"message": "Project does not have access to model", "code": "model_not_found"}}),
    (404, {"object": "error", "message": "The model `served-model` does not exist.", "type": "NotFoundError",
           "code": 404}),
    (429, {"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
                     "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}}),
], ids=["403", "404", "429-quota"])
def test_a_reply_every_request_would_get_stops_eval_at_once(vista, tmp_path: Path, status: int, body: dict) -> None:
    handler, seen = openai_handler(lambda text: (status, body))
    out = tmp_path / "run"
    # retries allowed: a spent quota is a 429 that waiting does not heal, so it must not be retried
    with serving(handler) as url, pytest.raises(EngineFailedError, match=f"eval stopped: .*HTTP {status}") as err:
        run_eval(eval_config(vista, url, batch_size=2, engine_options={"max_retries": 3}), out)
    assert "\n" not in str(err.value)
    assert len(seen) <= 2  # the first batch's 2 requests, sent together: no retry, no per-request pass
    assert not (out / "rejects.jsonl").exists() and not (out / "results.json").exists()


def test_cli_distill_against_a_refused_connection_stops_fast_with_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vrd.cli.main import app

    out = tmp_path / "out"
    with socket.socket() as closed:  # bound and never listening: the kernel refuses connections to it
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
        result = CliRunner().invoke(app, ["distill", "--teacher", "served-model", "--backend", "openai", "--base-url",
                                          url, "--engine-option", "max_retries=0", "--data", "synth", "--limit", "6",
                                          "--batch-size", "3", "--samples", "2", "--out", str(out), "--no-progress"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert errors == [result.output.splitlines()[0]]
    line = " ".join(result.output.split())
    assert "first 2 requests tried alone failed the same way, not reaching the server" in line
    assert "ServerUnreachable" in line and "ConnectError" in line
    assert read_rejects(out) == []
