"""MMLU (Hendrycks et al., 2021): `cais/mmlu`, config `all` (or one subject), split `test`; text only.

Columns: `question`, `subject`, `choices` (four strings), `answer` (0-3, a class label). The
subject is the subset the eval reports. Records have no id, so a row is named by its subject and
its position within that subject, which is stable for a given copy of the data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar

from vrd.contract import LETTERS
from vrd.sources.base import RowError
from vrd.sources.benchmarks.common import BenchmarkSource, require
from vrd.sources.normalize import choice_letter, parse_choices


class MMLU(BenchmarkSource):
    name: ClassVar[str] = "mmlu"
    hub_id: ClassVar[str | None] = "cais/mmlu"
    hub_config: ClassVar[str | None] = "all"
    default_split: ClassVar[str] = "test"
    description: ClassVar[str] = "MMLU: 57-subject knowledge multiple choice, text only (benchmark; --config SUBJECT)"
    subset_field: ClassVar[str | None] = "subject"
    options_accepted: ClassVar[tuple[str, ...]] = ("config",)

    def __init__(self, path: str | None = None, split: str | None = None, **options: Any) -> None:
        super().__init__(path, split, **options)
        self._seen: Counter[str] = Counter()

    def records(self) -> Iterator[dict[str, Any]]:
        self._seen = Counter()
        if self.options.get("config"):
            self.hub_config = str(self.options["config"])  # type: ignore[misc]
        self.file_hint = self.hub_config  # type: ignore[misc]  # the repo's `all/` (or subject) folder
        yield from super().records()

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        subject = str(record.get("subject") or self.hub_config or "unknown")
        position = self._seen[subject]
        self._seen[subject] += 1
        question = str(require(record, "question")).strip()
        choices = parse_choices(require(record, "choices"), field="choices")
        raw = record.get("answer")
        if raw is None or isinstance(raw, bool):
            raise RowError("must be an option index 0-3", "answer")
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw.strip())  # the index as text (CSV copies); a letter is read as a letter
        answer = choice_letter(raw, choices, field="answer")
        meta = {"subject": subject, "answer_text": choices[LETTERS.index(answer)]}
        return self.row(f"{subject}-{position}", question=question, answer=answer, answer_type="choice",
                        choices=choices, meta=meta)
