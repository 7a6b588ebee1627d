"""EasyR1's accuracy judgement (mathruler 0.1.0's `grade_answer`) without its one `eval`.

EasyR1's math and r1v rewards grade with `mathruler.grader.grade_answer(given, ground_truth)`:
1. Hendrycks MATH normalization of both strings (`math_normalize.normalize_answer`); equal -> right.
2. mathruler's own normalization (`grader._normalize`: `\\text{}` unwrapped, `%`/`$` and a list
   of units dropped, `or`/`and` as commas, LaTeX rendered to text by pylatexenc, spaces and
   braces dropped, lower case, integers canonical); equal -> right; empty answer -> wrong.
3. Both split into elements when bracketed (`split_tuple`); the brackets and the element count
   must match. Per element: two fractions a/b must be the same string; an integer against a
   non-integer is wrong; otherwise sympy decides (`are_equal_under_sympy`: `parse_expr` of the
   difference, i.e. Python `eval` of model text, then `simplify(...) == 0`), and only for
   expressions with at most two letters and no `^{`, `^(`, `^N^` or `^NN`.
Steps 1-3 are reproduced here; the sympy step is the one place vrd differs: the element pair
(for a single element, the original gold and answer) is handed to vrd's grader (math-verify semantics in a worker under a time bound), which never
evaluates model text. Rewards that differ from EasyR1's therefore come only from that step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

UNITS = ("degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "day", "week", "month",
         "year", "foot", "feet", "inch", "yard")
_UNIT_RES = [re.compile(rf"{u}(es)?(s)? *(\^[0-9]+)?") for u in UNITS]
_TEXT_WRAP = re.compile(r"^\\text\{(?P<text>.+?)\}$")
_THOUSANDS = re.compile(r"(\d)(,)(\d\d\d)($|\D)")
_MIXED = re.compile("([0-9]) +([0-9])")
_FRAC = re.compile(r"^-?[0-9]+.?/0*[1-9][0-9]*.?$")
_BAD_EVAL = (re.compile(r"\^[0-9]+\^"), re.compile(r"\^[0-9][0-9]+"))
BRACKETS = "()[]"
MAX_LATEX_CHARS = 1_000  # pylatexenc recurses per brace level; longer text is left as it is


# -- step 1: the Hendrycks MATH normalization ------------------------------------------------------


def _braced_fracs(s: str) -> str:
    r"""`\frac12` -> `\frac{1}{2}`, `\frac1{7}` -> `\frac{1}{7}`; unchanged when a bare `\frac` ends the text."""
    head, *rest = s.split("\\frac")
    out = [head]
    for part in rest:
        out.append("\\frac")
        if part.startswith("{"):
            out.append(part)
            continue
        if len(part) < 2:
            return s
        a, b, tail = part[0], part[1], part[2:]
        out.append("{" + a + "}" + (b + tail if b == "{" else "{" + b + "}" + tail))
    return "".join(out)


def _slash_to_frac(s: str) -> str:
    r"""`3/4` (two plain integers) -> `\frac{3}{4}`."""
    parts = s.split("/")
    if len(parts) != 2:
        return s
    try:
        a, b = int(parts[0]), int(parts[1])
    except ValueError:
        return s
    return f"\\frac{{{a}}}{{{b}}}" if s == f"{a}/{b}" else s


def _braced_sqrt(s: str) -> str:
    r"""`\sqrt3` -> `\sqrt{3}`."""
    if "\\sqrt" not in s:
        return s
    head, *rest = s.split("\\sqrt")
    return head + "".join("\\sqrt" + (p if p.startswith("{") else "{" + p[:1] + "}" + p[1:]) for p in rest)


def mathd_normalize(answer: str) -> str:
    """Step 1 (mathruler/math_normalize.py: normalize_answer and _strip_string)."""
    s = answer.strip()
    m = _TEXT_WRAP.search(s)
    if m is not None:
        s = m.group("text").strip()
    try:
        return _strip(s)
    except (AssertionError, IndexError):  # mathruler returns the input on any failure here
        return s


def _strip(s: str) -> str:
    s = s.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac").replace("\\left", "").replace("\\right", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "").replace("\\$", "")
    if "\\text{ " in s:  # units on the right
        pieces = s.split("\\text{ ")
        if len(pieces) != 2:
            raise AssertionError
        s = pieces[0]
    s = s.replace("\\%", "").replace("%", "").replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    halves = s.split("=")
    if len(halves) == 2 and len(halves[0]) <= 2:
        s = halves[1]
    s = _braced_sqrt(s).replace(" ", "")
    s = _braced_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _slash_to_frac(s)


# -- step 2: mathruler's own normalization ---------------------------------------------------------


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _near_int(x: float) -> bool:
    try:
        return abs(x - round(x)) <= 1e-7
    except (OverflowError, ValueError):
        return False


def _no_thousands(s: str) -> str:
    while True:
        nxt = _THOUSANDS.sub("\\1\\3\\4", s)
        if nxt == s:
            return nxt
        s = nxt


def str_is_int(s: str) -> bool:
    try:
        return _near_int(float(_no_thousands(s)))
    except (ValueError, OverflowError):
        return False


def _latex_to_text(s: str) -> str:
    from pylatexenc.latex2text import LatexNodes2Text

    s = s.replace("\\tfrac", "\\frac").replace("\\dfrac", "\\frac").replace("\\frac", " \\frac")
    s = LatexNodes2Text().latex_to_text(s)
    for a, b in (("√", "sqrt"), ("π", "pi"), ("∞", "inf"), ("∪", "U"), ("·", "*"), ("×", "*")):
        s = s.replace(a, b)
    return s.strip()


def mathruler_normalize(expr: str) -> str:
    """Step 2 (mathruler/grader.py: _normalize)."""
    m = _TEXT_WRAP.search(expr)
    if m is not None:
        expr = m.group("text")
    expr = expr.replace("\\%", "%").replace("\\$", "$").replace("$", "").replace("%", "")
    expr = expr.replace(" or ", " , ").replace(" and ", " , ")
    expr = expr.replace("million", "*10^6").replace("billion", "*10^9").replace("trillion", "*10^12")
    for unit in _UNIT_RES:
        expr = unit.sub("", expr)
    expr = re.sub(r"\^ *\\circ", "", expr)
    if expr and expr[0] == "{" and expr[-1] == "}":
        expr = expr[1:-1]
    expr = re.sub(",\\\\! *", "", expr)
    if _is_float(expr) and _near_int(float(expr)):
        expr = str(int(round(float(expr))))
    if "\\" in expr and len(expr) <= MAX_LATEX_CHARS:
        try:
            expr = _latex_to_text(expr)
        except Exception:  # noqa: BLE001 - mathruler keeps the text on any parser failure (RecursionError too)
            pass
    expr = re.sub("- *", "-", expr)
    expr = _MIXED.sub("\\1+\\2", expr).replace(" ", "").replace("{", "").replace("}", "").lower()
    if str_is_int(expr):
        expr = str(int(float(expr.replace(",", ""))))
    return expr


# -- step 3: elements, and what is left for the symbolic check -------------------------------------


def split_elements(expr: str) -> list[str]:
    """mathruler's split_tuple: the elements of `(a,b)` / `[a,b]`, else the whole expression."""
    expr = _no_thousands(expr)
    if not expr:
        return []
    if len(expr) > 2 and expr[0] in BRACKETS and expr[-1] in BRACKETS and not any(c in expr[1:-1] for c in BRACKETS):
        return [e.strip() for e in expr[1:-1].split(",")]
    return [expr]


