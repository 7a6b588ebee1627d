"""One response or a batch of them: extract, check the format, grade, all under a hard bound.

The cheap part (extraction, format, fast grading) runs in the caller's process; it is linear
in capped input. Only items that need math-verify are shipped to the worker pool, where each
one is killed if it runs past `timeout`. A batch of letters and plain numbers therefore never
starts a process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from vrd.errors import DataError
from vrd.verify.cache import RESULTS
from vrd.verify.extract import extract_answer
from vrd.verify.formats import check_format
from vrd.verify.grading import DEFAULT_TIMEOUT, at_gold_precision, fast_grade, normalize_type
from vrd.verify.normalize import normalize_math
from vrd.verify.numbers import expand_scientific, plain_text_decimal
from vrd.verify.pool import Outcome, Task, check_timeout, check_workers, run_tasks


@dataclass
class VerifyResult:
    """Per sample, what distill, eval and the RL reward record: the same grader for all three."""

    pred: str | None
    correct: bool
    format_ok: bool
    timed_out: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _choices(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):  # a JSON-encoded list is the caller's bug; one option is not a list
        raise ValueError(f"choices must be a list of strings, got a string: {value[:60]!r}")
    items = [str(c) for c in value]
    return items or None


def _prepare(
    response: Any, answer: Any, choices: Any, answer_type: Any, template: str, given_pred: Any = None,
) -> tuple[VerifyResult, Task | None]:
    """The result as far as it can be known in-process, and the slow task if one is needed.

    With `response` None and `given_pred` set, the answer was already extracted (the EasyR1
    reward reads its own span): only grading is done, and the format is not checked.
    """
    if answer is None:
        raise DataError("answer is missing (None)")
    gold = str(answer)
    options = _choices(choices)
    kind = normalize_type(answer_type)
    if response is None and given_pred is not None:
        text = str(given_pred)
        pred: str | None = text
        result = VerifyResult(pred=pred, correct=False, format_ok=False)
    else:
        text = "" if response is None else str(response)
        pred = extract_answer(text, options, kind)
        result = VerifyResult(pred=pred, correct=False, format_ok=check_format(text, template))
    if pred is not None:
        pred = plain_text_decimal(pred, text)
    gold = plain_text_decimal(gold, gold)
    decided = True if at_gold_precision(pred, gold) else fast_grade(pred, gold, kind, options)
    if decided is not None:
        result.correct = decided
        return result, None
    return result, Task(None, expand_scientific(normalize_math(str(pred))), expand_scientific(normalize_math(gold)))


def _settle(result: VerifyResult, outcome: Outcome) -> None:
    result.correct = outcome.status == "ok" and outcome.equal
    result.timed_out = outcome.status == "timeout"


def verify_response(
    response: str,
    answer: str,
    *,
    choices: Sequence[str] | None = None,
    answer_type: str | None = None,
    template: str = "math",
    timeout: float | None = None,
) -> VerifyResult:
    """Verify one response. Safe from any thread; returns within `timeout` (default 5 s) plus
    the microseconds of in-process work (and, on first use, a worker's start-up)."""
    result, task = _prepare(response, answer, choices, answer_type, template)
    if task is None:
        return result
    key = (task.pred, task.gold)
    cached = RESULTS.get(key)
    if cached is not None:
        result.correct = cached
        return result
    for outcome in run_tasks([task], timeout=timeout or DEFAULT_TIMEOUT, workers=1):
        _settle(result, outcome)
        if outcome.status == "ok":
            RESULTS.put(key, outcome.equal)
    return result


def verify_batch(
    items: Sequence[Mapping[str, Any]],
    *,
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    template: str = "math",
    stats: dict[str, float] | None = None,
) -> list[VerifyResult]:
    """Verify many items on all cores; each item bounded by `timeout` seconds.

    Item keys: `response`, `answer`, optional `choices`, `answer_type`, `template` (which
    overrides the `template` argument). Results come back in the items' order. Items with the
    same (prediction, gold) are graded once. A `stats` dict, when given, receives `slow_items`
    (tasks sent to math-verify), `timed_out` (items) and `slowest_item_s`.
    """
    check_timeout(timeout)  # before any work: a bad bound must not grade half a batch
    check_workers(workers)
    results: list[VerifyResult | None] = [None] * len(items)
    waiting: dict[tuple[str, str], list[int]] = {}
    slowest, n_slow, n_timed_out = 0.0, 0, 0

    def slow_tasks() -> Iterator[Task]:
        nonlocal slowest
        for i, item in enumerate(items):
            t0 = time.perf_counter()
            try:
                result, task = _prepare(
                    item.get("response"), item.get("answer"), item.get("choices"),
                    item.get("answer_type"), item.get("template") or template, item.get("pred"),
                )
            except (ValueError, KeyError) as exc:
                raise type(exc)(f"item {i}: {exc}") from exc
            results[i] = result
            slowest = max(slowest, time.perf_counter() - t0)
            if task is None:
                continue
            key = (task.pred, task.gold)
            cached = RESULTS.get(key)
            if cached is not None:
                result.correct = cached
            elif key in waiting:
                waiting[key].append(i)
            else:
                waiting[key] = [i]
                yield Task(key, task.pred, task.gold)

    for outcome in run_tasks(slow_tasks(), timeout=timeout, workers=workers):
        n_slow += 1
        slowest = max(slowest, outcome.seconds)
        if outcome.status == "ok":
            RESULTS.put(outcome.key, outcome.equal)  # type: ignore[arg-type]
        for i in waiting.pop(outcome.key):  # type: ignore[arg-type]
            result = results[i]
            assert result is not None
            _settle(result, outcome)
            n_timed_out += result.timed_out
    if stats is not None:
        stats.update(slow_items=n_slow, timed_out=n_timed_out, slowest_item_s=slowest)
    return results  # type: ignore[return-value]


def grade_batch(
    items: Sequence[Mapping[str, Any]], *, workers: int | None = None, timeout: float = DEFAULT_TIMEOUT,
) -> list[tuple[bool, bool]]:
    """(correct, timed_out) for already-extracted answers: item keys `pred` (None: no answer),
    `answer`, optional `choices`, `answer_type`. Same fast paths, cache and time bound as
    `verify_batch`."""
    graded = [{**item, "response": None, "pred": "" if item.get("pred") is None else str(item["pred"])}
              for item in items]
    return [(r.correct, r.timed_out) for r in verify_batch(graded, workers=workers, timeout=timeout)]
