"""Generation backends behind one interface, picked by name.

`get_engine(None, model)` chooses vLLM where it can run (importable, CUDA GPU present) and
transformers otherwise, so the same command works on a laptop and on a GPU node.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from vrd.engines.base import Completion, Engine, GenerationRequest, SamplingParams
from vrd.errors import unknown_name
from vrd.registry import load_entry

# "module:Class", imported on lookup (see `vrd.registry`): naming an engine loads only that one.
ENGINES: dict[str, Any] = {
    "hf": "vrd.engines.hf:HFEngine",
    "openai": "vrd.engines.openai:OpenAIEngine",
    "vllm": "vrd.engines.vllm:VLLMEngine",
}
_CLASSES = {"HFEngine": "hf", "OpenAIEngine": "openai", "VLLMEngine": "vllm"}


def __getattr__(name: str) -> Any:
    """`from vrd.engines import HFEngine` imports that engine's module only then."""
    if name in _CLASSES:
        return load_entry(ENGINES[_CLASSES[name]])
    raise AttributeError(f"module 'vrd.engines' has no attribute {name!r}")


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


def check_engine_name(name: str | None) -> None:
    """Refuse an unknown --backend when the settings are read, before any data or model is loaded."""
    if name in (None, "auto") or str(name).lower() in ENGINES:
        return
    raise unknown_name("engine", str(name), [*ENGINES, "auto"])


def get_engine(name: str | None, model: str, **options: Any) -> Engine:
    """Build engine `name` (None/"auto" = the default for this machine) for `model`."""
    key = default_engine_name() if name in (None, "", "auto") else str(name).lower()
    if key not in ENGINES:
        raise unknown_name("engine", str(name), [*ENGINES, "auto"])
    return load_entry(ENGINES[key])(model, **options)


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
    "get_engine",
]
