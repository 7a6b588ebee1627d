"""Reading a response dataset for curation: text columns through polars, images only on demand.

Every curation step except image hashing needs only a few text and number columns, so
the shards are scanned lazily with projection pushdown and the image bytes are never read.
Rows are identified by `_row`, their position in the concatenation of the shards, so the
full rows (images included) can be fetched back shard by shard at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from vrd.errors import DataError
from vrd.images import read_image_file
from vrd.schema import SchemaError, check_arrow_types, loads_or_why, shard_files

ROW = "_row"
# Columns every response dataset must have for curation.
REQUIRED = ("id", "source", "question", "answer", "correct", "format_ok", "n_tokens")


@dataclass
class Shards:
    """The Parquet shards of one dataset and where each starts in the global row numbering."""

    root: Path
    files: list[Path]
    starts: np.ndarray  # starts[i] = global row number of file i's first row
    n_rows: int
    columns: tuple[str, ...]

    def locate(self, rows: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(file index, local row numbers, positions in `rows`) for each file holding some of `rows`."""
        rows = np.asarray(rows, dtype=np.int64)
        file_of = np.searchsorted(self.starts, rows, side="right") - 1
        order = np.argsort(file_of, kind="stable")
        for f in np.unique(file_of):
            pos = order[file_of[order] == f]
            yield int(f), rows[pos] - self.starts[f], pos


def _check_types(path: Path) -> None:
    """Refuse, before any work, a contract column stored with the wrong type (a number as text,
    text as raw bytes that may not be UTF-8): curate would otherwise fail at the very end."""
    check_arrow_types(pq.read_schema(path), "responses", path)


def _check_meta(path: Path) -> None:
    """`meta` must hold JSON: curate carries it into the splits, where export and training parse it."""
    if "meta" not in pq.read_schema(path).names:
        return
    for i, value in enumerate(pq.read_table(path, columns=["meta"]).column("meta").to_pylist()):
        why = None if value is None else loads_or_why(value)[1]
        if why is not None:
            raise SchemaError(f"is {why}", path=path, row=i, column="meta")


def open_shards(in_dir: str | os.PathLike) -> Shards:
    files = shard_files(in_dir)
    counts, names = [], None
    for f in files:
        try:
            meta = pq.read_metadata(f)
        except (pa.ArrowInvalid, OSError) as exc:
            raise SchemaError(f"is not a readable Parquet file ({exc})", path=f) from exc
        counts.append(meta.num_rows)
        file_names = set(meta.schema.to_arrow_schema().names)
        names = file_names if names is None else names & file_names
    for f in files:
        _check_types(f)
        _check_meta(f)
    for col in REQUIRED:
        if col not in (names or set()):
            missing_in = next(f for f in files if col not in pq.read_schema(f).names)
            raise SchemaError("missing (curate needs response rows written by `vrd distill`)", path=missing_in,
                              column=col)
    if not sum(counts):
        raise SchemaError("holds no rows (every shard is empty); nothing to curate", path=in_dir)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return Shards(Path(in_dir), files, starts, int(sum(counts)), tuple(sorted(names or ())))


def scan(shards: Shards, columns: Sequence[str]) -> pl.LazyFrame:
    """A lazy frame over the shards with only `columns` (those present) plus `_row`."""
    cols = [c for c in columns if c in shards.columns]
    lf = pl.scan_parquet([str(f) for f in shards.files], missing_columns="insert", extra_columns="ignore")
    return lf.select(cols).with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))


def take_rows(shards: Shards, rows: np.ndarray, columns: Sequence[str] | None = None) -> pa.Table:
    """Full rows (images included) at global row numbers `rows`, in the order given."""
    rows = np.asarray(rows, dtype=np.int64)
    parts: list[pa.Table] = []
    positions: list[np.ndarray] = []
    for f, local, pos in shards.locate(rows):
        table = pq.read_table(shards.files[f], columns=list(columns) if columns else None)
        parts.append(table.take(pa.array(local)))
        positions.append(pos)
    if not parts:
        table = pq.read_table(shards.files[0], columns=list(columns) if columns else None)
        return table.slice(0, 0)
    table = pa.concat_tables(parts, promote_options="default")
    inverse = np.argsort(np.concatenate(positions), kind="stable")
    return table.take(pa.array(inverse))


def iter_images(shards: Shards, rows: np.ndarray) -> Iterator[tuple[int, list[bytes]]]:
    """(index into `rows`, image bytes of that row), reading one shard's image column at a time."""
    for f, local, pos in shards.locate(rows):
        column = pq.read_table(shards.files[f], columns=["images"]).column("images")
        for p, i in zip(pos, local, strict=True):
            images = column[int(i)].as_py() or []
            out = []
            for im in images:
                if im.get("bytes") is not None:
                    out.append(bytes(im["bytes"]))
                elif im.get("path"):
                    try:  # a FIFO or /dev/zero named as an image must not hang or fill memory
                        out.append(read_image_file(im["path"]))
                    except (OSError, DataError):
                        out.append(b"")  # undecodable: the images step sets the row aside
            yield int(p), out
