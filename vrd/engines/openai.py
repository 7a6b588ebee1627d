"""Any OpenAI-compatible chat server: `vllm serve`, SGLang, `transformers serve`, hosted APIs.

Requests run concurrently (httpx, a semaphore bounds how many are in flight) because a
serving engine batches whatever is in flight; sending one at a time leaves it idle. Servers
differ in what they honor: some ignore `n` (`transformers serve`), so the engine counts
the choices it got and asks again for the rest. Transient failures (429, 5xx, timeouts,
refused connections) are retried with exponential backoff and jitter, honoring
`Retry-After`. The API key is read from the environment at request time and never kept
in options, `describe()` or logs.
"""

from __future__ import annotations

import asyncio
import copy
import email.utils
import json
import logging
import math
import os
import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vrd.engines.base import Completion, Engine, GenerationRequest, SamplingParams
from vrd.engines.failures import QUOTA_CODES, RequestRefused, ServerUnreachable, is_setup
from vrd.engines.images import to_data_url
from vrd.errors import ConfigError, VrdError, unknown_name
from vrd.models.teachers import resolve_teacher

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 425, 429}) | frozenset(range(500, 600))
SAMPLING_EXTRAS = ("top_k", "repetition_penalty")  # vLLM / SGLang extensions of the chat API


