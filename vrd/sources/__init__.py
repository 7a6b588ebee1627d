"""Sources: read a dataset in its own format and normalize it to vrd problem rows."""

from vrd.sources.base import Reject, RowError, Source, load_records
from vrd.sources.registry import BENCHMARKS, SOURCES, describe, get_source, source_class

__all__ = ["BENCHMARKS", "SOURCES", "Reject", "RowError", "Source", "describe", "get_source", "load_records",
           "source_class"]
