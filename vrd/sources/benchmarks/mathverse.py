"""MathVerse (Zhang et al., 2024): `AI4Math/MathVerse`, config and split `testmini`.

Each of 788 problems appears in several versions that move information from the text into
the diagram (`problem_version`: Text Dominant, Text Lite, Vision Intensive, Vision Dominant,
Vision Only; the `testmini_text_only` file adds Text Only). Columns: `sample_index`,
`problem_index`, `problem_version`, `question` (for multiple choice it ends with a
`Choices:` block of `A:...` lines), `image`, `answer` (a letter for multiple choice),
`question_type` (`multi-choice` | `free-form`), `query_wo`, `query_cot`, `question_for_eval`,
`metadata` (split, source, subject, subfield).

The question text is used where there is one, with its `Choices:` block turned into options so
every template renders them alike. Where the text is empty (Vision Only) or the options live in
the picture, `query_cot` stands in: MathVerse's own "answer the question shown in the image"
instruction, without which the model would be asked nothing.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from vrd.contract import LETTERS
from vrd.sources.base import RowError
from vrd.sources.benchmarks.common import BenchmarkSource, place_image_marks, require
from vrd.sources.normalize import clean_answer, infer_answer_type

_CHOICES_BLOCK = re.compile(r"\n?\s*Choices\s*:\s*\n(?P<body>.*)\Z", re.S | re.I)
_CHOICE_LINE = re.compile(r"^\s*\(?([A-Z])\)?\s*[:.：)]\s*(.*?)\s*$")
QUERIES = ("auto", "question", "query_cot", "query_wo")


def split_choices(question: str) -> tuple[str, list[str]]:
    """The question without its trailing `Choices:` block, and the options in letter order."""
    m = _CHOICES_BLOCK.search(question)
    if not m:
        return question, []
    options: list[str] = []
    for line in m.group("body").splitlines():
        if not line.strip():
            continue
        lm = _CHOICE_LINE.match(line)
        if lm and lm.group(1) == LETTERS[len(options)]:
            options.append(lm.group(2))
        elif options:  # an option's text continued on the next line
            options[-1] = f"{options[-1]} {line.strip()}"
        else:
            return question, []
    if len(options) < 2 or any(not o for o in options):
        return question, []
    return question[: m.start()].rstrip(), options


class MathVerse(BenchmarkSource):
    name: ClassVar[str] = "mathverse"
    hub_id: ClassVar[str | None] = "AI4Math/MathVerse"
    hub_config: ClassVar[str | None] = "testmini"
    default_split: ClassVar[str] = "testmini"
    description: ClassVar[str] = "MathVerse testmini: one diagram problem in several text/vision versions (benchmark)"
    subset_field: ClassVar[str | None] = "problem_version"
    options_accepted: ClassVar[tuple[str, ...]] = ("query",)

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        native = record.get("sample_index", record.get("_key"))
        native = index if native is None else native
        query = str(self.options.get("query") or "auto")
        if query not in QUERIES:
            raise RowError(f"option query={query!r} is not one of {', '.join(QUERIES)}", "query")
        version = str(record.get("problem_version") or "").strip()
        has_image = not (version == "Text Only" or record.get("image") in (None, ""))
        images = [self.first_image(record, ("image",))] if has_image else []
        question_type = str(record.get("question_type") or "").strip().lower().replace("_", "-")
        multi = question_type.startswith("multi")
        raw_answer = str(require(record, "answer")).strip()
        text = str(record.get("question") or "").strip()
        choices: list[str] = []
        if query in ("auto", "question") and text:
            text, choices = split_choices(text) if multi else (text, [])
            if query == "auto" and multi and not choices and str(record.get("query_cot") or "").strip():
                text = str(record["query_cot"]).strip()  # the options are in the picture
        elif query in ("auto", "query_cot", "query_wo"):
            field = "query_cot" if query == "auto" else query
            text = str(require(record, field)).strip()
        if multi:
            letter = raw_answer.strip("() .").upper()
            if len(letter) != 1 or letter not in LETTERS or (choices and LETTERS.index(letter) >= len(choices)):
                raise RowError(f"{raw_answer!r} is not an option letter", "answer")
            answer, answer_type = letter, "choice"
        else:
            answer = clean_answer(raw_answer)
            answer_type = infer_answer_type(answer)
        if not text:
            raise RowError("is empty and so is query_cot", "question")
        meta: dict[str, Any] = {
            "problem_index": record.get("problem_index"),
            "problem_version": version or None,
            "question_type": question_type or None,
            "question_for_eval": record.get("question_for_eval"),
        }
        metadata = record.get("metadata")
        if isinstance(metadata, dict):
            meta.update({k: v for k, v in metadata.items() if k not in meta and k != "split"})
        return self.row(native, question=place_image_marks(text, len(images)), answer=answer,
                        answer_type=answer_type, images=images, choices=choices, meta=meta)
