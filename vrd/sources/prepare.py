"""Turn a source into a problem dataset on disk: rows, manifest, and the rejects set aside.

A long prepare must not die on one bad record: rejects go to `rejects.jsonl` with their reason
and are counted in the manifest, and everything else is written.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vrd.errors import ConfigError
from vrd.outputs import replace_dir
from vrd.schema import write_jsonl, write_shards
from vrd.sources.base import Reject
from vrd.sources.registry import get_source

REJECTS = "rejects.jsonl"


@dataclass
class PrepareResult:
    """What a prepare wrote, for the CLI to print and for callers to check."""

    out: Path
    source: str
    split: str
    n_problems: int
    n_rejects: int
    rejects_path: Path
    reject_reasons: dict[str, int] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "out": str(self.out), "rejects_path": str(self.rejects_path)}


def _progress_bar(enabled: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rejects]} rejected"), TimeElapsedColumn(), disable=not enabled)


def _reason_key(reject: Reject) -> str:
    """Group rejects by field and the reason's first words, so the summary stays short."""
    head = reject.reason.split("(")[0].strip()
    return f"{reject.field}: {head}" if reject.field else head


def prepare(source: str, out: str | Path, *, path: str | None = None, split: str | None = None,
            limit: int | None = None, progress: bool = True, **options: Any) -> PrepareResult:
    """Normalize `source` (a registry name) into problem rows under `out`, with manifest and rejects."""
    if limit is not None and limit < 0:
        raise ConfigError(f"--limit must be >= 0, got {limit}")
    if source == "synth" and limit is not None and "n" not in options:
        options["n"] = limit
    src = get_source(source, path=path, split=split, **options)
    out = Path(out)
    rejects: list[Reject] = []
    seen: set[str] = set()
    total = getattr(src, "n", None) if source == "synth" else limit
    # The first record is read before the progress bar is drawn and before anything is staged, so
    # a missing or unreadable input is one error line, not a bar followed by one.
    records = iter(src.problems(limit=limit))
    first = list(itertools.islice(records, 1))

    def rows() -> Iterator[dict[str, Any]]:
        with _progress_bar(progress) as bar:
            task = bar.add_task(f"prepare {src.name}", total=total, rejects=0)
            for position, item in enumerate(itertools.chain(first, records)):
                if isinstance(item, Reject):
                    rejects.append(item)
                elif item["id"] in seen:
                    rejects.append(Reject(position, item["id"], "id", "duplicate id (the source repeats a record)",
                                          src.name, str(path) if path else None))
                else:
                    seen.add(item["id"])
                    yield item
                bar.update(task, advance=1, rejects=len(rejects))

    origin = str(path) if path else (src.hub_id or "embedded")
    producer = "synth" if source == "synth" else "prepare"
    with replace_dir(out, producer, inputs=[path]) as stage:
        n_rows, n_shards = write_shards(rows(), stage, kind="problems")
        reasons = collections.Counter(_reason_key(r) for r in rejects)
        write_jsonl([r.to_dict() for r in rejects], stage / REJECTS)
        _write_manifest(stage, src, origin, len(seen), rejects, reasons, limit, options,
                        kind="problems", rows=n_rows, shards=n_shards, producer=producer)
    return PrepareResult(out, src.name, src.split, len(seen), len(rejects), out / REJECTS, dict(reasons),
                         src.input_summary())


def _write_manifest(out: Path, src: Any, origin: str, n: int, rejects: list[Reject],
                    reasons: collections.Counter, limit: int | None, options: dict[str, Any], **fields: Any) -> None:
    from vrd.schema import write_manifest

    write_manifest(
        out,
        source=src.name,
        split=src.split,
        origin=origin,
        limit=limit,
        options={k: v for k, v in sorted(options.items())},
        counts={"problems": n, "rejects": len(rejects)},
        input=src.input_summary(),
        rejects={"file": REJECTS, "count": len(rejects), "reasons": dict(sorted(reasons.items()))},
        **fields,
    )


def synth(n: int, seed: int, out: str | Path, *, split: str = "train", progress: bool = True,
          **options: Any) -> PrepareResult:
    """The embedded synthetic geometry set: `n` problems, fully determined by `seed`."""
    if n <= 0:
        raise ConfigError(f"--n must be > 0, got {n}")
    return prepare("synth", out, split=split, progress=progress, n=n, seed=seed, **options)
