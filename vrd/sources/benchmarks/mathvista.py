"""MathVista (Lu et al., 2023): `AI4Math/MathVista`, split `testmini` (1,000 problems).

Columns: `pid`, `question`, `image` (a relative path such as `images/1.jpg`), `decoded_image`
(the picture itself on the hub), `choices` (list or null), `answer` (the option *text* for
multiple choice), `question_type` (`multi_choice` | `free_form`), `answer_type`
(`text` | `integer` | `float` | `list`), `precision`, `unit`, `metadata` (category, task,
grade, skills, ...). The authors' `annot_testmini.json` (an object keyed by pid, images beside
it) reads the same way.

Free-form questions get MathVista's own hint about the expected answer shape (an integer, a
float with N decimals, a list), because "3.5" and "3.50" and "[1, 2]" are graded against it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from vrd.sources.base import RowError
from vrd.sources.benchmarks.common import BenchmarkSource, place_image_marks, require
from vrd.sources.normalize import choice_letter, clean_answer, infer_answer_type, parse_choices

_ANSWER_TYPES = {"integer": "number", "float": "number", "list": "expression", "text": "text"}


def answer_hint(answer_type: str | None, precision: Any) -> str | None:
    """The hint MathVista's own prompts add for a free-form answer of this type."""
    if answer_type == "integer":
        return "Answer with an integer, e.g. 1, 2, 3."
    if answer_type == "float":
        try:
            places = int(float(precision))
        except (TypeError, ValueError):
            places = None
        if places is not None:
            return f"Answer with a number with {places} decimal place{'s' if places != 1 else ''}."
        return "Answer with a floating-point number."
    if answer_type == "list":
        return "Answer with a Python list, e.g. [1, 2, 3]."
    return None


class MathVista(BenchmarkSource):
    name: ClassVar[str] = "mathvista"
    hub_id: ClassVar[str | None] = "AI4Math/MathVista"
    default_split: ClassVar[str] = "testmini"
    description: ClassVar[str] = "MathVista testmini: math reasoning in visual contexts (benchmark)"
    id_fields: ClassVar[tuple[str, ...]] = ("pid", "_key")
    subset_field: ClassVar[str | None] = "question_type"

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        native = self.native_id(record, index)
        image = self.first_image(record, ("decoded_image", "image"))
        question = str(require(record, "question")).strip()
        question_type = str(record.get("question_type") or "").strip()
        native_type = record.get("answer_type")
        raw_answer = require(record, "answer")
        choices = parse_choices(record.get("choices"), field="choices")
        if question_type == "multi_choice" or (not question_type and choices):
            if not choices:
                raise RowError("is multi_choice but the record has no choices", "choices")
            answer = choice_letter(str(raw_answer).strip(), choices, field="answer")
            answer_type = "choice"
            answer_text = str(raw_answer).strip()
        else:
            choices = []
            answer = clean_answer(raw_answer)
            answer_type = _ANSWER_TYPES.get(str(native_type), None) or infer_answer_type(answer)
            answer_text = answer
            hint = answer_hint(native_type, record.get("precision"))
            if hint:
                question = f"{question}\n{hint}"
        meta: dict[str, Any] = {
            "question_type": question_type or ("multi_choice" if choices else "free_form"),
            "native_answer_type": native_type,
            "answer_text": answer_text,
            "precision": record.get("precision"),
            "unit": record.get("unit"),
        }
        metadata = record.get("metadata")
        if isinstance(metadata, dict):
            meta.update({k: v for k, v in metadata.items() if k not in meta and k not in ("split",)})
        return self.row(native, question=place_image_marks(question, 1), answer=answer, answer_type=answer_type,
                        images=[image], choices=choices, meta=meta)