class RejectedRequest(RequestRefused):
    """The server answered a request with a 4xx it will answer again (not retried); `status` says which.

    401/403/404 and a spent quota (429 `insufficient_quota`) stop the run (`vrd.engines.failures`);
    400/413/422 cost only their problem.
    """

    def __init__(self, message: str, detail: str = "", *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.detail = detail


class OpenAIEngine(Engine):
    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        served_model: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 16,
        max_retries: int = 6,
        timeout: float = 600.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_retry_after: float = 600.0,
        max_pixels: int | None = None,
        send_n: bool = True,
        send_generation_config: bool = False,
        send_sampling_extras: bool | None = None,
        extra_body: dict[str, Any] | None = None,
        tokenizer: str | None = None,
        on_error: str = "raise",
        **options: Any,
    ) -> None:
        if "api_key" in options:
            raise VrdError(
                "the openai engine reads its key from the environment only: set OPENAI_API_KEY "
                "(or name another variable with api_key_env), do not pass api_key"
            )
        if options:  # a typo'd or another engine's option would otherwise be silently ignored
            import inspect

            known = [p for p in inspect.signature(OpenAIEngine.__init__).parameters
                     if p not in ("self", "model", "options")]
            raise unknown_name("openai engine option", sorted(options)[0], known)
        if on_error not in ("raise", "mark"):
            raise VrdError(f"openai engine: on_error must be 'raise' or 'mark', got {on_error!r}")
        super().__init__(model, **options)
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "http://127.0.0.1:8000/v1"
        parts = urlsplit(base_url.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            # httpx would raise UnsupportedProtocol, a transport error, on every attempt: minutes of retries
            # against a server that is not down but never asked
            raise ConfigError(f"base_url {redact_url(base_url)!r}: not an http(s) URL; write it as "
                              "http://HOST:PORT/v1 (--base-url or OPENAI_BASE_URL)")
        self.base_url = base_url.strip().rstrip("/")
        self.served_model = served_model or str(model)
        self.api_key_env = api_key_env
        from vrd.redact import remember_secret, remember_url_secrets

        remember_secret(os.environ.get(api_key_env))  # masked wherever a server or library echoes it
        remember_url_secrets(base_url)
        self.concurrency = max(1, int(concurrency))
        self.max_retries = max(0, int(max_retries))
        self.timeout = float(timeout)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.max_retry_after = float(max_retry_after)
        spec = _teacher_spec(str(model))
        self.max_pixels = max_pixels if max_pixels is not None else (spec.max_pixels if spec else None)
        self.send_n = bool(send_n)
        self.send_generation_config = bool(send_generation_config)
        # top_k / repetition_penalty are vLLM and SGLang extensions the hosted OpenAI API rejects; a
        # self-hosted server that is not told them fills them from the checkpoint's generation config.
        # `transformers serve` takes them inside generation_config instead, and refuses them at the top level.
        host = (urlsplit(self.base_url).hostname or "").lower()
        self._extras_auto = send_sampling_extras is None
        self.send_sampling_extras = (not host.endswith("openai.com") and not self.send_generation_config) \
            if send_sampling_extras is None else bool(send_sampling_extras)
        self.extra_body = dict(extra_body or {})
        self.tokenizer_name = tokenizer
        self.on_error = on_error
        self.honors_n: bool | None = None  # learned from the first multi-choice request
        self.n_cap: int | None = None  # most choices the server returned for one request, if it caps n
        self.stats: Counter[str] = Counter()
        self.waits: list[float] = []  # backoff sleeps, in order (inspected by tests and logs)
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    # -- public --------------------------------------------------------------------------

    def generate(self, requests: list[GenerationRequest], params: SamplingParams) -> list[list[Completion]]:
        if not requests:
            return []
        params.validate()
        coro = self._generate_all(requests, params)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        # Called from inside an event loop (a notebook, an async caller): run on a fresh loop in a thread.
        box: dict[str, Any] = {}

        def runner() -> None:
            try:
                box["result"] = asyncio.run(coro)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                box["error"] = exc

        t = threading.Thread(target=runner, name="vrd-openai-engine")
        t.start()
        t.join()
        if "error" in box:
            raise box["error"]
        return box["result"]

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model": str(self.model),
            "served_model": self.served_model,
            "base_url": redact_url(self.base_url),
            "api_key_env": self.api_key_env,
            "api_key_set": bool(os.environ.get(self.api_key_env)),
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "max_pixels": self.max_pixels,
            "send_n": self.send_n,
            "send_generation_config": self.send_generation_config,
            "send_sampling_extras": self.send_sampling_extras,
            "server_honors_n": self.honors_n,
            "server_n_cap": self.n_cap,
            "extra_body_keys": sorted(self.extra_body),
        }

    def build_messages(self, request: GenerationRequest) -> list[dict[str, Any]]:
        """OpenAI chat messages: text parts and `image_url` data-URL parts in `<image>` order."""
        msgs: list[dict[str, Any]] = []
        if request.system:
            msgs.append({"role": "system", "content": request.system})
        parts: list[dict[str, Any]] = []
        for part in request.content_parts():
            if part["type"] == "image":
                url = to_data_url(part["image"], self.max_pixels)
                parts.append({"type": "image_url", "image_url": {"url": url}})
            else:
                parts.append({"type": "text", "text": part["text"]})
        msgs.append({"role": "user", "content": parts})
        return msgs

    # -- request flow --------------------------------------------------------------------

    async def _generate_all(self, requests: list[GenerationRequest], params: SamplingParams) -> list[list[Completion]]:
        import httpx

        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        timeout = httpx.Timeout(self.timeout, connect=min(30.0, self.timeout))
        sem = asyncio.Semaphore(self.concurrency)
        # Bounds how many requests have their images encoded at once, so memory does not grow with the call.
        active = asyncio.Semaphore(2 * self.concurrency)

        async def one(request: GenerationRequest) -> list[Completion]:
            async with active:
                return await self._complete(client, sem, request, params)

        async with httpx.AsyncClient(base_url=self.base_url, limits=limits, timeout=timeout) as client:
            return list(await asyncio.gather(*[one(r) for r in requests]))

    async def _complete(
        self, client: Any, sem: asyncio.Semaphore, request: GenerationRequest, params: SamplingParams
    ) -> list[Completion]:
        messages = self.build_messages(request)
        got: list[Completion] = []
        try:
            if params.greedy and params.n > 1:
                # Greedy copies are identical: one request, repeated, instead of n equal server calls.
                first = await self._call(client, sem, messages, params, n=1, offset=0)
                got = [copy.copy(c) for c in first for _ in range(params.n)]
            while len(got) < params.n:
                need = params.n - len(got)
                if self.honors_n is False:
                    sizes = [1] * need  # one-choice requests in parallel: the server batches them itself
                elif self.n_cap and need > self.n_cap:
                    sizes = [self.n_cap] * (need // self.n_cap) + ([need % self.n_cap] if need % self.n_cap else [])
                else:
                    sizes = [need]
                offsets = [len(got) + sum(sizes[:j]) for j in range(len(sizes))]
                batch = await asyncio.gather(
                    *[self._call(client, sem, messages, params, n=k, offset=o) for k, o in zip(sizes, offsets, strict=True)]
                )
                for k, cs in zip(sizes, batch, strict=True):
                    self._learn_n(k, len(cs))
                new = [c for cs in batch for c in cs]
                if not new:
                    raise VrdError(f"{redact_url(self.base_url)}: the server returned no choices")
                got += new
        except VrdError as exc:
            # on_error="mark" is for a request that fails on its own; a wrong key, URL or a spent quota would mark
            # every later request alike and hide why, so it is raised whatever on_error says
            if self.on_error == "raise" or is_setup(exc):
                raise
            self.stats["failed_requests"] += 1
        if len(got) < params.n:
            got += [Completion("", 0, "error") for _ in range(params.n - len(got))]
        return got[: params.n]

    async def _call(
        self,
        client: Any,
        sem: asyncio.Semaphore,
        messages: list[dict[str, Any]],
        params: SamplingParams,
        *,
        n: int,
        offset: int,
    ) -> list[Completion]:
        body: dict[str, Any] = {
            "model": self.served_model,
            "messages": messages,
            "max_tokens": int(params.max_new_tokens),
            "temperature": max(0.0, float(params.temperature)),
        }
        if not params.greedy:
            body["top_p"] = float(params.top_p)
        if self.send_sampling_extras:
            # Sent even at their neutral values: `vllm serve` fills unset fields from the checkpoint's
            # generation config (Qwen: repetition_penalty 1.05; with top_k 1 all n samples are equal).
            body["top_k"] = 0 if params.greedy else int(params.top_k)
            body["repetition_penalty"] = float(params.repetition_penalty)
        if n > 1 and self.send_n:
            body["n"] = n
        if params.seed is not None:
            # Distinct seeds for make-up requests, or a seeded server would repeat the first sample.
            body["seed"] = int(params.seed) + offset
        if self.send_generation_config:
            # `transformers serve` extension: it keeps a checkpoint's do_sample=False (and top_k) even when
            # asked for a temperature, so say exactly how to sample; unset fields keep the model's defaults.
            gen = {"do_sample": not params.greedy, "max_new_tokens": int(params.max_new_tokens)}
            gen["repetition_penalty"] = float(params.repetition_penalty)
            if not params.greedy:
                gen.update(temperature=float(params.temperature), top_p=float(params.top_p), top_k=int(params.top_k))
            body["generation_config"] = json.dumps(gen)
        body.update(self.extra_body)
        try:
            data = await self._post(client, sem, "/chat/completions", body)
        except RejectedRequest as exc:
            if not self._drop_sampling_extras(exc, params):
                raise
            body = {k: v for k, v in body.items() if k not in SAMPLING_EXTRAS or k in self.extra_body}
            data = await self._post(client, sem, "/chat/completions", body)
        return self._parse(data, n)

    def _drop_sampling_extras(self, exc: RejectedRequest, params: SamplingParams) -> bool:
        """A server that refuses top_k / repetition_penalty (`transformers serve`, strict OpenAI clones).

        At their neutral values they are dropped for the rest of the run (said once): such a server
        has no checkpoint defaults to fill them with. A run that asked for other values is refused.
        """
        if not self._extras_auto or not any(k in exc.detail for k in SAMPLING_EXTRAS):
            return False
        if (params.top_k and not params.greedy) or params.repetition_penalty != 1.0:
            raise ConfigError(
                f"{exc} — this server does not take top_k / repetition_penalty, so top_k={params.top_k} and "
                f"repetition_penalty={params.repetition_penalty} cannot be applied; use a vLLM or SGLang server, "
                "or send_generation_config=true for `transformers serve`") from exc
        with self._lock:
            if self.send_sampling_extras:
                self.send_sampling_extras = False
                self.stats["sampling_extras_dropped"] += 1
                log.warning("%s: the server refuses top_k / repetition_penalty; sending them no more "
                            "(they are at their neutral values)", redact_url(self.base_url))
        return True

    async def _post(self, client: Any, sem: asyncio.Semaphore, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        headers = {}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = redact_url(self.base_url) + path
        for attempt in range(self.max_retries + 1):
            retry_after: float | None = None
            async with sem:
                self.stats["attempts"] += 1
                try:
                    resp = await client.post(path, json=body, headers=headers)
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    problem = f"{type(exc).__name__}"
                    status = None
                else:
                    status = resp.status_code
                    if status < 400:
                        self.stats["ok"] += 1
                        try:
                            return resp.json()
                        except ValueError as exc:
                            raise VrdError(f"{url}: response is not JSON: {resp.text[:200]!r}") from exc
                    problem = f"HTTP {status}: {_snippet(resp)}"
                    code = _error_code(resp)
                    if status not in RETRY_STATUS or (status == 429 and code in QUOTA_CODES):
                        # A spent quota is a 429 that waiting does not heal: the run stops on it at once.
                        raise RejectedRequest(f"{url}: {problem}", detail=_snippet(resp), status=status, code=code)
                    retry_after = retry_after_seconds(resp.headers)
            self.stats[f"retry_{status or 'transport'}"] += 1
            if attempt >= self.max_retries:
                raise ServerUnreachable(f"{url}: giving up after {attempt + 1} attempts; last error {problem}",
                                        status=status)
            wait = self.backoff_wait(attempt, retry_after)
            with self._lock:
                self.waits.append(wait)
            log.warning("%s: %s; retry %d/%d in %.2fs", url, problem, attempt + 1, self.max_retries, wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    def _learn_n(self, asked: int, got: int) -> None:
        """Remember whether the server ignores `n` (one choice back) or caps it (fewer, but several)."""
        if asked <= 1 or got >= asked:
            if asked > 1 and self.honors_n is None:
                self.honors_n = True
            return
        if got <= 1:
            self.honors_n = False
        else:
            self.n_cap = got if self.n_cap is None else min(self.n_cap, got)

    def backoff_wait(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After when the server gave one (capped), else exponential with jitter."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self.max_retry_after) + random.uniform(0, 0.05)
        cap = min(self.backoff_max, self.backoff_base * (2**attempt))
        return cap / 2 + random.uniform(0, cap / 2)

    # -- responses -----------------------------------------------------------------------

    def _parse(self, data: dict[str, Any], n_asked: int) -> list[Completion]:
        choices = sorted(data.get("choices") or [], key=lambda c: c.get("index", 0))
        texts = [_choice_text(c) for c in choices]
        total = (data.get("usage") or {}).get("completion_tokens")
        counts = self._token_counts(texts, total)
        return [
            Completion(text=t, n_tokens=k, finish_reason=_finish(c.get("finish_reason")))
            for t, k, c in zip(texts, counts, choices, strict=True)
        ][: max(n_asked, 1)]

    def _token_counts(self, texts: list[str], total: int | None) -> list[int]:
        """Usage's total when there is one choice; split in proportion to estimates when several."""
        if not texts:
            return []
        if isinstance(total, int) and len(texts) == 1:
            return [total]
        est = [self.estimate_tokens(t) for t in texts]
        if not isinstance(total, int) or sum(est) == 0:
            return est
        raw = [total * e / sum(est) for e in est]
        counts = [math.floor(r) for r in raw]
        for i in sorted(range(len(raw)), key=lambda i: counts[i] - raw[i])[: total - sum(counts)]:
            counts[i] += 1
        return counts

    def estimate_tokens(self, text: str) -> int:
        tok = self._load_tokenizer()
        if tok is not None:
            return len(tok.encode(text, add_special_tokens=False))
        return math.ceil(len(text.encode("utf-8")) / 4)  # ~4 bytes per token for English and LaTeX

    def _load_tokenizer(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = False
            name = self.tokenizer_name or (str(self.model) if Path(str(self.model)).is_dir() else None)
            if name:
                try:
                    from transformers import AutoTokenizer

                    self._tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
                except Exception as exc:  # noqa: BLE001 - an estimate is fine without it
                    log.info("no tokenizer for token estimates (%s); using bytes/4", exc)
        return self._tokenizer or None


def _finish(reason: str | None) -> str:
    """A server's finish reason in vrd's terms: aborted or filtered output is an error, not a clean stop."""
    if reason == "length":
        return "length"
    if reason in ("abort", "error", "content_filter"):
        return "error"
    return "stop"


def _choice_text(choice: dict[str, Any]) -> str:
    """The content, with reasoning a server split off (reasoning parsers) put back in <think>."""
    msg = choice.get("message") or {}
    content = msg.get("content") or choice.get("text") or ""
    reasoning = msg.get("reasoning_content") or msg.get("reasoning")
    if reasoning and "<think>" not in content:
        return f"<think>\n{reasoning.strip()}\n</think>\n\n{content}"
    return content


def retry_after_seconds(headers: Any) -> float | None:
    """The wait a reply asks for: `retry-after-ms` (Azure OpenAI, and what the openai client reads first),
    else `Retry-After`; None when neither is there or readable."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            value = float(ms.strip())
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return max(0.0, value / 1000.0)
    return parse_retry_after(headers.get("retry-after"))


def _error_code(resp: Any) -> str | None:
    """OpenAI's `error.code` or `error.type` from an error reply (a quota code wherever it sits); None if neither."""
    try:
        error = resp.json().get("error")
    except Exception:  # noqa: BLE001 - not JSON, or not an object
        return None
    if not isinstance(error, dict):
        return None
    codes = [c for c in (error.get("code"), error.get("type")) if isinstance(c, str) and c]
    return next((c for c in codes if c in QUOTA_CODES), codes[0] if codes else None)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from `Retry-After` (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def redact_url(url: str) -> str:
    """The URL without user:password or query string (where some hosts put keys)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _snippet(resp: Any) -> str:
    """The start of a server's error reply, credentials masked (a proxy may echo the key it refused)."""
    from vrd.redact import redact_text

    try:
        text = resp.text
    except Exception:  # noqa: BLE001
        return ""
    return redact_text(" ".join(text.split())[:300])


def _teacher_spec(model: str) -> Any:
    try:
        return resolve_teacher(model)[1]
    except VrdError:
        return None  # a served name the registry does not know is fine for a server
