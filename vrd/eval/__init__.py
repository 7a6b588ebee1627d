"""Benchmark evaluation on top of the engines and the verifier: `vrd eval` and `vrd eval compare`.

Names load on first use, so that `vrd.eval.config` (which the CLI needs to build its flags)
does not pull in pyarrow, the engines and the verifier.
"""

from __future__ import annotations

from vrd.registry import lazy_exports

_EXPORTS = {
    "Benchmark": "vrd.eval.data",
    "EvalConfig": "vrd.eval.config",
    "Judge": "vrd.eval.judge",
    "compare_runs": "vrd.eval.compare",
    "comparison_markdown": "vrd.eval.compare",
    "comparison_table": "vrd.eval.compare",
    "grade_batch": "vrd.eval.runner",
    "load_benchmark": "vrd.eval.data",
    "load_benchmarks": "vrd.eval.data",
    "load_results": "vrd.eval.results",
    "parse_paths": "vrd.eval.data",
    "results_table": "vrd.eval.results",
    "rollout_pass_rates": "vrd.eval.data",
    "run_eval": "vrd.eval.runner",
    "summarize": "vrd.eval.results",
    "write_comparison": "vrd.eval.compare",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
