"""Decontamination against evaluation benchmarks: word n-gram overlap and figure reuse.

A training problem is a hit when its question shares a word n-gram with a benchmark
question, or when one of its images is within the perceptual-hash distance of a benchmark
image (benchmark figures seen in training inflate scores even under new wording).
Questions shorter than n words are compared whole; because short prompts such as
"Find x." are common and mean nothing on their own, such a whole-question match counts
only when neither side has images. Every hit is named in the report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vrd.curate.images import close_pairs, phash
from vrd.curate.text import ngrams
from vrd.errors import MissingInputError, VrdError


@dataclass
class ContamHit:
    id: str
    benchmark: str
    benchmark_id: str
    kind: str  # "ngram" | "image"
    match: str  # the shared n-gram, or the Hamming distance of the images

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


def _rows_from_dir(path: Path) -> list[dict[str, Any]]:
    from vrd.schema import read_rows

    seen: set[str] = set()
    out = []
    for row in read_rows(path):
        if row["id"] not in seen:
            seen.add(row["id"])
            out.append(row)
    return out


def _rows_from_source(spec: str) -> list[dict[str, Any]]:
    """`name` or `name=LOCAL_PATH`, read through the source registry."""
    name, _, path = spec.partition("=")
    try:
        from vrd.sources import get_source
    except ImportError as exc:  # the registry may not exist in a partial install
        raise VrdError("benchmark sources are not available; pass --decontaminate-path DIR instead") from exc
    try:
        source = get_source(name, path=path or None)
        rows = [r for r in source.problems() if isinstance(r, dict)]
    except VrdError as exc:
        raise VrdError(
            f"could not load benchmark '{name}' for decontamination: {exc}. Prepare it with "
            f"`vrd data prepare {name} --path LOCAL --out DIR` and pass --decontaminate-path DIR, "
            f"or write --decontaminate {name}=LOCAL_PATH"
        ) from exc
    return rows


def load_benchmarks(names: tuple[str, ...], paths: tuple[str | os.PathLike, ...]) -> pl.DataFrame:
    """(benchmark, bid, question, phashes) for every benchmark problem asked for."""
    from vrd.schema import image_to_bytes

    records: list[dict[str, Any]] = []
    sets: list[tuple[str, list[dict[str, Any]]]] = [(s.partition("=")[0], _rows_from_source(s)) for s in names]
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise MissingInputError(f"{path}: --decontaminate-path does not exist")
        sets.append((path.name, _rows_from_dir(path)))
    for bench, rows in sets:
        for row in rows:
            hashes = []
            for im in row.get("images") or []:
                hashes.append(phash(image_to_bytes(im)["bytes"]))
            records.append({"benchmark": bench, "bid": str(row["id"]), "question": str(row.get("question") or ""),
                            "phashes": hashes})
    return pl.DataFrame(records, schema={"benchmark": pl.String, "bid": pl.String, "question": pl.String,
                                         "phashes": pl.List(pl.UInt64)})


def find_hits(problems: pl.DataFrame, bench: pl.DataFrame, *, n: int, max_distance: int,
              use_images: bool = True) -> list[ContamHit]:
    """`problems` has id, question, phashes; returns one hit per (problem, benchmark problem, kind)."""
    hits: list[ContamHit] = []
    if problems.height == 0 or bench.height == 0:
        return hits
    train_imgs = problems.select("id", (pl.col("phashes").list.len() > 0).alias("has_img"))
    bench_imgs = bench.select("bid", "benchmark", (pl.col("phashes").list.len() > 0).alias("b_has_img"))
    tg = ngrams(problems, "id", "question", n).unique()
    bg = ngrams(bench.select("bid", "question"), "bid", "question", n).unique()
    joined = (
        tg.join(bg, on=["gram", "short"], how="inner")
        .join(train_imgs, on="id")
        .join(bench_imgs, on="bid")
        .filter(~pl.col("short") | (~pl.col("has_img") & ~pl.col("b_has_img")))
        .group_by("id", "bid", "benchmark", maintain_order=True)
        .agg(pl.col("gram").min())
        .sort("id", "bid")
    )
    for row in joined.iter_rows(named=True):
        hits.append(ContamHit(row["id"], row["benchmark"], row["bid"], "ngram", row["gram"]))
    if use_images:
        t = problems.select("id", "phashes").explode("phashes").drop_nulls()
        b = bench.select("bid", "benchmark", "phashes").explode("phashes").drop_nulls()
        pairs = close_pairs(t["phashes"].to_numpy(), b["phashes"].to_numpy(), max_distance)
        seen: set[tuple[str, str]] = set()
        tid, bid, bname = t["id"].to_list(), b["bid"].to_list(), b["benchmark"].to_list()
        th, bh = t["phashes"].to_numpy(), b["phashes"].to_numpy()
        for i, j in pairs.tolist():
            if (tid[i], bid[j]) in seen:
                continue
            seen.add((tid[i], bid[j]))
            dist = int(np.bitwise_count(np.uint64(th[i]) ^ np.uint64(bh[j])))
            hits.append(ContamHit(tid[i], bname[j], bid[j], "image", f"phash distance {dist}"))
    return hits
