"""The openai engine's HTTP behaviour against a scripted local server: retries, n make-up, keys."""

from __future__ import annotations

import base64
import email.utils
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from http_fixtures import QuietServer, send_json
from PIL import Image

from vrd.engines import OpenAIEngine, get_engine
from vrd.engines.base import GenerationRequest, SamplingParams
from vrd.engines.openai import RejectedRequest, parse_retry_after, redact_url, retry_after_seconds
from vrd.errors import VrdError


class Script:
    """What the fake server answers, one step per request; the last step repeats."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []  # body, headers, time
        self.delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def next(self) -> dict[str, Any]:
        with self.lock:
            return self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]


def _choices(body: dict[str, Any], k: int) -> dict[str, Any]:
    text = f"ok seed={body.get('seed')}"
    return {
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": f"{text} #{i}"}, "finish_reason": "stop"}
            for i in range(k)
        ],
        "usage": {"completion_tokens": 7 * k, "prompt_tokens": 3},
    }


@pytest.fixture()
def fake() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with script.lock:
                script.calls.append({"body": body, "headers": dict(self.headers), "t": time.monotonic()})
                script.in_flight += 1
                script.max_in_flight = max(script.max_in_flight, script.in_flight)
            try:
                if script.delay:
                    time.sleep(script.delay)
                step = script.next()
                status = step.get("status", 200)
                if status == 200:
                    payload = step["json"](body) if callable(step.get("json")) else step.get("json")
                    if payload is None:
                        k = body.get("n", 1) if step.get("honor_n", True) else 1
                        payload = _choices(body, k)
                else:
                    payload = step.get("body") or {"error": {"message": step.get("message", f"status {status}")}}
                send_json(self, status, payload, step.get("headers"))
            finally:
                with script.lock:
                    script.in_flight -= 1

    server = QuietServer(("127.0.0.1", 0), Handler)  # clients that time out on purpose hang up mid-reply
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", script
    finally:
        server.shutdown()
        server.server_close()


def _engine(url: str, **kw: Any) -> OpenAIEngine:
    kw.setdefault("backoff_base", 0.01)
    return OpenAIEngine("served-model", base_url=url, **kw)


REQ = [GenerationRequest("What is 2+2?")]
ONE = SamplingParams(n=1, temperature=0.7, max_new_tokens=8, seed=5)


def test_429_retry_after_seconds_is_honored(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.steps = [{"status": 429, "headers": {"Retry-After": "0.4"}}, {"status": 200}]
    eng = _engine(url)
    out = eng.generate(REQ, ONE)
    assert out[0][0].text.startswith("ok")
    assert len(script.calls) == 2
    assert script.calls[1]["t"] - script.calls[0]["t"] >= 0.4
    assert eng.waits and 0.4 <= eng.waits[0] < 0.6
    assert eng.stats["retry_429"] == 1 and eng.stats["attempts"] == 2


def test_503_then_200_backs_off(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.steps = [{"status": 503}, {"status": 502}, {"status": 200}]
    eng = _engine(url, backoff_base=0.05)
    out = eng.generate(REQ, ONE)
    assert len(out[0]) == 1 and len(script.calls) == 3
    assert eng.stats["retry_503"] == 1 and eng.stats["retry_502"] == 1
    # exponential with jitter: attempt k waits within [base*2^k/2, base*2^k]
    assert 0.025 <= eng.waits[0] <= 0.05 and 0.05 <= eng.waits[1] <= 0.1


def test_gives_up_after_max_retries(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.steps = [{"status": 500}]
    eng = _engine(url, max_retries=2)
    with pytest.raises(VrdError, match="giving up after 3 attempts.*HTTP 500"):
        eng.generate(REQ, ONE)
    assert len(script.calls) == 3


def test_client_error_is_not_retried(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.steps = [{"status": 400}]
    with pytest.raises(VrdError, match="HTTP 400"):
        _engine(url).generate(REQ, ONE)
    assert len(script.calls) == 1


def test_on_error_mark_keeps_the_rest(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.steps = [{"status": 400}]
    out = _engine(url, on_error="mark").generate(REQ, SamplingParams(n=2, max_new_tokens=4))
    assert [c.finish_reason for c in out[0]] == ["error", "error"]


def test_on_error_mark_still_raises_what_every_request_would_get(fake: tuple[str, Script]) -> None:
    # a refused key marked as error completions would hide the 401 and set every later problem aside
    url, script = fake
    script.steps = [{"status": 401, "message": "Incorrect API key provided"}]
    with pytest.raises(RejectedRequest, match="HTTP 401") as err:
        _engine(url, on_error="mark").generate(REQ, SamplingParams(n=2, max_new_tokens=4))
    assert err.value.status == 401


@pytest.mark.parametrize("url", ["localhost:8000/v1", "127.0.0.1:8000/v1", "ftp://h/v1", "http:///v1"])
def test_a_base_url_that_is_not_http_is_a_config_error_not_retries(url: str) -> None:
    # httpx answers these with UnsupportedProtocol, a transport error the engine retried with backoff as a dead server
    from vrd.errors import ConfigError

    with pytest.raises(ConfigError, match="not an http\\(s\\) URL.*http://HOST:PORT/v1"):
        OpenAIEngine("served-model", base_url=url)


def test_connect_errors_are_retried() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    eng = _engine(f"http://127.0.0.1:{port}/v1", max_retries=2)
    with pytest.raises(VrdError, match="giving up after 3 attempts.*ConnectError"):
        eng.generate(REQ, ONE)
    assert eng.stats["attempts"] == 3 and eng.stats["retry_transport"] == 3


def test_timeouts_are_retried(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.steps = [{"status": 200}]
    script.delay = 0.5
    eng = _engine(url, timeout=0.1, max_retries=1)
    with pytest.raises(VrdError, match="ReadTimeout"):
        eng.generate(REQ, ONE)
    assert eng.stats["attempts"] == 2


def test_429_retry_after_ms_is_honored(fake: tuple[str, Script]) -> None:
    # Azure OpenAI sends retry-after-ms (the openai client reads it before Retry-After); the backoff here would be
    # 10-20 s, so only the header makes this wait short
    url, script = fake
    script.steps = [{"status": 429, "headers": {"retry-after-ms": "40", "Retry-After": "30"}}, {"status": 200}]
    eng = _engine(url, backoff_base=20.0)
    assert eng.generate(REQ, ONE)[0][0].text.startswith("ok")
    assert len(eng.waits) == 1 and 0.04 <= eng.waits[0] < 0.1
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"retry-after-ms": "soon", "retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "nan"}) is None and retry_after_seconds({}) is None


def test_a_spent_quota_is_not_retried(fake: tuple[str, Script]) -> None:
    # OpenAI's 429 for an account out of credit: waiting does not heal it, so it is not retried (the run stops on it)
    url, script = fake
    quota = {"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
                       "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}}
    script.steps = [{"status": 429, "body": quota}]
    with pytest.raises(RejectedRequest, match="HTTP 429.*exceeded your current quota") as err:
        _engine(url, max_retries=3).generate(REQ, ONE)
    assert len(script.calls) == 1 and (err.value.status, err.value.code) == (429, "insufficient_quota")
    # a rate limit is retried as before
    script.steps = [{"status": 429, "body": {"error": {"message": "Rate limit reached", "type": "requests",
                                                       "code": "rate_limit_exceeded"}}}, {"status": 200}]
    assert _engine(url, max_retries=3).generate(REQ, ONE)[0][0].text.startswith("ok")
    assert len(script.calls) == 3


def test_give_up_and_refusal_carry_their_class_and_status(fake: tuple[str, Script]) -> None:
    from vrd.engines.failures import RequestRefused, ServerUnreachable

    url, script = fake
    script.steps = [{"status": 503}]
    with pytest.raises(ServerUnreachable) as down:
        _engine(url, max_retries=1).generate(REQ, ONE)
    assert down.value.status == 503
    script.steps = [{"status": 413}]
    with pytest.raises(RequestRefused) as refused:
        _engine(url).generate(REQ, ONE)
    assert refused.value.status == 413


def test_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (parse_retry_after(when) or 0) <= 30.5
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("garbage") is None and parse_retry_after(None) is None
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert parse_retry_after(past) == 0.0


def test_makes_up_missing_choices(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.steps = [{"status": 200, "honor_n": False}]
    eng = _engine(url)
    reqs = [GenerationRequest("a"), GenerationRequest("b")]
    out = eng.generate(reqs, SamplingParams(n=4, temperature=1.0, max_new_tokens=8, seed=10))
    assert [len(c) for c in out] == [4, 4]
    assert eng.honors_n is False
    assert len(script.calls) == 8  # one per completion
    # make-up requests carry distinct seeds so a seeded server does not repeat itself
    for comps in out:
        assert len({c.text for c in comps}) == 4
    assert all(c.n_tokens == 7 for comps in out for c in comps)


def test_server_honoring_n_gets_one_request_and_split_usage(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.steps = [{"status": 200}]
    eng = _engine(url)
    out = eng.generate(REQ, SamplingParams(n=3, temperature=1.0, max_new_tokens=8))
    assert len(out[0]) == 3 and len(script.calls) == 1 and script.calls[0]["body"]["n"] == 3
    assert sum(c.n_tokens for c in out[0]) == 21  # usage.completion_tokens, split over the choices
    assert eng.honors_n is True


def test_partial_choices_then_make_up(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.steps = [{"status": 200, "json": lambda body: _choices(body, 2)}, {"status": 200}]
    eng = _engine(url)
    out = eng.generate(REQ, SamplingParams(n=5, temperature=1.0, max_new_tokens=8))
    assert len(out[0]) == 5
    # the server capped n at 2: the remaining 3 go as requests of 2 and 1
    assert script.calls[0]["body"]["n"] == 5
    assert sorted(c["body"].get("n", 1) for c in script.calls[1:]) == [1, 2]
    assert eng.n_cap == 2 and eng.honors_n is not False


def test_concurrency_limit(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.steps = [{"status": 200}]
    script.delay = 0.3
    eng = _engine(url, concurrency=3)
    out = eng.generate([GenerationRequest(str(i)) for i in range(9)], ONE)
    # three requests in flight at once (each held 0.3 s by the server), never more; no wall-clock bound,
    # which a loaded machine would break
    assert len(out) == 9 and script.max_in_flight == 3


def test_key_from_env_only_and_never_logged(
    fake: tuple[str, Script], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url, script = fake
    secret = "sk-test-very-secret-123"
    monkeypatch.setenv("MY_KEY", secret)
    script.steps = [{"status": 429, "headers": {"Retry-After": "0"}}, {"status": 200}]
    with pytest.raises(VrdError, match="environment only"):
        OpenAIEngine("m", base_url=url, api_key=secret)
    eng = _engine(url, api_key_env="MY_KEY")
    with caplog.at_level(logging.DEBUG):
        eng.generate(REQ, ONE)
    assert script.calls[0]["headers"]["Authorization"] == f"Bearer {secret}"
    desc = json.dumps(eng.describe())
    assert secret not in desc and '"api_key_set": true' in desc
    assert secret not in caplog.text and "retry" in caplog.text
    assert secret not in json.dumps(eng.options)


def test_messages_images_in_mark_order_as_data_urls(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.steps = [{"status": 200}]
    big = Image.new("RGB", (400, 300), (255, 0, 0))
    small = Image.new("RGB", (20, 10), (0, 0, 255))
    eng = _engine(url, max_pixels=100 * 75, served_model="teacher-x")
    eng.generate([GenerationRequest("First <image> then <image> end", [big, small], system="sys")], ONE)
    body = script.calls[0]["body"]
    assert body["model"] == "teacher-x" and body["max_tokens"] == 8 and body["seed"] == 5
    assert body["messages"][0] == {"role": "system", "content": "sys"}
    parts = body["messages"][1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url", "text"]
    assert [p.get("text") for p in parts if p["type"] == "text"] == ["First", "then", "end"]
    sizes = []
    for p in parts:
        if p["type"] == "image_url":
            head, data = p["image_url"]["url"].split(",", 1)
            assert head == "data:image/png;base64"
            img = Image.open(io.BytesIO(base64.b64decode(data)))
            sizes.append(img.size)
            assert img.getpixel((0, 0))[:3] in ((255, 0, 0), (0, 0, 255))
    assert sizes == [(100, 75), (20, 10)]  # shrunk to max_pixels, small ones untouched


def test_reasoning_field_is_put_back_in_think(fake: tuple[str, Script]) -> None:
    url, script = fake
    msg = {"role": "assistant", "content": "\\boxed{4}", "reasoning_content": "2+2=4"}
    script.steps = [{"status": 200, "json": {"choices": [{"index": 0, "message": msg, "finish_reason": "length"}]}}]
    c = _engine(url).generate(REQ, ONE)[0][0]
    assert c.text == "<think>\n2+2=4\n</think>\n\n\\boxed{4}" and c.finish_reason == "length"
    assert c.n_tokens > 0  # estimated: the server sent no usage


def test_get_engine_and_redaction() -> None:
    eng = get_engine("openai", "m", base_url="https://user:pw@api.example.com/v1?key=abc")
    assert isinstance(eng, OpenAIEngine)
    assert eng.describe()["base_url"] == "https://api.example.com/v1"
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"


def test_greedy_n_is_one_call_repeated(fake: tuple[str, Script]) -> None:
    url, script = fake
    script.steps = [{"status": 200}]
    out = _engine(url).generate(REQ, SamplingParams(n=3, temperature=0.0, max_new_tokens=8))
    assert len(script.calls) == 1 and "n" not in script.calls[0]["body"]
    assert script.calls[0]["body"]["temperature"] == 0.0 and "top_p" not in script.calls[0]["body"]
    assert [c.text for c in out[0]] == [out[0][0].text] * 3


def test_every_sampling_knob_is_sent_to_a_self_hosted_server(fake: tuple[str, Script]) -> None:
    """`vllm serve` fills unset fields from the checkpoint's generation config; so every knob is sent."""
    url, script = fake
    script.steps = [{"status": 200}, {"status": 200}]
    eng = _engine(url)
    eng.generate(REQ, SamplingParams(n=1, temperature=0.7, top_p=0.9, top_k=20, repetition_penalty=1.1, seed=3))
    body = script.calls[0]["body"]
    assert (body["temperature"], body["top_p"], body["top_k"], body["repetition_penalty"], body["seed"]) == (
        0.7, 0.9, 20, 1.1, 3)
    eng.generate(REQ, SamplingParams(n=1))
    assert (script.calls[1]["body"]["top_k"], script.calls[1]["body"]["repetition_penalty"]) == (0, 1.0)
    assert eng.describe()["send_sampling_extras"] is True
    hosted = get_engine("openai", "gpt-x", base_url="https://api.openai.com/v1")
    assert hosted.describe()["send_sampling_extras"] is False  # the hosted API rejects top_k


