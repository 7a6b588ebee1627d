"""CLI: `vrd curate` and `vrd export`. Flags override the YAML file given with --config."""

from __future__ import annotations

from pathlib import Path

import typer

from vrd.cli.common import console, user_errors
from vrd.config import command_options
from vrd.curate.config import CurateConfig


def _curate_command(
    config: CurateConfig,
    in_dir: Path = typer.Argument(..., help="Distill output: response rows (Parquet shards + manifest.json)."),
    out: Path = typer.Option(..., "--out", help="Output directory: OUT/<split>/ datasets and OUT/curation.json."),
) -> None:
    """Filter, label, dedup, decontaminate and split distilled responses into training sets."""
    with user_errors():
        import vrd
        from vrd.curate.report import render

        report = vrd.curate(in_dir, out, config)
        render(report, console)
        sizes = ", ".join(f"{name}: {info['rows']} rows" for name, info in report.splits.items())
        console.print(f"wrote {out} ({sizes}); report in {out / 'curation.json'}")


def export_command(
    in_dir: Path = typer.Argument(..., help="A `vrd curate` output (or one vrd dataset directory)."),
    format: str = typer.Option(..., "--format", help="llamafactory | easyr1 | trl | hf"),
    out: Path = typer.Option(..., "--out", help="Directory to write."),
    split: list[str] | None = typer.Option(None, "--split", help="Export only this split (repeatable)."),
    template: str | None = typer.Option(None, "--template",
                                        help="Re-render user text: math | r1v | none | PATH.jinja "
                                             "[default: the stored prompt; problems: math, easyr1: none]."),
    push_to_hub: str | None = typer.Option(None, "--push-to-hub", help="With --format hf: also upload to REPO."),
) -> None:
    """Write curated splits in the format a trainer loads as is."""
    with user_errors():
        from vrd.curate.exporters import export

        result = export(in_dir, format, out, splits=list(split) if split else None, template=template,
                        push_to_hub=push_to_hub)
        sizes = ", ".join(f"{k}: {v}" for k, v in result.splits.items())
        console.print(f"exported {format} to {result.out} ({sizes})")


def register(app: typer.Typer) -> None:
    """Add `curate` and `export` to the app."""
    app.command("curate")(command_options(CurateConfig)(_curate_command))
    app.command("export")(export_command)
