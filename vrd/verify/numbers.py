"""The fast path for plain numbers: "12 cm", "30^\\circ", "45\\%", "1,234", "3/4", "\\frac{3}{4}".

Most geometry answers are plain numbers. Reading them here, with short anchored regexes on a
string capped at `MAX_NUMBER_CHARS`, keeps them out of sympy and out of the worker processes.
Anything else (roots, pi, powers) returns None and goes to math-verify.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

MAX_NUMBER_CHARS = 80
MAX_DIGITS = 40

# Units that may follow a number and carry no value. Letters not listed here (e.g. "2x") make
# the string an expression, not a number.
UNITS = frozenset(
    """
    mm cm dm m km in inch inches ft foot feet yd yard yards mi mile miles meter meters metre metres
    centimeter centimeters centimetre centimetres millimeter millimeters kilometer kilometers
    unit units sq square cubic cu g kg mg lb lbs oz l ml s sec secs second seconds min mins minute
    minutes h hr hrs hour hours day days week weeks year years deg degree degrees dollar dollars
    cent cents yuan euro euros people students times points point cups cup pages items
    """.split()
)

_SPACE_CMDS = re.compile(r"\\[,!;: ]|~|\\quad|\\qquad|\\displaystyle|\\left|\\right")
_TEXT_CMD = re.compile(r"\\(?:text|textrm|mathrm|mbox|textnormal|operatorname)\s*\{([^{}]*)\}")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree|\\circ")
_PERCENT = re.compile(r"\\?%")
_UNIT_TAIL = re.compile(r"\s*(?:\\?[a-zA-Z]+\.?)(?:\s*(?:\^\s*\{?\s*[23]\s*\}?|[²³]))?\s*$")
_SIGN_SPACE = re.compile(r"^([-+])\s+")
_NON_LETTER = re.compile(r"[^a-zA-Z]")
_PLAIN = re.compile(r"-?\d{1,20}(?:\.\d{1,20})?")
# Thousands groups as math-verify reads them ("1,234", "12,000,023"); any other "d,d" is a decimal comma.
_DECIMAL = re.compile(r"[-+]?(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d*)?|[-+]?\.\d+")
_DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")
# "x = 12", "AB = 3", "\angle ABC = 30": a name on the left; anything else with "=" is an equation.
_NAME_LHS = re.compile(r"\s*(?:\\angle\s*|\\overline\s*)?\{?[A-Za-z]{1,4}(?:_\{?\w{1,4}\}?)?\}?(?:\([a-z]\))?\s*")
_RELATION = re.compile(r"<|>|!=|\\(?:le|ge|leq|geq|ne|neq|lt|gt|approx)\b|[≤≥≠]")
_SCI = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)[eE][-+]?\d{1,3}")
_SLASH = re.compile(r"([-+]?)\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)")
_FRAC = re.compile(r"([-+]?)\s*\\[dt]?frac\s*(?:\{\s*([-+]?\d+(?:\.\d+)?)\s*\}|(\d))\s*(?:\{\s*(\d+(?:\.\d+)?)\s*\}|(\d))")


@dataclass(frozen=True)
class Number:
    """A parsed plain number; `percent` keeps "45%" comparable with both 45 and 0.45."""

    value: float
    percent: bool = False
    decimals: int = 0  # digits after the point as written: the precision the writer meant


def _strip_units(s: str) -> str:
    for _ in range(3):
        m = _UNIT_TAIL.search(s)
        if not m:
            break
        word = _NON_LETTER.sub("", m.group(0)).lower()
        if word not in UNITS:
            break
        s = s[: m.start()].rstrip()
    return s


def plain_text_decimal(span: str, context: str) -> str:
    """`1,5` written in plain text is 1.5, as math-verify reads it; inside a box or `$…$` it is a pair."""
    s = span.strip()
    if not _DECIMAL_COMMA.fullmatch(s) or _DECIMAL.fullmatch(s):
        return span
    at = context.rfind(s)
    before = context[max(0, at - 8) : at] if at >= 0 else ""
    if at < 0 or "{" in before or "$" in before.replace("\\$", "") or "\\(" in before:
        return span
    return s.replace(",", ".")


def expand_scientific(span: str) -> str:
    """An answer that is only `2.5e3` / `1E-4` is that decimal number. Inside LaTeX `e` may be
    Euler's number, so math-verify reads `2.5e3` as 2.5·e³; a whole answer written this way is
    the programmer's notation, and is rewritten before either grader sees it."""
    s = span.strip()
    if len(s) > 40 or not _SCI.fullmatch(s):
        return span
    if abs(Decimal(s).adjusted()) > 30:
        return span  # past what a written answer means; left for math-verify as written
    text = format(Decimal(s), "f")  # exact: 1.5e-7 -> 0.00000015
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_number(text: str | None) -> Number | None:
    """Read `text` as one plain number, or None if it is anything more."""
    if text is None or len(text) > 4 * MAX_NUMBER_CHARS:
        return None
    return _parse_number(text)


