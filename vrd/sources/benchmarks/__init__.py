"""The benchmarks `vrd eval` runs, as sources: one module per benchmark.

`BENCHMARK_SOURCES` is merged into `vrd.sources.SOURCES`, so `vrd data prepare mathvista` works
as well as `vrd eval --benchmarks mathvista`.
"""

from __future__ import annotations

from vrd.sources.base import Source
from vrd.sources.benchmarks.common import BenchmarkSource
from vrd.sources.benchmarks.gpqa import GPQA
from vrd.sources.benchmarks.math500 import Math500
from vrd.sources.benchmarks.mathverse import MathVerse
from vrd.sources.benchmarks.mathvision import MathVision
from vrd.sources.benchmarks.mathvista import MathVista
from vrd.sources.benchmarks.mmlu import MMLU
from vrd.sources.benchmarks.wemath import WeMath

BENCHMARK_SOURCES: dict[str, type[Source]] = {
    cls.name: cls for cls in (MathVista, MathVerse, MathVision, WeMath, Math500, GPQA, MMLU)
}

__all__ = ["BENCHMARK_SOURCES", "BenchmarkSource"]
