"""When an engine failure stops a run, and when it costs only the problem it hit.

Shared by `vrd eval` and `vrd distill`, so both draw the line in the same place. A failure that
is about one request (a bad image, a prompt too long, one 500) is set aside by the caller and
retried on rerun. A failure that says the setup is wrong would hit every request alike, and
setting the whole run aside would only hide it behind minutes to hours of retries, so it stops
the run with one line instead:

- at any time: a configuration error (ConfigError, an unknown model, an environment that is not
  ready), a server that answers HTTP 401/403/404 (wrong key, wrong URL, wrong model name) or says
  the account's quota is spent (HTTP 429 `insufficient_quota` and its kin), or an in-process vLLM
  engine whose core died (`EngineDeadError`: nothing later can be answered);
- before anything in this run was answered: the first two requests of a failed batch, tried
  alone, failing alike (same type and HTTP status; OpenAI's 500 bodies carry a request id each)
  *about reaching the server* (`reaches_server`: no
  connection, a timeout, HTTP 408/429/5xx after the engine's retries). Each such request spends
  the engine's whole retry budget, so against a server that is down a batch of 16 would spend it
  17 times before saying so. A refusal the engine does not retry (HTTP 400 "context length
  exceeded" or "invalid image", 413, 422) costs nothing to repeat and can be identical for two
  long problems, so it never triggers this;
- before anything in this run was answered: every request of a batch failing, unless every one of
  them was refused on its own merits (`is_refusal`: the server answered HTTP 400/413/422..., or
  the hf engine found a prompt that fills the model's context, or vLLM's VLLMValidationError).

Why refusals do not stop a first batch (decided, not overlooked): a refusal proves the server is
up and reachable, costs no retry budget, and names its problem; and stopping on it would be
permanent, since the rerun asks the same first batch again (with --batch-size 1, one over-long
first problem would block a benchmark forever). The price: a 400 that every request gets (a
max_tokens beyond the server's context, a parameter it does not know) sets problems aside, fast
and each with the server's reason in rejects (eval counts them as `n_errors`), instead of
stopping; the same command retries them once the setup is fixed. A failure of unknown class
(any other in-process engine exception, such as vLLM's ValueError for a prompt over max_model_len
or a CUDA error; a completion marked finish_reason "error") still stops an all-failed first
batch, but never through the first-two-alike shortcut: an in-process engine has no retry budget.

The classes go by type and HTTP status (`EngineRequestError.status`), which the openai engine
sets; matching "HTTP 401" in a message is kept only for a VrdError that carries no status (an
engine of another author). A 400 whose body quotes "HTTP 404" (an image URL the server could not
fetch) is therefore a refusal of its problem, not a wrong URL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from vrd.errors import ConfigError, EnvironmentNotReadyError, ModelNotFoundError, VrdError

# A server that answers these refuses every request alike: setting problems aside would only hide it.
SETUP_CODES = frozenset({401, 403, 404})
SETUP_STATUS = re.compile(r"\bHTTP (401|403|404)\b")  # only for a VrdError without a status
SETUP_ERRORS: tuple[type[Exception], ...] = (ConfigError, ModelNotFoundError, EnvironmentNotReadyError)
# OpenAI's 429s that waiting does not heal: the account is out of credit or over a spend limit.
QUOTA_CODES = frozenset({"insufficient_quota", "credit_balance_exhausted", "organization_spend_limit_exceeded",
                         "project_spend_limit_exceeded", "organization_usage_limit_exceeded"})
ADVICE = "check the server, model and credentials, then rerun the same command"


class EngineFailedError(VrdError):
    """The engine fails in a way that is about the setup, not about one problem: the run stops."""


class EngineRequestError(VrdError):
    """A request an engine could not get answered; `status` is the server's HTTP status, if it sent one,
    and `code` the error code in its reply (OpenAI's `error.code` or `error.type`)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code

    @property
    def setup(self) -> bool:
        """The reply says the key, URL, model or account is wrong: every request would get it."""
        return self.status in SETUP_CODES or (self.status == 429 and self.code in QUOTA_CODES)


class RequestRefused(EngineRequestError):
    """The server answered and refused this one request (HTTP 4xx it would send again): not retried."""


class ServerUnreachable(EngineRequestError):
    """No answer after the engine's retries: no connection, timeouts, or HTTP 408/429/5xx every time."""


def failure_reason(exc: BaseException) -> str:
    """One redacted line naming the exception, as a reject's reason or in a stop message."""
    from vrd.redact import redact_message

    return redact_message(" ".join(f"{type(exc).__name__}: {exc}".split()))


def _named(exc: BaseException, module: str, names: tuple[str, ...]) -> bool:
    """`exc` is an instance of a class `names` from package `module`, which is not imported for the check."""
    return any(c.__name__ in names and c.__module__.split(".")[0] == module for c in type(exc).__mro__)


def engine_dead(exc: BaseException) -> bool:
    """vLLM's in-process engine core has died (vllm.v1.engine.exceptions.EngineDeadError): unrecoverable."""
    return _named(exc, "vllm", ("EngineDeadError",))


def reaches_server(exc: BaseException) -> bool:
    """The failure is about reaching the server, not about the request: the class a dead server gives."""
    return (isinstance(exc, (ServerUnreachable, ConnectionError, TimeoutError))
            or _named(exc, "httpx", ("TransportError",)))


def is_setup(exc: BaseException) -> bool:
    """A configuration error or a server reply that every request would get (see the module docstring)."""
    if isinstance(exc, (EngineFailedError, *SETUP_ERRORS)) or engine_dead(exc):
        return True
    if isinstance(exc, EngineRequestError) and exc.status is not None:
        return exc.setup
    return isinstance(exc, VrdError) and SETUP_STATUS.search(str(exc)) is not None


def is_refusal(exc: BaseException) -> bool:
    """The server answered and refused this one request on its merits (too long, an image it cannot read).

    In process, vLLM's own `VLLMValidationError` (the request validation its server answers with HTTP 400)
    is one too; older vLLM raise a plain ValueError there, which stays of unknown class.
    """
    return (isinstance(exc, RequestRefused) or _named(exc, "vllm", ("VLLMValidationError",))) and not is_setup(exc)


def raise_if_setup(engine: Any, exc: Exception, *, command: str) -> None:
    """Raise `exc` (a configuration error) or an EngineFailedError (a reply every request would get, a dead
    engine); else return."""
    if isinstance(exc, (EngineFailedError, *SETUP_ERRORS)):
        raise exc
    name = getattr(engine, "name", engine)
    if engine_dead(exc):
        raise EngineFailedError(f"{command} stopped: engine '{name}' died ({failure_reason(exc)}; see the log above "
                                "for its cause); rerun the same command to resume") from exc
    if is_setup(exc):
        raise EngineFailedError(f"{command} stopped: engine '{name}' refused the request ({failure_reason(exc)}); "
                                "check the server URL, model name, credentials and account, then rerun the same "
                                "command") from exc


def generate_each(engine: Any, requests: Sequence[Any], params: Any, *, command: str,
                  first: bool = False) -> list[Any]:
    """`engine.generate(requests, params)`, one result per request: its completions or its exception.

    When the batch call raises, each request is tried alone, so one bad request costs only itself.
    A setup failure is raised at once. With `first` (nothing answered yet in this run), the first
    two requests tried alone failing exactly alike in a way about reaching the server stop the run
    too: against a server that is down a batch of 16 would otherwise spend the retry budget 17 times
    before saying so. Two identical refusals (two over-long problems) are set aside like any other.
    The caller checks the number of results.
    """
    try:
        return list(engine.generate(list(requests), params))
    except Exception as exc:  # noqa: BLE001 - engine failures are handled per request below
        raise_if_setup(engine, exc, command=command)
        if len(requests) == 1:
            return [exc]
    outputs: list[Any] = []
    for request in requests:
        try:
            outputs.extend(engine.generate([request], params))
        except Exception as single:  # noqa: BLE001 - set aside by the caller
            raise_if_setup(engine, single, command=command)
            before = outputs[-1] if outputs else None
            if (first and len(outputs) == 1 and len(requests) > 2 and isinstance(before, Exception)
                    and reaches_server(before) and reaches_server(single) and _kind(before) == _kind(single)):
                raise EngineFailedError(
                    f"{command} stopped: the first batch failed, and its first 2 requests tried alone failed the same way, "
                    f"not reaching the server ({failure_reason(single)}; nothing was set aside) — {ADVICE}") from single
            outputs.append(single)
    return outputs


def _kind(exc: BaseException) -> tuple[str, int | None]:
    """What two failures must share to count as alike: their type and HTTP status, not their text, which
    differs per request where a hosted API puts a request id in its 5xx body."""
    return type(exc).__name__, getattr(exc, "status", None)


def check_first_batch(*, command: str, failed: int, size: int, answered_any: bool, what: str,
                      first_reason: str, refused: int = 0) -> None:
    """Stop when every request of a batch failed and nothing in this run was answered yet, unless every
    failure was a refusal of its own request (`refused` of them, see `is_refusal`): those are set aside."""
    if size and failed == size and not answered_any and refused < failed:
        raise EngineFailedError(f"{command} stopped: every request of the first batch failed ({what}; nothing was "
                                f"set aside); first error: {first_reason} — {ADVICE}")
