"""`vrd export`: curated splits -> the formats LLaMA-Factory, EasyR1, TRL and HF `datasets` load as they are."""

from __future__ import annotations

import os
from typing import Any

from vrd.curate.exporters.base import Exporter, ExportResult, discover_splits
from vrd.registry import lookup

# "module:Class", imported on lookup (see `vrd.registry`).
EXPORTERS: dict[str, Any] = {
    "llamafactory": "vrd.curate.exporters.llamafactory:LlamaFactoryExporter",
    "easyr1": "vrd.curate.exporters.easyr1:EasyR1Exporter",
    "trl": "vrd.curate.exporters.trl:TrlExporter",
    "hf": "vrd.curate.exporters.hf:HfExporter",
}


def export(in_dir: str | os.PathLike, fmt: str, out_dir: str | os.PathLike, *, splits: list[str] | None = None,
           template: str | None = None, push_to_hub: str | None = None) -> ExportResult:
    return lookup(EXPORTERS, fmt, "export format")(template).export(in_dir, out_dir, splits=splits, push_to_hub=push_to_hub)


__all__ = ["EXPORTERS", "ExportResult", "Exporter", "discover_splits", "export"]
