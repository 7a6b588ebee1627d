"""Curation: correctness, difficulty, dedup, decontamination, response selection, splits, exporters.

`curate(in_dir, out_dir, CurateConfig(...))` runs the steps; `export(dir, fmt, out)` writes
a curated output in a trainer's format. Names load on first use, so that `vrd.curate.config`
(which the CLI needs to build its flags) does not pull in polars.
"""

from __future__ import annotations

from vrd import _callable_package
from vrd.registry import lazy_exports

_EXPORTS = {
    "CurateConfig": "vrd.curate.config",
    "EXPORTERS": "vrd.curate.exporters",
    "export": "vrd.curate.exporters",
    "curate": "vrd.curate.pipeline",
    "Step": "vrd.curate.steps",
    "default_steps": "vrd.curate.steps",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)


_callable_package(__name__)  # `vrd.curate(inputs, out, config)` is the API function (see vrd/__init__.py)
