"""Benchmark evaluation on top of the engines and the verifier: `vrd eval` and `vrd eval compare`."""

from vrd.eval.compare import compare_runs, comparison_markdown, comparison_table, write_comparison
from vrd.eval.data import Benchmark, load_benchmark, load_benchmarks, parse_paths, rollout_pass_rates
from vrd.eval.judge import Judge
from vrd.eval.results import load_results, results_table, summarize
from vrd.eval.runner import EvalConfig, grade_batch, run_eval

__all__ = [
    "Benchmark",
    "EvalConfig",
    "Judge",
    "compare_runs",
    "comparison_markdown",
    "comparison_table",
    "grade_batch",
    "load_benchmark",
    "load_benchmarks",
    "load_results",
    "parse_paths",
    "results_table",
    "rollout_pass_rates",
    "run_eval",
    "summarize",
    "write_comparison",
]
