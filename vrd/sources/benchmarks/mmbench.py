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
from vrd.sources.reading import DataFileError, listing, read_records, select_files

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

    options_accepted: ClassVar[tuple[str, ...]] = ("config",)

    @property
    def config(self) -> str:
        """The language subset: `en` (default), `cn`, or `cc` (CCBench, test only), as the hub names them."""
        return str(self.options.get("config") or type(self).hub_config or "en").lower()

    def records(self) -> Iterator[dict[str, Any]]:
        self.hub_config = self.config  # type: ignore[misc]
        tsvs = self._tsv_files()
        if tsvs:
            self.root = tsvs[0].parent
            self.layout = "the authors' TSV (base64 images)"
            self.files = [str(f) for f in tsvs]
            csv.field_size_limit(sys.maxsize)  # a base64 image is one very long field
            for f in tsvs:
                with open(f, encoding="utf-8", newline="") as fh:
                    yield from csv.DictReader(fh, delimiter="\t")
            return
        local = Path(str(self.path)).expanduser() if self.path else None
        if local is not None and local.is_dir():
            # lmms-lab/MMBench keeps one folder per language (en/, cn/, cc/), each with dev-*/test-*
            # parquet: only the asked language's folder is read, never cn/ and en/ together.
            folders = {d.name.lower(): d for d in local.iterdir() if d.is_dir() and listing(d)}
            if self.config in folders:
                self.root = local
                selection = select_files(local, self.split, candidates=listing(folders[self.config]))
                selection.note = f"language folder '{self.config}/': {selection.note}"
                self.note_selection(selection)
                for f in selection.files:
                    yield from read_records(str(f), self.split)
                return
            if {"en", "cn", "cc"} & set(folders):
                raise DataFileError(f"{local}: no '{self.config}/' folder; found "
                                    f"{', '.join(sorted(folders))}. Pass --option config=<one of those>.")
        yield from super().records()

    def _tsv_files(self) -> list[Path]:
        """The authors' TSV of this split and language (`MMBench_DEV_EN.tsv`; `_V11` is a later revision)."""
        if not self.path:
            return []
        p = Path(str(self.path)).expanduser()
        if p.is_file():
            return [p] if p.suffix.lower() == ".tsv" else []
        if not p.is_dir():
            return []
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() == ".tsv")
        if not files:
            return []
        split = self.split.lower()
        if self.config == "cc":
            named = [f for f in files if f.stem.lower().startswith("ccbench")]
        else:
            named = [f for f in files if {split, self.config} <= set(f.stem.lower().split("_"))]
        exact = [f for f in named if len(f.stem.split("_")) == 3]  # MMBench_DEV_EN before MMBench_DEV_EN_V11
        chosen = exact or named
        if not chosen:
            raise DataFileError(f"{p}: no MMBench TSV for split '{self.split}' and language '{self.config}' "
                                f"(expected e.g. MMBench_{split.upper()}_{self.config.upper()}.tsv); found "
                                f"{', '.join(f.name for f in files)}")
        if len(chosen) > 1:
            raise DataFileError(f"{p}: several MMBench TSVs fit split '{self.split}': "
                                f"{', '.join(f.name for f in chosen)}; pass the one to read as --path FILE")
        return chosen

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
