"""Per-problem pass rate and the `difficulty` label derived from it.

The pass rate comes from the dataset's own responses or from a base model's `--keep all`
rollouts. The first-round columns (`pass_rate_r1`) are preferred because later rounds
re-sample only unsolved problems, which biases the cumulative rate upward; when they are
absent the rate is the mean of `correct` over round-1 rows (or all rows).

The label comes from the one scheme in `vrd.difficulty` (`--difficulty-bins`: synergy L1-L5 by
default, or fixed / quantile / edges:...), so curate, eval and the signal report agree.
"""

from __future__ import annotations

import polars as pl

from vrd.curate.frames import open_shards, scan
from vrd.difficulty import get_scheme


def pass_rate_expr(columns: tuple[str, ...] | list[str]) -> pl.Expr:
    """Per-problem pass rate (use inside a group_by('id').agg)."""
    candidates = [pl.col(c).cast(pl.Float64).drop_nulls().first() for c in ("pass_rate_r1", "pass_rate")
                  if c in columns]
    if "round" in columns:
        r1 = pl.col("correct").filter(pl.col("round") == pl.col("round").min()).cast(pl.Float64).mean()
    else:
        r1 = pl.col("correct").cast(pl.Float64).mean()
    return pl.coalesce([*candidates, r1]).alias("pass_rate")


def rollout_pass_rates(rollouts_dir: str) -> pl.DataFrame:
    """(id, pass_rate) from a base model's rollouts directory."""
    shards = open_shards(rollouts_dir)
    cols = [c for c in ("id", "correct", "round", "pass_rate_r1", "pass_rate") if c in shards.columns]
    return scan(shards, cols).group_by("id").agg(pass_rate_expr(cols)).collect()


def bin_labels(pass_rate: pl.Series, mode: str = "synergy") -> pl.Series:
    """The difficulty label of each pass rate under the scheme `mode` (see `vrd.difficulty`)."""
    rates = [None if v is None else float(v) for v in pass_rate.cast(pl.Float64).to_list()]
    scheme = get_scheme(mode, [r for r in rates if r is not None])
    return pl.Series("difficulty", [scheme.label(r) for r in rates], dtype=pl.String)
