"""Per-problem pass rate and the `difficulty` label derived from it.

The pass rate comes from the dataset's own responses or from a base model's `--keep all`
rollouts. The first-round columns (`pass_rate_r1`) are preferred because later rounds
re-sample only unsolved problems, which biases the cumulative rate upward; when they are
absent the rate is the mean of `correct` over round-1 rows (or all rows).

Fixed bins (edges on the pass rate p, chosen so that with 8 samples 1-2 correct is hard,
3-5 medium and 6-7 easy):

    unsolved  p = 0
    hard      0 < p <= 1/3
    medium    1/3 < p <= 2/3
    easy      2/3 < p < 1
    trivial   p = 1

Quantile bins keep `unsolved` and `trivial` (they are exact facts, not ranks) and cut the
problems strictly in between into equal-count terciles labelled hard / medium / easy.
"""

from __future__ import annotations

import polars as pl

from vrd.curate.frames import open_shards, scan

LABELS = ("unsolved", "hard", "medium", "easy", "trivial")
FIXED_EDGES = (1.0 / 3.0, 2.0 / 3.0)
_EPS = 1e-6  # pass rates are stored as float32: 1/3 comes back as 0.33333334


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


def bin_labels(pass_rate: pl.Series, mode: str = "fixed") -> pl.Series:
    p = pass_rate.cast(pl.Float64)
    if mode == "quantile":
        inner = p.filter((p > _EPS) & (p < 1 - _EPS))
        if inner.len():
            lo, hi = float(inner.quantile(1 / 3, "linear")), float(inner.quantile(2 / 3, "linear"))
        else:
            lo, hi = FIXED_EDGES
    else:
        lo, hi = FIXED_EDGES
    frame = pl.DataFrame({"p": p})
    return frame.select(
        pl.when(pl.col("p") <= _EPS).then(pl.lit("unsolved"))
        .when(pl.col("p") >= 1 - _EPS).then(pl.lit("trivial"))
        .when(pl.col("p") <= lo + _EPS).then(pl.lit("hard"))
        .when(pl.col("p") <= hi + _EPS).then(pl.lit("medium"))
        .otherwise(pl.lit("easy"))
        .alias("difficulty")
    ).to_series()
