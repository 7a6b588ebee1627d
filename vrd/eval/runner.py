"""`vrd eval`: generate answers to benchmark problems, grade them by rule, keep every response.

The loop is distill's, minus rejection: prompts are rendered with the same templates, sampled
through the same engines, graded by the same verifier, and every (problem, sample) is written
to Parquet in per-batch shards (tmp file + rename). A rerun skips problems already written, so
a killed eval loses at most one batch; a rerun with different generation settings is refused,
because mixing two settings in one folder would report a number neither of them earned.

An engine failure is not a wrong answer. A problem whose request raised (after the batch is
retried one request at a time, so a bad request costs only itself) or whose completions came back
with finish_reason "error" is not graded: it is set aside in `rejects.jsonl` with its reason, not
written as finished, and the same command retries exactly those problems. A failure that says
the setup is wrong stops the run with one line instead of setting the whole benchmark aside:
a configuration error (ConfigError, an unknown model, HTTP 401/403/404), or a batch in which
every request failed before any problem of this run was answered (server down, bad URL), unless
the server refused each of them on its own merits (HTTP 400: too long, a bad image). That rule is
`vrd.engines.failures`, which `vrd distill` applies too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from vrd.engines.failures import EngineFailedError as EngineFailedError  # the stop; raised by run_eval
from vrd.engines.failures import check_first_batch, failure_reason, generate_each, is_refusal
from vrd.errors import VrdError
from vrd.eval.config import EvalConfig
from vrd.eval.data import Benchmark, load_benchmarks, meta_of, rollout_pass_rates
from vrd.eval.judge import Judge
from vrd.eval.results import (
    RESPONSES_DIR,
    RESULTS_FILE,
    macro_average,
    macro_interval,
    read_responses,
    summarize,
    write_results,
)
from vrd.outputs import append_line, check_out, output_lock, sigterm_as_interrupt
from vrd.schema import read_manifest, write_manifest, write_shard

SHARD = re.compile(r"^part-(\d+)\.parquet$")
REJECTS_FILE = "rejects.jsonl"
Progress = Callable[[str, int, int], None]


class EvalInterrupted(KeyboardInterrupt):
    """Ctrl-C/SIGTERM: every finished batch is on disk; rerunning the same command resumes."""


# -- the shard store ----------------------------------------------------------------------------


def bench_dir(out: Path, name: str) -> Path:
    return out / RESPONSES_DIR / name


def finished_ids(folder: Path) -> set[str]:
    """Problems whose responses are already written (a shard holds all samples of its problems)."""
    done: set[str] = set()
    if folder.is_dir():
        for f in folder.glob("part-*.parquet"):
            done.update(pq.read_table(f, columns=["id"]).column("id").to_pylist())
    return done


def next_shard(folder: Path) -> Path:
    numbers = [int(m.group(1)) for f in folder.glob("part-*.parquet") if (m := SHARD.match(f.name))]
    return folder / f"part-{max(numbers, default=-1) + 1:05d}.parquet"


def check_settings(out: Path, settings: Mapping[str, Any], *, new_run: bool) -> None:
    """Refuse to add responses made with other settings to a folder (`new_run` replaces them later).

    The manifest holds the settings with credentials masked, so the comparison is between masked values.
    """
    from vrd.redact import redact

    manifest = read_manifest(out) if (out / "manifest.json").exists() else {}
    old = manifest.get("eval_settings")
    has_responses = (out / RESPONSES_DIR).is_dir() and any((out / RESPONSES_DIR).rglob("*.parquet"))
    if new_run or old is None or not has_responses:
        return
    settings = redact(dict(settings))
    diffs = [f"{k}: {old.get(k)!r} -> {settings.get(k)!r}" for k in sorted(set(old) | set(settings))
             if old.get(k) != settings.get(k)]
    if diffs:
        raise VrdError(f"{out} holds responses made with other settings ({'; '.join(diffs)}). "
                       "Use a new --out, or --new-run to discard them and start over.")


def read_rejects(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The latest engine reject per (benchmark, problem id), for problems not answered since.

    A line cut short by a kill is skipped: the problem it named is simply retried.
    """
    path = out / REJECTS_FILE
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    if not path.is_file():
        return latest
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("benchmark"), str) and isinstance(row.get("id"), str):
            latest[(row["benchmark"], row["id"])] = row
    finished: dict[str, set[str]] = {}
    for bench, _ in latest:
        if bench not in finished:
            finished[bench] = finished_ids(bench_dir(out, bench))
    return {k: v for k, v in latest.items() if k[1] not in finished[k[0]]}


