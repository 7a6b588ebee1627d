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


@dataclass
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 1024
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


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

    def close(self) -> None:  # noqa: B027 - an optional hook, not an abstract method
        """Release GPUs, servers or sessions. Safe to call twice."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
