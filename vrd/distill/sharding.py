"""`--shard I/N`: split one distill run across independent processes or machines.

The partition is a stable hash of the problem id (blake2b, not Python's salted `hash()`), so
every process computes the same split without talking to the others, the split does not
depend on the input's order, and a problem stays in its shard when the dataset grows.
Shard indices are 0-based: `--shard 0/4` ... `--shard 3/4`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from vrd.errors import VrdError


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    """`"I/N"` -> (I, N); None or "" -> None (the whole dataset)."""
    if spec in (None, ""):
        return None
    text = str(spec).strip()
    try:
        left, right = text.split("/")
        index, count = int(left), int(right)
    except ValueError as exc:
        raise VrdError(f"--shard '{spec}': expected I/N with integers, e.g. 0/4") from exc
    if count < 1:
        raise VrdError(f"--shard '{spec}': N must be at least 1")
    if not 0 <= index < count:
        raise VrdError(f"--shard '{spec}': I is 0-based and must be in 0..{count - 1}")
    return index, count


def shard_of(problem_id: str, count: int) -> int:
    """Which of `count` shards a problem belongs to; the same on every machine and run."""
    digest = hashlib.blake2b(str(problem_id).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def select_shard(rows: Iterable[Mapping[str, Any]], spec: str | None) -> list[Mapping[str, Any]]:
    """The rows of shard `spec`, in input order."""
    parsed = parse_shard(spec)
    if parsed is None:
        return list(rows)
    index, count = parsed
    return [r for r in rows if shard_of(r["id"], count) == index]


def shard_tag(spec: str | None) -> str:
    """A file-name-safe tag for the shard (`all`, `s0of4`), used in shard and lock names."""
    parsed = parse_shard(spec)
    if parsed is None:
        return "all"
    return f"s{parsed[0]}of{parsed[1]}"