def _append_rejects(out: Path, rejects: Sequence[Mapping[str, Any]]) -> None:
    from vrd.redact import redact

    if not rejects:
        return
    append_line(out / REJECTS_FILE, "\n".join(json.dumps(redact(dict(row)), ensure_ascii=False, default=str)
                                              for row in rejects), durable=True)


def _compact_rejects(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Rewrite rejects.jsonl to the problems still set aside (one line each); gone when none are."""
    from vrd.outputs import write_text_atomic

    current = read_rejects(out)
    path = out / REJECTS_FILE
    if not current:
        path.unlink(missing_ok=True)
    elif path.is_file():
        write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n"
                                        for r in current.values()))
    return current


# -- one batch ----------------------------------------------------------------------------------


def generate_batch(engine: Any, problems: Sequence[Mapping[str, Any]], config: EvalConfig,
                   prompts: Sequence[str], *, first: bool = False) -> list[list[Any] | Exception]:
    """Completions (`config.samples` each) for `problems` (rendered as `prompts`), in order.

    When the batch call raises, each request is tried alone, so one bad request costs only itself:
    its slot holds the exception instead of completions. A setup failure stops the run; with `first`
    (nothing answered yet in this run) so do the first two requests failing alone alike, unable to
    reach the server. The rule lives in `vrd.engines.failures`, shared with distill.
    """
    from vrd.engines.base import GenerationRequest, SamplingParams
    from vrd.schema import load_image

    requests = [GenerationRequest(prompt, [load_image(im) for im in p["images"]], config.system)
                for p, prompt in zip(problems, prompts, strict=True)]
    params = SamplingParams(n=config.samples, temperature=config.temperature, top_p=config.top_p,
                            max_new_tokens=config.max_new_tokens, seed=config.seed)
    outputs = generate_each(engine, requests, params, command="eval", first=first)
    if len(outputs) != len(requests) or any(not isinstance(c, Exception) and len(c) != config.samples
                                            for c in outputs):
        got = [c if isinstance(c, Exception) else len(c) for c in outputs]
        raise VrdError(f"engine '{getattr(engine, 'name', engine)}' returned {got} completions for "
                       f"{len(requests)} requests x {config.samples} samples")
    return outputs


def failures(benchmark: str, problems: Sequence[Mapping[str, Any]],
             outputs: Sequence[Sequence[Any] | Exception]) -> dict[str, dict[str, Any]]:
    """Rejects (by problem id) for the problems the engine failed on: a raised request, or any
    completion with finish_reason "error" (the problem's samples are graded together or not at all)."""
    from vrd.redact import redact_message

    out: dict[str, dict[str, Any]] = {}
    for p, result in zip(problems, outputs, strict=True):
        pid = str(p["id"])
        if isinstance(result, Exception):
            reason, samples = failure_reason(result), None
        else:
            bad = [j for j, c in enumerate(result) if str(c.finish_reason) == "error"]
            if not bad:
                continue
            text = " ".join(str(result[bad[0]].text or "").split())[:300] or "no text"
            reason = redact_message(f"finish_reason 'error' on {len(bad)} of {len(result)} sample(s): {text}")
            samples = bad
        out[pid] = {"benchmark": benchmark, "id": pid, "stage": "generate", "kind": "engine",
                    "samples": samples, "reason": reason}
    return out


def grade_batch(problems: Sequence[Mapping[str, Any]], outputs: Sequence[Sequence[Any]], *, model: str,
                template: str, judge: Judge | None = None,
                prompts: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Response rows (vrd response columns) for generated completions, graded rule-based.

    Completions may be any objects with `text`, `n_tokens` and `finish_reason` (engine
    Completions); grading canned responses goes through exactly this path.
    """
    from vrd.distill.templates import render_prompt, template_format
    from vrd.verify import grade, verify_batch

    fmt = template_format(template)
    items = [{"response": c.text, "answer": p["answer"], "choices": list(p["choices"] or []),
              "answer_type": p["answer_type"], "template": fmt}
             for p, cs in zip(problems, outputs, strict=True) for c in cs]
    verdicts = verify_batch(items, template=fmt)
    flat = [(p, j, c) for p, cs in zip(problems, outputs, strict=True) for j, c in enumerate(cs)]
    judged: dict[int, str | None] = {}
    if judge is not None:
        ask = [i for i, v in enumerate(verdicts) if v.pred is None]
        answers = judge.extract_many([(flat[i][0]["question"], flat[i][2].text, list(flat[i][0]["choices"] or []))
                                      for i in ask])
        for i, extracted in zip(ask, answers, strict=True):
            judged[i] = extracted
            if extracted is not None:
                p = flat[i][0]
                verdicts[i].pred = extracted
                verdicts[i].correct = grade(extracted, p["answer"], p["answer_type"], list(p["choices"] or []) or None)
    rows: list[dict[str, Any]] = []
    per_problem: dict[str, list[bool]] = {}
    if prompts is None:
        prompts = [render_prompt(p, template) for p in problems]
    prompt_of = {p["id"]: prompt for p, prompt in zip(problems, prompts, strict=True)}
    for i, ((p, j, c), v) in enumerate(zip(flat, verdicts, strict=True)):
        meta = meta_of(p)
        if i in judged:
            meta["judge"] = {"extracted": judged[i]}
        per_problem.setdefault(p["id"], []).append(bool(v.correct))
        rows.append({
            **{k: p[k] for k in ("id", "source", "split", "images", "question", "choices", "answer", "answer_type")},
            "meta": json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str),
            "model": model,
            "round": 1,
            "sample": j,
            "prompt": prompt_of[p["id"]],
            "response": c.text,
            "pred": v.pred,
            "correct": bool(v.correct),
            "format_ok": bool(v.format_ok),
            "n_tokens": int(c.n_tokens),
            "finish_reason": str(c.finish_reason),
        })
    for row in rows:
        oks = per_problem[row["id"]]
        n, k = len(oks), sum(oks)
        row.update(n_samples=n, n_correct=k, pass_rate=k / n, n_samples_r1=n, n_correct_r1=k, pass_rate_r1=k / n)
    return rows


# -- the run ------------------------------------------------------------------------------------


def rollouts_are_own(out: Path, rollouts: str | None) -> bool:
    """True when --rollouts points into this run's own responses (levels would share its samples)."""
    if not rollouts:
        return False
    r, own = Path(rollouts).resolve(), (out / RESPONSES_DIR).resolve()
    return r == out.resolve() or r == own or own in r.parents


def compute_results(out: Path, benches: Sequence[Benchmark], config: EvalConfig,
                    pass_rates: Mapping[str, float] | None, judge: Judge | None) -> dict[str, Any]:
    """results.json content, from the shards on disk for the problems of this run."""
    per_bench: dict[str, Any] = {}
    same = rollouts_are_own(out, config.rollouts)
    set_aside = read_rejects(out)
    for b in benches:
        ids = {p["id"] for p in b.problems}
        rows = read_responses(bench_dir(out, b.name), ids=ids)
        per_bench[b.name] = summarize(rows, pass_rates=pass_rates, rejects=len(b.rejects), origin=b.origin,
                                      bins=config.bins, same_samples=same,
                                      n_errors=sum(1 for (name, pid) in set_aside if name == b.name and pid in ids))
    n_judged = sum(s.get("judged", 0) for s in per_bench.values())
    return {
        "model": config.model,
        "settings": config.result_settings(),
        "backend": config.backend,
        "limit": config.limit,
        "rollouts": config.rollouts,
        "judge": {"enabled": judge is not None, **(judge.describe() if judge else {}), "used": n_judged},
        "mean_accuracy": macro_average(per_bench),
        "mean_accuracy_ci95": macro_interval(per_bench),
        "benchmarks": per_bench,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def run_eval(config: EvalConfig, out: str | Path, *, engine: Any | None = None,
             progress: Progress | None = None) -> dict[str, Any]:
    """Evaluate `config.model` on `config.benchmarks`; write responses and results.json under `out`.

    `engine` overrides `config.backend` (tests pass a scripted one); it is not closed here.
    """
    out = check_out(out, "eval", inputs=[*(config.paths or {}).values(), config.rollouts])
    settings = config.result_settings()
    check_settings(out, settings, new_run=config.new_run)  # before the lock makes the folder
    with output_lock(out, "eval"):  # before loading benchmarks: a second writer is refused at once
        check_settings(out, settings, new_run=config.new_run)  # again: a run that just ended may have changed it
        benches = load_benchmarks(list(config.benchmarks), paths=config.paths, limit=config.limit)
        pass_rates = rollout_pass_rates(config.rollouts) if config.rollouts else None
        judge = Judge(config.judge_url, config.judge_model) if config.judge_url else None  # type: ignore[arg-type]
        return _run_locked(config, out, benches, pass_rates, judge, settings, engine, progress)


def _discard_previous(out: Path) -> None:
    """--new-run: the earlier responses and results go, only once the new model has loaded."""
    old = out / f".{RESPONSES_DIR}.old-{os.getpid()}"
    if (out / RESPONSES_DIR).exists():
        os.rename(out / RESPONSES_DIR, old)  # one rename: readers never see half a folder
    (out / RESULTS_FILE).unlink(missing_ok=True)
    (out / REJECTS_FILE).unlink(missing_ok=True)
    shutil.rmtree(old, ignore_errors=True)


def _run_locked(config: EvalConfig, out: Path, benches: Sequence[Benchmark], pass_rates: Mapping[str, float] | None,
                judge: Judge | None, settings: dict[str, Any], engine: Any | None,
                progress: Progress | None) -> dict[str, Any]:
    fresh = config.new_run

    def manifest() -> None:
        write_manifest(out, kind="eval", producer="eval", eval_settings=settings, benchmarks=[b.name for b in benches],
                       config={k: v for k, v in asdict(config).items() if k != "new_run"})

    for tmp in (out / RESPONSES_DIR).glob("*/part-*.parquet.tmp"):  # a shard a killed run was writing
        tmp.unlink(missing_ok=True)
    for old in out.glob(f".{RESPONSES_DIR}.old-*"):  # responses a killed --new-run was discarding
        shutil.rmtree(old, ignore_errors=True)
    if not fresh:
        manifest()
    todo = [(b, [p for p in b.problems if fresh or p["id"] not in finished_ids(bench_dir(out, b.name))])
            for b in benches]
    n_todo = sum(len(t) for _, t in todo)
    started, generated, set_aside, answered_any = time.perf_counter(), 0, 0, False
    if n_todo:
        from vrd.distill.templates import render_prompt

        own = engine is None
        if own:
            from vrd.engines import get_engine

            engine = get_engine(config.backend, config.model, **config.engine_kwargs())
        if fresh:
            _discard_previous(out)
            manifest()
            fresh = False
        try:
            with sigterm_as_interrupt():
                for bench, problems in todo:
                    done = len(bench.problems) - len(problems)
                    if progress:
                        progress(bench.name, done, len(bench.problems))
                    for start in range(0, len(problems), config.batch_size):
                        batch = problems[start:start + config.batch_size]
                        prompts = [render_prompt(p, config.template) for p in batch]
                        outputs = generate_batch(engine, batch, config, prompts, first=not answered_any)
                        failed = failures(bench.name, batch, outputs)
                        check_first_batch(command="eval", failed=len(failed), size=len(batch),
                                          answered_any=answered_any, what=f"{len(batch)} problem(s) of {bench.name}",
                                          first_reason=next(iter(failed.values()), {}).get("reason", ""),
                                          refused=sum(isinstance(o, Exception) and is_refusal(o) for o in outputs))
                        keep = [i for i, p in enumerate(batch) if str(p["id"]) not in failed]
                        if keep:
                            answered_any = True
                            rows = grade_batch([batch[i] for i in keep], [outputs[i] for i in keep],
                                               model=settings["model"], template=config.template, judge=judge,
                                               prompts=[prompts[i] for i in keep])
                            write_shard(rows, next_shard(bench_dir(out, bench.name)), "responses")
                        _append_rejects(out, list(failed.values()))
                        done += len(batch)
                        generated += len(keep)
                        set_aside += len(failed)
                        if progress:
                            progress(bench.name, done, len(bench.problems))
        except KeyboardInterrupt:
            total = sum(len(b.problems) for b in benches)
            saved = sum(len({p["id"] for p in b.problems} & finished_ids(bench_dir(out, b.name))) for b in benches)
            raise EvalInterrupted(f"interrupted: {saved} of {total} problem(s) are answered and saved in "
                                  f"{out / RESPONSES_DIR}; rerun the same command to resume") from None
        finally:
            if own and engine is not None:
                engine.close()
    if fresh:  # nothing to generate (no problems): still a new run
        _discard_previous(out)
        manifest()
    _compact_rejects(out)
    results = compute_results(out, benches, config, pass_rates, judge)
    results["n_errors"] = sum(s.get("n_errors", 0) for s in results["benchmarks"].values())
    results["last_run"] = {"problems_generated": generated, "problems_set_aside": set_aside,
                           "problems_skipped": sum(len(b.problems) for b in benches) - generated - set_aside,
                           "seconds": round(time.perf_counter() - started, 3)}
    write_results(results, out)
    write_manifest(out / RESPONSES_DIR, kind="responses",
                   rows=sum(s["n_responses"] for s in results["benchmarks"].values()))
    return results
