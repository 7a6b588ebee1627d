"""Choosing one response per problem.

`closest` is GRAPE-style selection: among a problem's surviving (correct) responses keep
the one the base model finds most likely per token, i.e. the one nearest the base model's
own distribution, which the paper links to less forgetting after SFT. The likelihood
scorer is the one `vrd shift-report` uses (`vrd.analysis.likelihood.score_nll`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from vrd.curate.frames import ROW, Shards, take_rows
from vrd.errors import ConfigError

ORDER_KEYS = ["round", "sample", ROW]


def _order_cols(frame: pl.DataFrame) -> list[str]:
    return [c for c in ORDER_KEYS if c in frame.columns]


def select(rows: pl.DataFrame, mode: str, *, seed: int = 0, shards: Shards | None = None,
           base_model: str | None = None, batch_size: int = 8,
           scorer: Callable[..., list[dict]] | None = None) -> pl.DataFrame:
    """One row per id from `rows` (columns id, _row, n_tokens, round, sample), ties broken by generation order."""
    order = _order_cols(rows)
    if mode == "first":
        ranked = rows.sort(order)
    elif mode == "shortest":
        ranked = rows.sort(["n_tokens", *order])
    elif mode == "longest":
        ranked = rows.sort(["n_tokens", *order], descending=[True] + [False] * len(order))
    elif mode == "random":
        base = rows.sort(ROW)
        key = np.random.default_rng(seed).random(base.height)
        ranked = base.with_columns(pl.Series("_key", key)).sort("_key").drop("_key")
    elif mode == "closest":
        ranked = _by_likelihood(rows, order, shards, base_model, batch_size, scorer)
    else:
        raise ConfigError(f"unknown selection mode '{mode}'")
    return ranked.unique(subset="id", keep="first", maintain_order=True).sort("id")


def _by_likelihood(rows: pl.DataFrame, order: list[str], shards: Shards | None, base_model: str | None,
                   batch_size: int, scorer: Callable[..., list[dict]] | None) -> pl.DataFrame:
    if shards is None or not base_model:
        raise ConfigError("--select closest needs --base-model")
    if scorer is None:
        from vrd.analysis.likelihood import score_nll as scorer
    # Problems with a single candidate need no scoring.
    counts = rows.group_by("id").len()
    multi = rows.join(counts.filter(pl.col("len") > 1).select("id"), on="id", how="semi").sort(ROW)
    scores = pl.DataFrame({ROW: pl.Series([], dtype=pl.Int64), "_nll": pl.Series([], dtype=pl.Float64)})
    if multi.height:
        table = take_rows(shards, multi[ROW].to_numpy(), ["id", "prompt", "response", "images", "question"])
        result = scorer(base_model, table.to_pylist(), batch_size=batch_size)
        nll = np.array([float(r["nll_per_token"]) for r in result], dtype=np.float64)
        scores = pl.DataFrame({ROW: multi[ROW], "_nll": nll})
    return (rows.join(scores, on=ROW, how="left").with_columns(pl.col("_nll").fill_null(0.0))
            .sort(["_nll", *order]).drop("_nll"))
