"""Sources: read a dataset in its own format and normalize it to vrd problem rows."""

from vrd.sources.base import Reject, RowError, Source, load_records
from vrd.sources.registry import SOURCES, describe, get_source

__all__ = ["SOURCES", "Reject", "RowError", "Source", "describe", "get_source", "load_records"]
