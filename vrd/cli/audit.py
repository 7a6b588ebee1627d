"""CLI: `vrd reward-audit RUN_DIR` — does train reward still track held-out accuracy?"""

from __future__ import annotations

from pathlib import Path

import typer

from vrd.cli.common import console, user_errors


def register(app: typer.Typer) -> None:
    from vrd.config import command_options
    from vrd.trainers.config import AuditConfig

    @app.command("reward-audit")
    @command_options(AuditConfig)
    def reward_audit(
        config: AuditConfig,
        run_dir: Path = typer.Argument(..., help="A `vrd train rl` output (metrics.jsonl or trainer_state.json)."),
    ) -> None:
        """Rank correlation of reward vs held-out accuracy, and the step where deceptive reward begins."""
        with user_errors():
            import vrd

            report = vrd.audit(run_dir, None, config)
            result, js, png = report.result, report.json, report.plot
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
            console.print(f"deceptive-reward onset: {', '.join(where)} - {result.reason}")
        console.print(f"wrote {js} and {png}")
