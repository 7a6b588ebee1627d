"""Curation steps as objects, composed into a pipeline (as datatrove composes its blocks).

A step has a `name` (its line in `curation.json`), a `level` — `"rows"` (responses) or
`"problems"` — and `apply(frame, run)`, which returns the kept part of the frame and why the
rest went (`{reason: count}`). `curate()` runs the steps in order and keeps the row and
problem frames consistent between them, so a step only thinks about its own frame.

`default_steps(config)` is the pipeline `vrd curate` runs. A new filter is a new `Step`
(in a script: `curate(inputs, out, config, steps=[*default_steps(config), MyStep()])`),
with no change to `curate()` itself.

Order, and why:
images -> difficulty -> pass-rate -> correctness -> length -> decontaminate -> dedup -> select.
Pass rates are computed on every response before any is filtered; dedup runs after the
filters, so a problem with usable responses is never dropped in favour of a twin whose
responses all failed; one response per problem is selected last.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from vrd.curate import decontam, dedup, difficulty, filters
from vrd.curate.config import CurateConfig
from vrd.curate.images import fingerprints
from vrd.curate.report import CurationReport
from vrd.curate.select import select

Level = Literal["rows", "problems"]
Dropped = dict[str, int]


@dataclass
class CurateRun:
    """What the steps share besides their frame: the input shards (images and responses are read
    from them on demand), the report being filled in, and the optional response scorer."""

    shards: Any
    report: CurationReport
    config: CurateConfig
    scorer: Callable[..., list[dict]] | None = None
    _prints: pl.DataFrame | None = field(default=None, repr=False)

    def with_fingerprints(self, problems: pl.DataFrame) -> pl.DataFrame:
        """`problems` with image fingerprints, read once (for the problems left at first need)."""
        if "image_key" in problems.columns:
            return problems
        if self._prints is None:
            cfg = self.config
            perceptual = "image" in cfg.dedup or bool((cfg.decontaminate or cfg.decontaminate_path)
                                                      and cfg.decontam_image)
            self._prints = fingerprints(self.shards, problems, perceptual=perceptual)
        return problems.join(self._prints, on="id", how="left").sort("id")


class Step(abc.ABC):
    """One stage of the pipeline."""

    name: str
    level: Level

    @abc.abstractmethod
    def apply(self, frame: pl.DataFrame, run: CurateRun) -> tuple[pl.DataFrame, Dropped]:
        """The kept part of `frame` (rows or problems, per `level`) and {reason: count dropped}."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, level={self.level!r})"


class Images(Step):
    """Set aside problems whose images cannot be decoded (corrupt, truncated, decompression bomb).

    Through the one guarded decoder (vrd.images), on each problem's first row, which is the
    row the other image steps read too; training would otherwise crash on them hours later.
    """

    name, level = "images", "problems"

    def apply(self, frame: pl.DataFrame, run: CurateRun) -> tuple[pl.DataFrame, Dropped]:
        from vrd.curate.frames import iter_images
        from vrd.images import image_problem, reason_key

        bad: dict[int, str] = {}
        for pos, images in iter_images(run.shards, frame["_first_row"].to_numpy()):
            why = image_problem(images)
            if why is not None:
                bad[pos] = reason_key(why)
        if not bad:
            return frame, {}
        dropped: Dropped = {}
        for reason in bad.values():
            dropped[reason] = dropped.get(reason, 0) + 1
        keep = [i not in bad for i in range(frame.height)]
        return frame.filter(pl.Series(keep)), dropped


class Difficulty(Step):
    """Per-problem pass rate (own responses, or base-model `rollouts`) and its difficulty label."""

    name, level = "difficulty", "problems"

    def __init__(self, rollouts: str | None, scheme: str) -> None:
        self.rollouts, self.scheme = rollouts, scheme

    def apply(self, frame: pl.DataFrame, run: CurateRun) -> tuple[pl.DataFrame, Dropped]:
        dropped: Dropped = {}
        p = frame
        if self.rollouts:
            rates = difficulty.rollout_pass_rates(self.rollouts)
            p = p.drop("pass_rate").join(rates, on="id", how="left")
            missing = int(p["pass_rate"].is_null().sum())
            if missing:
                dropped["not in rollouts"] = missing
            p = p.filter(pl.col("pass_rate").is_not_null())
            run.report.pass_rate_from = f"rollouts: {self.rollouts}"
        p = p.with_columns(pl.col("pass_rate").cast(pl.Float64))
        return p.with_columns(difficulty.bin_labels(p["pass_rate"], self.scheme)), dropped


class PassRateRange(Step):
    """Keep problems whose pass rate lies in [lo, hi]."""

    name, level = "pass-rate", "problems"

    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi

    def apply(self, frame: pl.DataFrame, run: CurateRun) -> tuple[pl.DataFrame, Dropped]:
        keep = frame.filter(pl.col("pass_rate").is_between(self.lo - 1e-6, self.hi + 1e-6))
        return keep, {f"pass rate outside {self.lo:g}:{self.hi:g}": frame.height - keep.height}


