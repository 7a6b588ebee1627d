"""What every source does: read records (hub id or local path) and normalize them to problem rows.

A source only knows its own format. Reading files, counting rejects and writing the dataset
are shared here and in `vrd.sources.prepare`, so adding a source is one module with one
`convert` method.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from vrd.errors import VrdError

DATA_SUFFIXES = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".csv": "csv", ".arrow": "arrow"}


class RowError(ValueError):
    """One record cannot be converted; the run sets it aside in rejects.jsonl and goes on."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.reason, self.field = reason, field


@dataclass
class Reject:
    """A record set aside during a long run, with where it came from and why."""

    index: int
    native_id: str | None
    field: str | None
    reason: str
    source: str
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def load_records(path_or_id: str, split: str, *, name: str | None = None) -> Iterator[dict[str, Any]]:
    """Records from a local file/dir (parquet, json, jsonl, csv, `save_to_disk`) or a hub id.

    Local paths are tried first; anything else is passed to `datasets.load_dataset`, which
    only works where the hub is reachable: the error says to pass `--path` otherwise.
    """
    import datasets

    p = Path(os.path.expanduser(path_or_id))
    if p.exists():
        if p.is_dir() and ((p / "dataset_info.json").exists() or (p / "state.json").exists()):
            ds = datasets.load_from_disk(str(p))
            if isinstance(ds, datasets.DatasetDict):
                ds = ds[split] if split in ds else ds[next(iter(ds))]
            yield from ds
            return
        files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.suffix in DATA_SUFFIXES)
        if p.is_dir():
            # Prefer files whose name mentions the split (hub layout: data/train-0000.parquet).
            named = [f for f in files if split and split in f.name]
            files = named or files
        if not files:
            raise VrdError(f"{p}: no data files (.parquet, .json, .jsonl, .csv) found")
        kind = DATA_SUFFIXES.get(files[0].suffix)
        if kind is None:
            raise VrdError(f"{files[0]}: unsupported file type; use parquet, json, jsonl or csv")
        ds = datasets.load_dataset(kind, data_files=[str(f) for f in files], split="train")
        yield from ds
        return
    try:
        ds = datasets.load_dataset(path_or_id, name, split=split)
    except Exception as exc:  # noqa: BLE001 - any hub failure gets the same advice
        raise VrdError(
            f"could not load '{path_or_id}' (split '{split}') from the Hugging Face hub: {exc}. "
            "If this machine is offline, download the dataset elsewhere and pass its local folder with --path."
        ) from exc
    yield from ds


class Source(abc.ABC):
    """A dataset format. Subclasses set `name`, `hub_id`, `default_split` and implement `convert`."""

    name: ClassVar[str]
    hub_id: ClassVar[str | None] = None
    default_split: ClassVar[str] = "train"
    description: ClassVar[str] = ""

    def __init__(self, path: str | None = None, split: str | None = None, **options: Any) -> None:
        self.path = path
        self.split = split or self.default_split
        self.options = options

    def records(self) -> Iterator[dict[str, Any]]:
        """Raw records in the source's own format."""
        where = self.path or self.hub_id
        if where is None:
            raise VrdError(f"source '{self.name}' needs --path")
        yield from load_records(where, self.split)

    @abc.abstractmethod
    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        """One problem row (see `vrd.schema.PROBLEM_COLUMNS`); raise RowError for a bad record."""

    def problems(self, limit: int | None = None) -> Iterator[dict[str, Any] | Reject]:
        """Problem rows, with bad records yielded as Reject instead of stopping the run."""
        from vrd.schema import check_image

        produced = 0
        for index, record in enumerate(self.records()):
            if limit is not None and produced >= limit:
                return
            native = record.get("id") if isinstance(record, dict) else None
            try:
                row = self.convert(record, index)
                for image in row.get("images", []):
                    try:
                        check_image(image)
                    except Exception as exc:  # noqa: BLE001 - PIL raises many kinds
                        raise RowError(f"image cannot be decoded ({type(exc).__name__}: {exc})", "images") from exc
            except RowError as exc:
                yield Reject(index, None if native is None else str(native), exc.field, exc.reason, self.name,
                             str(self.path) if self.path else None)
                continue
            produced += 1
            yield row
