"""MathVerse (Zhang et al., 2024): `AI4Math/MathVerse`, config and split `testmini`.

Each of 788 problems appears in several versions that move information from the text into
the diagram (`problem_version`: Text Dominant, Text Lite, Vision Intensive, Vision Dominant,
Vision Only; the `testmini_text_only` file adds Text Only). Columns: `sample_index`,
`problem_index`, `problem_version`, `question` (for multiple choice it ends with a
`Choices:` block of `A:...` lines), `image`, `answer` (a letter for multiple choice),
`question_type` (`multi-choice` | `free-form`), `query_wo`, `query_cot`, `question_for_eval`,
`metadata` (split, source, subject, subfield).

Most choice blocks read `Choices:` then `A:text` lines; a few read `Choice:` then `A. text`, with
the answer given as the option's text (samples 339, 340, 429, 430): those become the letter of
that option. Questions with several right options (`Choose 2 answers`, answer `C\nD`) keep the
letters, sorted and comma-separated ("C, D"), as a text answer over the same options, and list
them in meta `answers`.

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
from vrd.sources.normalize import choice_letter, clean_answer, infer_answer_type

_CHOICES_BLOCK = re.compile(r"\n?\s*Choices?\s*:\s*\n(?P<body>.*)\Z", re.S | re.I)
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


def _answer_letters(raw: str, choices: list[str]) -> list[str]:
    """The option letter(s) of a multiple-choice answer: 'B', '(C)', 'C\\nD', or the option's own text."""
    parts = [p.strip("() .").upper() for p in re.split(r"[\n,;]+|\s+and\s+", raw) if p.strip("() .")]
    n = len(choices) or len(LETTERS)
    if parts and all(len(p) == 1 and p in LETTERS[:n] for p in parts):
        return sorted(set(parts))
    if choices:
        return [choice_letter(raw, choices, field="answer")]
    raise RowError(f"{raw!r} is not an option letter", "answer")


class MathVerse(BenchmarkSource):
    name: ClassVar[str] = "mathverse"
    hub_id: ClassVar[str | None] = "AI4Math/MathVerse"
    hub_config: ClassVar[str | None] = "testmini"
    default_split: ClassVar[str] = "testmini"
    description: ClassVar[str] = "MathVerse testmini: one diagram problem in several text/vision versions (benchmark)"
    id_fields: ClassVar[tuple[str, ...]] = ("sample_index", "_key")
    subset_field: ClassVar[str | None] = "problem_version"
    options_accepted: ClassVar[tuple[str, ...]] = ("query",)

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        native = self.native_id(record, index)
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
        answers: list[str] = []
        if multi:
            answers = _answer_letters(raw_answer, choices)
            if len(answers) == 1:
                answer, answer_type = answers[0], "choice"
            else:
                answer, answer_type = ", ".join(answers), "text"
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
            "native_answer": raw_answer,
        }
        if len(answers) > 1:
            meta["answers"] = answers
        metadata = record.get("metadata")
        if isinstance(metadata, dict):
            meta.update({k: v for k, v in metadata.items() if k not in meta and k != "split"})
        return self.row(native, question=place_image_marks(text, len(images)), answer=answer,
                        answer_type=answer_type, images=images, choices=choices, meta=meta)
