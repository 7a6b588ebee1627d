"""Curation: correctness, difficulty, dedup, decontamination, response selection, splits, exporters.

`curate(in_dir, out_dir, CurateConfig(...))` runs the steps; `export(dir, fmt, out)` writes
a curated output in a trainer's format.
"""

from vrd import _callable_package
from vrd.curate.config import CurateConfig
from vrd.curate.exporters import EXPORTERS, export
from vrd.curate.pipeline import curate

__all__ = ["EXPORTERS", "CurateConfig", "curate", "export"]

_callable_package(__name__)  # `vrd.curate(inputs, out, config)` is the API function (see vrd/__init__.py)
