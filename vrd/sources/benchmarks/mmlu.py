"""MMLU (Hendrycks et al., 2021): `cais/mmlu`, config `all` (or one subject), split `test`; text only.

Columns: `question`, `subject`, `choices` (four strings), `answer` (0-3, a class label). The
subject is the subset the eval reports. Records have no id, so a row is named by its subject and
its position within that subject, which is stable for a given copy of the data.

Two local layouts are read: a snapshot of the hub repo (`all/{test,validation,dev,
auxiliary_train}-*.parquet`, plus a folder per subject; only the asked split is read, so the
99,842 auxiliary_train rows never land in `test`), and the original release `data.tar`
(`data/{test,val,dev,auxiliary_train}/<subject>_<split>.csv`, headerless rows of question, four
options and the answer letter).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from vrd.contract import LETTERS
from vrd.sources.base import RowError
from vrd.sources.benchmarks.common import BenchmarkSource, require
from vrd.sources.normalize import choice_letter, parse_choices
from vrd.sources.reading import listing, select_files

# The hub's split names -> the folder names of the original CSV release.
CSV_SPLITS = {"validation": "val", "val": "val", "test": "test", "dev": "dev", "auxiliary_train": "auxiliary_train"}


def is_headerless_csv(path: Path) -> bool:
    """The original release's CSV: no header, six fields, the last an answer letter."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            first = next(csv.reader(fh), None)
    except (UnicodeDecodeError, csv.Error):
        return False  # not the release's CSV; the generic reader names the file if it cannot read it
    return bool(first) and len(first) == 6 and first[5].strip() in ("A", "B", "C", "D") \
        and first[0].strip().lower() != "question"


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
        local = Path(self.path).expanduser() if self.path else None
        if local is not None and local.exists():
            csvs = [f for f in listing(local) if f.suffix == ".csv"]
            if csvs and is_headerless_csv(csvs[0]):
                yield from self._release_csv(local)
                return
        yield from super().records()

    def _release_csv(self, local: Path) -> Iterator[dict[str, Any]]:
        """Rows of the original `data/<split>/<subject>_<split>.csv` files."""
        folder = CSV_SPLITS.get(self.split, self.split)
        selection = select_files(local, folder)
        subject = str(self.options.get("config") or "")
        if subject and subject != "all":
            selection.files = [f for f in selection.files if f.stem == f"{subject}_{folder}"]
            selection.note += f"; subject '{subject}'"
        self.note_selection(selection, layout="MMLU release CSVs (headerless: question, A, B, C, D, answer)")
        for f in selection.files:
            name = f.stem[: -len(folder) - 1] if f.stem.endswith(f"_{folder}") else f.stem
            with open(f, encoding="utf-8", newline="") as fh:
                for line, fields in enumerate(csv.reader(fh), start=1):
                    if len(fields) != 6:
                        yield {"subject": name, "_bad": f"{f.name} line {line}: expected 6 fields (question, "
                               f"A, B, C, D, answer), got {len(fields)}"}
                        continue
                    yield {"subject": name, "question": fields[0], "choices": fields[1:5],
                           "answer": fields[5].strip(), "file": f.name}

    def native_id(self, record: dict[str, Any], index: int) -> Any:
        subject = str(record.get("subject") or self.hub_config or "unknown")
        return f"{subject}-{self._seen[subject]}"

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        subject = str(record.get("subject") or self.hub_config or "unknown")
        position = self._seen[subject]
        self._seen[subject] += 1
        if record.get("_bad"):
            raise RowError(record["_bad"], "record")
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