def sympy_would_try(expr: str) -> bool:
    """mathruler's should_allow_eval on `(gold)-(given)`: sympy is not even tried otherwise."""
    letters = {c for c in expr.replace("sqrt", "").replace("frac", "") if c.isalpha()}
    if len(letters) > 2 or "^{" in expr or "^(" in expr:
        return False
    return not any(r.search(expr) for r in _BAD_EVAL)


@dataclass
class Judgement:
    """`decided` when steps 1-3 settle it; else `pairs`, (gold, given) elements that must all be equal."""

    decided: bool | None
    pairs: list[tuple[str, str]] = field(default_factory=list)


# Longer answers are compared as written, not normalized: the normalization runs in the caller's
# process, outside the verifier's time limit, at about a second per MB of hostile text. No gold
# answer is this long; a reply's box this long is wrong unless it is the gold itself.
MAX_JUDGED_CHARS = 10_000


def judge(given: str | None, ground_truth: str) -> Judgement:
    """mathruler's grade_answer up to (not including) its sympy step."""
    if given is None:
        return Judgement(False)
    if len(given) > MAX_JUDGED_CHARS or len(ground_truth) > MAX_JUDGED_CHARS:
        return Judgement(given.strip() == ground_truth.strip())
    if mathd_normalize(ground_truth) == mathd_normalize(given):
        return Judgement(True)
    gold_n, given_n = mathruler_normalize(ground_truth), mathruler_normalize(given)
    if gold_n == given_n:
        return Judgement(True)
    if not given_n:
        return Judgement(False)
    gold_e, given_e = split_elements(gold_n), split_elements(given_n)
    if len(gold_e) > 1 and (gold_n[0] != given_n[0] or gold_n[-1] != given_n[-1]):
        return Judgement(False)
    if len(gold_e) != len(given_e):
        return Judgement(False)
    pairs = []
    for g, p in zip(gold_e, given_e, strict=True):
        if _FRAC.search(g) and _FRAC.search(p):
            if g != p:  # unreduced fractions must match as written
                return Judgement(False)
            continue
        if str_is_int(g) != str_is_int(p):
            return Judgement(False)
        if not sympy_would_try(f"({g})-({p})"):
            return Judgement(False)
        pairs.append((g, p))
    if len(pairs) == 1 and len(gold_e) == 1:
        # One element: the original LaTeX, which math-verify reads better than pylatexenc's text
        # (`\frac{1}{2}\sqrt{3}` renders as `1/2sqrt(3)`, which sympy's implicit product reads as
        # (1/2)*sqrt(3) and a plain parser as 1/(2*sqrt(3))). The gates above have already passed.
        pairs = [(ground_truth, given)]
    return Judgement(None, pairs) if pairs else Judgement(True)
