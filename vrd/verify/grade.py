"""Grading: is an extracted answer the gold answer?

`fast_grade` settles letters, plain numbers (with tolerance, units, degrees, percentages,
thousands separators, simple fractions) and normalized text in-process, in microseconds, with
no sympy. Only what it cannot settle (roots, pi, symbolic expressions) goes to math-verify in
a worker process under a hard time bound (`vrd.verify.pool`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vrd.contract import ANSWER_TYPES, LETTERS
from vrd.verify.answer_types import normalize_type
from vrd.verify.choices import letter_of, match_choice, normalize_text, to_letter
from vrd.verify.numbers import numbers_equal, parse_number
from vrd.verify.scan import clean_span, max_brace_depth

DEFAULT_TIMEOUT = 5.0
MAX_ANSWER_CHARS = 1_000  # longer "answers" are wrong without parsing them
MAX_BRACE_DEPTH = 32

_MATH_MARK = re.compile(r"[\\^_{}=<>/*+(),\[\]]|\d|sqrt|pi\b")
_SINGLE_LETTER = re.compile(r"\(?[A-Z]\)?\.?")
_LATEX_NOISE = re.compile(r"\\[,!;: ]|\\left|\\right|\\displaystyle|\s+|\$")


def infer_answer_type(gold: str, choices: Sequence[str] | None = None) -> str:
    """What kind of answer the gold is, from its own text (and the options when present)."""
    g = clean_span(str(gold))
    if choices and (to_letter(g, choices) or match_choice(g, choices)):
        return "choice"
    if _SINGLE_LETTER.fullmatch(g):
        return "choice"
    if parse_number(g) is not None:
        return "number"
    if _MATH_MARK.search(g):
        return "expression"
    return "text"


def _latex_key(s: str) -> str:
    s = _LATEX_NOISE.sub("", clean_span(s))
    return s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").rstrip(".")


def _hostile(pred: str) -> bool:
    return len(pred) > MAX_ANSWER_CHARS or max_brace_depth(pred) > MAX_BRACE_DEPTH


def fast_grade(
    pred: str | None, gold: str, answer_type: str | None = None, choices: Sequence[str] | None = None
) -> bool | None:
    """True or False when settled without sympy; None when math-verify must decide."""
    if pred is None or not str(pred).strip():
        return False
    pred, gold = str(pred), str(gold)
    if _hostile(pred):
        return False
    choices = list(choices) if choices is not None and len(choices) else None
    kind = normalize_type(answer_type) or infer_answer_type(gold, choices)
    if kind == "choice":
        gold_letter = letter_of(gold, choices)
        if gold_letter is not None:
            pred_letter = letter_of(pred, choices)
            return pred_letter == gold_letter
        kind = infer_answer_type(gold)  # a "choice" gold that names no option: grade by content
    g, p = parse_number(gold), parse_number(pred)
    if g is not None and p is not None:
        return numbers_equal(p, g)
    if normalize_text(pred) == normalize_text(gold) or _latex_key(pred) == _latex_key(gold):
        return True
    if kind == "text":
        return False
    if g is not None and not _MATH_MARK.search(clean_span(pred)):
        return False  # a number was asked for and the prediction has no math in it at all
    return None


def grade(
    pred: str | None,
    gold: str,
    answer_type: str | None = None,
    choices: Sequence[str] | None = None,
    *,
    timeout: float | None = None,
) -> bool:
    """Whether `pred` matches `gold`. Incorrect on timeout (at most `timeout` seconds, default 5)."""
    decided = fast_grade(pred, gold, answer_type, choices)
    if decided is not None:
        return decided
    from vrd.verify.cache import RESULTS
    from vrd.verify.pool import Task, run_tasks

    key = (str(pred), str(gold))
    cached = RESULTS.get(key)
    if cached is not None:
        return cached
    outcome = next(run_tasks([Task(0, *key)], timeout=timeout or DEFAULT_TIMEOUT, workers=1))
    if outcome.status == "ok":
        RESULTS.put(key, outcome.equal)
    return outcome.status == "ok" and outcome.equal


__all__ = ["LETTERS", "ANSWER_TYPES", "fast_grade", "grade", "infer_answer_type", "normalize_type"]
