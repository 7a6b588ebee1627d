"""Rejection sampling over one batch of problems: all rounds, then the rows to keep.

A batch is the unit of work and of commit: every problem in it runs all its rounds before
anything is written, because a row carries its problem's pass rate over all rounds. The same
function runs in the local loop and inside each Ray actor, so both executors keep alike.

Engine failures: a request that fails (after the batch is retried one request at a time) sets
only its problem aside, to be retried by a rerun. A failure that says the setup is wrong (a
configuration error, HTTP 401/403/404, or, before anything in the run was answered, a whole batch
failing, unless the server refused each request on its own merits, or its first two requests
failing alone alike, unable to reach the server) raises `EngineFailedError` and stops the run:
the rule is `vrd.engines.failures`, shared with eval.

Seeds: engines take one seed per call, so each call's seed is derived from the base seed, the
round and the ids of the problems in it. A problem re-sampled in round r therefore gets a fresh,
reproducible stream, and no two rounds share one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vrd.distill.config import DistillConfig
from vrd.distill.store import ProblemRecord
from vrd.distill.templates import render_prompt, template_format
from vrd.engines.base import Completion, Engine, GenerationRequest, SamplingParams
from vrd.engines.failures import check_first_batch, failure_reason, generate_each, is_refusal
from vrd.errors import VrdError
from vrd.schema import PROBLEM_COLUMNS, load_image


def problem_seed(base_seed: int, round_: int, problem_id: str) -> int:
    """A 31-bit seed (every API accepts it) for one problem in one round."""
    digest = hashlib.blake2b(f"{base_seed}:{round_}:{problem_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


def call_seed(base_seed: int, round_: int, problem_ids: Sequence[str]) -> int:
    """The seed of one engine call: a function of its problems' own seeds, not of their order."""
    seeds = sorted(problem_seed(base_seed, round_, pid) for pid in problem_ids)
    digest = hashlib.blake2b(",".join(map(str, seeds)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


@dataclass
class Sample:
    round: int
    sample: int
    text: str
    n_tokens: int
    finish_reason: str
    pred: str | None
    correct: bool
    format_ok: bool


@dataclass
class ProblemOutcome:
    """One problem after all its rounds. Holds no images, so Ray actors can ship it back cheaply."""

    id: str
    prompt: str
    kept: list[Sample]
    record: ProblemRecord
    rejects: list[dict[str, Any]] = field(default_factory=list)
    done: bool = True  # False: an engine failure; the problem is left for a rerun
    answered: bool = False  # the engine gave it a usable completion (the run's server works)


@dataclass
class _State:
    problem: Mapping[str, Any]
    prompt: str
    request: GenerationRequest
    samples: list[Sample] = field(default_factory=list)
    generated: int = 0
    failed: bool = False
    answered: bool = False
    rejects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.problem["id"])

    def solved(self) -> bool:
        return any(s.correct for s in self.samples)


def _reject(problem_id: str, stage: str, kind: str, reason: str, round_: int | None = None,
            sample: int | None = None) -> dict[str, Any]:
    """`kind` input = permanent (the problem counts as done); engine = retried by a rerun."""
    return {"id": problem_id, "stage": stage, "kind": kind, "round": round_, "sample": sample, "reason": reason}


def _generate(engine: Engine, states: list[_State], params: SamplingParams, *,
              first: bool) -> list[list[Completion] | Exception]:
    """One call for the batch; if it fails, one call per request so a bad request only costs itself."""
    out = generate_each(engine, [s.request for s in states], params, command="distill", first=first)
    if len(out) != len(states):
        raise VrdError(f"engine '{engine.name}' returned {len(out)} results for {len(states)} requests")
    return out


def _verify(items: list[dict[str, Any]]) -> list[Any]:
    """Verdicts in item order; an item the verifier rejects outright gets its exception instead."""
    from vrd.verify import verify_batch

    if not items:
        return []
    try:
        return verify_batch(items)
    except (ValueError, KeyError, TypeError):
        verdicts: list[Any] = []
        for item in items:
            try:
                verdicts.extend(verify_batch([item]))
            except (ValueError, KeyError, TypeError) as exc:
                verdicts.append(exc)
        return verdicts


def _prepare(problem: Mapping[str, Any], config: DistillConfig) -> _State:
    prompt = render_prompt(problem, config.template)
    images = [load_image(im) for im in problem.get("images") or []]
    return _State(problem, prompt, GenerationRequest(prompt, images, config.system))


def distill_batch(engine: Engine, problems: Sequence[Mapping[str, Any]], config: DistillConfig, *,
                  first: bool = False) -> list[ProblemOutcome]:
    """Sample, verify and select for a batch of problems; one outcome per problem, in order.

    `first`: nothing in this run was answered yet, so a call whose every request fails stops the
    run (EngineFailedError) instead of setting the batch aside.
    """
    fmt = template_format(config.template)
    outcomes: dict[str, ProblemOutcome] = {}
    states: list[_State] = []
    for problem in problems:
        try:
            states.append(_prepare(problem, config))
        except Exception as exc:  # noqa: BLE001 - a corrupt image or row is set aside, the run goes on
            pid = str(problem["id"])
            outcomes[pid] = ProblemOutcome(
                pid, "", [], ProblemRecord(pid, 0, 0, 0, 0, 0, 0, status="rejected"),
                [_reject(pid, "input", "input", f"{type(exc).__name__}: {exc}")], done=True,
            )

    active = list(states)
    for round_ in range(1, config.rounds + 1):
        if not active:
            break
        params = config.sampling_params(seed=call_seed(config.seed, round_, [s.id for s in active]))
        pending: list[tuple[_State, int, Completion]] = []
        results = _generate(engine, active, params, first=first)
        for state, result in zip(active, results, strict=True):
            if isinstance(result, Exception):
                state.failed = True
                state.rejects.append(_reject(state.id, "generate", "engine", failure_reason(result), round_))
                continue
            valid = 0
            for index, completion in enumerate(result[: config.samples]):
                state.generated += 1
                if completion.finish_reason == "error":
                    state.rejects.append(_reject(state.id, "generate", "engine", completion.text or "engine error",
                                                 round_, index))
                    continue
                pending.append((state, index, completion))
                valid += 1
            if valid == 0:
                state.failed = True
                if not result:
                    state.rejects.append(_reject(state.id, "generate", "engine", "no completions returned", round_))
            else:
                state.answered = True
        if first:
            failed = [s for s in active if s.failed]
            check_first_batch(command="distill", failed=len(failed), size=len(active), answered_any=False,
                              what=f"{len(active)} problem(s)",
                              first_reason=failed[0].rejects[-1]["reason"] if failed and failed[0].rejects else "",
                              refused=sum(isinstance(r, Exception) and is_refusal(r) for r in results))
            first = False
        verdicts = _verify([
            {"response": c.text, "answer": s.problem["answer"], "choices": list(s.problem.get("choices") or []),
             "answer_type": s.problem.get("answer_type"), "template": fmt}
            for s, _, c in pending
        ])
        for (state, index, completion), verdict in zip(pending, verdicts, strict=True):
            if isinstance(verdict, Exception):
                state.rejects.append(_reject(state.id, "verify", "input", f"{type(verdict).__name__}: {verdict}",
                                             round_, index))
                continue
            state.samples.append(Sample(round_, index, completion.text, int(completion.n_tokens),
                                        completion.finish_reason, verdict.pred, bool(verdict.correct),
                                        bool(verdict.format_ok)))
        active = [s for s in active if not s.failed and not s.solved()]

    for state in states:
        outcomes[state.id] = _outcome(state, config)
    return [outcomes[str(p["id"])] for p in problems]


def _outcome(state: _State, config: DistillConfig) -> ProblemOutcome:
    samples = state.samples
    first = [s for s in samples if s.round == 1]
    kept = list(samples) if config.keep is None else [s for s in samples if s.correct][: config.keep]
    record = ProblemRecord(
        state.id, n_samples=len(samples), n_correct=sum(s.correct for s in samples),
        n_samples_r1=len(first), n_correct_r1=sum(s.correct for s in first),
        generated=state.generated, kept=0 if state.failed else len(kept),
    )
    if state.failed:
        return ProblemOutcome(state.id, state.prompt, [], record, state.rejects, done=False,
                              answered=state.answered)
    return ProblemOutcome(state.id, state.prompt, kept, record, state.rejects, done=True, answered=state.answered)


def response_rows(problem: Mapping[str, Any], outcome: ProblemOutcome, model: str,
                  system: str | None = None) -> list[dict[str, Any]]:
    """The rows to store for a finished problem: its columns, one kept sample, its aggregates.

    `system` is the system prompt the teacher saw; it is stored so an export trains the student
    with the same one.
    """
    rec = outcome.record
    base = {c: problem[c] for c in PROBLEM_COLUMNS}
    aggregates = {
        "n_samples": rec.n_samples,
        "n_correct": rec.n_correct,
        "pass_rate": rec.n_correct / rec.n_samples if rec.n_samples else 0.0,
        "n_samples_r1": rec.n_samples_r1,
        "n_correct_r1": rec.n_correct_r1,
        "pass_rate_r1": rec.n_correct_r1 / rec.n_samples_r1 if rec.n_samples_r1 else 0.0,
    }
    return [
        {**base, "model": model, "round": s.round, "sample": s.sample, "prompt": outcome.prompt,
         "response": s.text, "pred": s.pred, "correct": s.correct, "format_ok": s.format_ok,
         "n_tokens": s.n_tokens, "finish_reason": s.finish_reason, **aggregates, "system": system or None}
        for s in outcome.kept
    ]
