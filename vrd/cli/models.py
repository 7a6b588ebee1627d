"""CLI: `vrd models tiny` builds a tiny random Qwen2.5-VL for tests and trying a pipeline."""

from __future__ import annotations

from pathlib import Path

import typer

from vrd.cli.common import console, user_errors


def register(app: typer.Typer) -> None:
    from vrd.config import command_options
    from vrd.models.tiny import TinyModelConfig

    models = typer.Typer(help="Model helpers: tiny local checkpoints, teacher aliases.", no_args_is_help=True)

    @models.command("tiny")
    @command_options(TinyModelConfig)
    def tiny(
        config: TinyModelConfig,
        out: Path = typer.Option(..., "--out", help="Directory to write the checkpoint to."),
    ) -> None:
        """Build a tiny random Qwen2.5-VL (real classes, CPU speed) with save_pretrained."""
        from vrd.models.tiny import build_tiny_model

        with user_errors():
            path = build_tiny_model(out, seed=config.seed)
        console.print(f"tiny Qwen2.5-VL written to {path}")

    @models.command("list")
    def list_teachers() -> None:
        """Teacher aliases and the hub ids they stand for."""
        from rich.table import Table

        from vrd.models.teachers import TEACHERS

        table = Table("alias", "hub id", "family", "min GPUs")
        for alias, spec in TEACHERS.items():
            table.add_row(alias, spec.hub_id, spec.family, str(spec.min_gpus))
        console.print(table)

    app.add_typer(models, name="models")
