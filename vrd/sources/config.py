"""Settings of `vrd data prepare | synth | inspect`: light to import, so the CLI can build its flags
from them without loading the sources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vrd.config import Config, seed_setting, setting
from vrd.errors import ConfigError

MAP_HELP = "FIELD=COLUMN, repeatable (generic source): question, answer, images, image, choices, id, answer_type."


def parse_map(items: list[str] | tuple[str, ...] | None) -> dict[str, str]:
    """`--map question=problem --map answer=label` -> {"question": "problem", "answer": "label"}."""
    mapping: dict[str, str] = {}
    for item in items or []:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"--map expects FIELD=COLUMN (e.g. --map question=problem), got {item!r}")
        mapping[key.strip()] = value.strip()
    return mapping


def _mapping(value: Any) -> dict[str, str]:
    if isinstance(value, list | tuple):
        return parse_map(value)
    if not isinstance(value, dict):
        raise ConfigError(f"map: expected a mapping of field -> column, got {type(value).__name__}")
    return {str(k): str(v) for k, v in value.items()}


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ConfigError(f"--limit must be >= 0, got {limit}")


@dataclass
class PrepareConfig(Config):
    """How `vrd data prepare SOURCE` reads its source."""

    path: str | None = setting(None, help="Local file/folder (or another hub id) to read.")
    split: str | None = setting(None, help="Split to read (default: the source's).")
    limit: int | None = setting(None, help="Stop after this many problems.")
    map: dict[str, str] = setting(default_factory=dict, cli_type=list[str], help=MAP_HELP)

    def __post_init__(self) -> None:
        self.map = _mapping(self.map)
        _check_limit(self.limit)


@dataclass
class SynthConfig(Config):
    """The embedded synthetic geometry set (`vrd data synth`): same settings, same bytes."""

    n: int = setting(200, help="Number of problems.")
    seed: int = seed_setting("Same seed, same problems, same bytes.")
    split: str = setting("train", help="Split name used in the ids.")
    families: str | None = setting(None, help="Comma-separated subset of: triangle, parallel, inscribed, "
                                              "pythagorean, rectangle.")
    tiers: str | None = setting(None, help="Comma-separated tiers (steps) among 1,2,3.")
    forms: str | None = setting(None, help="Comma-separated forms among free,choice.")

    def __post_init__(self) -> None:
        if self.n <= 0:
            raise ConfigError(f"--n must be > 0, got {self.n}")
        if not self.split.strip():
            raise ConfigError("--split: give a split name (it goes into every id)")
        from vrd.sources.synth import check_options

        check_options(self.families, self.tiers, self.forms)


@dataclass
class InspectConfig(Config):
    """What `vrd data inspect PATH` looks at."""

    source: str | None = setting(None, help="Read it as this source (default: guessed from the layout).")
    split: str | None = setting(None, help="Only this split (default: every split found).")
    limit: int | None = setting(None, help="Stop each split after this many problems.")
    rejects: int = setting(5, help="How many rejects to show per split.")
    map: dict[str, str] = setting(default_factory=dict, cli_type=list[str], help=MAP_HELP)

    def __post_init__(self) -> None:
        self.map = _mapping(self.map)
        _check_limit(self.limit)
        if self.source is not None:
            from vrd.sources.registry import check_source_name

            check_source_name(self.source)
        if self.rejects < 0:
            raise ConfigError(f"--rejects must be >= 0, got {self.rejects}")
