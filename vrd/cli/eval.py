"""CLI: `vrd eval` (run benchmarks) and `vrd eval compare` (runs side by side)."""

from __future__ import annotations

from pathlib import Path

import typer

from vrd.cli.common import console, user_errors
from vrd.errors import ConfigError

eval_app = typer.Typer(
    name="eval",
    help="Evaluate a model on benchmarks (`vrd eval --model M --benchmarks a,b --out DIR`), "
         "or compare runs (`vrd eval compare DIR_A DIR_B`).",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
)


def _register_run() -> None:
    from vrd.config import PendingConfig, command_options
    from vrd.eval.config import EvalConfig

    @eval_app.callback()
    @command_options(EvalConfig, lazy=True)
    def eval_command(
        ctx: typer.Context,
        config: PendingConfig,
        out: Path | None = typer.Option(None, "--out", "-o", help="Run folder: results.json, responses/."),
        breakdown: bool = typer.Option(True, "--breakdown/--no-breakdown", help="Show subsets and difficulty."),
    ) -> None:
        """Run benchmarks (resumable: a rerun skips finished problems)."""
        if ctx.invoked_subcommand is not None:
            return
        if not config.given and out is None:
            console.print(ctx.get_help())
            raise typer.Exit()
        cfg = config()
        with user_errors():
            if out is None:
                raise ConfigError("vrd eval needs --out (the run folder)")
            import vrd
            from vrd.eval.results import results_table

            def progress(name: str, done: int, total: int) -> None:
                console.print(f"{name}: {done}/{total} problems", highlight=False)

            results = vrd.evaluate(None, out, cfg, progress=progress).results
            console.print(results_table(results, breakdown=breakdown))
            judge = results["judge"]
            judge_line = (f"LLM judge {judge['model']} used on {judge['used']} response(s)" if judge["enabled"]
                          else "LLM judge: off (rule-based grading only)")
            run = results.get("last_run", {})
            console.print(f"{judge_line}. Generated {run.get('problems_generated', 0)} problem(s), "
                          f"skipped {run.get('problems_skipped', 0)} already done. "
                          f"Wrote {Path(out) / 'results.json'} and {Path(out) / 'responses'}/", highlight=False)
            notes = {b["pass_rate_bins_info"]["note"] for b in results["benchmarks"].values()
                     if b.get("pass_rate_bins_info") and not b["pass_rate_bins_info"].get("independent", True)}
            for note in sorted(notes):
                console.print(f"difficulty levels: {note}", highlight=False)
            rejected = {n: b["rejected"] for n, b in results["benchmarks"].items() if b.get("rejected")}
            if rejected:
                console.print(f"rejected records (not evaluated): {rejected}", highlight=False)
            n_errors = sum(int(b.get("n_errors") or 0) for b in results["benchmarks"].values())
            if n_errors:
                console.print(f"{n_errors} problem(s) set aside for engine errors (see {Path(out) / 'rejects.jsonl'}); "
                              "rerun to retry", highlight=False, soft_wrap=True)


_register_run()


def _register_compare() -> None:
    from vrd.config import command_options
    from vrd.eval.config import CompareConfig

    @eval_app.command("compare")
    @command_options(CompareConfig)
    def compare_command(
        config: CompareConfig,
        runs: list[Path] = typer.Argument(..., help="Eval run folders (or results.json files); the first is the "
                                                    "reference."),
        out: Path | None = typer.Option(None, "--out", "-o", help="Also write the comparison to FILE.json or FILE.md."),
    ) -> None:
        """Accuracies side by side per benchmark and slice, then length, truncation and reflection per run,
        each with paired differences from the first run."""
        with user_errors():
            from vrd.eval.behavior import behavior_table, write_plots
            from vrd.eval.compare import compare_runs, comparison_table, write_comparison

            comparison = compare_runs([str(r) for r in runs], breakdown=config.breakdown)
            console.print(comparison_table(comparison))
            if comparison.get("behavior"):
                console.print(behavior_table(comparison))
            if out is not None:
                console.print(f"Wrote {write_comparison(comparison, out)}", highlight=False)
            if config.plot is not None:
                for figure in write_plots(comparison, config.plot):
                    console.print(f"Wrote {figure}", highlight=False)


_register_compare()


def register(app: typer.Typer) -> None:
    """Add `vrd eval` and `vrd eval compare`."""
    app.add_typer(eval_app, name="eval")
