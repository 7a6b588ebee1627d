"""Distill: rejection sampling from a teacher into a resumable, shardable response store.

Names are imported lazily so that `vrd.distill.templates` (used by eval and the trainers)
does not pull in the store and the engines.
"""

from __future__ import annotations

from vrd import _callable_package
from vrd.registry import lazy_exports

_EXPORTS = {
    "DistillConfig": "vrd.distill.config",
    "parse_keep": "vrd.distill.config",
    "distill_batch": "vrd.distill.loop",
    "response_rows": "vrd.distill.loop",
    "ProblemOutcome": "vrd.distill.loop",
    "run_distill": "vrd.distill.runner",
    "DistillSummary": "vrd.distill.runner",
    "DistillInterrupted": "vrd.distill.runner",
    "ShardStore": "vrd.distill.store",
    "check_unique": "vrd.distill.store",
    "read_rejects": "vrd.distill.store",
    "ConfigMismatchError": "vrd.distill.store",
    "parse_shard": "vrd.distill.sharding",
    "shard_of": "vrd.distill.sharding",
    "select_shard": "vrd.distill.sharding",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)

_callable_package(__name__)  # `vrd.distill(inputs, out, config)` is the API function (see vrd/__init__.py)
