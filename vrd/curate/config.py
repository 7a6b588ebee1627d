"""Every knob of `vrd curate` in one dataclass, so a YAML file and CLI flags set the same things.

A run is reproducible from `curation.json`, which stores this config verbatim.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vrd.errors import VrdError

SELECT_MODES = ("shortest", "longest", "random", "first", "closest")
DEDUP_METHODS = ("exact", "near", "image")
IMAGE_MATCH_MODES = ("answer", "any")
REST = -1  # split size meaning "every problem left after the sized splits"


@dataclass
class CurateConfig:
    """What `vrd curate` does. Field names match the CLI flags (dashes become underscores)."""

    correct_only: bool = True
    require_format: bool = False
    rollouts: str | None = None
    pass_rate: tuple[float, float] | None = None
    difficulty_bins: str = "synergy"  # a vrd.difficulty scheme
    dedup: tuple[str, ...] = DEDUP_METHODS
    near_threshold: float = 0.8
    near_ngram: int = 3
    num_perm: int = 128
    phash_distance: int = 4
    image_match: str = "answer"
    decontaminate: tuple[str, ...] = ()
    decontaminate_path: tuple[str, ...] = ()
    decontam_ngram: int = 8
    decontam_image: bool = True
    select: str = "shortest"
    base_model: str | None = None
    score_batch_size: int = 8
    min_tokens: int | None = None
    max_tokens: int | None = None
    split: dict[str, int | float] = field(default_factory=lambda: {"sft": REST})
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.pass_rate, str):
            self.pass_rate = parse_pass_rate(self.pass_rate)
        elif self.pass_rate is not None:
            self.pass_rate = (float(self.pass_rate[0]), float(self.pass_rate[1]))
        if isinstance(self.split, str):
            self.split = parse_splits(self.split)
        for name in ("dedup", "decontaminate", "decontaminate_path"):
            value = getattr(self, name)
            setattr(self, name, tuple(_csv(value)) if isinstance(value, str) else tuple(value or ()))
        self.validate()

    def validate(self) -> None:
        """Reject bad settings up front rather than after an hour of scanning."""
        if self.select not in SELECT_MODES:
            raise VrdError(f"--select must be one of {', '.join(SELECT_MODES)}, got '{self.select}'")
        if self.select == "closest" and not self.base_model:
            raise VrdError("--select closest needs --base-model (the model whose likelihood picks the response)")
        bad = [m for m in self.dedup if m not in DEDUP_METHODS]
        if bad:
            raise VrdError(f"--dedup: unknown method(s) {', '.join(bad)}; choose from {', '.join(DEDUP_METHODS)}")
        from vrd.difficulty import get_scheme

        get_scheme(self.difficulty_bins, [])  # an unknown scheme fails before any data is read
        if self.image_match not in IMAGE_MATCH_MODES:
            raise VrdError(f"--image-match must be one of {', '.join(IMAGE_MATCH_MODES)}, got '{self.image_match}'")
        if not 0.0 < self.near_threshold <= 1.0:
            raise VrdError(f"--near-threshold must be in (0, 1], got {self.near_threshold}")
        if self.near_ngram < 1 or self.decontam_ngram < 1:
            raise VrdError("n-gram sizes must be at least 1")
        if not 0 <= self.phash_distance < 32:
            raise VrdError(f"--phash-distance must be in [0, 32), got {self.phash_distance}")
        if self.min_tokens is not None and self.max_tokens is not None and self.min_tokens > self.max_tokens:
            raise VrdError(f"--min-tokens {self.min_tokens} is above --max-tokens {self.max_tokens}")
        if sum(1 for v in self.split.values() if v == REST) > 1:
            raise VrdError("--split: only one split may be 'rest'")

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, **overrides: Any) -> CurateConfig:
        """Load a YAML file (keys = field names, dashes allowed) and apply non-None overrides."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise VrdError(f"{path}: not valid YAML ({exc})") from exc
        if not isinstance(data, dict):
            raise VrdError(f"{path}: expected a mapping of curate options, got {type(data).__name__}")
        data = {str(k).replace("-", "_"): v for k, v in data.items()}
        return cls.from_dict(data, where=str(path), **overrides)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "config", **overrides: Any) -> CurateConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            from vrd.errors import unknown_name

            raise VrdError(f"{where}: {unknown_name('curate option', unknown[0], sorted(known))}")
        merged = {**data, **{k: v for k, v in overrides.items() if v is not None}}
        return cls(**merged)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["split"] = {k: ("rest" if v == REST else v) for k, v in self.split.items()}
        return out


def _csv(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def parse_pass_rate(text: str) -> tuple[float, float]:
    """`MIN:MAX` (either side may be empty) -> a closed interval on the pass rate."""
    if ":" not in text:
        raise VrdError(f"--pass-rate must look like MIN:MAX (e.g. 0.1:0.9), got '{text}'")
    lo_text, hi_text = text.split(":", 1)
    try:
        lo = float(lo_text) if lo_text.strip() else 0.0
        hi = float(hi_text) if hi_text.strip() else 1.0
    except ValueError as exc:
        raise VrdError(f"--pass-rate must look like MIN:MAX with numbers, got '{text}'") from exc
    if not 0.0 <= lo <= hi <= 1.0:
        raise VrdError(f"--pass-rate needs 0 <= MIN <= MAX <= 1, got '{text}'")
    return lo, hi


def parse_splits(text: str) -> dict[str, int | float]:
    """`sft=2000,rl=20000,val=500` -> ordered {name: size}.

    A size may be `rest`, or a share of the available problems (`50%` or `0.5`), which suits
    runs whose pool size is not known in advance (the demo, a first look at a new source).
    """
    out: dict[str, int | float] = {}
    for part in _csv(text):
        if "=" not in part:
            raise VrdError(f"--split entries look like NAME=SIZE, got '{part}'")
        name, size = (s.strip() for s in part.split("=", 1))
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise VrdError(f"--split: bad split name '{name}'")
        if name in out:
            raise VrdError(f"--split: split '{name}' given twice")
        if size.lower() in ("rest", "all"):
            out[name] = REST
            continue
        share = size[:-1] if size.endswith("%") else size
        if size.endswith("%") or "." in size:
            try:
                frac = float(share) / (100.0 if size.endswith("%") else 1.0)
            except ValueError as exc:
                raise VrdError(f"--split: size of '{name}' must be a count, a share or 'rest', got '{size}'") from exc
            if not 0.0 <= frac <= 1.0:
                raise VrdError(f"--split: share of '{name}' must be between 0 and 1 (0%-100%), got '{size}'")
            out[name] = frac
            continue
        try:
            n = int(size)
        except ValueError as exc:
            raise VrdError(f"--split: size of '{name}' must be a count, a share or 'rest', got '{size}'") from exc
        if n < 0:
            raise VrdError(f"--split: size of '{name}' must be >= 0, got {n}")
        out[name] = n
    if not out:
        raise VrdError("--split is empty")
    return out


def is_response_split(name: str) -> bool:
    """Splits named sft* carry responses (for SFT); every other split carries problems only."""
    return name.lower().startswith("sft")
