"""Plain HF `datasets`: a `DatasetDict` of the splits with every vrd column, via `save_to_disk`.

`--push-to-hub REPO` uploads it too, and only when asked: nothing here touches the network
otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vrd.curate.exporters.base import (
    Exporter,
    ExportResult,
    discover_splits,
    pick_splits,
    stage_mark,
    staged_export,
)


class HfExporter(Exporter):
    name = "hf"

    def export(self, in_dir: str | os.PathLike, out_dir: str | os.PathLike, *, splits: list[str] | None = None,
               push_to_hub: str | None = None) -> ExportResult:
        import datasets

        from vrd.schema import quiet_datasets, read_dataset

        chosen = pick_splits(discover_splits(in_dir), splits)
        from vrd.images import drop_bad_images
        from vrd.schema import read_rows

        parts, set_aside = {}, {}
        for name, path in chosen.items():
            ds = read_dataset(path)
            rows = read_rows(path)  # same shard order as the dataset
            _kept, rejects = drop_bad_images(rows)
            if rejects:
                bad = {i for i, r in enumerate(rows) if r["id"] in {x["id"] for x in rejects}}
                ds = ds.select([i for i in range(len(ds)) if i not in bad])
                set_aside[name] = rejects
            parts[name] = ds
        dd = datasets.DatasetDict(parts)
        out = Path(out_dir)
        with staged_export(out, self.name, in_dir, carry=False) as stage:  # the DatasetDict is one unit
            with quiet_datasets():  # its "Saving the dataset" bar per split; vrd prints one line per export
                dd.save_to_disk(str(stage))
            result = ExportResult(self.name, out, {k: v.num_rows for k, v in dd.items()}, [out / "dataset_dict.json"],
                                  set_aside)
            stage_mark(stage, result)
        if push_to_hub:
            dd.push_to_hub(push_to_hub)
        return result

    def write_split(self, name: str, kind: str, rows: list[dict[str, Any]], out: Path) -> list[Path]:
        raise NotImplementedError("HfExporter writes all splits at once in export()")
