"""Sources: read a dataset in its own format and normalize it to vrd problem rows.

Names load on first use, so that `vrd.sources.config` (which the CLI needs to build its flags)
does not import the registry and `datasets`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Reject": "vrd.sources.base",
    "RowError": "vrd.sources.base",
    "Source": "vrd.sources.base",
    "load_records": "vrd.sources.base",
    "BENCHMARKS": "vrd.sources.registry",
    "SOURCES": "vrd.sources.registry",
    "describe": "vrd.sources.registry",
    "get_source": "vrd.sources.registry",
    "source_class": "vrd.sources.registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'vrd.sources' has no attribute '{name}'")
