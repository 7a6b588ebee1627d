"""Every knob of `vrd curate` in one dataclass, so a YAML file, CLI flags and the API set the same things.

A run is reproducible from `curation.json`, which stores this config verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vrd.config import Config, seed_setting, setting
from vrd.errors import ConfigError

SELECT_MODES = ("shortest", "longest", "random", "first", "closest")
DEDUP_METHODS = ("exact", "near", "image")
IMAGE_MATCH_MODES = ("answer", "any")
REST = -1  # split size meaning "every problem left after the sized splits"


@dataclass
class CurateConfig(Config):
    """What `vrd curate` does; the CLI flags are made from these fields."""

    correct_only: bool = setting(True, help="Keep only correct responses.")
    require_format: bool = setting(False, help="Keep only responses that pass the format check.")
    rollouts: str | None = setting(None, help="Base-model rollouts (`vrd distill --keep all`) to take pass rates "
                                              "from.")
    pass_rate: tuple[float, float] | None = setting(None, cli_type=str,
                                                    help="Keep problems with pass rate in MIN:MAX.")
    difficulty_bins: str = setting("synergy", help="synergy (L1-L5) | fixed | quantile | edges:A,B,...")
    dedup: tuple[str, ...] = setting(DEDUP_METHODS, help="Comma list of exact,near,image, or 'none' "
                                                         "(default: all three).")
    near_threshold: float = setting(0.8, help="MinHash Jaccard threshold for near dups.")
    near_ngram: int = setting(3, help="Word n-gram size for near dedup.", at_least=1)
    num_perm: int = setting(128, help="MinHash permutations.", cli=False, at_least=1, at_most=4096)
    phash_distance: int = setting(4, help="Max Hamming distance of 64-bit image phashes.")
    image_match: str = setting("answer", help="Image dups need the same answer ('answer') or not ('any').")
    decontaminate: tuple[str, ...] = setting((), help="Benchmarks to remove, e.g. mathvista,mathverse "
                                                      "(or name=PATH).")
    decontaminate_path: tuple[str, ...] = setting((), repeat=True,
                                                  help="A prepared vrd problems dir to remove (repeatable).")
    decontam_ngram: int = setting(8, help="Word n-gram size for decontam.", at_least=1)
    decontam_image: bool = setting(True, help="Also remove problems reusing a benchmark figure.")
    select: str = setting("shortest", help="shortest | longest | random | first | closest.")
    base_model: str | None = setting(None, help="Model scoring responses for --select closest.")
    score_batch_size: int = setting(8, help="Batch for --select closest scoring.", cli=False, at_least=1)
    min_tokens: int | None = setting(None, help="Drop responses shorter than this.", at_least=0)
    max_tokens: int | None = setting(None, help="Drop responses longer than this.", at_least=1)
    split: dict[str, int | float | str] = setting(default_factory=lambda: {"sft": REST}, cli_type=str,
                                            help="e.g. sft=2000,rl=20000,val=500 (a size may be a share like 50% "
                                                 "or 'rest'; default: sft=rest).")
    seed: int = seed_setting("Seed for splits and random selection.")

    def __post_init__(self) -> None:
        """Normalise the text forms (`MIN:MAX`, `a,b`, `sft=N`) and reject bad settings up front,
        rather than after an hour of scanning."""
        if isinstance(self.pass_rate, str):
            self.pass_rate = parse_pass_rate(self.pass_rate)
        elif self.pass_rate is not None:
            self.pass_rate = parse_pass_rate(":".join(str(v) for v in self.pass_rate))
        if isinstance(self.split, str):
            self.split = parse_splits(self.split)
        elif isinstance(self.split, dict):
            self.split = {str(k): (REST if str(v).lower() in ("rest", "all") else v) for k, v in self.split.items()}
        if isinstance(self.dedup, str) and not self.dedup.strip():
            raise ConfigError("--dedup: give methods (exact,near,image) or 'none'")
        if self.dedup == "none":
            self.dedup = ()
        for name in ("dedup", "decontaminate", "decontaminate_path"):
            value = getattr(self, name)
            setattr(self, name, tuple(_csv(value)) if isinstance(value, str) else tuple(value or ()))
        if self.select not in SELECT_MODES:
            raise ConfigError(f"--select must be one of {', '.join(SELECT_MODES)}, got '{self.select}'")
        if self.select == "closest" and not self.base_model:
            raise ConfigError("--select closest needs --base-model (the model whose likelihood picks the response)")
        from vrd.sources.registry import check_source_name

        for spec in self.decontaminate:  # NAME or NAME=PATH
            check_source_name(spec.partition("=")[0].strip())
        bad = [m for m in self.dedup if m not in DEDUP_METHODS]
        if bad:
            raise ConfigError(f"--dedup: unknown method(s) {', '.join(bad)}; choose from {', '.join(DEDUP_METHODS)}")
        from vrd.difficulty import get_scheme

        if not str(self.difficulty_bins).strip():
            raise ConfigError("--difficulty-bins: give a scheme (synergy, fixed, quantile or edges:A,B,...)")
        get_scheme(self.difficulty_bins, [])  # an unknown scheme fails before any data is read
        if self.image_match not in IMAGE_MATCH_MODES:
            raise ConfigError(f"--image-match must be one of {', '.join(IMAGE_MATCH_MODES)}, got '{self.image_match}'")
        if not 0.0 < self.near_threshold <= 1.0:
            raise ConfigError(f"--near-threshold must be in (0, 1], got {self.near_threshold}")
        if not 0 <= self.phash_distance < 32:
            raise ConfigError(f"--phash-distance must be in [0, 32), got {self.phash_distance}")
        if self.min_tokens is not None and self.max_tokens is not None and self.min_tokens > self.max_tokens:
            raise ConfigError(f"--min-tokens {self.min_tokens} is above --max-tokens {self.max_tokens}")
        if sum(1 for v in self.split.values() if v == REST) > 1:
            raise ConfigError("--split: only one split may be 'rest'")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["split"] = {k: ("rest" if v == REST else v) for k, v in self.split.items()}
        return out


EXPORT_FORMATS = ("llamafactory", "easyr1", "trl", "hf")


@dataclass
class ExportConfig(Config):
    """What `vrd export` writes."""

    format: str = setting(help="llamafactory | easyr1 | trl | hf")
    split: list[str] = setting(default_factory=list, repeat=True,
                               help="Export only this split (repeatable; default: every split).")
    template: str | None = setting(None, help="Re-render user text: math | r1v | none | PATH.jinja (default: the "
                                              "stored prompt; problems: math, easyr1: none).")
    push_to_hub: str | None = setting(None, help="With --format hf: also upload to REPO.")

    def __post_init__(self) -> None:
        if isinstance(self.split, str):
            self.split = _csv(self.split)
        self.split = [str(s) for s in self.split]
        if any(not s.strip() for s in self.split):
            raise ConfigError("--split: an empty split name; name a split (sft, rl, val, ...) or leave it out for all")
        if self.format not in EXPORT_FORMATS:
            from vrd.errors import unknown_name

            raise unknown_name("export format", self.format, EXPORT_FORMATS)
        if self.template is not None:
            from vrd.prompts import get_template

            get_template(self.template)  # before any split is read
        if self.push_to_hub and self.format != "hf":
            raise ConfigError(f"--push-to-hub needs --format hf (got --format {self.format})")


def _csv(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def parse_pass_rate(text: str) -> tuple[float, float]:
    """`MIN:MAX` (either side may be empty) -> a closed interval on the pass rate."""
    if ":" not in text:
        raise ConfigError(f"--pass-rate must look like MIN:MAX (e.g. 0.1:0.9), got '{text}'")
    lo_text, hi_text = text.split(":", 1)
    try:
        lo = float(lo_text) if lo_text.strip() else 0.0
        hi = float(hi_text) if hi_text.strip() else 1.0
    except ValueError as exc:
        raise ConfigError(f"--pass-rate must look like MIN:MAX with numbers, got '{text}'") from exc
    if not 0.0 <= lo <= hi <= 1.0:
        raise ConfigError(f"--pass-rate needs 0 <= MIN <= MAX <= 1, got '{text}'")
    return lo, hi


def parse_splits(text: str) -> dict[str, int | float]:
    """`sft=2000,rl=20000,val=500` -> ordered {name: size}.

    A size may be `rest`, or a share of the available problems (`50%` or `0.5`), which suits
    runs whose pool size is not known in advance (the demo, a first look at a new source).
    """
    out: dict[str, int | float] = {}
    for part in _csv(text):
        if "=" not in part:
            raise ConfigError(f"--split entries look like NAME=SIZE, got '{part}'")
        name, size = (s.strip() for s in part.split("=", 1))
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"--split: bad split name '{name}'")
        if name in out:
            raise ConfigError(f"--split: split '{name}' given twice")
        if size.lower() in ("rest", "all"):
            out[name] = REST
            continue
        share = size[:-1] if size.endswith("%") else size
        if size.endswith("%") or "." in size:
            try:
                frac = float(share) / (100.0 if size.endswith("%") else 1.0)
            except ValueError as exc:
                raise ConfigError(f"--split: size of '{name}' must be a count, a share or 'rest', got '{size}'") from exc
            if not 0.0 <= frac <= 1.0:
                raise ConfigError(f"--split: share of '{name}' must be between 0 and 1 (0%-100%), got '{size}'")
            out[name] = frac
            continue
        try:
            n = int(size)
        except ValueError as exc:
            raise ConfigError(f"--split: size of '{name}' must be a count, a share or 'rest', got '{size}'") from exc
        if n < 0:
            raise ConfigError(f"--split: size of '{name}' must be >= 0, got {n}")
        out[name] = n
    if not out:
        raise ConfigError("--split is empty")
    return out


def is_response_split(name: str) -> bool:
    """Splits named sft* carry responses (for SFT); every other split carries problems only."""
    return name.lower().startswith("sft")
