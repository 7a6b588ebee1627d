"""The benchmarks `vrd eval` runs, as sources: one module per benchmark.

They are registered in `vrd.sources.registry.SOURCES` with the data sources (and named in its
`BENCHMARKS`), so `vrd data prepare mathvista` works as well as `vrd eval --benchmarks mathvista`.
"""

from __future__ import annotations

from vrd.sources.benchmarks.common import BenchmarkSource

__all__ = ["BenchmarkSource"]
