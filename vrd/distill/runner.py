"""A whole distill run: load the data, pick this shard's unfinished problems, run the batches, commit.

Ctrl-C and SIGTERM stop between commits' worth of work: every committed batch stays, the
manifest says "interrupted", and `DistillInterrupted` (a KeyboardInterrupt) carries the summary
so the CLI can say how to resume. An engine failure that says the setup is wrong (bad key, dead
server before anything was answered; see `vrd.engines.failures`) raises EngineFailedError: the
batch in hand is dropped, nothing is set aside, the manifest says "failed", and once the setup is
fixed the same command resumes. The engine is built only after the store has accepted the
config, so a refused rerun fails in a second instead of after loading a 72B model.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vrd.distill.config import DistillConfig
from vrd.distill.inputs import LoadedProblems, fingerprint, load_problems
from vrd.distill.loop import ProblemOutcome, distill_batch, response_rows
from vrd.distill.progress import DistillProgress
from vrd.distill.sharding import select_shard
from vrd.distill.store import ShardStore
from vrd.distill.templates import render_prompt
from vrd.engines.base import Engine
from vrd.errors import UnknownNameError, VrdError
from vrd.outputs import sigterm_as_interrupt


@dataclass
class DistillSummary:
    out: str
    status: str  # "complete" | "interrupted"
    config_hash: str
    problems_selected: int  # this shard, after --limit
    problems_done_before: int
    problems_done: int  # finished by this invocation
    problems_failed: int  # left for a rerun by engine errors
    generated: int
    kept: int
    rejected: int
    elapsed_s: float
    samples_per_s: float
    acceptance: float
    totals: dict[str, Any] = field(default_factory=dict)  # the whole store, every shard
    moved_to: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DistillInterrupted(KeyboardInterrupt):
    """Ctrl-C/SIGTERM: finished batches are kept; rerunning the same command resumes."""

    def __init__(self, summary: DistillSummary) -> None:
        saved = summary.totals.get("problems_done", summary.problems_done_before + summary.problems_done)
        super().__init__(f"interrupted: {saved} problem(s) are saved in {summary.out} (every batch that was "
                         "committed); rerun the same command to resume")
        self.summary = summary


def resolve_teacher_name(teacher: str, backend: str | None, *, injected: bool = False) -> str:
    """Alias -> hub id, local dir -> absolute path. A served model name (openai) may be anything."""
    from vrd.models.loading import resolve_model

    try:
        resolved = resolve_model(teacher)
    except UnknownNameError:
        if backend == "openai" or injected:
            return teacher
        raise
    path = Path(resolved).expanduser()
    return str(path.resolve()) if path.exists() else resolved


def select_problems(rows: Sequence[Mapping[str, Any]], config: DistillConfig) -> list[Mapping[str, Any]]:
    """`--limit` first (the first N problems of the data), then `--shard`: the shards of a limited
    run together cover exactly those N."""
    limited = list(rows) if config.limit is None else list(rows)[: config.limit]
    return select_shard(limited, config.shard)


def unique_ids(rows: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], list[dict[str, Any]]]:
    """First row per id, and rejects for the repeats: a repeated id would otherwise be sampled twice and
    break the one-row-per-(problem, round, sample) rule."""
    seen: set[str] = set()
    kept: list[Mapping[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        pid = str(row["id"])
        if pid in seen:
            rejects.append({"id": pid, "stage": "input", "kind": "input", "index": index,
                            "reason": "duplicate id in the input data (the first row with this id is used)"})
            continue
        seen.add(pid)
        kept.append(row)
    return kept, rejects


def _batches(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


class _Committer:
    """Turns outcomes into a durable batch and keeps this invocation's counts."""

    def __init__(self, store: ShardStore, problems: Mapping[str, Mapping[str, Any]], model: str,
                 progress: DistillProgress, system: str | None = None) -> None:
        self.store, self.problems, self.model, self.progress = store, problems, model, progress
        self.system = system
        self.done = self.failed = self.generated = self.kept = self.rejected = 0
        self.answered = False  # the engine answered a request in this invocation: its setup works

    def __call__(self, outcomes: Sequence[ProblemOutcome]) -> None:
        finished = [o for o in outcomes if o.done]
        rows = [row for o in finished for row in response_rows(self.problems[o.id], o, self.model,
                                                                    system=self.system)]
        self.store.commit(rows, [o.record for o in finished])
        rejects = [r for o in outcomes for r in o.rejects]
        self.store.add_rejects(rejects)
        generated = sum(o.record.generated for o in outcomes)
        self.done += len(finished)
        self.failed += len(outcomes) - len(finished)
        self.generated += generated
        self.kept += len(rows)
        self.rejected += len(rejects)
        self.answered = self.answered or any(o.answered for o in outcomes)
        self.progress.update(problems=len(finished), generated=generated, kept=len(rows), rejected=len(rejects))


