"""The slow path: equivalence through math-verify. Runs only inside worker processes.

Both sides are read with math-verify's default extraction (LaTeX and plain expressions) and
compared with its default `verify` (6-place float rounding, strict variables). A bare answer
("\\frac{1}{2}", "x \\le 3") is wrapped in `$…$` first; text that already carries its own math
delimiters or `\\boxed{}` (a long gold solution, a reply with no marked answer) is handed over as
written, so math-verify's own extraction finds the final expression.

math-verify's own timeouts use SIGALRM, which fails off the main thread and cannot stop C
code, so they are switched off here (`parsing_timeout=None`, `timeout_seconds=None`); the
worker pool kills a worker that overruns instead. The plain-expression config hands sympy's
`parse_expr` only what its regex admits (digits, point, space and `+ - * × / ^ ( ) ÷`), so no
name from model output is ever evaluated; `9^9^9^9` is what the pool's kill is for.

One addition to math-verify: a decimal written with two or more places that is an irrational
constant gold (`\\sqrt{3}`, `2\\pi`) rounded to those places counts (`1.73` for `\\sqrt{3}`), as
geometry answers are written; math-verify's defaults call that wrong.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

from vrd.verify.numbers import MAX_DIGITS, parse_number

logging.getLogger("math_verify").setLevel(logging.ERROR)

_CONFIG = [LatexExtractionConfig(), ExprExtractionConfig()]
_DELIMITERS = ("$", "\\(", "\\[", "\\boxed", "\\fbox")
_PROSE = re.compile(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}\s+[A-Za-z]{2,}")


def _as_latex(answer: str) -> str:
    s = answer.strip()
    if any(d in s for d in _DELIMITERS) or (_PROSE.search(s) and "\\" not in s):
        return s  # math-verify's own extraction finds the expression in it
    return f"${s}$"


@lru_cache(maxsize=4096)
def parse_answer(answer: str) -> tuple:
    """math-verify's parse of one answer; cached because golds repeat across samples."""
    return tuple(parse(_as_latex(answer), extraction_config=_CONFIG, parsing_timeout=None))


def _numeric(expr) -> float | None:
    try:
        if getattr(expr, "free_symbols", None) or not getattr(expr, "is_number", False):
            return None
        if getattr(expr, "is_Rational", False) or getattr(expr, "is_Float", False):
            return None  # rationals and decimals compare as math-verify (and the fast path) compare them
        value = complex(expr.evalf(20))
    except Exception:  # noqa: BLE001 - any sympy failure just means "not a plain constant"
        return None
    return value.real if abs(value.imag) < 1e-12 else None


def _at_written_precision(pred: str, gold_parsed: tuple) -> bool:
    written = parse_number(pred)
    if written is None or written.percent or not 2 <= written.decimals < MAX_DIGITS or not gold_parsed:
        return False
    g = _numeric(gold_parsed[0])
    if g is None:
        return False
    return round(g, written.decimals) == round(written.value, written.decimals)


def _value(expr) -> float | None:
    try:
        if getattr(expr, "free_symbols", None) or not getattr(expr, "is_number", False):
            return None
        value = complex(expr.evalf(20))
    except Exception:  # noqa: BLE001 - not a plain constant
        return None
    return value.real if abs(value.imag) < 1e-12 else None


def _far_apart(pred: str, gold: str, pred_parsed: tuple, gold_parsed: tuple) -> bool:
    """Two constants whose values differ by far more than math-verify's 6-place rounding can
    forgive are unequal; saying so here skips sympy's slow `simplify` (`\\sqrt{2}` vs `1.5`)."""
    if "%" in pred or "%" in gold:
        return False  # percent readings are math-verify's to decide
    p, g = _value(pred_parsed[0]), _value(gold_parsed[0])
    if p is None or g is None:
        return False
    return abs(p - g) > 1e-5 * max(1.0, abs(g))


def _same_constant(p_expr, g_expr) -> bool:
    """Two irrational constants (`\\frac{\\pi}{2}`, `\\frac{1}{2}\\pi`) equal in double precision are one
    number, as math-verify's numeric check finds; evaluating is much cheaper than `simplify`."""
    if _numeric(p_expr) is None or _numeric(g_expr) is None:
        return False  # rationals and decimals keep math-verify's exact / 6-place rules
    try:
        p, g = complex(p_expr.evalf(30)), complex(g_expr.evalf(30))
    except Exception:  # noqa: BLE001
        return False
    return p == g


def symbolic_equal(pred: str, gold: str) -> bool:
    """Whether `pred` and `gold` are the same mathematical object per math-verify's defaults."""
    gold_parsed = parse_answer(gold)
    if not gold_parsed:
        return False
    if _at_written_precision(pred, gold_parsed):  # cheap, and only ever adds a "correct"
        return True
    pred_parsed = parse_answer(pred)
    if not pred_parsed:
        return False
    if _far_apart(pred, gold, pred_parsed, gold_parsed):
        return False
    if _same_constant(pred_parsed[0], gold_parsed[0]):
        return True
    return bool(verify(list(gold_parsed), list(pred_parsed), timeout_seconds=None))
