"""Which problems an eval runs on: benchmark names, prepared folders, and base-model pass rates.

A benchmark is named three ways: by source name (`mathvista`, optionally `mathvision:testmini`
for another split), read from the hub or from `--path name=DIR`; by a vrd problems folder
(`vrd data prepare ... --out DIR`, a synthetic held-out split), whose folder name becomes the
benchmark's name; or by `--path name=DIR` pointing at such a folder. Everything is loaded before
a model is, so a typo costs a second, not a model load.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from vrd.errors import VrdError, unknown_name
from vrd.schema import MANIFEST, PROBLEM_COLUMNS, normalize_row, read_manifest, read_rows, shard_files
from vrd.sources.base import Reject

_SAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


@dataclass
class Benchmark:
    """One benchmark's problems, ready to prompt (images still stored bytes, not decoded)."""

    name: str
    problems: list[dict[str, Any]]
    origin: str
    rejects: list[Reject] = field(default_factory=list)


def is_problems_dir(path: str | os.PathLike) -> bool:
    """A folder written by vrd (problems or responses), as opposed to a raw benchmark copy."""
    p = Path(path)
    if not p.is_dir():
        return False
    if (p / MANIFEST).exists():
        try:
            kind = read_manifest(p).get("kind")
        except ValueError:
            kind = None
        if kind in ("problems", "responses"):
            return True
    shards = sorted(p.glob("*.parquet"))
    if not shards:
        return False
    try:
        names = set(pq.read_schema(shards[0]).names)
    except Exception:  # noqa: BLE001 - not a readable vrd shard means "not a vrd folder"
        return False
    return set(PROBLEM_COLUMNS) <= names


def safe_name(name: str) -> str:
    """A benchmark name usable as a folder name."""
    return _SAFE.sub("-", name).strip("-") or "benchmark"


def read_problems_dir(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Problem rows of a vrd folder; a responses folder (distill output) gives each problem once."""
    rows = read_rows(path)
    seen: set[str] = set()
    problems = []
    for row in rows:
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        problems.append({k: row[k] for k in PROBLEM_COLUMNS})
    return problems


def parse_spec(spec: str) -> tuple[str, str | None]:
    """'mathvision:testmini' -> ('mathvision', 'testmini'); a path or a plain name has no split."""
    if ":" in spec and not Path(spec).exists():
        name, split = spec.split(":", 1)
        return name.strip(), split.strip() or None
    return spec.strip(), None


def check_benchmark_names(specs: list[str], paths: Mapping[str, str] | None = None) -> None:
    """Refuse a benchmark that is neither a known source, a `--path NAME=DIR` nor an existing folder,
    when the settings are read: before a model loads or any other benchmark is run."""
    from vrd.sources.registry import evaluable_names

    known = evaluable_names()
    paths = dict(paths or {})
    for spec in specs:
        name, _ = parse_spec(spec)
        if name in known or spec in paths or name in paths or Path(name).expanduser().exists():
            continue
        raise unknown_name("benchmark", name, [*known, "<vrd problems folder>"])


def load_benchmark(spec: str, *, paths: Mapping[str, str] | None = None, limit: int | None = None,
                   options: Mapping[str, Any] | None = None) -> Benchmark:
    """The problems of one benchmark spec (see the module doc), the first `limit` of them."""
    paths = dict(paths or {})
    name, split = parse_spec(spec)
    local = paths.get(spec, paths.get(name))
    if local is None and Path(name).expanduser().is_dir():
        local, name = str(Path(name).expanduser()), Path(name).expanduser().resolve().name
    label = safe_name(name if split is None else f"{name}-{split}")
    if local is not None and is_problems_dir(local):
        problems = read_problems_dir(local)
        problems = problems[:limit] if limit is not None else problems
        # Set aside (and count) problems whose images cannot be decoded, before any model loads.
        from vrd.images import image_problem

        kept, rejects = [], []
        for i, p in enumerate(problems):
            why = image_problem(p.get("images"))
            if why is None:
                kept.append(p)
            else:
                rejects.append(Reject(i, str(p.get("id")), "images", why, label, local))
        return Benchmark(label, kept, f"vrd dataset {local}", rejects)
    from vrd.sources.registry import evaluable_sources

    known = evaluable_sources()
    if name not in known:
        if local is not None:
            raise VrdError(f"--path {name}={local}: '{name}' is not a known benchmark and {local} is not a vrd "
                           "problems folder (prepare it with `vrd data prepare` or `vrd data synth`)")
        if Path(name).exists():
            raise VrdError(f"{name}: not a vrd problems folder (no manifest.json of kind problems and no "
                           "Parquet shards with problem columns)")
        raise unknown_name("benchmark", name, [*known, "<vrd problems folder>"])
    cls = known[name]
    source = cls(local, split, **dict(options or {}))
    problems: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    for item in source.problems(limit=limit):
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            problems.append(normalize_row(item, "problems"))
    where = local or getattr(cls, "hub_id", None) or "?"
    if getattr(source, "hub_snapshot", None):
        where = f"{source.hub_snapshot}, from the hub cache {source.path}"
    return Benchmark(label, problems, f"{name} ({where}, split {source.split})", rejects)


def load_benchmarks(specs: list[str], *, paths: Mapping[str, str] | None = None,
                    limit: int | None = None) -> list[Benchmark]:
    """All benchmarks of a run; two specs that land on one name are an error, not a silent merge."""
    out: list[Benchmark] = []
    for spec in specs:
        bench = load_benchmark(spec, paths=paths, limit=limit)
        if any(b.name == bench.name for b in out):
            raise VrdError(f"two benchmarks are both named '{bench.name}'; rename one of the folders")
        if not bench.problems:
            detail = f" ({len(bench.rejects)} rejected: {bench.rejects[0].reason})" if bench.rejects else ""
            raise VrdError(f"benchmark '{bench.name}' has no problems{detail}")
        out.append(bench)
    return out


def parse_paths(items: list[str] | None) -> dict[str, str]:
    """`--path name=DIR` options as a dict."""
    paths: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise VrdError(f"--path {item!r}: expected NAME=DIR, e.g. --path mathvista=/data/MathVista")
        name, _, value = item.partition("=")
        if not name.strip() or not value.strip():
            raise VrdError(f"--path {item!r}: expected NAME=DIR, e.g. --path mathvista=/data/MathVista")
        paths[name.strip()] = value.strip()
    return paths


def rollout_pass_rates(path: str | os.PathLike) -> dict[str, float]:
    """Per problem id, the base model's first-round pass rate from a rollouts folder (distill output).

    Only round one counts: later rounds re-sample just the unsolved problems, so they would make
    hard problems look easier than they are.
    """
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f in shard_files(path):
        names = set(pq.read_schema(f).names)
        if not {"id", "correct"} <= names:
            raise VrdError(f"{f}: a rollouts shard needs 'id' and 'correct' columns (vrd responses)")
        cols = ["id", "correct"] + (["round"] if "round" in names else [])
        table = pq.read_table(f, columns=cols).to_pydict()
        rounds = table.get("round") or [1] * len(table["id"])
        for pid, ok, rnd in zip(table["id"], table["correct"], rounds, strict=True):
            if rnd not in (None, 1, 0):
                continue
            c = counts[pid]
            c[0] += 1
            c[1] += bool(ok)
    if not counts:
        raise VrdError(f"{path}: rollouts hold no responses")
    return {pid: n_ok / n for pid, (n, n_ok) in counts.items() if n}


def meta_of(row: Mapping[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(row.get("meta") or "{}")
    except (TypeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}