def _check_template(problems: Sequence[Mapping[str, Any]], config: DistillConfig) -> None:
    """A template that cannot render is the user's config error, not thousands of row rejects."""
    if not problems:
        return
    try:
        render_prompt(problems[0], config.template)
    except UnknownNameError:
        raise
    except Exception as exc:  # noqa: BLE001 - jinja raises many kinds
        raise VrdError(f"--template {config.template}: cannot render problem {problems[0]['id']}: {exc}") from exc


def run_distill(config: DistillConfig, *, engine: Engine | None = None,
                problems: Sequence[Mapping[str, Any]] | None = None) -> DistillSummary:
    """Run (or resume) a distill. `engine`/`problems` let callers and tests inject their own.

    Works on a copy: the caller's config keeps its teacher name and gets no `data_id`.
    """
    config = config.replace()
    from vrd.outputs import check_out, lock_output

    check_out(config.out, "distill", inputs=[config.data if Path(config.data).exists() else None, config.source_path])
    # Refuse a second writer now, not after minutes of loading data; the store takes the lock for good below.
    lock_output(config.out, "distill", shared=config.shard is not None).release()
    config.teacher = resolve_teacher_name(config.teacher, config.backend, injected=engine is not None)
    if problems is None:
        loaded = load_problems(config.data, split=config.split, source_path=config.source_path, limit=config.limit)
    else:
        loaded = LoadedProblems(list(problems), f"dataset:sha256:{fingerprint(list(problems))}")
    config.data_id = loaded.data_id
    rows, duplicates = unique_ids(loaded.rows)
    selected = select_problems(rows, config)
    by_id = {str(p["id"]): p for p in selected}

    started = time.perf_counter()
    store = ShardStore(config.out, config.shard).open(config, new_run=config.new_run)
    owns_engine = engine is None
    engine_info: dict[str, Any] | None = None
    status = "interrupted"
    try:
        if loaded.rejects or duplicates:
            store.add_rejects([*loaded.rejects, *duplicates])
        done_before = store.done_ids()
        todo = [p for p in selected if str(p["id"]) not in done_before]
        n_done_before = len(selected) - len(todo)
        _check_template(todo, config)
        progress = DistillProgress(len(selected), n_done_before, enabled=config.progress)
        commit = _Committer(store, by_id, config.model_name(), progress, system=config.system)
        with sigterm_as_interrupt():
            try:
                if todo and config.executor == "local" and engine is None:
                    from vrd.engines import get_engine

                    engine = get_engine(config.backend, config.teacher, **config.engine_kwargs())
                with progress:  # started after the model load, so samples/s is the sampling rate
                    if todo and config.executor == "ray":
                        from vrd.distill.ray_executor import run_ray

                        engine_info = run_ray(config, todo, commit)
                    elif todo:
                        engine_info = dict(engine.describe())
                        for batch in _batches(todo, config.batch_size):
                            commit(distill_batch(engine, batch, config, first=not commit.answered))
                status = "complete" if commit.failed == 0 else "incomplete"
            except KeyboardInterrupt:
                status = "interrupted"
            except Exception:
                store.finish(config, status="failed", engine_info=engine_info)
                raise
        elapsed = time.perf_counter() - started
        invocation = {"status": status, "problems_done": commit.done, "generated": commit.generated,
                      "kept": commit.kept, "elapsed_s": round(elapsed, 3), "samples_per_s": progress.samples_per_s}
        totals = store.finish(config, status=status, engine_info=engine_info, run=invocation)
    finally:
        store.close()
        if owns_engine and engine is not None:
            engine.close()
    summary = DistillSummary(
        out=str(config.out), status=status, config_hash=config.config_hash(), problems_selected=len(selected),
        problems_done_before=n_done_before, problems_done=commit.done, problems_failed=commit.failed,
        generated=commit.generated, kept=commit.kept, rejected=commit.rejected, elapsed_s=elapsed,
        samples_per_s=progress.samples_per_s, acceptance=progress.acceptance, totals=totals,
        moved_to=str(store.moved_to) if store.moved_to else None,
    )
    if status == "interrupted":
        raise DistillInterrupted(summary)
    return summary
