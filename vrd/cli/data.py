"""CLI: `vrd data list | synth | prepare` — problem datasets from the embedded synth set or a source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vrd.cli.common import console, err_console, user_errors
from vrd.errors import ConfigError


def parse_map(items: list[str] | None) -> dict[str, str]:
    """`--map question=problem --map answer=label` -> {"question": "problem", "answer": "label"}."""
    mapping: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"--map expects FIELD=COLUMN (e.g. --map question=problem), got {item!r}")
        mapping[key.strip()] = value.strip()
    return mapping


def _report(result: Any) -> None:
    console.print(f"wrote [bold]{result.n_problems}[/] problems ({result.source}/{result.split}) to "
                  f"[bold]{result.out}[/]")
    if result.n_rejects:
        err_console.print(f"[yellow]{result.n_rejects} record(s) rejected[/] -> {result.rejects_path}")
        for reason, count in sorted(result.reject_reasons.items(), key=lambda kv: -kv[1])[:5]:
            err_console.print(f"  {count:>6}  {reason}", highlight=False, markup=False)
    else:
        console.print("0 records rejected")


def register(app: typer.Typer) -> None:
    data = typer.Typer(help="Problem datasets: list sources, make synthetic geometry, prepare a source.",
                       no_args_is_help=True)

    @data.command("list")
    def list_sources() -> None:
        """The sources `vrd data prepare` knows, with their default hub ids."""
        from rich.table import Table

        from vrd.sources.registry import describe

        table = Table("source", "hub id (default)", "split", "description")
        for column in table.columns[:3]:
            column.no_wrap = True
        for row in describe():
            table.add_row(row["name"], row["hub_id"] or "-", row["default_split"], row["description"])
        console.print(table)

    @data.command("synth")
    def synth_cmd(
        out: Path = typer.Option(..., "--out", help="Directory to write the problem dataset to."),
        n: int = typer.Option(200, "--n", help="Number of problems."),
        seed: int = typer.Option(0, "--seed", help="Same seed, same problems, same bytes."),
        split: str = typer.Option("train", "--split", help="Split name used in the ids."),
        families: str | None = typer.Option(None, "--families",
                                            help="Comma-separated subset of: triangle, parallel, inscribed, "
                                                 "pythagorean, rectangle."),
        tiers: str | None = typer.Option(None, "--tiers", help="Comma-separated tiers (steps) among 1,2,3."),
        forms: str | None = typer.Option(None, "--forms", help="Comma-separated forms among free,choice."),
    ) -> None:
        """Procedural geometry problems drawn with PIL, with gold step-by-step solutions; offline."""
        from vrd.sources.prepare import synth

        with user_errors():
            result = synth(n, seed, out, split=split, families=families, tiers=tiers, forms=forms)
        _report(result)

    @data.command("prepare")
    def prepare_cmd(
        source: str = typer.Argument(..., help="Source name (see `vrd data list`)."),
        out: Path = typer.Option(..., "--out", help="Directory to write the problem dataset to."),
        path: str | None = typer.Option(None, "--path", help="Local file/folder (or another hub id) to read."),
        split: str | None = typer.Option(None, "--split", help="Split to read (default: the source's)."),
        limit: int | None = typer.Option(None, "--limit", help="Stop after this many problems."),
        mapping: list[str] | None = typer.Option(None, "--map",
                                                 help="FIELD=COLUMN, repeatable (generic source): question, "
                                                      "answer, images, image, choices, id, answer_type."),
    ) -> None:
        """Normalize a source to problem rows; bad records go to rejects.jsonl and the rest is kept."""
        from vrd.sources.prepare import prepare

        with user_errors():
            result = prepare(source, out, path=path, split=split, limit=limit, **parse_map(mapping))
        _report(result)

    app.add_typer(data, name="data")
