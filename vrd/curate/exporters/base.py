"""What every exporter shares: finding the splits of a curate output and turning a row into a chat turn.

The user text defaults to what the model actually saw: the stored `prompt` of a response
row (the teacher's rendered prompt), or the problem rendered with a template for problem
rows. `--template` re-renders everything with `vrd.distill.templates.render_prompt`. The
system prompt the teacher saw (the response row's `system`) goes along as a system turn.
"""

from __future__ import annotations

import abc
import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from vrd.contract import IMAGE_MARK
from vrd.errors import ConfigError, MissingInputError, VrdError
from vrd.images import drop_bad_images
from vrd.outputs import EXPORT_MARK, EXPORT_MARKS, OutputError
from vrd.redact import redacted_argv
from vrd.schema import detect_kind, read_rows


@dataclass
class ExportResult:
    format: str
    out: Path
    splits: dict[str, int] = field(default_factory=dict)  # split -> rows written
    files: list[Path] = field(default_factory=list)
    set_aside: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # split -> [{id, reason}]


def discover_splits(in_dir: str | os.PathLike) -> dict[str, Path]:
    """{split name: dataset dir}: the sub-directories of a curate output, or the directory itself."""
    root = Path(in_dir)
    if not root.exists():
        raise MissingInputError(f"{root}: no such directory")
    if any(root.glob("*.parquet")):
        return {root.name: root}
    found = {d.name: d for d in sorted(root.iterdir()) if d.is_dir() and any(d.glob("*.parquet"))}
    if not found:
        raise VrdError(f"{root}: holds no vrd datasets (expected a `vrd curate` output or a dataset directory)")
    return found


def pick_splits(found: dict[str, Path], wanted: list[str] | None) -> dict[str, Path]:
    if not wanted:
        return found
    from vrd.errors import unknown_name

    missing = [w for w in wanted if w not in found]
    if missing:
        raise unknown_name("split", missing[0], list(found))
    return {w: found[w] for w in wanted}


def user_text(row: dict[str, Any], template: str | None, default_template: str = "math") -> str:
    """The user turn, keeping one `<image>` mark per image."""
    from vrd.distill.templates import render_prompt

    if template is None and row.get("prompt"):
        text = row["prompt"]
    else:
        text = render_prompt(row, template or default_template)
    n_images = len(row.get("images") or [])
    if text.count(IMAGE_MARK) != n_images:  # a custom template dropped or duplicated the marks
        text = IMAGE_MARK * n_images + text.replace(IMAGE_MARK, "")
    return text


def system_text(row: dict[str, Any]) -> str | None:
    """The system prompt the teacher saw for a response row (`vrd distill --system`), or None."""
    value = row.get("system")
    return str(value) if value else None


def content_parts(text: str) -> list[dict[str, Any]]:
    """`<image>` marks -> HF chat content parts, an image part where each mark is.

    Image parts carry `text: None` so every part has the same keys, which Arrow needs to store
    them; TRL fills in the image itself from the `images` column.
    """
    parts: list[dict[str, Any]] = []
    for i, chunk in enumerate(text.split(IMAGE_MARK)):
        if i:
            parts.append({"type": "image", "text": None})
        if chunk:
            parts.append({"type": "text", "text": chunk})
    return parts


