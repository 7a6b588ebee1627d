"""`--executor ray`: Ray Data over problem blocks, an actor pool with one engine per actor.

Why not `ray.data.llm`: its processors keep only the first of the `n` outputs of a request,
and rejection sampling needs all `n` samples of every problem (plus verification and the
per-problem pass rates over rounds). So vrd runs its own callable-class actor, which builds the
engine once in `__init__` and runs `vrd.distill.loop.distill_batch` (the same code as the
local executor) on each block of problems.

Who writes: the actors return slim outcomes (no images; just the kept samples and counts) and
the driver commits them into the store. A single writer keeps the done-markers, the shard
sequence and the progress bar simple; it works on clusters without a shared filesystem; and a
`kill -9` of the driver loses only the blocks in flight, exactly as in the local executor. The
cost, shipping the kept text back, is small next to generation.

Problems travel as pickled payloads rather than Arrow columns, so blocks whose `choices` are
all empty (inferred `list<null>`) never clash with blocks that have choices.

A setup failure in an actor (bad key, dead server before that actor answered anything; see
`vrd.engines.failures`) is not raised there, where Ray would retry the task and then wrap it in a
traceback: the actor returns it as the block's one outcome, and the driver raises it as is.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vrd.distill.config import DistillConfig
from vrd.distill.loop import ProblemOutcome, distill_batch
from vrd.engines.failures import is_setup
from vrd.errors import EnvironmentNotReadyError


class DistillActor:
    """One engine per actor, constructed once; called with a block of pickled problems."""

    def __init__(self, config: DistillConfig) -> None:
        from vrd.engines import get_engine

        self.config = config
        self.engine = get_engine(config.backend, config.teacher, **config.engine_kwargs())
        self.answered = False  # this actor's engine answered a request: a later whole-batch failure is not fatal

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        problems = [pickle.loads(blob) for blob in batch.column("payload").to_pylist()]
        try:
            outcomes: list[Any] = distill_batch(self.engine, problems, self.config, first=not self.answered)
        except Exception as exc:  # noqa: BLE001 - only the stops travel back; anything else is raised
            if not is_setup(exc):
                raise
            return pa.table({"id": pa.array([""], pa.string()), "outcome": pa.array([pickle.dumps(exc)], pa.binary())})
        self.answered = self.answered or any(o.answered for o in outcomes)
        return pa.table({
            "id": pa.array([o.id for o in outcomes], pa.string()),
            "outcome": pa.array([pickle.dumps(o) for o in outcomes], pa.binary()),
        })


def _engine_description(config: DistillConfig, actors: int, num_cpus: float, num_gpus: float) -> dict[str, Any]:
    return {"engine": config.backend or "auto", "model": config.teacher, "executor": "ray", "actors": actors,
            "num_cpus_per_actor": num_cpus, "num_gpus_per_actor": num_gpus}


def _with_planned_tensor_parallel(config: DistillConfig, gpus: int) -> DistillConfig:
    """For vllm: the smallest tensor-parallel size that fits the teacher, so that each actor gets that
    many GPUs and the rest of the cluster holds replicas (an actor sees only its own GPUs)."""
    if config.resolved_backend() != "vllm":
        return config
    from vrd.engines.vllm import gpu_memory_bytes, model_shape, plan_tensor_parallel
    from vrd.models.teachers import resolve_teacher

    target, spec = resolve_teacher(config.teacher)
    heads, weight_bytes = model_shape(target, spec)
    tp = plan_tensor_parallel(heads, weight_bytes, gpu_memory_bytes(), gpus).tensor_parallel_size
    return dataclasses.replace(config, engine_options={**config.engine_options, "tensor_parallel_size": tp})


def run_ray(config: DistillConfig, problems: Sequence[Mapping[str, Any]],
            on_outcomes: Callable[[list[ProblemOutcome]], None]) -> dict[str, Any]:
    """Distill `problems` on Ray; `on_outcomes` is called on the driver for each finished block.

    Uses the running Ray (e.g. a test's `ray.init(num_cpus=2)`) or the one at `ray_address` /
    `RAY_ADDRESS`, else starts a local one, which it shuts down at the end.
    """
    try:
        import ray
        import ray.data  # noqa: F401 - ray without the [data] extra fails here
    except ImportError as exc:
        raise EnvironmentNotReadyError(f"--executor ray needs Ray Data ({exc}); install it with `pip install 'vrd[ray]'` "
                       "or use --executor local (optionally with --shard I/N per machine)") from exc

    started_here = False
    if not ray.is_initialized():
        ray.init(address=config.ray_address, include_dashboard=False, log_to_driver=False)
        started_here = True
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # vrd's own bar shows problems, samples/s and acceptance
        resources = ray.cluster_resources()
        gpus = float(resources.get("GPU", 0))
        # A tensor-parallel engine needs its tensor_parallel_size GPUs in its actor, not Ray's default of one.
        if gpus and config.ray_num_gpus is None and "tensor_parallel_size" not in config.engine_options:
            config = _with_planned_tensor_parallel(config, int(gpus))
        tp = float(config.engine_options.get("tensor_parallel_size") or 1)
        num_gpus = config.ray_num_gpus if config.ray_num_gpus is not None else (tp if gpus else 0.0)
        num_cpus = config.ray_num_cpus if config.ray_num_cpus is not None else 1.0
        if config.ray_actors:
            actors = int(config.ray_actors)
        elif num_gpus:
            actors = max(1, int(gpus // num_gpus))
        else:
            actors = 1
        blocks = max(1, math.ceil(len(problems) / config.batch_size))
        items = [{"id": str(p["id"]), "payload": pickle.dumps(dict(p))} for p in problems]
        dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            DistillActor,
            fn_constructor_kwargs={"config": config},
            batch_size=config.batch_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=num_cpus,
            num_gpus=num_gpus or None,
        )
        for block in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            outcomes = [pickle.loads(blob) for blob in block.column("outcome").to_pylist()]
            stop = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if stop is not None:
                raise stop
            on_outcomes(outcomes)
        return _engine_description(config, actors, num_cpus, num_gpus)
    finally:
        if started_here:
            ray.shutdown()
