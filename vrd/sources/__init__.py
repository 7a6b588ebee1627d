"""Sources: read a dataset in its own format and normalize it to vrd problem rows.

Names load on first use, so that `vrd.sources.config` (which the CLI needs to build its flags)
does not import the registry and `datasets`.
"""

from __future__ import annotations

from vrd.registry import lazy_exports

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


__getattr__ = lazy_exports(__name__, _EXPORTS)
