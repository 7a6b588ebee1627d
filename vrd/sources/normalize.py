"""Small rules every source applies, so all sources agree on image marks, option letters and answer types.

Sources differ in where things live; they must not differ in what a row means. A multiple-choice
answer is always the option letter, a question always has one `<image>` per image, and the answer
type is inferred the same way everywhere, so the verifier grades all sources alike.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from vrd.contract import IMAGE_MARK, LETTERS
from vrd.errors import RowError

_NUMBER = re.compile(
    r"^[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?\s*(°|\^\s*\{?\\circ\}?|\\%|%|\s*degrees?)?$", re.IGNORECASE
)
_LETTER_FORMS = re.compile(r"^\(?\s*([A-Za-z])\s*\)?\s*[.:)]?$")


def with_image_marks(question: str, n_images: int, *, field: str = "question") -> str:
    """Put one `<image>` per image in the question: keep the source's marks, else add them in front."""
    question = "" if question is None else str(question)
    found = question.count(IMAGE_MARK)
    if found == n_images:
        return question
    if found == 0:
        return IMAGE_MARK * n_images + ("\n" if n_images else "") + question
    raise RowError(f"has {found} {IMAGE_MARK} mark(s) but the record has {n_images} image(s)", field)


def as_image_list(value: Any) -> list[Any]:
    """One image or a list of images (None means none) as a list."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [v for v in value if v is not None]
    return [value]


def parse_choices(value: Any, *, field: str = "choices") -> list[str]:
    """Choices as a list of strings, from a list, a JSON-encoded list or a {letter: text} mapping."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RowError(f"is a string that is not a JSON list ({exc.msg})", field) from exc
        except RecursionError as exc:
            raise RowError("is a JSON string nested too deeply", field) from exc
        except ValueError as exc:  # an integer of more than 4,300 digits
            raise RowError(f"is a string that is not readable JSON ({exc})", field) from exc
    if isinstance(value, Mapping):
        value = [value[k] for k in sorted(value, key=str)]
    if not isinstance(value, (list, tuple)):
        raise RowError(f"must be a list of options, got {type(value).__name__}", field)
    if any(isinstance(c, bool) or not isinstance(c, (str, int, float)) for c in value):
        kinds = sorted({type(c).__name__ for c in value if isinstance(c, bool) or not isinstance(c, (str, int, float))})
        raise RowError(f"options must be strings or numbers, got {', '.join(kinds)}", field)
    choices = [str(c).strip() for c in value]
    if any(not c for c in choices):
        raise RowError("has an empty option", field)
    if len(choices) > len(LETTERS):
        raise RowError(f"has {len(choices)} options; at most {len(LETTERS)} are supported", field)
    return choices


def choice_letter(answer: Any, choices: Sequence[str], *, field: str = "answer") -> str:
    """The option letter for an answer given as a letter ("B", "(b)", "B."), a 0-based index or the option text."""
    if not choices:
        raise RowError("is a multiple-choice answer but the record has no options", field)
    if isinstance(answer, bool) or answer is None:
        raise RowError(f"cannot be read as an option ({answer!r})", field)
    if isinstance(answer, int):
        if 0 <= answer < len(choices):
            return LETTERS[answer]
        raise RowError(f"option index {answer} is out of range for {len(choices)} options", field)
    text = str(answer).strip()
    match = _LETTER_FORMS.match(text)
    if match:
        letter = match.group(1).upper()
        if LETTERS.index(letter) < len(choices):
            return letter
        # A one-letter option text ("x") falls through to the text match below.
    folded = [c.strip().casefold() for c in choices]
    if text.casefold() in folded:
        return LETTERS[folded.index(text.casefold())]
    if text.isdigit() and 0 <= int(text) < len(choices) and text.casefold() not in folded:
        return LETTERS[int(text)]
    raise RowError(f"{text!r} is neither an option letter nor one of the {len(choices)} options", field)


def is_number(text: str) -> bool:
    """A plain number, possibly with thousands separators, a degree sign or a percent sign."""
    text = text.strip()
    return bool(text) and any(ch.isdigit() for ch in text) and bool(_NUMBER.match(text))


def infer_answer_type(answer: str, choices: Sequence[str] = ()) -> str:
    """choice | number | expression | text: the verifier's one inference (`vrd.verify.answer_types`)."""
    from vrd.verify.answer_types import infer_answer_type as infer

    return infer(answer, list(choices) or None)


def clean_answer(value: Any, *, field: str = "answer") -> str:
    """The gold answer as a non-empty string (numbers keep their written form)."""
    if value is None:
        raise RowError("is missing", field)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        # str() of a list or dict would become a gold answer nobody wrote
        raise RowError(f"must be a string or a number, got {type(value).__name__}", field)
    if isinstance(value, float) and not math.isfinite(value):
        raise RowError(f"must be a finite number, got {value}", field)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        raise RowError("is empty", field)
    return text


def meta_json(meta: Mapping[str, Any]) -> str:
    """Meta as canonical JSON so that two runs over one source write identical bytes."""
    return json.dumps(dict(meta), sort_keys=True, ensure_ascii=False, default=str)
