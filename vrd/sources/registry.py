"""Source name -> class, for data sources and eval benchmarks alike (one table, one precedence).

Entries are "module:Class" strings imported on lookup (see `vrd.registry`), so naming a source
does not import all of them. `vrd data prepare mathvista` and `vrd eval --benchmarks geometry3k`
both work: a benchmark is a source whose name is also in `BENCHMARKS`.
"""

from __future__ import annotations

from typing import Any

from vrd.errors import VrdError
from vrd.registry import load_entry, lookup

SOURCES: dict[str, Any] = {
    "synth": "vrd.sources.synth:Synth",
    "geometry3k": "vrd.sources.geometry3k:Geometry3K",
    "geoqa": "vrd.sources.geoqa:GeoQA",
    "tqa": "vrd.sources.tqa:TQA",
    "generic": "vrd.sources.generic:Generic",
    "mathvista": "vrd.sources.benchmarks.mathvista:MathVista",
    "mathverse": "vrd.sources.benchmarks.mathverse:MathVerse",
    "mathvision": "vrd.sources.benchmarks.mathvision:MathVision",
    "wemath": "vrd.sources.benchmarks.wemath:WeMath",
    "math500": "vrd.sources.benchmarks.math500:Math500",
    "gpqa": "vrd.sources.benchmarks.gpqa:GPQA",
    "mmlu": "vrd.sources.benchmarks.mmlu:MMLU",
    "hallusionbench": "vrd.sources.benchmarks.hallusionbench:HallusionBench",
    "mmbench": "vrd.sources.benchmarks.mmbench:MMBench",
}

# The sources `vrd eval` runs by default and lists first; any source except `generic` may be evaluated.
BENCHMARKS: tuple[str, ...] = ("mathvista", "mathverse", "mathvision", "wemath", "math500", "gpqa", "mmlu",
                               "hallusionbench", "mmbench")
NOT_EVALUABLE = frozenset({"generic"})


def source_class(name: str) -> type:
    """The class registered as `name`; unknown names list the known ones."""
    return lookup(SOURCES, name, "source")


def get_source(name: str, **kw: Any) -> Any:
    """Build a source by name; unknown names and unknown options get errors that list what exists."""
    cls = source_class(name)
    accepted = getattr(cls, "options_accepted", None)
    options = {k: v for k, v in kw.items() if k not in ("path", "split")}
    if accepted is not None:
        bad = sorted(k for k in options if k not in accepted)
        if bad:
            hint = f"it accepts: {', '.join(accepted)}" if accepted else "it takes no options"
            raise VrdError(f"source '{name}' does not take option(s) {', '.join(bad)}; {hint}")
    return cls(kw.get("path"), kw.get("split"), **options)


def evaluable_names() -> list[str]:
    """The names `evaluable_sources` holds, without importing any source."""
    return [*BENCHMARKS, *(n for n in SOURCES if n not in BENCHMARKS and n not in NOT_EVALUABLE)]


def check_source_name(name: str) -> None:
    """Refuse an unknown source name when the settings are read (nothing is imported)."""
    from vrd.errors import unknown_name

    if name not in SOURCES:
        raise unknown_name("source", name, list(SOURCES))


def evaluable_sources() -> dict[str, type]:
    """Benchmarks first, then every other source a benchmark spec may name (a geometry3k test split works too)."""
    return {name: load_entry(SOURCES[name]) for name in evaluable_names()}


def describe() -> list[dict[str, str]]:
    """Name, hub id and description of every source, for `vrd data list`."""
    out = []
    for name, entry in SOURCES.items():
        cls = load_entry(entry)
        out.append({"name": name, "hub_id": cls.hub_id or "", "default_split": cls.default_split,
                    "description": cls.description})
    return out
