"""CLI: `vrd demo` runs the whole flow offline on the embedded data and tiny models."""

from __future__ import annotations

from pathlib import Path

import typer

from vrd.cli.common import console, user_errors


def register(app: typer.Typer) -> None:
    from vrd.config import command_options
    from vrd.demo.config import DemoConfig

    @app.command("demo")
    @command_options(DemoConfig)
    def demo(
        config: DemoConfig,
        out: Path = typer.Option(Path("demo-out"), "--out", help="Everything the demo makes goes here."),
    ) -> None:
        """synth -> tiny teacher -> distill -> rollouts -> curate -> shift-report -> SFT -> GRPO -> eval -> audit."""
        from vrd.demo.flow import Demo

        with user_errors():
            Demo(out, config, console=console).run()
