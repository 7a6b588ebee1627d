"""MATH-Vision (Wang et al., 2024): `MathLLMs/MathVision`, splits `test` (3,040) and `testmini` (304).

Competition problems with a diagram, graded by difficulty. Columns: `id`, `question` (with an
`<image1>` placeholder), `options` (a list; empty for free-form), `image` (a relative path such as
`images/1.jpg`), `decoded_image` (the picture on the hub), `answer` (the letter when there are
options), `solution`, `level` (1-5), `subject`. `level` is the difficulty the eval reports.
"""

from __future__ import annotations

from typing import Any, ClassVar

from vrd.sources.base import RowError
from vrd.sources.benchmarks.common import BenchmarkSource, place_image_marks, require
from vrd.sources.normalize import choice_letter, clean_answer, infer_answer_type, parse_choices


class MathVision(BenchmarkSource):
    name: ClassVar[str] = "mathvision"
    hub_id: ClassVar[str | None] = "MathLLMs/MathVision"
    default_split: ClassVar[str] = "test"
    description: ClassVar[str] = "MATH-Vision: competition math with diagrams, levels 1-5 (benchmark; --split testmini)"
    id_fields: ClassVar[tuple[str, ...]] = ("id", "_key")
    subset_field: ClassVar[str | None] = "subject"
    difficulty_field: ClassVar[str | None] = "level"

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        native = self.native_id(record, index)
        image = self.first_image(record, ("decoded_image", "image"))
        question = str(require(record, "question")).strip()
        choices = parse_choices(record.get("options"), field="options")
        raw_answer = require(record, "answer")
        if choices:
            answer, answer_type = choice_letter(str(raw_answer).strip(), choices, field="answer"), "choice"
        else:
            answer = clean_answer(raw_answer)
            answer_type = infer_answer_type(answer)
        level = record.get("level")
        if level is not None:
            try:
                level = int(level)
            except (TypeError, ValueError) as exc:
                raise RowError(f"must be an integer 1-5, got {level!r}", "level") from exc
        meta = {"level": level, "subject": record.get("subject"), "solution": record.get("solution")}
        return self.row(native, question=place_image_marks(question, 1), answer=answer, answer_type=answer_type,
                        images=[image], choices=choices, meta=meta)
