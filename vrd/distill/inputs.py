"""What `--data` points at: a vrd problems (or responses) directory, or a source prepared on the fly.

The loader also names the data (`data_id`) for the config hash: a directory by a fingerprint of
its content, so moving it keeps a run resumable while re-preparing it differently does not;
a source by its name, split and origin, since preparing a source is deterministic.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vrd.errors import DataError
from vrd.schema import PROBLEM_COLUMNS, detect_kind, read_rows


@dataclass
class LoadedProblems:
    rows: list[dict[str, Any]]
    data_id: str
    rejects: list[dict[str, Any]] = field(default_factory=list)  # set aside while preparing a source


def fingerprint(rows: list[dict[str, Any]]) -> str:
    """Content hash over what grading depends on; images are left out to keep it cheap."""
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r["id"]):
        key = [row["id"], row["question"], row["answer"], list(row.get("choices") or []), row["answer_type"]]
        digest.update(json.dumps(key, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def problems_from_dir(path: Path) -> list[dict[str, Any]]:
    """Problem rows of a dataset dir; a responses dir is reduced to one row per problem id."""
    kind = detect_kind(path)
    rows = read_rows(path, kind=kind)
    if kind == "problems":
        first: dict[str, int] = {}
        for i, row in enumerate(rows):
            j = first.setdefault(row["id"], i)
            if j != i:  # the store keys samples by id: two problems under one id would be merged
                raise DataError(f"{path}: duplicate problem id {row['id']!r} (rows {j} and {i}); ids must be unique")
        return rows
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row["id"], {c: row[c] for c in PROBLEM_COLUMNS})
    return list(seen.values())


def load_problems(data: str, *, split: str | None = None, source_path: str | None = None,
                  limit: int | None = None) -> LoadedProblems:
    """Rows in a stable order (shard-file order for a dir, record order for a source).

    `limit` is only used to avoid preparing more of a source than the run needs; the caller
    still applies it, so a dir and a source behave alike.
    """
    path = Path(data).expanduser()
    if path.exists():
        rows = problems_from_dir(path)
        if not rows:
            raise DataError(f"{path}: holds no problems (every shard has 0 rows)")
        return LoadedProblems(rows, f"dataset:sha256:{fingerprint(rows)}")
    from vrd.sources.prepare import prepare
    from vrd.sources.registry import SOURCES, get_source

    if data not in SOURCES and data.startswith(("/", ".", "~")):  # a path, not a source name
        from vrd.errors import MissingInputError

        raise MissingInputError(f"{path}: no such problems folder (and not a source name; see `vrd data list`)")
    source = get_source(data, path=source_path, split=split)  # unknown names fail here, with suggestions
    origin = str(Path(source_path).expanduser().resolve()) if source_path else (source.hub_id or "")
    with tempfile.TemporaryDirectory(prefix="vrd-distill-prepare-") as tmp:
        result = prepare(data, tmp, path=source_path, split=split, limit=limit, progress=False)
        rows = read_rows(tmp, kind="problems") if result.n_problems else []
        rejects = []
        if result.n_rejects:
            from vrd.schema import read_jsonl

            rejects = [{"stage": "prepare", "kind": "input", **r} for r in read_jsonl(result.rejects_path)]
    data_id = f"source:{data}:split={source.split}:origin={origin}"
    return LoadedProblems(rows, data_id, rejects)
