"""Source name -> class. Benchmarks (another module) join the same registry when installed."""

from __future__ import annotations

from typing import Any

from vrd.errors import VrdError, unknown_name
from vrd.sources.base import Source
from vrd.sources.generic import Generic
from vrd.sources.geometry3k import Geometry3K
from vrd.sources.geoqa import GeoQA
from vrd.sources.synth import Synth
from vrd.sources.tqa import TQA

SOURCES: dict[str, type[Source]] = {
    "synth": Synth,
    "geometry3k": Geometry3K,
    "geoqa": GeoQA,
    "tqa": TQA,
    "generic": Generic,
}


def _benchmark_sources() -> dict[str, type[Source]]:
    """The eval benchmarks' sources, when that module is present (it is written separately)."""
    import importlib

    try:
        module = importlib.import_module("vrd.sources.benchmarks")
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on whether the benchmarks module is present
        if exc.name != "vrd.sources.benchmarks":
            raise  # a missing dependency inside the benchmarks module is a real error
        return {}
    return dict(getattr(module, "BENCHMARK_SOURCES", {}))


BENCHMARK_SOURCES = _benchmark_sources()
SOURCES.update({k: v for k, v in BENCHMARK_SOURCES.items() if k not in SOURCES})


def get_source(name: str, **kw: Any) -> Source:
    """Build a source by name; unknown names and unknown options get errors that list what exists."""
    if name not in SOURCES:
        raise unknown_name("source", name, list(SOURCES))
    cls = SOURCES[name]
    accepted = getattr(cls, "options_accepted", None)
    options = {k: v for k, v in kw.items() if k not in ("path", "split")}
    if accepted is not None:
        bad = sorted(k for k in options if k not in accepted)
        if bad:
            hint = f"it accepts: {', '.join(accepted)}" if accepted else "it takes no options"
            raise VrdError(f"source '{name}' does not take option(s) {', '.join(bad)}; {hint}")
    return cls(kw.get("path"), kw.get("split"), **options)


def describe() -> list[dict[str, str]]:
    """Name, hub id and description of every source, for `vrd data list`."""
    return [{"name": name, "hub_id": cls.hub_id or "", "default_split": cls.default_split,
             "description": cls.description} for name, cls in SOURCES.items()]
