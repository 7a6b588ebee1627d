"""Response-level filters as (reason, keep-expression) pairs, applied to the polars row frame.

Each filter names why a row goes, so the report can say "312 rows: incorrect" instead
of only a count.
"""

from __future__ import annotations

import polars as pl

from vrd.curate.config import CurateConfig


def correctness_filters(config: CurateConfig) -> list[tuple[str, pl.Expr]]:
    out = []
    if config.correct_only:
        out.append(("incorrect", pl.col("correct").fill_null(False)))
    if config.require_format:
        out.append(("format check failed", pl.col("format_ok").fill_null(False)))
    return out


def length_filters(config: CurateConfig) -> list[tuple[str, pl.Expr]]:
    out = []
    if config.min_tokens is not None:
        out.append((f"shorter than {config.min_tokens} tokens", pl.col("n_tokens") >= config.min_tokens))
    if config.max_tokens is not None:
        out.append((f"longer than {config.max_tokens} tokens", pl.col("n_tokens") <= config.max_tokens))
    return out


def apply(frame: pl.DataFrame, filters: list[tuple[str, pl.Expr]]) -> tuple[pl.DataFrame, dict[str, int]]:
    """Rows passing every filter, and how many rows each filter dropped (first failing filter wins)."""
    if not filters:
        return frame, {}
    reason = pl.lit(None, dtype=pl.String)
    for name, keep in reversed(filters):
        reason = pl.when(~keep).then(pl.lit(name)).otherwise(reason)
    tagged = frame.with_columns(reason.alias("_why"))
    counts = tagged.filter(pl.col("_why").is_not_null()).group_by("_why").len()
    dropped = {r: int(n) for r, n in counts.iter_rows()}
    return tagged.filter(pl.col("_why").is_null()).drop("_why"), dropped
