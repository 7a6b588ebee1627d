"""Every option of a distill run in one dataclass, and the hash that decides whether a rerun resumes.

The hash covers only what changes the *content* of the output (teacher, data, sampling,
backend, template, keep/rounds, seed). Options that change how the work is spread or shown
are left out on purpose, so that resuming under them is allowed:

- `shard`: the shards of one run write into one store, each with the same hash;
- `limit`: it picks a prefix of the (deterministically ordered) problems, and every problem's
  output is independent of which others are in the run, so raising `--limit` extends a run;
- `executor`, `batch_size`, `progress`, ray placement, `base_url`: how and where the same
  engine is driven.

The backend *is* hashed: every engine is sent the same explicit distribution (temperature,
top_p, top_k, repetition_penalty, seed; see `vrd.engines.base.SamplingParams`), but the
engines' kernels and seeding differ, so an hf run and a vllm run are different samples and
one must not silently continue the other. `auto` is resolved to the engine it picks here.
Engine options are hashed except those known to only tune throughput or transport.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vrd.config import Config, seed_setting, setting
from vrd.errors import ConfigError, VrdError

# Bounds that no cluster reaches; Ray would wait without end for an actor it cannot place.
MAX_RAY_ACTORS = 4096
MAX_RAY_CPUS = 4096
MAX_RAY_GPUS = 64

# Engine options that do not change what is sampled.
NON_RESULT_ENGINE_OPTIONS = frozenset({
    "batch_size", "concurrency", "max_concurrency", "timeout", "max_retries", "retries", "device",
    "tensor_parallel_size", "gpu_memory_utilization", "api_key_env", "base_url", "max_num_seqs",
    "enforce_eager", "backoff", "backoff_base", "backoff_max", "max_retry_after", "on_error", "send_n",
})

RESULT_FIELDS = (
    "teacher", "data_id", "samples", "keep", "rounds", "temperature", "top_p", "top_k", "repetition_penalty",
    "max_new_tokens", "template", "system", "seed", "backend",
)


def parse_keep(value: str | int | None) -> int | None:
    """`--keep M|all` -> M, or None for all."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "all"):
        return None
    try:
        keep = int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"--keep '{value}': expected a positive integer or 'all'") from exc
    if keep < 1:
        raise ConfigError(f"--keep {keep}: must be at least 1 (or 'all')")
    return keep


