"""`vrd curate`: distill output (and optional base-model rollouts) -> training splits.

Steps 2-8 are `vrd.curate.steps` objects built by `default_steps(config)`; `curate()` only
loads, runs them in order, splits and writes. Order of steps, and why:

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from vrd.curate import difficulty
from vrd.curate.config import CurateConfig, is_response_split
from vrd.curate.frames import ROW, open_shards, scan
from vrd.curate.output import write_splits
from vrd.curate.report import CurationReport, StepRecord
from vrd.curate.splits import assign
from vrd.curate.steps import CurateRun, Step, default_steps, timed
from vrd.outputs import replace_dir
from vrd.schema import write_manifest

ROW_COLUMNS = ("id", "correct", "format_ok", "n_tokens", "round", "sample", "pass_rate", "pass_rate_r1")
PROBLEM_COLUMNS = ("id", "source", "question", "answer")


class _State:
    """The row frame and the problem frame, kept consistent as steps shrink one of them."""

    def __init__(self, rows: pl.DataFrame, problems: pl.DataFrame, report: CurationReport) -> None:
        self.rows, self.problems, self.report = rows, problems, report

    def run(self, step: Step, run: CurateRun) -> None:
        rows_in, probs_in = self.rows.height, self.problems.height
        if step.level == "rows":
            self.rows, dropped, seconds = timed(step, self.rows, run)
            self.problems = self.problems.join(self.rows.select("id").unique(), on="id", how="semi")
        elif step.level == "problems":
            self.problems, dropped, seconds = timed(step, self.problems, run)
            self.rows = self.rows.join(self.problems.select("id"), on="id", how="semi")
        else:
            raise TypeError(f"step {step.name!r}: level must be 'rows' or 'problems', not {step.level!r}")
        self.report.steps.append(StepRecord(step.name, rows_in, self.rows.height, probs_in, self.problems.height,
                                            step.level, dropped, seconds))


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
           scorer: Callable[..., list[dict]] | None = None, write: bool = True,
           steps: Sequence[Step] | None = None) -> CurationReport:
    """Run the steps (default: `default_steps(config)`), split, and write OUT/<split>/ datasets
    plus OUT/curation.json.

    OUT is checked and locked before any work and replaced as a whole (staged, fsynced,
    swapped; see vrd.outputs), so a kill leaves the previous curation or the new one, and
    splits of an earlier plan never survive next to the new ones.
    """
    config = config or CurateConfig()
    if not write:
        return _run(in_dir, out_dir, config, scorer, steps)[0]
    inputs = [in_dir, config.rollouts, *(getattr(config, "decontaminate_path", None) or ())]
    with replace_dir(out_dir, "curate", inputs=inputs) as stage:
        report, shards, plan = _run(in_dir, out_dir, config, scorer, steps)
        write_splits(shards, plan, stage, {"curate": config.to_dict(), "input": str(in_dir)})
        report.write(stage)
        write_manifest(stage, kind="curate", producer="curate", input=str(in_dir),
                       splits={name: info["rows"] for name, info in report.splits.items()})
    return report


def _run(in_dir: str | os.PathLike, out_dir: str | os.PathLike, config: CurateConfig,
         scorer: Callable[..., list[dict]] | None, steps: Sequence[Step] | None
         ) -> tuple[CurationReport, Any, dict[str, Any]]:
    """Every step, without writing: (report, input shards, split plan)."""
    out = Path(out_dir)
    report = CurationReport(str(in_dir), str(out), config.to_dict())
    t0 = time.perf_counter()
    rows, problems, shards = load(in_dir)
    report.steps.append(StepRecord("load", shards.n_rows, rows.height, problems.height, problems.height, "rows", {},
                                   time.perf_counter() - t0))
    state = _State(rows, problems, report)
    run = CurateRun(shards, report, config, scorer)
    for step in default_steps(config) if steps is None else steps:
        state.run(step, run)

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
    return report, shards, plan