def test_aborted_choice_is_an_error(fake: tuple[str, Script]) -> None:
    url, script = fake
    msg = {"role": "assistant", "content": "partial"}
    script.steps = [{"status": 200, "json": {"choices": [{"index": 0, "message": msg, "finish_reason": "abort"}]}}]
    assert _engine(url).generate(REQ, ONE)[0][0].finish_reason == "error"


def test_a_server_that_refuses_the_extras_gets_them_no_more(fake: tuple[str, Script]) -> None:
    """`transformers serve` answers 422 to top_k / repetition_penalty; at neutral values they are dropped."""
    from vrd.errors import ConfigError

    url, script = fake
    refuse = {"status": 422, "message": "Unexpected fields in the request: {'repetition_penalty', 'top_k'}"}
    script.steps = [refuse, {"status": 200}, {"status": 200}]
    eng = _engine(url)
    out = eng.generate(REQ, SamplingParams(n=1, max_new_tokens=8))
    assert out[0][0].finish_reason == "stop" and eng.stats["sampling_extras_dropped"] == 1
    assert "top_k" in script.calls[0]["body"] and "top_k" not in script.calls[1]["body"]
    eng.generate(REQ, SamplingParams(n=1, max_new_tokens=8))
    assert "repetition_penalty" not in script.calls[2]["body"]
    script.steps = [refuse]
    with pytest.raises(ConfigError, match="repetition_penalty=1.05 cannot be applied"):
        _engine(url).generate(REQ, SamplingParams(n=1, max_new_tokens=8, repetition_penalty=1.05))
    assert not _engine(url, send_generation_config=True).send_sampling_extras  # it takes them in generation_config
