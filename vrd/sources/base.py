"""What every source does: read records (hub id or local path) and normalize them to problem rows.

A source only knows its own format. Reading files, counting rejects and writing the dataset
are shared here and in `vrd.sources.prepare`, so adding a source is one module with one
`convert` method.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike
from typing import Any, ClassVar

from vrd.errors import RowError, VrdError
from vrd.images import path_outside
from vrd.schema import check_image, make_id
from vrd.sources.normalize import meta_json
from vrd.sources.reading import read_records

__all__ = ["Reject", "RowError", "Source", "load_records"]

# Longer text in a question, answer or option is set aside: every later stage (prompts, the
# tokenizer, training batches) would carry it, and no benchmark problem comes near it.
MAX_TEXT_CHARS = 200_000


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

    Images stay undecoded (see `vrd.sources.reading`), so one corrupt image becomes one reject
    instead of ending the run. Hub ids only work where the hub is reachable: the error says to
    pass `--path` otherwise.
    """
    yield from read_records(path_or_id, split, name=name)


class Source(abc.ABC):
    """A dataset format. Subclasses set `name`, `hub_id`, `default_split` and implement `convert`."""

    name: ClassVar[str]
    hub_id: ClassVar[str | None] = None
    default_split: ClassVar[str] = "train"
    description: ClassVar[str] = ""

    def __init__(self, path: str | None = None, split: str | None = None, **options: Any) -> None:
        from pathlib import Path

        from vrd.sources.reading import snapshot_of_cache_folder

        snapshot = snapshot_of_cache_folder(Path(path).expanduser()) if path else None
        self.path = str(snapshot) if snapshot is not None else path  # a hub cache folder: its current snapshot
        self.split = split or self.default_split
        self.split_given = split is not None  # a layout may name the split itself when none was asked for
        self.options = options
        # What `records()` recognised and read, for the manifest and `vrd data inspect`.
        self.layout: str | None = None
        self.files: list[str] = []
        self.note: str = ""
        self.skipped: list[str] = []
        self.hub_snapshot: str | None = None  # the hub id whose cached snapshot was read, when offline

    def records(self) -> Iterator[dict[str, Any]]:
        """Raw records in the source's own format."""
        where = self.path or self.hub_id
        if where is None:
            raise VrdError(f"source '{self.name}' needs --path")
        yield from self.read_local_or_hub(str(where))

    def read_local_or_hub(self, where: str, *, name: str | None = None, candidates: list[Any] | None = None,
                          split: str | None = None) -> Iterator[dict[str, Any]]:
        """Records of the split (or of `split`) from a local file/folder or a hub id, noting which files were read."""
        from pathlib import Path

        from vrd.sources.reading import is_saved_dataset, read_records, select_files

        split = split or self.split
        local = Path(where).expanduser()
        if not local.exists():
            self.layout, self.files = "hub dataset", [f"{where} (config {name or 'default'}, split {split})"]
            yield from read_records(where, split, name=name)
            return
        if is_saved_dataset(local):
            self.layout, self.files = "datasets save_to_disk folder", [str(local)]
            yield from read_records(str(local), split)
            return
        selection = select_files(local, split, candidates=candidates)
        self.note_selection(selection)
        yield from read_records(str(local), split, selection=selection)

    def note_selection(self, selection: Any, layout: str | None = None) -> None:
        """Remember which files a local read chose (and which it left), for the manifest and inspect."""
        self.layout = layout or f"{selection.kind} files"
        self.files = [str(f) for f in selection.files]
        self.note = selection.note
        self.skipped = [str(f) for f in selection.skipped]

    def input_summary(self) -> dict[str, Any]:
        """Layout, files read, and files seen but not read, as recorded by the last `records()`."""
        summary = {"layout": self.layout, "files": list(self.files), "note": self.note, "skipped": list(self.skipped)}
        if self.hub_snapshot:
            summary["layout"] = f"hub cache snapshot of {self.hub_snapshot}: {self.layout}"
        return summary

    def data_roots(self) -> list[str]:
        """The folders a record's image paths may point into: the local data folder (and any a source
        adds, such as GeoQA's folders above its file); none for a hub id."""
        from pathlib import Path

        if not self.path:
            return []
        local = Path(str(self.path)).expanduser()
        if not local.exists():
            return []
        roots = [str(local if local.is_dir() else local.parent)]
        return roots + [str(r) for r in getattr(self, "roots", [])]

    def native_id(self, record: dict[str, Any], index: int) -> Any:
        """The record's own id, so a reject can be found in the source; sources with other id columns override."""
        return record.get("id")

    @abc.abstractmethod
    def convert(self, record: dict[str, Any], index: int) -> dict[str, Any]:
        """One problem row (see `vrd.schema.PROBLEM_COLUMNS`); raise RowError for a bad record."""

    def problem_row(self, native: Any, *, question: str, answer: str, answer_type: str,
                    images: list[Any] | None = None, choices: list[str] | None = None,
                    meta: dict[str, Any] | None = None, source: str | None = None) -> dict[str, Any]:
        """A problem row with the stable id `source/split/native` and `native_id` recorded in meta."""
        name = source or self.name
        return {
            "id": make_id(name, self.split, native),
            "source": name,
            "split": self.split,
            "images": list(images or []),
            "question": question,
            "choices": list(choices or []),
            "answer": answer,
            "answer_type": answer_type,
            "meta": meta_json({"native_id": native, **(meta or {})}),
        }

    def records_or_cached(self) -> Iterator[dict[str, Any]]:
        """`records()`, falling back to the hub cache's snapshot when a hub id cannot be loaded.

        A hub id is tried on the hub first (so a partial cache never hides a split the hub has);
        offline, the snapshot `hf download` left in the cache is read as a local folder, with the
        same layout rules as any other download.
        """
        from vrd.sources.reading import HubUnavailableError, cached_snapshot

        produced = False
        try:
            for record in self.records():
                produced = True
                yield record
            return
        except HubUnavailableError as exc:
            snapshot = None if produced else cached_snapshot(exc.repo_id)
            if snapshot is None:
                raise
            self.path, self.hub_snapshot = str(snapshot), exc.repo_id
        yield from self.records()

    def problems(self, limit: int | None = None) -> Iterator[dict[str, Any] | Reject]:
        """Problem rows, with bad records yielded as Reject instead of stopping the run."""
        produced = 0
        for index, record in enumerate(self.records_or_cached()):
            if limit is not None and produced >= limit:
                return
            native = self.native_id(record, index) if isinstance(record, dict) else None
            try:
                row = self.convert(record, index)
                for column in ("question", "answer", "choices"):
                    values = row.get(column)
                    for text in values if isinstance(values, list) else [values]:
                        if isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
                            raise RowError(f"is {len(text):,} characters long, over the {MAX_TEXT_CHARS:,}-character "
                                           "limit (a problem, not a document)", column)
                for image in row.get("images", []):
                    where = image.get("path") if isinstance(image, dict) and image.get("bytes") is None else image
                    if isinstance(where, (str, PathLike)):
                        outside = path_outside(where, self.data_roots())
                        if outside:
                            raise RowError(outside, "images")
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
