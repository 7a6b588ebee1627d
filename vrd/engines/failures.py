"""When an engine failure stops a run, and when it costs only the problem it hit.

Shared by `vrd eval` and `vrd distill`, so both draw the line in the same place. A failure that
is about one request (a bad image, a prompt too long, one 500) is set aside by the caller and
retried on rerun. A failure that says the setup is wrong would hit every request alike, and
setting the whole run aside would only hide it behind minutes to hours of retries, so it stops
the run with one line instead:

- a configuration error (ConfigError, an unknown model, an environment that is not ready), or a
  server that answers HTTP 401/403/404 (wrong key, wrong URL, wrong model name), at any time;
- before anything in this run was answered: every request of a batch failing, or the first two
  requests of a failed batch, tried alone, failing with the identical error (a server that is
  down: each request would otherwise spend the engine's whole retry budget before saying so).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from vrd.errors import ConfigError, EnvironmentNotReadyError, ModelNotFoundError, VrdError

# A server that answers these refuses every request alike: setting problems aside would only hide it.
SETUP_STATUS = re.compile(r"\bHTTP (401|403|404)\b")
SETUP_ERRORS: tuple[type[Exception], ...] = (ConfigError, ModelNotFoundError, EnvironmentNotReadyError)
ADVICE = "check the server, model and credentials, then rerun the same command"


class EngineFailedError(VrdError):
    """The engine fails in a way that is about the setup, not about one problem: the run stops."""


def failure_reason(exc: BaseException) -> str:
    """One redacted line naming the exception, as a reject's reason or in a stop message."""
    from vrd.redact import redact_message

    return redact_message(" ".join(f"{type(exc).__name__}: {exc}".split()))


def is_fatal(exc: BaseException) -> bool:
    """True for an error that stops a run wherever it happens (see the module docstring)."""
    return isinstance(exc, (EngineFailedError, *SETUP_ERRORS)) or (
        isinstance(exc, VrdError) and SETUP_STATUS.search(str(exc)) is not None)


def raise_if_setup(engine: Any, exc: Exception, *, command: str) -> None:
    """Raise `exc` (a configuration error) or an EngineFailedError (HTTP 401/403/404); else return."""
    if isinstance(exc, (EngineFailedError, *SETUP_ERRORS)):
        raise exc
    if isinstance(exc, VrdError) and SETUP_STATUS.search(str(exc)):
        raise EngineFailedError(f"{command} stopped: engine '{getattr(engine, 'name', engine)}' refused the request "
                                f"({failure_reason(exc)}); check the server URL, model name and credentials, then "
                                "rerun the same command") from exc


def generate_each(engine: Any, requests: Sequence[Any], params: Any, *, command: str,
                  first: bool = False) -> list[Any]:
    """`engine.generate(requests, params)`, one result per request: its completions or its exception.

    When the batch call raises, each request is tried alone, so one bad request costs only itself.
    A setup failure is raised at once. With `first` (nothing answered yet in this run), the first
    two requests tried alone failing exactly alike stop the run too: against a server that is down
    a batch of 16 would otherwise spend the retry budget 17 times before saying so. The caller
    checks the number of results.
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
                    and failure_reason(before) == failure_reason(single)):
                raise EngineFailedError(
                    f"{command} stopped: the first batch failed, and its first 2 requests tried alone failed the "
                    f"same way ({failure_reason(single)}; nothing was set aside) — {ADVICE}") from single
            outputs.append(single)
    return outputs


def check_first_batch(*, command: str, failed: int, size: int, answered_any: bool, what: str,
                      first_reason: str) -> None:
    """Stop when every request of a batch failed and nothing in this run was answered yet."""
    if size and failed == size and not answered_any:
        raise EngineFailedError(f"{command} stopped: every request of the first batch failed ({what}; nothing was "
                                f"set aside); first error: {first_reason} — {ADVICE}")
