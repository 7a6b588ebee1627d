"""Geometry3K (InterGPS) as published on the hub by EasyR1: `hiyouga/geometry3k`.

Columns: `images` (a list), `problem` (already holds `<image>`), `answer`; later revisions add
`id`, `choices` and `ground_truth` (the option letter). Where options are present the row is
multiple choice with a letter answer, and the answer's text is kept in meta; `free_form=True`
drops the options and keeps the value as a free-form answer instead.
"""

from __future__ import annotations

from typing import Any, ClassVar

from vrd.sources.base import RowError, Source
from vrd.sources.normalize import (
    LETTERS,
    as_image_list,
    choice_letter,
    clean_answer,
    infer_answer_type,
    parse_choices,
    with_image_marks,
)


class Geometry3K(Source):
    name: ClassVar[str] = "geometry3k"
    hub_id: ClassVar[str | None] = "hiyouga/geometry3k"
    default_split: ClassVar[str] = "train"
    description: ClassVar[str] = "Geometry3K plane-geometry problems with diagrams (InterGPS)"
    options_accepted: ClassVar[tuple[str, ...]] = ("free_form",)

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        images = as_image_list(record.get("images", record.get("image")))
        if not images:
            raise RowError("has no image", "images")
        if "problem" not in record and "question" not in record:
            raise RowError("is missing", "problem")
        question = with_image_marks(record.get("problem", record.get("question")), len(images), field="problem")
        answer = clean_answer(record.get("answer"))
        choices = parse_choices(record.get("choices"))
        meta: dict[str, Any] = {}
        if choices and not self.options.get("free_form"):
            letter_source = record.get("ground_truth")
            if letter_source is None or str(letter_source).strip() == "":
                letter_source = answer
            letter = choice_letter(letter_source, choices, field="ground_truth" if "ground_truth" in record else "answer")
            meta["answer_text"] = choices[LETTERS.index(letter)]
            answer, answer_type = letter, "choice"
        else:
            if choices:
                meta["choices"] = choices
                if len(answer) == 1 and answer.upper() in LETTERS[:len(choices)]:
                    # Free-form needs the option's text, not the letter that pointed at it.
                    answer = choices[LETTERS.index(answer.upper())]
                choices = []
            answer_type = infer_answer_type(answer)
        native = record.get("id")
        native = index if native is None else native
        return self.problem_row(native, question=question, answer=answer, answer_type=answer_type,
                                images=images, choices=choices, meta=meta)
