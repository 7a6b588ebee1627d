"""CLI: `vrd curate` and `vrd export`. Flags override the YAML file given with --config."""

from __future__ import annotations

from pathlib import Path

import typer

from vrd.cli.common import console, user_errors
from vrd.config import command_options
from vrd.curate.config import CurateConfig, ExportConfig


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


def _export_command(
    config: ExportConfig,
    in_dir: Path = typer.Argument(..., help="A `vrd curate` output (or one vrd dataset directory)."),
    out: Path = typer.Option(..., "--out", help="Directory to write."),
) -> None:
    """Write curated splits in the format a trainer loads as is."""
    with user_errors():
        import vrd

        result = vrd.export(in_dir, out, config)
        sizes = ", ".join(f"{k}: {v}" for k, v in result.splits.items())
        console.print(f"exported {config.format} to {result.out} ({sizes})", markup=False)
        for split, rejects in result.set_aside.items():
            console.print(f"set aside {len(rejects)} {split} row(s) the trainer could not load "
                          f"(first: {rejects[0]['id']}: {rejects[0]['reason']}; all in {result.out}/.vrd-export.*)",
                          markup=False)


def register(app: typer.Typer) -> None:
    """Add `curate` and `export` to the app."""
    app.command("curate")(command_options(CurateConfig)(_curate_command))
    app.command("export")(command_options(ExportConfig)(_export_command))
