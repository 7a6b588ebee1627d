"""Grading: is an extracted answer the gold answer?

`fast_grade` settles in-process, in microseconds and without sympy, only what it can settle
exactly as math-verify would: option letters, two plain numbers (integers exactly, decimals to
6 places, units/degrees/percent/separators read as math-verify reads them), answers that are
the same LaTeX up to spacing, and word answers. Text normalisation never decides maths: an
answer with a bracket, relation, operator or command goes to math-verify in a worker process
under a hard time bound (`vrd.verify.pool`) unless it is the gold letter for letter.
`at_gold_precision` is vrd's one rule beyond math-verify (a gold written as a 2+-place decimal is
taken as rounded); it is kept apart from the fast path so the fast path stays math-verify's.
"""

from __future__ import annotations

from collections.abc import Sequence

from vrd.contract import ANSWER_TYPES, LETTERS
from vrd.verify.answer_types import infer_answer_type, normalize_type
from vrd.verify.choices import MATH_MARK, latex_key, letter_of, normalize_text
from vrd.verify.normalize import normalize_math
from vrd.verify.numbers import MAX_DIGITS, expand_scientific, numbers_equal, parse_number
from vrd.verify.scan import clean_span, max_brace_depth

DEFAULT_TIMEOUT = 5.0
MAX_ANSWER_CHARS = 1_000  # longer "answers" are wrong without parsing them
MAX_BRACE_DEPTH = 32


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
    if gold.count("\\boxed") + gold.count("\\fbox") > 1:
        return None  # a gold of several boxes is one answer made of all of them: math-verify reads it
    choices = list(choices) if choices is not None and len(choices) else None
    kind = normalize_type(answer_type) or infer_answer_type(gold, choices)
    if kind == "choice":
        gold_letter = letter_of(gold, choices)
        if gold_letter is not None:
            return letter_of(pred, choices) == gold_letter
        kind = infer_answer_type(gold)  # a "choice" gold that names no option: grade by content
    pred, gold = normalize_math(pred), normalize_math(gold)
    p_span, g_span = expand_scientific(clean_span(pred)), expand_scientific(clean_span(gold))
    if latex_key(p_span) == latex_key(g_span):
        return True
    g, p = parse_number(g_span), parse_number(p_span)
    if g is not None and p is not None:
        return numbers_equal(p, g)
    p_math, g_math = bool(MATH_MARK.search(p_span)), bool(MATH_MARK.search(g_span))
    if not p_math and not g_math:  # two word answers: compared as words
        return normalize_text(p_span) == normalize_text(g_span)
    if g is not None and not p_math:
        return False  # a number was asked for and the prediction has no maths in it at all
    return None


def at_gold_precision(pred: str | None, gold: str) -> bool:
    """vrd's one rule beyond math-verify: a gold decimal written with two or more places is taken
    as rounded, so a more precise prediction that rounds to it is right (`10.5714` for `10.57`),
    as MathVista-style benchmarks round their golds. Integers stay exact (`14917` is not `14916`)
    and math-verify alone would compare at 6 places. Plain numbers only, in-process."""
    if pred is None:
        return False
    g = parse_number(clean_span(str(gold)))
    if g is None or g.percent or not 2 <= g.decimals < MAX_DIGITS:
        return False
    p = parse_number(clean_span(str(pred)))
    if p is None or p.percent or p.decimals <= g.decimals or p.decimals >= MAX_DIGITS:
        return False
    return round(p.value, g.decimals) == round(g.value, g.decimals)


def grade(
    pred: str | None,
    gold: str,
    answer_type: str | None = None,
    choices: Sequence[str] | None = None,
    *,
    timeout: float | None = None,
) -> bool:
    """Whether `pred` matches `gold`. Incorrect on timeout (at most `timeout` seconds, default 5)."""
    if at_gold_precision(pred, gold):
        return True
    decided = fast_grade(pred, gold, answer_type, choices)
    if decided is not None:
        return decided
    from vrd.verify.cache import RESULTS
    from vrd.verify.pool import Task, run_tasks

    key = (expand_scientific(normalize_math(str(pred))), expand_scientific(normalize_math(str(gold))))
    cached = RESULTS.get(key)
    if cached is not None:
        return cached
    outcome = next(run_tasks([Task(0, *key)], timeout=timeout or DEFAULT_TIMEOUT, workers=1))
    if outcome.status == "ok":
        RESULTS.put(key, outcome.equal)
    return outcome.status == "ok" and outcome.equal


__all__ = ["LETTERS", "ANSWER_TYPES", "fast_grade", "grade", "infer_answer_type", "normalize_type"]
