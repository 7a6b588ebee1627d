"""Plain HF `datasets`: a `DatasetDict` of the splits with every vrd column, via `save_to_disk`.

`--push-to-hub REPO` uploads it too, and only when asked: nothing here touches the network
otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vrd.curate.exporters.base import Exporter, ExportResult, discover_splits, pick_splits, staged_export


class HfExporter(Exporter):
    name = "hf"

    def export(self, in_dir: str | os.PathLike, out_dir: str | os.PathLike, *, splits: list[str] | None = None,
               push_to_hub: str | None = None) -> ExportResult:
        import datasets

        from vrd.schema import read_dataset

        chosen = pick_splits(discover_splits(in_dir), splits)
        dd = datasets.DatasetDict({name: read_dataset(path) for name, path in chosen.items()})
        out = Path(out_dir)
        with staged_export(out, self.name, in_dir, carry=False) as stage:  # the DatasetDict is one unit
            dd.save_to_disk(str(stage))
        result = ExportResult(self.name, out, {k: v.num_rows for k, v in dd.items()}, [out / "dataset_dict.json"])
        if push_to_hub:
            dd.push_to_hub(push_to_hub)
        return result

    def write_split(self, name: str, kind: str, rows: list[dict[str, Any]], out: Path) -> list[Path]:
        raise NotImplementedError("HfExporter writes all splits at once in export()")