class RowFilter(Step):
    """Response-level filters as (reason, keep-expression) pairs; the first failing one is the reason."""

    level = "rows"

    def __init__(self, name: str, checks: list[tuple[str, pl.Expr]]) -> None:
        self.name, self.checks = name, checks

    def apply(self, frame: pl.DataFrame, run: CurateRun) -> tuple[pl.DataFrame, Dropped]:
        return filters.apply(frame, self.checks)


class Decontaminate(Step):
    """Drop problems that share an n-gram or a figure with a benchmark."""

    name, level = "decontaminate", "problems"

    def __init__(self, benchmarks: tuple[str, ...], paths: tuple[str, ...], *, ngram: int, max_distance: int,
                 use_images: bool) -> None:
        self.benchmarks, self.paths = benchmarks, paths
        self.ngram, self.max_distance, self.use_images = ngram, max_distance, use_images

    def apply(self, frame: pl.DataFrame, run: CurateRun) -> tuple[pl.DataFrame, Dropped]:
        p = run.with_fingerprints(frame)
        bench = decontam.load_benchmarks(self.benchmarks, self.paths)
        hits = decontam.find_hits(p, bench, n=self.ngram, max_distance=self.max_distance, use_images=self.use_images)
        run.report.contamination = [h.to_dict() for h in hits]
        dropped: Dropped = {}
        bad: set[str] = set()
        for kind in ("ngram", "image"):
            ids = {h.id for h in hits if h.kind == kind} - bad
            if ids:
                dropped[f"benchmark {kind} match"] = len(ids)
            bad |= ids
        return p.filter(~pl.col("id").is_in(list(bad))), dropped


class Dedup(Step):
    """Drop duplicate problems: `exact` (text + image), `near` (MinHash) or `image` (phash)."""

    level = "problems"

    def __init__(self, method: str, config: CurateConfig) -> None:
        self.method, self.name = method, f"dedup {method}"
        self.config = config

    def apply(self, frame: pl.DataFrame, run: CurateRun) -> tuple[pl.DataFrame, Dropped]:
        p, cfg = run.with_fingerprints(frame), self.config
        if self.method == "exact":
            hits = dedup.exact(p)
        elif self.method == "near":
            hits = dedup.near(p, threshold=cfg.near_threshold, n=cfg.near_ngram, num_perm=cfg.num_perm)
        else:
            hits = dedup.image(p, max_distance=cfg.phash_distance, match=cfg.image_match)
        run.report.duplicates.extend(h.to_dict() for h in hits)
        gone = {h.dropped for h in hits}
        return p.filter(~pl.col("id").is_in(list(gone))), ({f"{self.method} duplicate": len(gone)} if gone else {})


class Select(Step):
    """One response per problem: shortest, longest, random, first, or closest to a base model."""

    name, level = "select", "rows"

    def __init__(self, mode: str, *, seed: int, base_model: str | None, batch_size: int) -> None:
        self.mode, self.seed, self.base_model, self.batch_size = mode, seed, base_model, batch_size

    def apply(self, frame: pl.DataFrame, run: CurateRun) -> tuple[pl.DataFrame, Dropped]:
        chosen = select(frame, self.mode, seed=self.seed, shards=run.shards, base_model=self.base_model,
                        batch_size=self.batch_size, scorer=run.scorer)
        return chosen, {f"not selected ({self.mode})": frame.height - chosen.height}


def default_steps(config: CurateConfig) -> list[Step]:
    """The pipeline `vrd curate` runs for `config`, in order (steps a setting turns off are left out)."""
    steps: list[Step] = [Images(), Difficulty(config.rollouts, config.difficulty_bins)]
    if config.pass_rate is not None:
        steps.append(PassRateRange(*config.pass_rate))
    steps.append(RowFilter("correctness", filters.correctness_filters(config)))
    steps.append(RowFilter("length", filters.length_filters(config)))
    if config.decontaminate or config.decontaminate_path:
        steps.append(Decontaminate(config.decontaminate, config.decontaminate_path, ngram=config.decontam_ngram,
                                   max_distance=config.phash_distance, use_images=config.decontam_image))
    steps.extend(Dedup(method, config) for method in config.dedup)
    steps.append(Select(config.select, seed=config.seed, base_model=config.base_model,
                        batch_size=config.score_batch_size))
    return steps


def timed(step: Step, frame: pl.DataFrame, run: CurateRun) -> tuple[pl.DataFrame, Dropped, float]:
    t0 = time.perf_counter()
    kept, dropped = step.apply(frame, run)
    return kept, dropped, time.perf_counter() - t0
