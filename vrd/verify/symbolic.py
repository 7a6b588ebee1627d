"""The slow path: LaTeX equivalence through math-verify. Runs only inside worker processes.

math-verify's own timeouts use SIGALRM, which fails off the main thread and cannot stop C
code, so they are switched off here (`parsing_timeout=None`, `timeout_seconds=None`); the
worker pool kills a worker that overruns instead. Only `LatexExtractionConfig` is used: the
plain-expression config parses with sympy's `parse_expr`, which evaluates Python.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from math_verify import LatexExtractionConfig, parse, verify

from vrd.verify.numbers import MAX_DIGITS, Number, parse_number

logging.getLogger("math_verify").setLevel(logging.ERROR)

_CONFIG = [LatexExtractionConfig(boxed_match_priority=0)]
_MONEY = re.compile(r"\\\$")
_UNIT_MARKS = ("%", "circ", "°", "deg")


def _as_latex(answer: str) -> str:
    s = _MONEY.sub("", answer).replace("$", "").strip()
    return f"${s}$"


@lru_cache(maxsize=4096)
def parse_answer(answer: str) -> tuple:
    """math-verify's parse of one bare answer; cached because golds repeat across samples."""
    return tuple(parse(_as_latex(answer), extraction_config=_CONFIG, parsing_timeout=None))


def _numeric(expr) -> float | None:
    try:
        if getattr(expr, "free_symbols", None) or not getattr(expr, "is_number", False):
            return None
        value = complex(expr.evalf(20))
    except Exception:  # noqa: BLE001 - any sympy failure just means "not a plain number"
        return None
    return value.real if abs(value.imag) < 1e-12 else None


@lru_cache(maxsize=4096)
def numeric_value(answer: str) -> float | None:
    """The value of an answer that is a constant expression (roots, pi, fractions), else None."""
    parsed = parse_answer(answer)
    return _numeric(parsed[0]) if parsed else None


def _close(p: float, g: float, written: Number | None) -> bool:
    if abs(p - g) <= 1e-4 * abs(g) or abs(p - g) <= 1e-9:
        return True
    # "1.73" for \sqrt{3}: equal at the precision the model wrote
    if written is not None and 2 <= written.decimals < MAX_DIGITS and not written.percent:
        return abs(p - g) <= 0.5 * 10 ** (-written.decimals) * (1 + 1e-9)
    return False


def symbolic_equal(pred: str, gold: str) -> bool:
    """Whether `pred` and `gold` are the same mathematical object per math-verify.

    Constant expressions are compared by value first (relative 1e-4, as in the number fast
    path, so `6.2832` matches `2\\pi`, and a decimal with two or more places counts when it is
    the gold rounded to those places). That settles most geometry answers without math-verify's
    slower symbolic strategies, which still decide everything else.
    """
    gold_parsed = parse_answer(gold)
    if not gold_parsed:
        return False
    g = numeric_value(gold)
    written = parse_number(pred)
    units = any(mark in pred or mark in gold for mark in _UNIT_MARKS)
    if g is not None and written is not None and not units:
        return _close(written.value, g, written)
    pred_parsed = parse_answer(pred)
    if not pred_parsed:
        return False
    p = numeric_value(pred) if g is not None else None
    if g is not None and p is not None:
        if _close(p, g, written):
            return True
        if not units:  # two different constants; percent and degree readings need math-verify
            return False
    return bool(verify(list(gold_parsed), list(pred_parsed), timeout_seconds=None))
