"""Teacher aliases from the paper, mapped to hub ids with per-model defaults.

Aliases save typing and carry the settings that matter for VLM distillation (how many
pixels an image may use, how many GPUs the model wants). Any hub id or local directory is
accepted as well, with the generic defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vrd.errors import unknown_name


@dataclass(frozen=True)
class TeacherSpec:
    hub_id: str
    family: str  # "qwen2.5-vl" | "qwen2-vl" | "other": same family keeps cross-modal transfer
    params_b: float | None = None  # billions, all towers: sizes the weights for the tensor-parallel plan
    max_pixels: int = 1280 * 28 * 28
    min_pixels: int = 4 * 28 * 28
    min_gpus: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


def _heads(text: int, vision: int) -> dict[str, Any]:
    """Attention-head counts (language model, vision encoder): vLLM's tensor-parallel size must divide both."""
    return {"head_counts": (text, vision)}


TEACHERS: dict[str, TeacherSpec] = {
    "qwen2.5-vl-3b": TeacherSpec("Qwen/Qwen2.5-VL-3B-Instruct", "qwen2.5-vl", 3.8, extra=_heads(16, 16)),
    "qwen2.5-vl-7b": TeacherSpec("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5-vl", 8.3, extra=_heads(28, 16)),
    "qwen2.5-vl-32b": TeacherSpec("Qwen/Qwen2.5-VL-32B-Instruct", "qwen2.5-vl", 33.5, min_gpus=2,
                                  extra=_heads(40, 16)),
    "qwen2.5-vl-72b": TeacherSpec("Qwen/Qwen2.5-VL-72B-Instruct", "qwen2.5-vl", 73.4, min_gpus=4,
                                  extra=_heads(64, 16)),
    "qwen2-vl-2b": TeacherSpec("Qwen/Qwen2-VL-2B-Instruct", "qwen2-vl", 2.2, extra=_heads(12, 16)),
    "qwen2-vl-7b": TeacherSpec("Qwen/Qwen2-VL-7B-Instruct", "qwen2-vl", 8.3, extra=_heads(28, 16)),
    "qwen2-vl-72b": TeacherSpec("Qwen/Qwen2-VL-72B-Instruct", "qwen2-vl", 73.4, min_gpus=4,
                                extra=_heads(64, 16)),
}


def looks_like_hub_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith((".", "/", "~"))


def resolve_teacher(name: str) -> tuple[str, TeacherSpec | None]:
    """(hub id or local path, spec or None). Unknown bare names get suggestions."""
    key = name.lower()
    if key in TEACHERS:
        return TEACHERS[key].hub_id, TEACHERS[key]
    path = Path(name).expanduser()
    if path.exists():
        return str(path), None
    for spec in TEACHERS.values():
        if spec.hub_id.lower() == key:
            return spec.hub_id, spec
    if looks_like_hub_id(name):
        return name, None
    if name.startswith(("/", ".", "~")):  # a path, not an alias
        from vrd.errors import MissingInputError

        raise MissingInputError(f"{path}: no such model folder (and not a teacher alias; see `vrd models list`)")
    raise unknown_name("teacher", name, list(TEACHERS))