def image_records(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The row's images as HF `Image` records with their bytes inside: a path-only record would be
    written as a path, which the trainer's machine may not have."""
    from vrd.images import read_image_file

    out = []
    for im in row.get("images") or []:
        data = im.get("bytes")
        if data is None and im.get("path"):
            data = read_image_file(im["path"])
        out.append({"bytes": data, "path": None})
    return out


def problems_only(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """First row per problem id, for formats that want one row per problem."""
    seen: set[str] = set()
    out = []
    for r in rows:
        if r["id"] not in seen:
            seen.add(r["id"])
            out.append(r)
    return out


class Exporter(abc.ABC):
    name: ClassVar[str]
    default_template: ClassVar[str] = "math"
    mark: ClassVar[str] = EXPORT_MARK  # the hidden file that says what wrote OUT (vrd.outputs)
    keep_lock_dir: ClassVar[bool] = True  # False: no `.locks` folder left in OUT (vrd.outputs.replace_dir)

    def __init__(self, template: str | None = None) -> None:
        self.template = template

    def export(self, in_dir: str | os.PathLike, out_dir: str | os.PathLike, *, splits: list[str] | None = None,
               push_to_hub: str | None = None) -> ExportResult:
        """Write the chosen splits into a staged copy of OUT and swap it in (vrd.outputs.replace_dir).

        An earlier export of the same format in OUT is carried over, so splits exported one
        at a time accumulate; a kill mid-write leaves the previous export whole.
        """
        if push_to_hub and self.name != "hf":
            raise ConfigError(f"--push-to-hub is only supported with --format hf (got --format {self.name})")
        chosen = pick_splits(discover_splits(in_dir), splits)
        with staged_export(out_dir, self.name, in_dir, mark=self.mark, keep_lock_dir=self.keep_lock_dir) as stage:
            result = ExportResult(self.name, stage)
            for name, path in chosen.items():
                kind = detect_kind(path)
                rows, rejects = drop_bad_images(read_rows(path, kind))
                rows, refused = self.keep_loadable(rows, kind)
                rejects += refused
                if rejects:
                    result.set_aside[name] = rejects
                files = self.write_split(name, kind, rows, stage)
                result.splits[name] = len(rows) if kind == "responses" else len(problems_only(rows))
                result.files.extend(files)
            self.finish(result, push_to_hub)
            stage_mark(stage, result, self.mark)
        return _moved(result, stage, Path(out_dir))

    def row_problem(self, row: dict[str, Any], kind: str) -> str | None:
        """Why the consumer would reject this row (it is set aside, with the reason), or None."""
        return None

    def keep_loadable(self, rows: list[dict[str, Any]], kind: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        kept, rejects = [], []
        for row in rows:
            why = self.row_problem(row, kind)
            if why is None:
                kept.append(row)
            else:
                rejects.append({"id": row.get("id"), "reason": why})
        return kept, rejects

    @abc.abstractmethod
    def write_split(self, name: str, kind: str, rows: list[dict[str, Any]], out: Path) -> list[Path]:
        """Write one split; return the files written."""

    def finish(self, result: ExportResult, push_to_hub: str | None) -> None:  # noqa: B027 - optional hook
        """Anything written once per export, after the splits (into `result.out`, the staging folder)."""




@contextlib.contextmanager
def staged_export(out_dir: str | os.PathLike, fmt: str, in_dir: str | os.PathLike, *, carry: bool = True,
                  mark: str = EXPORT_MARK, keep_lock_dir: bool = True) -> Iterator[Path]:
    """A staging folder holding OUT's earlier export of this format, swapped in whole on success."""
    from vrd.outputs import replace_dir, write_text_atomic

    out = Path(out_dir)
    found = [out / m for m in EXPORT_MARKS if (out / m).exists()]
    with replace_dir(out, "export", inputs=[in_dir], keep_lock_dir=keep_lock_dir) as stage:
        if found and carry:
            try:
                previous = json.loads(found[0].read_text()).get("format")
            except (OSError, json.JSONDecodeError, AttributeError, UnicodeDecodeError):
                previous = None
            if previous != fmt:
                raise OutputError(f"{out}: holds a `{previous}` export; choose another --out for --format {fmt}")
            for item in out.iterdir():
                if item.name.startswith("."):  # the mark and the lock folder: written anew
                    continue
                if item.is_dir():
                    shutil.copytree(item, stage / item.name)
                else:
                    shutil.copy2(item, stage / item.name)
        yield stage
        mark_path = stage / mark
        extra = json.loads(mark_path.read_text()) if mark_path.exists() else {}
        write_text_atomic(mark_path, json.dumps(
            {**extra, "producer": "export", "format": fmt, "input": str(in_dir), "command": redacted_argv()}, indent=2))


def stage_mark(stage: Path, result: ExportResult, mark: str = EXPORT_MARK) -> None:
    """What the export set aside (undecodable images, rows the consumer would refuse), kept in the mark file."""
    (stage / mark).write_text(json.dumps({"set_aside": result.set_aside}, indent=2, default=str))


def _moved(result: ExportResult, stage: Path, out: Path) -> ExportResult:
    """The result with paths under OUT instead of the staging folder it was written in."""
    result.out = out
    result.files = [out / f.relative_to(stage) if f.is_relative_to(stage) else f for f in result.files]
    return result


def dataset_of(records: list[dict[str, Any]], features: Any) -> Any:
    """`datasets.Dataset.from_list`, also for no records (a split whose every row was set aside):
    `from_list([])` fails on its own features ("Keys mismatch")."""
    import datasets

    if not records:
        return datasets.Dataset.from_dict({name: [] for name in features}, features=features)
    return datasets.Dataset.from_list(records, features=features)
