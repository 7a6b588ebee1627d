"""EasyR1: one Parquet file per split with `problem` (with `<image>` marks), `answer` and `images`.

EasyR1 loads a file (`data.train_files=DIR/train.parquet`, split "train" whatever the name) or a
directory (`DIR@train`) with `load_dataset(<type of its first entry>, data_dir=DIR, split=SPLIT)`,
so files are named by split: `rl` is written as `train.parquet`, `val` as `validation.parquet`,
any other split under its own name (load those as `DIR/NAME.parquet`). The directory form takes
the type from whatever `os.listdir` lists first, hidden entries included, so the folder holds
nothing that is not named `.parquet`: vrd's mark is `.vrd-export.parquet` here, and the write
lock's `.locks` folder is removed once the export is swapped in (`keep_lock_dir`).
The default template is `none` (question and options only) because EasyR1 appends its own
`format_prompt`; images are stored as HF `Image` (bytes), which its `process_image` accepts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets

from vrd.curate.exporters.base import Exporter, dataset_of, image_records, problems_only, user_text
from vrd.outputs import EXPORT_MARK_PARQUET
from vrd.schema import quiet_datasets

HF_SPLIT_NAMES = {"rl": "train", "train": "train", "val": "validation", "validation": "validation", "test": "test"}

FEATURES = datasets.Features({
    "problem": datasets.Value("string"),
    "answer": datasets.Value("string"),
    "images": datasets.List(datasets.Image()),
    "id": datasets.Value("string"),
    "source": datasets.Value("string"),
    "difficulty": datasets.Value("string"),
})


class EasyR1Exporter(Exporter):
    name = "easyr1"
    default_template = "none"
    mark = EXPORT_MARK_PARQUET
    keep_lock_dir = False

    def write_split(self, name: str, kind: str, rows: list[dict[str, Any]], out: Path) -> list[Path]:
        records = [{
            "problem": user_text(row, self.template or self.default_template, self.default_template),
            "answer": str(row["answer"]),
            "images": image_records(row),
            "id": row["id"],
            "source": row["source"],
            "difficulty": row.get("difficulty"),
        } for row in problems_only(rows)]
        path = out / f"{HF_SPLIT_NAMES.get(name, name)}.parquet"
        with quiet_datasets():  # its "Creating parquet" bar per split; vrd prints one line per export
            dataset_of(records, FEATURES).to_parquet(str(path))
        return [path]
