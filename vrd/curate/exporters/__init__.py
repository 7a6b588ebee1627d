"""`vrd export`: curated splits -> the formats LLaMA-Factory, EasyR1, TRL and HF `datasets` load as they are."""

from __future__ import annotations

import os

from vrd.curate.exporters.base import Exporter, ExportResult, discover_splits
from vrd.curate.exporters.easyr1 import EasyR1Exporter
from vrd.curate.exporters.hf import HfExporter
from vrd.curate.exporters.llamafactory import LlamaFactoryExporter
from vrd.curate.exporters.trl import TrlExporter
from vrd.errors import unknown_name

EXPORTERS: dict[str, type[Exporter]] = {
    "llamafactory": LlamaFactoryExporter,
    "easyr1": EasyR1Exporter,
    "trl": TrlExporter,
    "hf": HfExporter,
}


def export(in_dir: str | os.PathLike, fmt: str, out_dir: str | os.PathLike, *, splits: list[str] | None = None,
           template: str | None = None, push_to_hub: str | None = None) -> ExportResult:
    if fmt not in EXPORTERS:
        raise unknown_name("export format", fmt, list(EXPORTERS))
    return EXPORTERS[fmt](template).export(in_dir, out_dir, splits=splits, push_to_hub=push_to_hub)


__all__ = ["EXPORTERS", "ExportResult", "Exporter", "discover_splits", "export"]
