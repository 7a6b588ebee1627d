"""Generation backends behind one interface, picked by name.

`get_engine(None, model)` chooses vLLM where it can run (importable, CUDA GPU present) and
transformers otherwise, so the same command works on a laptop and on a GPU node.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from vrd.engines.base import Completion, Engine, GenerationRequest, SamplingParams
from vrd.engines.hf import HFEngine
from vrd.engines.openai import OpenAIEngine
from vrd.engines.vllm import VLLMEngine
from vrd.errors import unknown_name

ENGINES: dict[str, type[Engine]] = {"hf": HFEngine, "openai": OpenAIEngine, "vllm": VLLMEngine}


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def vllm_importable() -> bool:
    return importlib.util.find_spec("vllm") is not None


def default_engine_name() -> str:
    """"vllm" when it can actually run here, else "hf"."""
    return "vllm" if vllm_importable() and cuda_available() else "hf"


def get_engine(name: str | None, model: str, **options: Any) -> Engine:
    """Build engine `name` (None/"auto" = the default for this machine) for `model`."""
    key = default_engine_name() if name in (None, "", "auto") else str(name).lower()
    if key not in ENGINES:
        raise unknown_name("engine", str(name), [*ENGINES, "auto"])
    return ENGINES[key](model, **options)


def describe_engine(engine: Engine) -> dict[str, Any]:
    """JSON-safe settings for a manifest; never includes secrets."""
    describe = getattr(engine, "describe", None)
    if callable(describe):
        return describe()
    return {"engine": engine.name, "model": str(engine.model)}


__all__ = [
    "ENGINES",
    "Completion",
    "Engine",
    "GenerationRequest",
    "HFEngine",
    "OpenAIEngine",
    "SamplingParams",
    "VLLMEngine",
    "default_engine_name",
    "describe_engine",
    "get_engine",
]
