"""Answer types, and the names other datasets use for them.

DESIGN's `answer_type` is choice | number | expression | text. Benchmarks label the same
things differently (MathVista's `multi_choice`, `integer`, `float`, `free_form`); those map
here, and anything unknown means "infer it from the gold".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from vrd.contract import ANSWER_TYPES

# Names other datasets use for the same types (MathVista, MathVerse, We-Math, ...).
TYPE_ALIASES = {
    "multi_choice": "choice", "multiple_choice": "choice", "multiple-choice": "choice", "mc": "choice",
    "option": "choice", "letter": "choice",
    "integer": "number", "int": "number", "float": "number", "numeric": "number", "numerical": "number",
    "latex": "expression", "math": "expression", "formula": "expression",
    "string": "text", "str": "text", "free_form": None, "free-form": None, "": None,
}


def normalize_type(answer_type: str | None) -> str | None:
    """A known answer type, or None ("infer it") for unknown or free-form labels."""
    if answer_type is None:
        return None
    key = str(answer_type).strip().lower()
    if key in ANSWER_TYPES:
        return key
    return TYPE_ALIASES.get(key)


_SINGLE_LETTER = re.compile(r"\(?\s*[A-Z]\s*\)?\.?")


def infer_answer_type(gold: Any, choices: Sequence[str] | None = None) -> str:
    """choice | number | expression | text, from the gold's own text (and its options when present).

    The one inference in vrd: sources call it when they prepare rows and the grader calls it when
    a row has no type, so `3.14159` against `π` is graded alike whoever inferred the type.
    A gold naming one of `choices` is a choice; a lone capital letter is a choice; a plain
    number (with units, degrees, percent, separators or a simple fraction) is a number; anything
    with a mathematical mark (digits, operators, brackets, LaTeX, √, π) is an expression.
    """
    from vrd.verify.choices import MATH_MARK, match_choice, to_letter
    from vrd.verify.normalize import normalize_math
    from vrd.verify.numbers import parse_number
    from vrd.verify.scan import clean_span

    g = clean_span(str(gold))
    if choices and (to_letter(g, choices) or match_choice(g, choices)):
        return "choice"
    if _SINGLE_LETTER.fullmatch(g):
        return "choice"
    if parse_number(normalize_math(g)) is not None:
        return "number"
    if MATH_MARK.search(g) or re.search(r"\bpi\b|sqrt", g):
        return "expression"
    return "text"
