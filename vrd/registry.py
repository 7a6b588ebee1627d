"""Registries are plain dicts, name -> class or "module:Class"; a string is imported on lookup.

Naming a class by its import path keeps `import vrd.sources` or `vrd --help` from importing
every source, engine and exporter (and their heavy dependencies) just to list names. A plugin
may still register the class object itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from vrd.errors import unknown_name


def load_entry(entry: Any) -> Any:
    """The object an entry names: `"pkg.module:Name"` is imported, anything else returned as is."""
    if not isinstance(entry, str):
        return entry
    module, sep, attr = entry.partition(":")
    if not sep or not attr:
        raise ValueError(f"registry entry {entry!r} must look like 'package.module:Name'")
    return getattr(importlib.import_module(module), attr)


def lookup(registry: Mapping[str, Any], name: str, kind: str) -> Any:
    """`registry[name]` resolved; an unknown name raises `UnknownNameError` listing the near ones."""
    if name not in registry:
        raise unknown_name(kind, name, list(registry))
    return load_entry(registry[name])


def lazy_exports(package: str, exports: Mapping[str, str]) -> Any:
    """A module `__getattr__` that imports `exports[name]` on first use, so a package's names cost
    nothing until asked for (the CLI builds its flags from light config modules alone)."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
