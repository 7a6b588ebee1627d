"""Disjoint, stratified, seeded problem splits.

Problems are put in one order in which every prefix is proportionally stratified by
(source, difficulty): each problem gets a seeded random rank within its stratum, its
position becomes the fraction (rank + 0.5) / stratum size, and the global order sorts by
that fraction. Splits then take consecutive slices of that order, so they are disjoint,
each mirrors the pool's strata, and the same seed gives the same splits.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from vrd.curate.config import REST
from vrd.errors import VrdError


def resolve_sizes(sizes: dict[str, int | float], available: int) -> dict[str, int]:
    """Shares (floats) become counts of the available problems; counts and `rest` stay."""
    return {k: (int(v * available) if isinstance(v, float) else v) for k, v in sizes.items()}


def assign(problems: pl.DataFrame, sizes: dict[str, int | float], seed: int = 0,
           strata: tuple[str, ...] = ("source", "difficulty")) -> pl.DataFrame:
    """(id, split) for the problems that go into some split; `problems` must have id and strata columns."""
    available = problems.height
    sizes = resolve_sizes(sizes, available)
    fixed = sum(v for v in sizes.values() if v != REST)
    asked = ", ".join(f"{k}={'rest' if v == REST else v}" for k, v in sizes.items())
    if fixed > available:
        raise VrdError(f"--split {asked} asks for {fixed} problems but only {available} are available after "
                       f"curation; lower the sizes (at most {available} in total)")
    base = problems.select("id", *strata).sort("id")
    key = np.random.default_rng(seed).random(base.height)
    ordered = (
        base.with_columns(pl.Series("_u", key))
        .with_columns(
            ((pl.col("_u").rank("ordinal").over(strata) - 0.5) / pl.len().over(strata)).alias("_frac")
        )
        .sort(["_frac", "_u"])
    )
    ids = ordered["id"].to_list()
    rest = available - fixed
    out_ids, out_split = [], []
    start = 0
    for name, size in sizes.items():
        n = rest if size == REST else size
        out_ids.extend(ids[start:start + n])
        out_split.extend([name] * n)
        start += n
    return pl.DataFrame({"id": out_ids, "split": out_split}, schema={"id": pl.String, "split": pl.String})
