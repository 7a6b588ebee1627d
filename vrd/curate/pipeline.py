"""`vrd curate`: distill output (and optional base-model rollouts) -> training splits.

Order of steps, and why:

1. load          text columns only (polars scan; images, prompts and responses are not read)
2. difficulty    per-problem pass rate (own responses or `--rollouts`) and the `difficulty` label
3. pass-rate     `--pass-rate MIN:MAX` on that rate
4. correctness   `--correct-only`, `--require-format` (response level)
5. length        `--min-tokens`, `--max-tokens` (response level)
6. decontaminate benchmark n-gram and figure matches (problem level)
7. dedup         exact, near, image (problem level) -- after the filters, so a problem with
                 usable responses is never dropped in favour of a twin whose responses all failed
8. select        one response per problem
9. split         disjoint, stratified by source and difficulty, seeded

There is one pool: a problem enters any split (SFT or RL) only if it survives every step.
With `--correct-only` that also keeps problems no teacher sample solved out of RL, where
they are often mislabelled and give no reward signal.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from vrd.curate import decontam, dedup, difficulty, filters
from vrd.curate.config import CurateConfig, is_response_split
from vrd.curate.frames import ROW, open_shards, scan
from vrd.curate.images import fingerprints
from vrd.curate.output import write_splits
from vrd.curate.report import CurationReport, StepRecord
from vrd.curate.select import select
from vrd.curate.splits import assign
from vrd.errors import VrdError

ROW_COLUMNS = ("id", "correct", "format_ok", "n_tokens", "round", "sample", "pass_rate", "pass_rate_r1")
PROBLEM_COLUMNS = ("id", "source", "question", "answer")


class _State:
    """The row frame, the problem frame, and the report being filled in."""

    def __init__(self, rows: pl.DataFrame, problems: pl.DataFrame, report: CurationReport) -> None:
        self.rows, self.problems, self.report = rows, problems, report

    def row_step(self, name: str, fn: Callable[[pl.DataFrame], tuple[pl.DataFrame, dict[str, int]]]) -> None:
        t0 = time.perf_counter()
        rows_in, probs_in = self.rows.height, self.problems.height
        self.rows, dropped = fn(self.rows)
        kept = self.rows.select("id").unique()
        self.problems = self.problems.join(kept, on="id", how="semi")
        self.report.steps.append(StepRecord(name, rows_in, self.rows.height, probs_in, self.problems.height, "rows",
                                            dropped, time.perf_counter() - t0))

    def problem_step(self, name: str, fn: Callable[[pl.DataFrame], tuple[pl.DataFrame, dict[str, int]]]) -> None:
        t0 = time.perf_counter()
        rows_in, probs_in = self.rows.height, self.problems.height
        self.problems, dropped = fn(self.problems)
        self.rows = self.rows.join(self.problems.select("id"), on="id", how="semi")
        self.report.steps.append(StepRecord(name, rows_in, self.rows.height, probs_in, self.problems.height,
                                            "problems", dropped, time.perf_counter() - t0))


def load(in_dir: str | os.PathLike) -> tuple[pl.DataFrame, pl.DataFrame, object]:
    """(rows, problems, shards): the row frame and one row per problem, text columns only."""
    shards = open_shards(in_dir)
    lf = scan(shards, list(dict.fromkeys(ROW_COLUMNS + PROBLEM_COLUMNS)))
    problems = (
        lf.group_by("id")
        .agg(*(pl.col(c).first() for c in PROBLEM_COLUMNS[1:]), pl.col(ROW).min().alias("_first_row"),
             difficulty.pass_rate_expr(shards.columns))
        .sort("id")
    )
    rows = lf.select([c for c in (*ROW_COLUMNS, ROW) if c in shards.columns or c == ROW])
    rows_df, problems_df = pl.collect_all([rows, problems])
    return rows_df, problems_df, shards


def curate(in_dir: str | os.PathLike, out_dir: str | os.PathLike, config: CurateConfig | None = None, *,
           scorer: Callable[..., list[dict]] | None = None, write: bool = True) -> CurationReport:
    """Run every step and write OUT/<split>/ datasets plus OUT/curation.json."""
    config = config or CurateConfig()
    out = Path(out_dir)
    report = CurationReport(str(in_dir), str(out), config.to_dict())
    t0 = time.perf_counter()
    rows, problems, shards = load(in_dir)
    report.steps.append(StepRecord("load", shards.n_rows, rows.height, problems.height, problems.height, "rows", {},
                                   time.perf_counter() - t0))
    state = _State(rows, problems, report)

    # 2. difficulty
    def _difficulty(p: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
        dropped: dict[str, int] = {}
        if config.rollouts:
            rates = difficulty.rollout_pass_rates(config.rollouts)
            p = p.drop("pass_rate").join(rates, on="id", how="left")
            missing = int(p["pass_rate"].is_null().sum())
            if missing:
                dropped["not in rollouts"] = missing
            p = p.filter(pl.col("pass_rate").is_not_null())
            report.pass_rate_from = f"rollouts: {config.rollouts}"
        p = p.with_columns(pl.col("pass_rate").cast(pl.Float64))
        return p.with_columns(difficulty.bin_labels(p["pass_rate"], config.difficulty_bins)), dropped

    state.problem_step("difficulty", _difficulty)

    # 3. pass-rate range
    if config.pass_rate is not None:
        lo, hi = config.pass_rate

        def _range(p: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
            keep = p.filter(pl.col("pass_rate").is_between(lo - 1e-6, hi + 1e-6))
            return keep, {f"pass rate outside {lo:g}:{hi:g}": p.height - keep.height}

        state.problem_step("pass-rate", _range)

    # 4-5. response filters
    state.row_step("correctness", lambda r: filters.apply(r, filters.correctness_filters(config)))
    state.row_step("length", lambda r: filters.apply(r, filters.length_filters(config)))

    # 6-7. problem-level: decontamination and dedup need image fingerprints (read once).
    need_phash = ("image" in config.dedup) or bool(
        (config.decontaminate or config.decontaminate_path) and config.decontam_image)
    t0 = time.perf_counter()
    prints = fingerprints(shards, state.problems, perceptual=need_phash)
    state.problems = state.problems.join(prints, on="id", how="left").sort("id")
    fingerprint_s = time.perf_counter() - t0

    if config.decontaminate or config.decontaminate_path:
        bench = decontam.load_benchmarks(config.decontaminate, config.decontaminate_path)

        def _decontam(p: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
            hits = decontam.find_hits(p, bench, n=config.decontam_ngram, max_distance=config.phash_distance,
                                      use_images=config.decontam_image)
            report.contamination = [h.to_dict() for h in hits]
            dropped: dict[str, int] = {}
            bad: set[str] = set()
            for kind in ("ngram", "image"):
                ids = {h.id for h in hits if h.kind == kind} - bad
                if ids:
                    dropped[f"benchmark {kind} match"] = len(ids)
                bad |= ids
            return p.filter(~pl.col("id").is_in(list(bad))), dropped

        state.problem_step("decontaminate", _decontam)

    for method in config.dedup:
        def _dedup(p: pl.DataFrame, method: str = method) -> tuple[pl.DataFrame, dict[str, int]]:
            if method == "exact":
                hits = dedup.exact(p)
            elif method == "near":
                hits = dedup.near(p, threshold=config.near_threshold, n=config.near_ngram, num_perm=config.num_perm)
            else:
                hits = dedup.image(p, max_distance=config.phash_distance, match=config.image_match)
            report.duplicates.extend(h.to_dict() for h in hits)
            gone = {h.dropped for h in hits}
            return p.filter(~pl.col("id").is_in(list(gone))), ({f"{method} duplicate": len(gone)} if gone else {})

        state.problem_step(f"dedup {method}", _dedup)
    if report.steps and fingerprint_s:
        report.steps[-1].seconds += fingerprint_s

    # 8. select one response per problem
    def _select(r: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
        chosen = select(r, config.select, seed=config.seed, shards=shards, base_model=config.base_model,
                        batch_size=config.score_batch_size, scorer=scorer)
        return chosen, {f"not selected ({config.select})": r.height - chosen.height}

    state.row_step("select", _select)

    # 9. splits
    t0 = time.perf_counter()
    assignment = assign(state.problems, config.split, seed=config.seed)
    report.unassigned = state.problems.height - assignment.height
    plan: dict[str, tuple[str, pl.DataFrame]] = {}
    meta = state.problems.select("id", "source", "difficulty", "pass_rate", "_first_row")
    for name in config.split:
        ids = assignment.filter(pl.col("split") == name).select("id")
        probs = meta.join(ids, on="id", how="semi")
        if is_response_split(name):
            frame = state.rows.join(probs, on="id", how="inner").select(ROW, "id", "difficulty", "pass_rate")
            kind = "responses"
        else:
            frame = probs.select(pl.col("_first_row").alias(ROW), "id", "difficulty", "pass_rate")
            kind = "problems"
        plan[name] = (kind, frame)
        report.splits[name] = {
            "kind": kind,
            "problems": probs.height,
            "rows": frame.height,
            "by_source": dict(sorted(probs.group_by("source").len().iter_rows())),
            "by_difficulty": dict(sorted(probs.group_by("difficulty").len().iter_rows())),
        }
    report.steps.append(StepRecord("split", state.rows.height, sum(v["rows"] for v in report.splits.values()),
                                   state.problems.height, assignment.height, "problems",
                                   {"not assigned to a split": report.unassigned} if report.unassigned else {},
                                   time.perf_counter() - t0))
    if write:
        if out.exists() and any(out.iterdir()) and not (out / "curation.json").exists():
            raise VrdError(f"{out}: exists and is not a curate output; choose an empty --out directory")
        out.mkdir(parents=True, exist_ok=True)
        write_splits(shards, plan, out, {"curate": config.to_dict(), "input": str(in_dir)})
        report.write(out)
    return report
