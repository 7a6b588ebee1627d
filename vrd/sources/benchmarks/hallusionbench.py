"""HallusionBench (Guan et al., CVPR 2024): `lmms-lab/HallusionBench`, split `image` (951 questions;
`non_image` holds the 178 asked without a figure).

Columns (the hub's parquet and the authors' `HallusionBench.json` alike): `category` (`VD` visual
dependent | `VS` visual supplement), `subcategory` (chart, figure, illusion, map, math, ocr,
table, video), `visual_input` ("0" no image, "1" the original figure, "2" an edited one),
`set_id`, `figure_id`, `sample_note`, `question_id`, `question`, `gt_answer` ("1" yes, "0" no),
`gt_answer_details` (the reference sentence), `filename` (a relative path such as
`./hallusion_bench/VD/ocr/0_1.png`, absent when there is no image), and on the hub `image`.

Every answer is yes or no, so a row is a two-option choice (A = Yes, B = No): the grader then
reads a boxed "Yes", "B" or "no" the same way. A record is named by its category, subcategory,
set, figure and question ids, which together identify it in the authors' release. Rows without
an image (visual_input "0", or the `non_image` split) are text-only questions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from vrd.sources.base import RowError
from vrd.sources.benchmarks.common import BenchmarkSource, place_image_marks, require
from vrd.sources.reading import DataFileError

CHOICES = ["Yes", "No"]
ID_PARTS = ("category", "subcategory", "set_id", "figure_id", "question_id")
SPLITS = ("image", "non_image")
RELEASE_JSON = "HallusionBench.json"


class HallusionBench(BenchmarkSource):
    name: ClassVar[str] = "hallusionbench"
    hub_id: ClassVar[str | None] = "lmms-lab/HallusionBench"
    default_split: ClassVar[str] = "image"
    description: ClassVar[str] = "HallusionBench: yes/no questions on language hallucination and visual illusion (benchmark)"
    subset_field: ClassVar[str | None] = "category"

    # The authors' JSON names images `./VD/illusion/0_0.png` (older copies `./hallusion_bench/VD/...`)
    # while hallusion_bench.zip unpacks them under `hallusion_bench/` beside the JSON.
    image_dirs: ClassVar[tuple[str, ...]] = ("hallusion_bench",)

    def records(self) -> Iterator[dict[str, Any]]:
        release = self._release_json()
        if release is None:
            yield from super().records()
            return
        # The GitHub repo holds HallusionBench.json beside older versions, a result sample and the
        # leaderboard: only HallusionBench.json is the benchmark. It has both hub splits in one list:
        # `image` is every question with a figure, `non_image` the visual_input "0" ones.
        if self.split not in SPLITS:
            raise DataFileError(f"{release}: HallusionBench splits are {', '.join(SPLITS)}; got '{self.split}'")
        self.root = release.parent
        self.layout, self.files = "the authors' HallusionBench.json (images under hallusion_bench/)", [str(release)]
        try:
            data = json.loads(release.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataFileError(f"{release}: not readable JSON ({exc})") from exc
        if not isinstance(data, list):
            raise DataFileError(f"{release}: expected a list of questions, got {type(data).__name__}")
        want_image = self.split == "image"
        kept = 0
        for record in data:
            text_only = isinstance(record, dict) and str(record.get("visual_input", "")).strip() == "0"
            if text_only != want_image:
                kept += 1
                yield record
        self.note = f"{kept} of {len(data)} questions are in split '{self.split}' (by visual_input)"

    def _release_json(self) -> Path | None:
        if not self.path:
            return None
        p = Path(str(self.path)).expanduser()
        if p.is_file():
            return p if p.name == RELEASE_JSON else None
        found = p / RELEASE_JSON
        return found if found.is_file() else None

    def native_id(self, record: dict[str, Any], index: int) -> Any:
        parts = [record.get(p) for p in ID_PARTS]
        if all(p is not None and str(p).strip() != "" for p in parts):
            return "_".join(str(p).strip() for p in parts)
        return index

    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        native = self.native_id(record, index)
        question = str(require(record, "question")).strip()
        gt = str(require(record, "gt_answer")).strip()
        if gt not in ("0", "1"):
            raise RowError(f"gt_answer is {gt!r}, expected '1' (yes) or '0' (no)", "gt_answer")
        visual = str(record.get("visual_input") if record.get("visual_input") is not None else "").strip()
        has_image = visual != "0" and (record.get("image") is not None or bool(str(record.get("filename") or "")
                                                                                .strip()))
        images = [self.first_image(record, ("image", "filename"))] if has_image else []
        meta = {"category": record.get("category"), "subcategory": record.get("subcategory"),
                "visual_input": visual or None, "set_id": record.get("set_id"), "figure_id": record.get("figure_id"),
                "question_id": record.get("question_id"), "answer_text": CHOICES[0] if gt == "1" else CHOICES[1],
                "gt_answer_details": record.get("gt_answer_details")}
        return self.row(native, question=place_image_marks(question, len(images)), answer="A" if gt == "1" else "B",
                        answer_type="choice", images=images, choices=list(CHOICES), meta=meta)
