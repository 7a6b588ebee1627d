"""CLI: `vrd reward-audit RUN_DIR` — does train reward still track held-out accuracy?"""

from __future__ import annotations

from pathlib import Path

import typer

from vrd.cli.common import console, user_errors


def register(app: typer.Typer) -> None:
    @app.command("reward-audit")
    def reward_audit(
        run_dir: Path = typer.Argument(..., help="A `vrd train rl` output (metrics.jsonl or trainer_state.json)."),
        tolerance: float = typer.Option(0.01, "--tolerance",
                                        help="Smallest accuracy / reward change counted as a rise (absolute)."),
    ) -> None:
        """Rank correlation of reward vs held-out accuracy, and the step where deceptive reward begins."""
        with user_errors():
            from vrd.trainers.audit import audit, write_report

            result = audit(run_dir, abs_tol=tolerance)
            js, png = write_report(result, run_dir)
        if result.spearman is None:
            rho = "n/a"
        else:
            band = f" [{result.spearman_ci95[0]:+.2f}, {result.spearman_ci95[1]:+.2f}]" if result.spearman_ci95 else ""
            rho = f"{result.spearman:+.3f}{band} (95% block-bootstrap interval)"
        console.print(f"eval points: {result.n_points}  (from {result.source})")
        console.print(f"Spearman(reward, held-out accuracy): {rho}")
        if result.onset_step is None:
            console.print(f"deceptive-reward onset: none - {result.reason}")
        else:
            ci = result.onset_ci95
            where = [f"step {result.onset_step}" + (f" [{ci[0]:.0f}, {ci[1]:.0f}]" if ci else "")]
            if result.onset_epoch is not None:
                where.append(f"epoch {result.onset_epoch:.2f}")
            if result.onset_samples is not None:
                where.append(f"{result.onset_samples:,.0f} samples seen")
            console.print(f"[bold red]deceptive-reward onset: {', '.join(where)}[/] - {result.reason}")
        console.print(f"wrote {js} and {png}")
