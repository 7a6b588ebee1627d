"""Every option of a distill run in one dataclass, and the hash that decides whether a rerun resumes.

The hash covers only what changes the *content* of the output (teacher, data, sampling,
template, keep/rounds, seed). Options that change how the work is spread or shown are left
out on purpose, so that resuming under them is allowed:

- `shard`: the shards of one run write into one store, each with the same hash;
- `limit`: it picks a prefix of the (deterministically ordered) problems, and every problem's
  output is independent of which others are in the run, so raising `--limit` extends a run;
- `executor`, `batch_size`, `progress`, ray placement, `backend`/`base_url`: how and where
  the same model is sampled. (An HF and a vLLM sampler draw from the same distribution but
  give different bytes; a run may legitimately switch from one machine to another.)
Engine options are hashed except those known to only tune throughput or transport.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vrd.errors import VrdError

# Engine options that do not change what is sampled.
NON_RESULT_ENGINE_OPTIONS = frozenset({
    "batch_size", "concurrency", "max_concurrency", "timeout", "max_retries", "retries", "device",
    "tensor_parallel_size", "gpu_memory_utilization", "api_key_env", "base_url", "max_num_seqs",
    "enforce_eager", "backoff", "backoff_base", "backoff_max", "max_retry_after", "on_error", "send_n",
})

RESULT_FIELDS = (
    "teacher", "data_id", "samples", "keep", "rounds", "temperature", "top_p", "max_new_tokens",
    "template", "system", "seed",
)


def parse_keep(value: str | int | None) -> int | None:
    """`--keep M|all` -> M, or None for all."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "all"):
        return None
    try:
        keep = int(value)
    except (TypeError, ValueError) as exc:
        raise VrdError(f"--keep '{value}': expected a positive integer or 'all'") from exc
    if keep < 1:
        raise VrdError(f"--keep {keep}: must be at least 1 (or 'all')")
    return keep


@dataclass
class DistillConfig:
    teacher: str
    data: str
    out: str
    backend: str | None = None  # None = the machine's default engine
    base_url: str | None = None
    samples: int = 4
    keep: int | None = 1  # None = keep every sample ("all"): how base-model rollouts are made
    rounds: int = 1
    temperature: float = 1.0  # plain sampling keeps pass rates an honest difficulty estimate
    top_p: float = 1.0
    max_new_tokens: int = 2048
    template: str = "math"
    system: str | None = None
    seed: int = 0
    shard: str | None = None
    limit: int | None = None
    split: str | None = None  # for --data SOURCE
    source_path: str | None = None  # for --data SOURCE: a local copy instead of the hub id
    executor: str = "local"
    batch_size: int = 32  # problems per committed batch: kill -9 loses at most one
    engine_options: dict[str, Any] = field(default_factory=dict)
    ray_actors: int | None = None
    ray_num_cpus: float | None = None
    ray_num_gpus: float | None = None
    ray_address: str | None = None
    progress: bool = True
    new_run: bool = False
    data_id: str | None = None  # filled when the data is loaded: what the problems are

    def validate(self) -> DistillConfig:
        from vrd.distill.sharding import parse_shard

        checks = [
            (self.samples >= 1, f"--samples {self.samples}: must be at least 1"),
            (self.rounds >= 1, f"--rounds {self.rounds}: must be at least 1"),
            (self.max_new_tokens >= 1, f"--max-new-tokens {self.max_new_tokens}: must be at least 1"),
            (self.temperature >= 0, f"--temperature {self.temperature}: must be >= 0"),
            (0 < self.top_p <= 1, f"--top-p {self.top_p}: must be in (0, 1]"),
            (self.batch_size >= 1, f"--batch-size {self.batch_size}: must be at least 1"),
            (self.limit is None or self.limit >= 0, f"--limit {self.limit}: must be >= 0"),
            (self.executor in ("local", "ray"), f"--executor '{self.executor}': expected local or ray"),
        ]
        for ok, message in checks:
            if not ok:
                raise VrdError(message)
        if self.keep is not None:
            parse_keep(self.keep)
        parse_shard(self.shard)
        return self

    def model_name(self) -> str:
        """The `model` column: the resolved teacher (hub id or absolute local path)."""
        return self.teacher

    def engine_kwargs(self) -> dict[str, Any]:
        options = dict(self.engine_options)
        if self.base_url:
            options["base_url"] = self.base_url
        return options

    def template_identity(self) -> str:
        """A user template is identified by its content, so moving the file keeps the hash."""
        path = Path(self.template)
        if path.suffix in (".jinja", ".j2", ".txt") and path.is_file():
            return "file:sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        return self.template

    def result_settings(self) -> dict[str, Any]:
        """The settings that decide the output's content; see the module docstring."""
        if self.data_id is None:
            raise VrdError("internal: the config hash needs the data to be loaded first (data_id)")
        settings: dict[str, Any] = {name: getattr(self, name) for name in RESULT_FIELDS}
        settings["keep"] = "all" if self.keep is None else int(self.keep)
        settings["template"] = self.template_identity()
        settings["temperature"] = float(self.temperature)
        settings["top_p"] = float(self.top_p)
        settings["engine_options"] = {
            k: v for k, v in sorted(self.engine_options.items()) if k not in NON_RESULT_ENGINE_OPTIONS
        }
        return json.loads(json.dumps(settings, default=str))

    def config_hash(self) -> str:
        blob = json.dumps(self.result_settings(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """Every option, JSON-safe, for the manifest (engine options may carry no secrets: keys come
        from the environment only)."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))


def diff_settings(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable `name: old -> new` lines for the refusal message."""
    lines = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            lines.append(f"{key}: {old.get(key, '<unset>')!r} -> {new.get(key, '<unset>')!r}")
    return lines
