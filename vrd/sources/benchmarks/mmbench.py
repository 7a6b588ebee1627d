"""MMBench (Liu et al., 2023): `lmms-lab/MMBench`, config `en`, split `dev` (4,329 questions with answers;
the `test` answers are held back by the authors).

Columns (the hub's parquet and the authors' `MMBench_DEV_EN.tsv` alike): `index`, `question`,
`hint` (context shown before the question, often empty), `A`..`D` (options; C and D empty when
a question has two or three), `answer` (a letter), `category`, `l2-category` (`L2-category` on
the hub), `source`, `split`, and `image` (a picture on the hub, a base64 string in the TSV).

The TSV is read here (tab-separated, one row per question); parquet and JSON go through the
shared reader. The hint is put before the question, as MMBench's own prompt does. The reported
subset is the L2 ability category.

MMBench's CircularEval (each question asked once per rotation of its options) is not applied:
rows are asked once with the options in their published order.
"""

from __future__ import annotations

import base64
import binascii
import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from vrd.contract import LETTERS
from vrd.sources.base import RowError
from vrd.sources.benchmarks.common import BenchmarkSource, place_image_marks, require

OPTION_FIELDS = ("A", "B", "C", "D", "E", "F")


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() in ("", "nan", "NaN")


class MMBench(BenchmarkSource):
    name: ClassVar[str] = "mmbench"
    hub_id: ClassVar[str | None] = "lmms-lab/MMBench"
    hub_config: ClassVar[str | None] = "en"
    default_split: ClassVar[str] = "dev"
    description: ClassVar[str] = "MMBench (en) dev: multiple-choice perception and reasoning on images (benchmark)"
    id_fields: ClassVar[tuple[str, ...]] = ("index", "id", "_key")
    subset_field: ClassVar[str | None] = "l2_category"

    def records(self) -> Iterator[dict[str, Any]]:
        tsvs = self._tsv_files()
        if not tsvs:
            yield from super().records()
            return
        self.root = tsvs[0].parent
        self.layout = "the authors' TSV (base64 images)"
        csv.field_size_limit(sys.maxsize)  # a base64 image is one very long field
        for f in tsvs:
            with open(f, encoding="utf-8", newline="") as fh:
                yield from csv.DictReader(fh, delimiter="\t")

    def _tsv_files(self) -> list[Path]:
        if not self.path:
            return []
        p = Path(str(self.path)).expanduser()
        if p.is_file():
            return [p] if p.suffix.lower() == ".tsv" else []
        if not p.is_dir():
            return []
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() == ".tsv")
        split = self.split.lower()
        named = [f for f in files if split in f.stem.lower() and "en" in f.stem.lower().split("_")]
        return named or [f for f in files if split in f.stem.lower()] or files

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        native = self.native_id(record, index)
        question = str(require(record, "question")).strip()
        hint = record.get("hint")
        if not _empty(hint):
            question = f"{str(hint).strip()}\n{question}"
        choices = []
        for f in OPTION_FIELDS:
            value = record.get(f)
            if _empty(value):
                break
            choices.append(str(value).strip())
        if len(choices) < 2:
            raise RowError(f"has {len(choices)} option(s) in columns A-D; a choice question needs at least two", "A")
        answer = str(require(record, "answer")).strip().upper()
        if answer not in LETTERS[: len(choices)]:
            raise RowError(f"answer {answer!r} is not one of the {len(choices)} option letters", "answer")
        image = record.get("image")
        if isinstance(image, str) and not _empty(image) and not Path(image).suffix:
            try:
                image = base64.b64decode(image, validate=True)
            except (binascii.Error, ValueError):
                raise RowError("image is neither a path nor base64 data", "image") from None
        images = [self.image(image, "image")]
        meta = {"category": record.get("category"),
                "l2_category": record.get("l2-category") or record.get("L2-category"),
                "origin": record.get("source"), "answer_text": choices[LETTERS.index(answer)]}
        return self.row(native, question=place_image_marks(question, 1), answer=answer, answer_type="choice",
                        images=images, choices=choices, meta=meta)
