"""Read a hub dataset or local files with images left undecoded.

`datasets` decodes image columns while iterating, so one corrupt image would raise inside the
iterator and end a long prepare. Reading the stored bytes instead lets `Source.problems` check
each image itself and set just that row aside in rejects.jsonl.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vrd.errors import VrdError
from vrd.sources.base import DATA_SUFFIXES


def _undecoded(ds: Any) -> Any:
    """The same rows with every image feature (nested in lists too) left as stored bytes."""
    return ds.to_iterable_dataset().decode(False)


def data_files(path: Path, split: str | None) -> list[Path]:
    """The data files under a local path, preferring those whose name mentions the split (hub layout)."""
    files = [path] if path.is_file() else sorted(f for f in path.rglob("*") if f.suffix in DATA_SUFFIXES)
    if path.is_dir() and split:
        named = [f for f in files if split in f.name]
        files = named or files
    if not files:
        raise VrdError(f"{path}: no data files (.parquet, .json, .jsonl, .csv) found")
    kinds = {DATA_SUFFIXES.get(f.suffix) for f in files}
    if None in kinds:
        raise VrdError(f"{files[0]}: unsupported file type; use parquet, json, jsonl or csv")
    if len(kinds) > 1:
        raise VrdError(f"{path}: mixes file types ({', '.join(sorted(str(k) for k in kinds))}); point --path at one")
    return files


def read_records(path_or_id: str, split: str, *, name: str | None = None) -> Iterator[dict[str, Any]]:
    """Records from a local file/dir (parquet, json, jsonl, csv, `save_to_disk`) or a hub id, images as bytes."""
    import datasets

    p = Path(os.path.expanduser(str(path_or_id)))
    if p.exists():
        if p.is_dir() and ((p / "dataset_info.json").exists() or (p / "state.json").exists()
                           or (p / "dataset_dict.json").exists()):
            ds = datasets.load_from_disk(str(p))
            if isinstance(ds, datasets.DatasetDict):
                ds = ds[split] if split in ds else ds[next(iter(ds))]
        else:
            files = data_files(p, split)
            kind = DATA_SUFFIXES[files[0].suffix]
            ds = datasets.load_dataset(kind, data_files=[str(f) for f in files], split="train")
        yield from _undecoded(ds)
        return
    try:
        ds = datasets.load_dataset(str(path_or_id), name, split=split)
    except Exception as exc:  # noqa: BLE001 - any hub failure gets the same advice
        raise VrdError(
            f"could not load '{path_or_id}' (split '{split}') from the Hugging Face hub: {exc}. "
            "If this machine is offline, download the dataset elsewhere and pass its local folder with --path."
        ) from exc
    yield from _undecoded(ds)