@lru_cache(maxsize=65_536)  # golds repeat across samples, and so do many predictions
def _parse_number(text: str) -> Number | None:
    s = text.strip()
    if not s or len(s) > MAX_NUMBER_CHARS:
        return None
    if _PLAIN.fullmatch(s):  # the common case, without the clean-up below
        return Number(float(s), False, len(s.split(".", 1)[1]) if "." in s else 0)
    s = s.replace("\\$", "").replace("$", "").replace("−", "-").replace("{,}", ",")
    s = _SPACE_CMDS.sub(" ", s)
    s = _TEXT_CMD.sub(lambda m: " " + m.group(1) + " ", s)
    if "=" in s:  # "x = 12": the value is on the right of a name; "a + 3z = 0" is no number
        lhs, _, rhs = s.partition("=")
        if "=" in rhs or _RELATION.search(s) or not _NAME_LHS.fullmatch(lhs):
            return None
        s = rhs
    elif _RELATION.search(s):
        return None
    s = s.strip().rstrip(".").strip()
    percent = bool(_PERCENT.search(s))
    s = _PERCENT.sub(" ", s)
    s = _DEGREE.sub(" ", s)
    s = _strip_units(s.strip())
    s = _SIGN_SPACE.sub(r"\1", s.strip())
    if s.startswith("{") and s.endswith("}"):
        s = s[1:-1].strip()
    if not s:
        return None
    value: float | None = None
    decimals = 0
    if _DECIMAL_COMMA.fullmatch(s) and not _DECIMAL.fullmatch(s):
        return None  # "1,5": a decimal comma or a pair; math-verify reads it in context
    if _DECIMAL.fullmatch(s):
        plain = s.replace(",", "")
        value = float(plain)
        decimals = len(plain.split(".", 1)[1]) if "." in plain else 0
    elif _SCI.fullmatch(s):
        return None  # "1e-3": in LaTeX that may be 1·e^{-3}; math-verify reads it in context
    else:
        m = _SLASH.fullmatch(s) or _FRAC.fullmatch(s)
        if m:
            groups = [g for g in m.groups()[1:] if g is not None]
            num, den = float(groups[0]), float(groups[1])
            if den == 0:
                return None
            value = (-1 if m.group(1) == "-" else 1) * num / den
            decimals = MAX_DIGITS  # exact
    if value is None or not math.isfinite(value):
        return None
    return Number(value, percent, decimals)


def _round6(x: float) -> float:
    return round(x, 6)


def _same(p: float, g: float, exact: bool) -> bool:
    """math-verify's rule: integers (and exact fractions) equal exactly; a decimal on either
    side compares after rounding both to 6 places (its `float_rounding`)."""
    if exact:
        return p == g or (abs(p - g) <= 1e-12 * max(1.0, abs(g)))
    return _round6(p) == _round6(g)


def numbers_equal(pred: Number, gold: Number) -> bool:
    """Equal as math-verify would find them: integers exactly, decimals to 6 places.

    No relative tolerance: 14917 is not 14916. Percentages match either reading ("45%" is
    45 and 0.45), as math-verify's percent handling does.
    """
    preds = [(pred.value, pred.decimals)] + ([(pred.value / 100, MAX_DIGITS)] if pred.percent else [])
    golds = [(gold.value, gold.decimals)] + ([(gold.value / 100, MAX_DIGITS)] if gold.percent else [])
    for p, pd in preds:
        for g, gd in golds:
            exact = pd in (0, MAX_DIGITS) and gd in (0, MAX_DIGITS)
            if _same(p, g, exact):
                return True
    return False
