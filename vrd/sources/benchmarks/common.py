"""What the benchmark sources share: reading hub or local copies, resolving image paths, meta.

Benchmarks are read far more often than they are trained on, and people hold them in many
shapes (the hub's parquet, the authors' JSON keyed by id, a folder of images beside a JSON
file). One reader here accepts all of them so each benchmark module only maps its columns.
Every benchmark writes `subset` and `difficulty` into meta under those names, so the eval
report can break accuracy down the same way for all of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from vrd.contract import IMAGE_MARK
from vrd.errors import MissingInputError, VrdError
from vrd.sources.base import RowError, Source
from vrd.sources.normalize import with_image_marks
from vrd.sources.reading import (
    SPLIT_WORDS,
    Selection,
    is_saved_dataset,
    listing,
    looks_like_hub_id,
    read_records,
    select_files,
    split_rank,
)

# Benchmarks write their own image placeholders: `<image1>` (MathVision), `<image>` (vrd).
_NUMBERED_MARK = re.compile(r"<image\s*\d*>", re.IGNORECASE)


def split_files(path: Path, split: str, hint: str | None = None) -> list[Path]:
    """The files of one split under a local folder (see `select_split`)."""
    return select_split(path, split, hint).files


def select_split(path: Path, split: str, hint: str | None = None) -> Selection:
    """The files of one split under a local file or folder, and a note on the choice.

    `hint` first narrows a full release folder to one subset by file-name fragment or folder name
    (GPQA ships main, extended, diamond and experts side by side; the MMLU repo has a folder per
    subject next to `all/`); the split is then chosen among those files, so `all/test-*` is read
    without `all/auxiliary_train-*`.
    """
    if path.is_dir() and hint:
        hinted = [f for f in listing(path) if hint in f.name or hint in f.relative_to(path).parts[:-1]]
        if hinted:
            selection = select_files(path, split, candidates=hinted) if _names_a_split(hinted, path) else \
                select_files(path, None, candidates=hinted)
            selection.note = f"subset '{hint}': {selection.note}"
            return selection
    return select_files(path, split)


def _names_a_split(files: list[Path], root: Path) -> bool:
    return any(split_rank(f, root, w) is not None for f in files for w in SPLIT_WORDS)


def _keyed_json(path: Path) -> list[dict[str, Any]] | None:
    """Records of a JSON object keyed by id (MathVista's `annot_testmini.json`), else None."""
    if path.suffix != ".json":
        return None
    with open(path, "rb") as fh:
        head = fh.read(1024).lstrip().lstrip(b"\xef\xbb\xbf")
    if not head.startswith(b"{"):
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError):
        return None  # JSON lines named .json, or a bad file: the generic reader handles (and names) it
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        return [{"_key": k, **v} for k, v in value.items()]
    return None


