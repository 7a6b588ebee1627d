"""CLI: `vrd demo` runs the whole flow offline on the embedded data and tiny models."""

from __future__ import annotations

from pathlib import Path

import typer

from vrd.cli.common import console, user_errors


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("demo-out"), "--out", help="Everything the demo makes goes here."),
        problems: int = typer.Option(96, "--problems", help="Synth problems to distill."),
        seed: int = typer.Option(0, "--seed"),
    ) -> None:
        """synth -> tiny teacher -> distill -> rollouts -> curate -> shift-report -> SFT -> GRPO -> eval -> audit."""
        from vrd.demo.flow import Demo, DemoConfig

        with user_errors():
            Demo(out, DemoConfig(n_problems=problems, seed=seed), console=console).run()
