"""GPQA (Rein et al., 2023): `Idavidrein/gpqa`, config `gpqa_diamond`, split `train` (198 questions).

Columns: `Question`, `Correct Answer`, `Incorrect Answer 1..3`, `Record ID`, `High-level domain`,
`Subdomain`, `Explanation`. The correct answer always sits in one column, so the options are
shuffled; the shuffle is seeded by the record id (through SHA-256, not Python's salted `hash`)
so every run, machine and process puts the answer under the same letter.

A few diamond rows repeat an option's text (an incorrect answer written the same as another, or
as the correct one). Shown twice, the same text would sit under two letters of which only one
counts; the repeat is dropped before shuffling and the row says so in meta `repeated_options`.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, ClassVar

from vrd.contract import LETTERS
from vrd.sources.benchmarks.common import BenchmarkSource, require

WRONG = ("Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")


def shuffled_options(correct: str, wrong: list[str], key: str) -> tuple[list[str], str]:
    """Options in a deterministic order for `key`, and the correct option's letter (by position, not text)."""
    options = [correct, *wrong]
    order = list(range(len(options)))
    seed = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    random.Random(seed).shuffle(order)
    return [options[i] for i in order], LETTERS[order.index(0)]


def distinct_options(correct: str, wrong: list[str]) -> tuple[list[str], list[str]]:
    """The incorrect answers without repeats of the correct one or of each other, and the repeats dropped."""
    seen = {" ".join(correct.split()).casefold()}
    kept, dropped = [], []
    for w in wrong:
        key = " ".join(w.split()).casefold()
        (dropped if key in seen else kept).append(w)
        seen.add(key)
    return kept, dropped


class GPQA(BenchmarkSource):
    name: ClassVar[str] = "gpqa"
    hub_id: ClassVar[str | None] = "Idavidrein/gpqa"
    hub_config: ClassVar[str | None] = "gpqa_diamond"
    file_hint: ClassVar[str | None] = "diamond"
    default_split: ClassVar[str] = "train"
    description: ClassVar[str] = "GPQA-diamond: graduate-level science multiple choice, text only (benchmark)"
    id_fields: ClassVar[tuple[str, ...]] = ("Record ID",)
    subset_field: ClassVar[str | None] = "domain"

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        native = self.native_id(record, index)
        question = str(require(record, "Question")).strip()
        correct = str(require(record, "Correct Answer")).strip()
        wrong = [str(require(record, f)).strip() for f in WRONG]
        wrong, repeated = distinct_options(correct, wrong)
        choices, answer = shuffled_options(correct, wrong, str(native))
        meta = {"domain": record.get("High-level domain"), "subdomain": record.get("Subdomain"),
                "answer_text": correct}
        if repeated:
            meta["repeated_options"] = repeated
        return self.row(native, question=question, answer=answer, answer_type="choice", choices=choices, meta=meta)
