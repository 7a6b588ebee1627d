"""The one interface every generation backend implements.

A request is the rendered user text (with one `<image>` mark per image) plus the decoded
images; an engine returns `n` completions per request. Keeping the request in this
neutral form lets the same distill/eval code drive transformers, vLLM or an HTTP server.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from vrd.contract import IMAGE_MARK
from vrd.errors import ConfigError


@dataclass
class GenerationRequest:
    prompt: str
    images: list[Any] = field(default_factory=list)  # PIL images, in `<image>` order
    system: str | None = None

    def content_parts(self) -> list[dict[str, Any]]:
        """User content as chat parts, images placed where the `<image>` marks are.

        Images without a mark (a source that forgot them) go first, as Qwen's own examples do.
        """
        parts: list[dict[str, Any]] = []
        pieces = self.prompt.split(IMAGE_MARK)
        n_marks = len(pieces) - 1
        leading = self.images[: max(0, len(self.images) - n_marks)]
        marked = self.images[len(leading):]
        for img in leading:
            parts.append({"type": "image", "image": img})
        for i, text in enumerate(pieces):
            if text.strip():
                parts.append({"type": "text", "text": text.strip()})
            if i < len(marked):
                parts.append({"type": "image", "image": marked[i]})
        return parts

    def messages(self) -> list[dict[str, Any]]:
        """HF-style chat messages (image parts carry PIL images)."""
        msgs: list[dict[str, Any]] = []
        if self.system:
            msgs.append({"role": "system", "content": [{"type": "text", "text": self.system}]})
        msgs.append({"role": "user", "content": self.content_parts()})
        return msgs


# Number options the engines read alike (a backend that does not take one refuses it by name when it
# is built): (type, lowest, lowest excluded, highest). Checked when a run's settings are read, so
# `batch_size=nan` or `max_pixels=-5` is one line before any model loads, not a ValueError later.
NUMBER_OPTIONS: dict[str, tuple[type, float, bool, float | None]] = {
    "batch_size": (int, 1, False, None), "max_pixels": (int, 28 * 28, False, None),
    "min_pixels": (int, 28 * 28, False, None), "concurrency": (int, 1, False, None),
    "max_concurrency": (int, 1, False, None), "max_retries": (int, 0, False, None), "timeout": (float, 0, True, None),
    "backoff_base": (float, 0, False, None), "backoff_max": (float, 0, False, None),
    "max_retry_after": (float, 0, False, None), "tensor_parallel_size": (int, 1, False, None),
    "gpu_memory_utilization": (float, 0, True, 1.0), "max_num_seqs": (int, 1, False, None),
}


def check_engine_options(options: dict[str, Any], flag: str = "--engine-option") -> None:
    """The number options of `options` (see NUMBER_OPTIONS), converted in place or refused by name."""
    from vrd.config import _shape, check_number

    for key, (kind, low, low_open, high) in NUMBER_OPTIONS.items():
        if options.get(key) is None:
            continue
        value = _shape(key, kind, options[key], f"{flag} ")
        check_number(f"{flag} {key}", value, at_least=None if low_open else low, above=low if low_open else None,
                     at_most=high)
        options[key] = value


MAX_TEMPERATURE = 2.0  # vLLM refuses more ("temperature must be in [0, 2]"), as the OpenAI API does


@dataclass
class SamplingParams:
    """One sampling distribution, which every engine sets explicitly.

    Each field is sent to every backend even at its neutral value: a checkpoint's
    generation config (Qwen ships `repetition_penalty` 1.05, some `top_k` 1) would otherwise
    fill whatever a request leaves out, differently in transformers, vLLM and `vllm serve`.
    `top_k` 0 means no top-k cut; `repetition_penalty` 1.0 means none.
    """

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 1024
    seed: int | None = None
    top_k: int = 0
    repetition_penalty: float = 1.0

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    def validate(self) -> SamplingParams:
        """The ranges every backend accepts (vLLM's are the narrowest), as one clear error."""
        checks = [
            (isinstance(self.n, int) and self.n >= 1, f"n={self.n}: must be an integer >= 1"),
            (0.0 <= self.temperature <= MAX_TEMPERATURE,
             f"temperature {self.temperature}: must be in [0, {MAX_TEMPERATURE:g}] (0 = greedy)"),
            (0.0 < self.top_p <= 1.0, f"top_p {self.top_p}: must be in (0, 1]"),
            (isinstance(self.top_k, int) and self.top_k >= 0, f"top_k {self.top_k}: must be an integer >= 0 (0 = off)"),
            (self.repetition_penalty > 0.0, f"repetition_penalty {self.repetition_penalty}: must be > 0 (1 = off)"),
            (self.max_new_tokens >= 1, f"max_new_tokens {self.max_new_tokens}: must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"sampling: {message}")
        return self

    def record(self) -> dict[str, Any]:
        """The distribution as the manifest records it (greedy runs use no top_p/top_k)."""
        return {"temperature": float(self.temperature), "top_p": float(self.top_p), "top_k": int(self.top_k),
                "repetition_penalty": float(self.repetition_penalty), "seed": self.seed,
                "max_new_tokens": int(self.max_new_tokens)}


@dataclass
class Completion:
    text: str
    n_tokens: int
    finish_reason: str  # "stop" | "length" | "error"


class Engine(abc.ABC):
    """A generation backend. Subclasses are registered by name in `vrd.engines.ENGINES`."""

    name: str = "base"

    def __init__(self, model: str, **options: Any) -> None:
        self.model = model
        self.options = options

    @abc.abstractmethod
    def generate(self, requests: list[GenerationRequest], params: SamplingParams) -> list[list[Completion]]:
        """Return `params.n` completions for each request, in request order."""

    def describe(self) -> dict[str, Any]:
        """JSON-safe settings for a run's manifest (never secrets); backends add their own."""
        return {"engine": self.name, "model": str(self.model)}

    def close(self) -> None:  # noqa: B027 - an optional hook, not an abstract method
        """Release GPUs, servers or sessions. Safe to call twice."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
