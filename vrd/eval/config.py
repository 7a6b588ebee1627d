"""`vrd eval` settings: light to import, so the CLI can build its flags without loading the runner."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vrd.config import Config, seed_setting, setting
from vrd.errors import ConfigError

# Engine options that only tune speed or transport; everything else may change what is sampled.
NON_RESULT_ENGINE_OPTIONS = frozenset({"batch_size", "concurrency", "max_concurrency", "timeout", "max_retries",
                                       "device", "tensor_parallel_size", "gpu_memory_utilization", "base_url",
                                       "api_key_env", "max_num_seqs", "enforce_eager"})
RESULT_FIELDS = ("model", "samples", "template", "temperature", "top_p", "max_new_tokens", "system", "seed",
                 "judge_model")


@dataclass
class EvalConfig(Config):
    """Every option of `vrd eval`; `result_settings` is the part a resumed run must share."""

    model: str = setting(flags=("--model", "-m"), help="Model: teacher alias, hub id or local folder.")
    benchmarks: list[str] = setting(
        flags=("--benchmarks", "-b"), cli_type=str,
        help="Comma-separated: mathvista, mathverse, mathvision[:testmini], wemath, math500, gpqa, mmlu, "
             "or a vrd problems folder.")
    backend: str | None = setting(None, help="hf | openai | vllm | auto (default: vllm with a GPU, else hf).")
    base_url: str | None = setting(None, help="Server URL for --backend openai.")
    limit: int | None = setting(None, help="First N problems of each benchmark.")
    samples: int = setting(1, flags=("--samples", "-k"), help="Samples per problem (accuracy = mean; pass@k too).")
    template: str = setting("math", help="math | r1v | easyr1-math | easyr1-r1v | none | PATH.jinja.")
    # greedy: an eval number should not depend on luck
    temperature: float = setting(0.0, help="Sampling temperature (0 = greedy).")
    top_p: float = setting(1.0, help="Nucleus sampling mass.")
    max_new_tokens: int = setting(2048, help="Max completion tokens.")
    system: str | None = setting(None, help="System prompt.")
    seed: int = seed_setting("Sampling seed.")
    batch_size: int = setting(16, help="Problems per written shard.")
    paths: dict[str, str] = setting(default_factory=dict, flags=("--path",), cli_type=list[str],
                                    help="NAME=DIR: a local copy of a benchmark (raw files or a vrd problems "
                                         "folder). Repeatable.")
    rollouts: str | None = setting(None, help="Base-model rollouts (vrd responses) for accuracy by base "
                                              "pass-rate bin.")
    # difficulty scheme for accuracy by base pass rate (vrd.difficulty)
    bins: str = setting("synergy", help="Difficulty levels for --rollouts: synergy (L1-L5) | fixed | quantile | "
                                        "edges:A,B,...")
    judge_url: str | None = setting(None, help="OpenAI-compatible URL of an LLM judge, asked only when no answer "
                                               "is found by rule.")
    judge_model: str | None = setting(None, help="Judge model name.")
    engine_options: dict[str, Any] = setting(default_factory=dict, flags=("--engine-option",),
                                             help="KEY=VALUE passed to the engine (repeatable; YAML scalars, "
                                                  "e.g. max_pixels=200704).")
    new_run: bool = setting(False, help="Discard responses already in --out and start over.")

    def __post_init__(self) -> None:
        if isinstance(self.benchmarks, str):
            self.benchmarks = [b.strip() for b in self.benchmarks.split(",") if b.strip()]
        self.benchmarks = list(self.benchmarks)
        if isinstance(self.paths, list | tuple):
            from vrd.eval.data import parse_paths

            self.paths = parse_paths([str(p) for p in self.paths])
        from vrd.engines.base import MAX_TEMPERATURE

        checks = [
            (bool(self.model.strip()), "--model: give a teacher alias, hub id or local folder"),
            (bool(self.benchmarks), "--benchmarks: name at least one benchmark"),
            (self.samples >= 1, f"--samples {self.samples}: must be at least 1"),
            (self.max_new_tokens >= 1, f"--max-new-tokens {self.max_new_tokens}: must be at least 1"),
            (0 <= self.temperature <= MAX_TEMPERATURE,
             f"--temperature {self.temperature}: must be in [0, {MAX_TEMPERATURE:g}] (vLLM and the OpenAI API "
             "refuse more; 0 = greedy)"),
            (self.samples == 1 or self.temperature > 0,
             f"--samples {self.samples} at --temperature 0 would be {self.samples} copies of one greedy answer, "
             "not pass@k; set --temperature (e.g. 0.6) or use --samples 1"),
            (0 < self.top_p <= 1, f"--top-p {self.top_p}: must be in (0, 1]"),
            (self.batch_size >= 1, f"--batch-size {self.batch_size}: must be at least 1"),
            (self.limit is None or self.limit >= 1, f"--limit {self.limit}: must be at least 1"),
            (bool(self.judge_url) == bool(self.judge_model), "the LLM judge needs both --judge-url and --judge-model"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        from vrd.difficulty import get_scheme
        from vrd.distill.templates import render_prompt
        from vrd.engines import check_engine_name
        from vrd.eval.data import check_benchmark_names

        render_prompt({"question": "?"}, self.template)  # an unknown template fails before a model loads
        from vrd.engines.base import check_engine_options

        check_engine_name(self.backend)
        check_engine_options(self.engine_options)
        check_benchmark_names(self.benchmarks, self.paths)
        if not self.bins.strip():
            raise ConfigError("--bins: give a difficulty scheme (synergy, fixed, quantile or edges:A,B,...)")
        get_scheme(self.bins, [])

    def model_identity(self) -> str:
        """The `model` column: an existing local folder by absolute path, else the name as given."""
        p = Path(self.model).expanduser()
        return str(p.resolve()) if p.exists() else self.model

    def template_identity(self) -> str:
        p = Path(self.template)
        if p.is_file():
            return "file:sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()[:16]
        return self.template

    def result_settings(self) -> dict[str, Any]:
        settings = {name: getattr(self, name) for name in RESULT_FIELDS}
        settings["model"] = self.model_identity()
        settings["template"] = self.template_identity()
        settings["temperature"] = float(self.temperature)
        settings["top_p"] = float(self.top_p)
        settings["engine_options"] = {k: v for k, v in sorted(self.engine_options.items())
                                      if k not in NON_RESULT_ENGINE_OPTIONS}
        return json.loads(json.dumps(settings, default=str))

    def engine_kwargs(self) -> dict[str, Any]:
        options = dict(self.engine_options)
        if self.base_url:
            options["base_url"] = self.base_url
        return options


@dataclass
class CompareConfig(Config):
    """What `vrd eval compare` shows and writes besides the table."""

    breakdown: bool = setting(True, help="Show subsets and difficulty.")
    plot: str | None = setting(None, help="Write the paper's figures to this folder: accuracy by level per method, "
                                          "length by method, accuracy vs length.")
