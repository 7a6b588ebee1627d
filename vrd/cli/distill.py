"""CLI: `vrd distill` — rejection-sample a teacher into a resumable response store."""

from __future__ import annotations

from typing import Any

import typer

from vrd.cli.common import console, err_console, user_errors


def _print_summary(summary: Any) -> None:
    from rich.table import Table

    totals = summary.totals
    table = Table(title=f"distill · {summary.status}", show_header=True, header_style="bold")
    table.add_column("")
    table.add_column("this run", justify="right")
    table.add_column("whole store", justify="right")
    table.add_row("problems", f"{summary.problems_done} (+{summary.problems_done_before} done before)",
                  str(totals.get("problems_done", "")))
    table.add_row("samples", str(summary.generated), str(totals.get("generated", "")))
    table.add_row("kept rows", str(summary.kept), str(totals.get("rows", "")))
    table.add_row("acceptance (kept/generated)", f"{summary.acceptance:.1%}", f"{totals.get('acceptance', 0):.1%}")
    table.add_row("pass-rate mean (all rounds)", "", f"{totals.get('pass_rate_mean', 0):.3f}")
    table.add_row("pass-rate mean (round 1)", "", f"{totals.get('pass_rate_r1_mean', 0):.3f}")
    table.add_row("rejected", str(summary.rejected), str(totals.get("rejects", "")))
    table.add_row("samples/s", f"{summary.samples_per_s:.2f}", "")
    table.add_row("wall time", f"{summary.elapsed_s:.1f} s", "")
    console.print(table)
    if summary.moved_to:
        console.print(f"the previous run (different config) was moved to {summary.moved_to}")
    if summary.problems_failed:
        console.print(f"{summary.problems_failed} problem(s) hit engine errors and were left for a rerun; "
                      f"see {summary.out}/rejects.jsonl")
    console.print(f"out: {summary.out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    from vrd.config import command_options
    from vrd.distill.config import DistillConfig

    @app.command("distill")
    @command_options(DistillConfig)
    def distill(config: DistillConfig) -> None:
        """Rejection-sample a teacher: K samples per problem, verified, up to M correct kept."""
        import vrd
        from vrd.distill.runner import DistillInterrupted

        with user_errors():
            try:
                summary = vrd.distill(config.data, config.out, config)
            except DistillInterrupted as stop:
                _print_summary(stop.summary)
                err_console.print(str(stop), highlight=False, soft_wrap=True)
                raise typer.Exit(code=130) from None
        _print_summary(summary)
        if summary.problems_failed and summary.problems_done == 0:
            # Every problem this run tried failed (an unreachable server, a bad key): not a success.
            err_console.print(f"error: all {summary.problems_failed} problem(s) failed with engine errors and "
                              f"nothing was produced; see {summary.out}/rejects.jsonl")
            raise typer.Exit(code=1)
