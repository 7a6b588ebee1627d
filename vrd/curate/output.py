"""Writing the curated splits: vrd dataset directories with a few extra columns.

`vrd.schema.write_shard` keeps only the contract columns, but curated rows must also
carry their `difficulty` (and for problem splits the `pass_rate` it came from), so the
shards are written here with the contract schema plus those extras, and the HF feature
metadata covers both so `read_dataset` and `datasets.load_dataset` decode images.
The input shards are read one at a time, so memory stays bounded by one shard.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from vrd.curate.frames import ROW, Shards
from vrd.schema import COLUMNS, with_optional_columns, write_manifest
from vrd.schema import features as contract_features

EXTRA_FEATURES: dict[str, dict[str, Any]] = {
    "responses": {"difficulty": datasets.Value("string"), "difficulty_pass_rate": datasets.Value("float32")},
    "problems": {"difficulty": datasets.Value("string"), "pass_rate": datasets.Value("float32")},
}


def features(kind: str) -> datasets.Features:
    return datasets.Features({**contract_features(kind), **EXTRA_FEATURES[kind]})


def write_splits(shards: Shards, plan: dict[str, tuple[str, pl.DataFrame]], out_dir: str | os.PathLike,
                 manifest: dict[str, Any]) -> dict[str, Path]:
    """Write each split; `plan[name] = (kind, frame with _row, difficulty, pass_rate)`."""
    out = Path(out_dir)
    feats = {kind: features(kind) for kind in EXTRA_FEATURES}
    schemas = {kind: f.arrow_schema.with_metadata(
        {b"huggingface": json.dumps({"info": {"features": f.to_dict()}}).encode()}) for kind, f in feats.items()}
    dirs: dict[str, Path] = {}
    counters: dict[str, int] = {}
    totals: dict[str, int] = {}
    lookups: dict[str, tuple[np.ndarray, pl.DataFrame]] = {}
    for name, (_kind, frame) in plan.items():
        d = out / name
        d.mkdir(parents=True, exist_ok=True)  # `out` is a fresh staging folder (vrd.outputs.replace_dir)
        dirs[name], counters[name], totals[name] = d, 0, 0
        frame = frame.sort(ROW)
        lookups[name] = (frame[ROW].to_numpy(), frame)
    for f, path in enumerate(shards.files):
        lo = shards.starts[f]
        hi = lo + pq.read_metadata(path).num_rows
        wanted = {name: (rows, frame) for name, (rows, frame) in lookups.items()
                  if np.any((rows >= lo) & (rows < hi))}
        if not wanted:
            continue
        table = pq.read_table(path)
        for name, (rows, frame) in wanted.items():
            kind = plan[name][0]
            mask = (rows >= lo) & (rows < hi)
            part = table.take(pa.array(rows[mask] - lo))
            sub = frame.filter(pl.Series(mask))
            part = with_optional_columns(part, kind).select(list(COLUMNS[kind]))
            rate_col = "pass_rate" if kind == "problems" else "difficulty_pass_rate"
            part = part.append_column("difficulty", pa.array(sub["difficulty"].to_list(), pa.string()))
            part = part.append_column(rate_col, pa.array(sub["pass_rate"].to_list(), pa.float32()))
            part = part.cast(schemas[kind])
            pq.write_table(part, dirs[name] / f"data-{counters[name]:05d}.parquet")
            counters[name] += 1
            totals[name] += part.num_rows
    for name, d in dirs.items():
        kind = plan[name][0]
        if counters[name] == 0:  # an empty split is still a readable dataset
            pq.write_table(schemas[kind].empty_table(), d / "data-00000.parquet")
            counters[name] = 1
        write_manifest(d, kind=kind, rows=totals[name], shards=counters[name], split_name=name, producer="curate",
                       **manifest)
    return dirs