@dataclass
class DistillConfig(Config):
    """Every option of `vrd distill`; the CLI flags are made from these fields."""

    teacher: str = setting(help="Teacher alias (e.g. qwen2.5-vl-7b), hub id or local dir.")
    data: str = setting("", help="A vrd problems dir, or a source name (prepared on the fly).")
    out: str = setting("", help="Output dir; rerunning the same command resumes it.")
    backend: str | None = setting(None, help="hf | openai | vllm | auto (default: vllm with a GPU, else hf).")
    base_url: str | None = setting(None, help="OpenAI-compatible server URL (--backend openai).")
    samples: int = setting(4, help="Samples drawn per problem per round (K).")
    # None = keep every sample ("all"): how base-model rollouts are made
    keep: int | None = setting(1, cli_type=str, help="Keep up to M correct samples per problem, or 'all'.")
    rounds: int = setting(1, help="Rounds in all; each later round re-samples the problems with no correct "
                                  "sample yet.")
    # plain sampling keeps pass rates an honest difficulty estimate
    temperature: float = setting(1.0, help="Sampling temperature.")
    top_p: float = setting(1.0, help="Nucleus sampling mass.")
    top_k: int = setting(0, help="Top-k cut (0 = none); sent explicitly, so a checkpoint's default cannot apply.")
    repetition_penalty: float = setting(1.0, help="Repetition penalty (1 = none); sent explicitly on every backend.")
    max_new_tokens: int = setting(2048, help="Max completion tokens.")
    template: str = setting("math", help="Prompt template: math | r1v | easyr1-math | easyr1-r1v | none | PATH.jinja.")
    system: str | None = setting(None, help="Optional system prompt.")
    seed: int = seed_setting("Sampling seed.")
    shard: str | None = setting(None, help="I/N (0-based): this process's part of the problems.")
    limit: int | None = setting(None, help="Only the first N problems of the data.")
    split: str | None = setting(None, help="Split, for --data SOURCE.")
    source_path: str | None = setting(None, help="Local copy of the source, for --data SOURCE.")
    executor: str = setting("local", help="local | ray")
    batch_size: int = setting(32, help="Problems per committed batch (kill -9 loses at most one).")
    engine_options: dict[str, Any] = setting(default_factory=dict, flags=("--engine-option",),
                                             help="KEY=VALUE passed to the engine (repeatable; YAML scalars).")
    ray_actors: int | None = setting(None, help="Actor pool size (default: one per GPU, or 1).", at_least=1,
                                     at_most=MAX_RAY_ACTORS)
    # Ray waits without end for an actor no node can place, so an impossible request is refused here
    ray_num_cpus: float | None = setting(None, help="CPUs per Ray actor.", cli=False, at_least=0, at_most=MAX_RAY_CPUS)
    ray_num_gpus: float | None = setting(None, help="GPUs per Ray actor (default: the engine's "
                                                   "tensor_parallel_size option, else 1 where there are GPUs).",
                                         at_least=0, at_most=MAX_RAY_GPUS)
    ray_address: str | None = setting(None, help="Ray cluster address (default: RAY_ADDRESS or local).")
    progress: bool = setting(True, help="Show a progress bar.")
    new_run: bool = setting(False, help="If OUT holds a run with a different config, move it to OUT.prev-<time> "
                                        "and start over (a run with the same config is resumed).")
    data_id: str | None = setting(None, cli=False, help="Filled when the data is loaded: what the problems are.")

    def __post_init__(self) -> None:
        from vrd.distill.sharding import parse_shard
        from vrd.engines.base import MAX_TEMPERATURE

        if isinstance(self.keep, str):
            self.keep = parse_keep(self.keep)
        if not isinstance(self.engine_options, dict):
            raise ConfigError(f"engine_options: expected a mapping, got {type(self.engine_options).__name__}")
        checks = [
            (self.samples >= 1, f"--samples {self.samples}: must be at least 1"),
            (self.rounds >= 1, f"--rounds {self.rounds}: must be at least 1"),
            (self.max_new_tokens >= 1, f"--max-new-tokens {self.max_new_tokens}: must be at least 1"),
            (0 <= self.temperature <= MAX_TEMPERATURE,
             f"--temperature {self.temperature}: must be in [0, {MAX_TEMPERATURE:g}] (vLLM and the OpenAI API "
             "refuse more; 0 = greedy)"),
            (0 < self.top_p <= 1, f"--top-p {self.top_p}: must be in (0, 1]"),
            (self.top_k >= 0, f"--top-k {self.top_k}: must be >= 0 (0 = no cut)"),
            (self.repetition_penalty > 0, f"--repetition-penalty {self.repetition_penalty}: must be > 0 (1 = none)"),
            (self.batch_size >= 1, f"--batch-size {self.batch_size}: must be at least 1"),
            (self.limit is None or self.limit >= 1, f"--limit {self.limit}: must be at least 1"),
            (self.executor in ("local", "ray"), f"--executor '{self.executor}': expected local or ray"),
            (bool(self.teacher.strip()), "--teacher: give a teacher alias, hub id or local folder"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if self.keep is not None:
            parse_keep(self.keep)
        parse_shard(self.shard)
        from vrd.engines import check_engine_name
        from vrd.engines.base import check_engine_options
        from vrd.prompts import get_template

        check_engine_name(self.backend)
        check_engine_options(self.engine_options)
        get_template(self.template)  # an unknown template fails before the teacher loads

    def resolved_backend(self) -> str:
        """The engine name this run uses: `auto`/None resolved the way `get_engine` resolves it."""
        from vrd.engines import default_engine_name

        name = (self.backend or "auto").lower()
        return default_engine_name() if name == "auto" else name

    def sampling_params(self, n: int | None = None, seed: int | None = None) -> Any:
        """The one distribution every backend is sent."""
        from vrd.engines.base import SamplingParams

        return SamplingParams(n=self.samples if n is None else n, temperature=self.temperature, top_p=self.top_p,
                              top_k=self.top_k, repetition_penalty=self.repetition_penalty,
                              max_new_tokens=self.max_new_tokens, seed=self.seed if seed is None else seed)

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
        settings["top_k"] = int(self.top_k)
        settings["repetition_penalty"] = float(self.repetition_penalty)
        settings["backend"] = self.resolved_backend()
        settings["engine_options"] = {
            k: v for k, v in sorted(self.engine_options.items()) if k not in NON_RESULT_ENGINE_OPTIONS
        }
        return json.loads(json.dumps(settings, default=str))

    def config_hash(self) -> str:
        blob = json.dumps(self.result_settings(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]



def diff_settings(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable `name: old -> new` lines for the refusal message."""
    lines = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            lines.append(f"{key}: {old.get(key, '<unset>')!r} -> {new.get(key, '<unset>')!r}")
    return lines
