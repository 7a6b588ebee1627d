"""Answer types, and the names other datasets use for them.

DESIGN's `answer_type` is choice | number | expression | text. Benchmarks label the same
things differently (MathVista's `multi_choice`, `integer`, `float`, `free_form`); those map
here, and anything unknown means "infer it from the gold".
"""

from __future__ import annotations

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