class BenchmarkSource(Source):
    """A benchmark: a Source whose rows carry `subset` / `difficulty` in meta for the eval report."""

    hub_config: ClassVar[str | None] = None
    file_hint: ClassVar[str | None] = None  # a local file name fragment naming this subset
    subset_field: ClassVar[str | None] = None  # the native column reported as `subset`
    difficulty_field: ClassVar[str | None] = None  # the native column reported as `difficulty`
    options_accepted: ClassVar[tuple[str, ...]] = ()
    id_fields: ClassVar[tuple[str, ...]] = ("id", "_key")  # the columns naming a record, first present wins
    # Folders beside the data file where the release unpacks its images (a relative path is tried there too).
    image_dirs: ClassVar[tuple[str, ...]] = ()

    def native_id(self, record: dict[str, Any], index: int) -> Any:
        """The benchmark's own id for a record (so rows and rejects can be traced), else its position."""
        return next((record[f] for f in self.id_fields if record.get(f) is not None), index)

    def __init__(self, path: str | None = None, split: str | None = None, **options: Any) -> None:
        super().__init__(path, split, **options)
        self.root: Path | None = None

    def records(self) -> Iterator[dict[str, Any]]:
        where = self.path or self.hub_id
        if where is None:
            raise VrdError(f"benchmark '{self.name}' needs --path")
        local = Path(str(where)).expanduser()
        if not local.exists():
            if self.path and not looks_like_hub_id(str(self.path)):
                raise MissingInputError(f"{local}: no such file or folder (benchmark '{self.name}')")
            yield from self.read_local_or_hub(str(where), name=self.hub_config)
            return
        self.root = local.parent if local.is_file() else local
        if is_saved_dataset(local):
            yield from self.read_local_or_hub(str(local))
            return
        selection = select_split(local, self.split, self.file_hint)
        self.note_selection(selection)
        for f in selection.files:
            keyed = _keyed_json(f)
            if keyed is not None:
                self.layout = "JSON object keyed by id (the authors' release)"
                yield from keyed
            else:
                yield from read_records(str(f), self.split)

    # -- helpers for convert() ---------------------------------------------------------------

    def image(self, value: Any, field: str) -> Any:
        """An image as stored (bytes struct kept; a relative path resolved against the data folder)."""
        if value is None:
            raise RowError("has no image", field)
        if isinstance(value, Mapping):
            if value.get("bytes") is not None:
                return {"bytes": value["bytes"], "path": value.get("path")}
            value = value.get("path")
            if not value:
                raise RowError("image struct has neither bytes nor path", field)
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        text = str(value).strip()
        if not text:
            raise RowError("has no image", field)
        candidate = Path(text).expanduser()
        if not candidate.is_absolute():
            roots = [self.root] if self.root is not None else []
            # as written; inside an images/ folder the archive unpacked (MathVerse's images.zip); inside the
            # release's own image folder; by file name in images/ (MathVista's images/<pid>.jpg)
            tried = [r / text for r in roots] + [r / d / text for r in roots for d in ("images", *self.image_dirs)] \
                + [r / "images" / Path(text).name for r in roots]
            found = next((p for p in tried if p.exists()), None)
            if found is None:
                where = f" under {self.root}" if self.root is not None else ""
                raise RowError(f"image '{text}' not found{where} (images are resolved against the data folder)",
                               field)
            candidate = found
        elif not candidate.exists():
            raise RowError(f"image '{text}' not found", field)
        return str(candidate)

    def first_image(self, record: Mapping[str, Any], fields: tuple[str, ...]) -> Any:
        """The first usable image among `fields` (the hub's decoded column before a path column)."""
        errors: list[RowError] = []
        for f in fields:
            value = record.get(f)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            try:
                return self.image(value, f)
            except RowError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
        raise RowError("has no image", fields[0])

    def row(self, native: Any, *, question: str, answer: str, answer_type: str, images: list[Any] | None = None,
            choices: list[str] | None = None, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A problem row with the shared meta keys (`native_id`, `benchmark`, `subset`, `difficulty`)."""
        extra = dict(meta or {})
        full_meta = {"native_id": native, "benchmark": self.name}
        full_meta["subset"] = _scalar(extra.get(self.subset_field)) if self.subset_field else None
        full_meta["difficulty"] = _scalar(extra.get(self.difficulty_field)) if self.difficulty_field else None
        full_meta.update({k: v for k, v in extra.items() if k not in full_meta})
        return self.problem_row(native, question=question, answer=answer, answer_type=answer_type,
                                images=images, choices=choices, meta=full_meta)


def _scalar(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def place_image_marks(question: str, n_images: int, *, field: str = "question") -> str:
    """Turn a benchmark's own placeholders (`<image1>`) into vrd's `<image>` marks, one per image.

    When the placeholders outnumber the images (MathVision draws a question's pictures as one
    composite image), each placeholder stays in the text, as MathVision's own prompts show it, and
    one `<image>` goes in front; deleting them would drop the words around them ("When the ant
    <image2> walks from home <image3> ...").
    """
    found = _NUMBERED_MARK.findall(question)
    if found and len(found) == n_images:
        return _NUMBERED_MARK.sub(IMAGE_MARK, question)
    if found and IMAGE_MARK not in question:
        return IMAGE_MARK * n_images + ("\n" if n_images else "") + question
    return with_image_marks(question, n_images, field=field)


def require(record: Mapping[str, Any], field: str) -> Any:
    """A field that must be present and non-empty."""
    if field not in record:
        raise RowError("is missing", field)
    value = record[field]
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RowError("is empty", field)
    return value
