"""MATH-500 (Lightman et al., 2023): `HuggingFaceH4/MATH-500`, split `test`; text only.

Columns: `problem`, `solution`, `answer` (LaTeX), `subject`, `level` (1-5), `unique_id`
(`test/precalculus/807.json`). Used to see whether visual training moved text-only math.
"""

from __future__ import annotations

from typing import Any, ClassVar

from vrd.sources.base import RowError
from vrd.sources.benchmarks.common import BenchmarkSource, require
from vrd.sources.normalize import clean_answer, infer_answer_type


def _level(value: Any) -> int | None:
    """`level` is an int on the hub and 'Level 3' in the original MATH files."""
    if value is None:
        return None
    text = str(value).strip().lower().removeprefix("level").strip()
    try:
        return int(text)
    except ValueError as exc:
        raise RowError(f"must be a level 1-5, got {value!r}", "level") from exc


class Math500(BenchmarkSource):
    name: ClassVar[str] = "math500"
    hub_id: ClassVar[str | None] = "HuggingFaceH4/MATH-500"
    default_split: ClassVar[str] = "test"
    description: ClassVar[str] = "MATH-500: text-only competition math, levels 1-5 (benchmark)"
    id_fields: ClassVar[tuple[str, ...]] = ("unique_id",)
    subset_field: ClassVar[str | None] = "subject"
    difficulty_field: ClassVar[str | None] = "level"

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        native = self.native_id(record, index)
        problem = str(require(record, "problem")).strip()
        answer = clean_answer(require(record, "answer"))
        answer_type = infer_answer_type(answer)
        meta = {"subject": record.get("subject"), "level": _level(record.get("level")),
                "solution": record.get("solution")}
        return self.row(native, question=problem, answer=answer, answer_type=answer_type, meta=meta)
