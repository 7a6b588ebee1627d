"""Load a VLM and its processor from an alias, hub id or local directory.

Every stage that touches weights (engines, scoring, training, eval) goes through here so a
missing model always gives the same actionable error instead of a hub stack trace.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from vrd.errors import ConfigError, EnvironmentNotReadyError, ModelNotFoundError
from vrd.models.teachers import resolve_teacher


def resolve_model(name_or_path: str | os.PathLike) -> str:
    """Alias -> hub id; local directories kept; anything shaped like a hub id passed through."""
    target, _ = resolve_teacher(str(name_or_path))
    return target


DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device(device: str) -> str:
    """A device torch can use here: auto | cpu | cuda[:N] | mps; refused before any model loads."""
    import torch

    if not isinstance(device, str) or not DEVICE_RE.match(device):
        raise ConfigError(f"--device must be auto, cpu, cuda, cuda:N or mps, got {device!r}")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EnvironmentNotReadyError(f"--device {device}: no CUDA GPU is available here (use --device cpu)")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise EnvironmentNotReadyError("--device mps: Apple's MPS backend is not available here")
    return device


def pick_device(device: str = "auto") -> str:
    import torch

    if check_device(device) != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def pick_dtype(dtype: Any = "auto", device: str = "cpu") -> Any:
    """bf16 on a GPU that supports it; fp32 on CPU, where bf16 matmuls are slow and lossy."""
    import torch

    if dtype not in ("auto", None):
        return getattr(torch, dtype) if isinstance(dtype, str) else dtype
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def _missing(target: str, exc: Exception) -> ModelNotFoundError:
    local = Path(target).expanduser()
    if local.exists():
        return ModelNotFoundError(
            f"{local}: not a loadable model directory ({type(exc).__name__}: {exc}). It needs config.json, "
            "weights (*.safetensors) and the processor files written by save_pretrained."
        )
    return ModelNotFoundError(
        f"could not load model '{target}' ({type(exc).__name__}: {exc}). If this machine is offline, "
        f"download it elsewhere (`hf download {target} --local-dir DIR`) and pass the local DIR instead; "
        "for a quick try, `vrd models tiny --out DIR` builds a tiny random Qwen2.5-VL."
    )


def load_processor(name_or_path: str | os.PathLike, *, max_pixels: int | None = None,
                   min_pixels: int | None = None, **kwargs: Any) -> Any:
    """The processor, with a pad token and the image pixel budget (see `set_pixel_budget`)."""
    from transformers import AutoProcessor

    target = resolve_model(name_or_path)
    try:
        processor = AutoProcessor.from_pretrained(target, **kwargs)
    except Exception as exc:  # noqa: BLE001 - hub, IO and config errors all need the same advice
        raise _missing(target, exc) from exc
    tokenizer = getattr(processor, "tokenizer", processor)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if max_pixels is not None or min_pixels is not None:
        set_pixel_budget(processor, max_pixels, min_pixels)
    return processor


def set_pixel_budget(processor: Any, max_pixels: int | None, min_pixels: int | None) -> tuple[int | None, int | None]:
    """Bound the pixels of every image on the image processor itself; returns the (max, min) in effect.

    Set on the processor, not per call, so generation, scoring and training resize an image the
    same way. A max below the processor's default min raises the min to it: otherwise every
    image would be rejected.
    """
    ip = getattr(processor, "image_processor", None)
    if ip is None:
        return max_pixels, min_pixels
    size = dict(getattr(ip, "size", None) or {})
    if max_pixels is not None:
        size["longest_edge"] = int(max_pixels)
    if min_pixels is not None:
        size["shortest_edge"] = int(min_pixels)
    if size.get("shortest_edge") and size.get("longest_edge") and size["shortest_edge"] > size["longest_edge"]:
        size["shortest_edge"] = size["longest_edge"]
    if size:
        ip.size = size
    for attr, value in (("max_pixels", size.get("longest_edge")), ("min_pixels", size.get("shortest_edge"))):
        if hasattr(ip, attr) and value is not None:
            setattr(ip, attr, value)
    return size.get("longest_edge", max_pixels), size.get("shortest_edge", min_pixels)


def load_model(name_or_path: str | os.PathLike, *, dtype: Any, **model_kwargs: Any) -> Any:
    """The VLM in `dtype`, where `from_pretrained` put it; a load failure raises ModelNotFoundError with advice."""
    from transformers import AutoModelForImageTextToText

    target = resolve_model(name_or_path)
    try:
        return AutoModelForImageTextToText.from_pretrained(target, dtype=dtype, **model_kwargs)
    except Exception as exc:  # noqa: BLE001 - hub, IO and config errors all need the same advice
        raise _missing(target, exc) from exc


def load_model_and_processor(
    name_or_path: str | os.PathLike,
    *,
    device: str = "auto",
    dtype: Any = "auto",
    processor_kwargs: dict[str, Any] | None = None,
    **model_kwargs: Any,
) -> tuple[Any, Any]:
    """(model in eval mode on `device`, processor). Raises ModelNotFoundError with advice."""
    target = resolve_model(name_or_path)
    device = pick_device(device)
    model = load_model(target, dtype=pick_dtype(dtype, device), **model_kwargs)
    if model_kwargs.get("device_map") is None:
        model.to(device)  # with a device_map, accelerate has placed (maybe sharded) the model already
    model.eval()
    processor = load_processor(target, **(processor_kwargs or {}))
    return model, processor
