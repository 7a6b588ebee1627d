"""CLI: `vrd data list | synth | prepare | inspect` — problem datasets from the embedded synth set or a source."""

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
    read = getattr(result, "input", None) or {}
    if read.get("files"):
        console.print(f"read {_files(read)}", highlight=False, markup=False)
    if result.n_rejects:
        err_console.print(f"[yellow]{result.n_rejects} record(s) rejected[/] -> {result.rejects_path}")
        for reason, count in sorted(result.reject_reasons.items(), key=lambda kv: -kv[1])[:5]:
            err_console.print(f"  {count:>6}  {reason}", highlight=False, markup=False)
    else:
        console.print("0 records rejected")


def _files(summary: dict[str, Any]) -> str:
    files = summary.get("files") or []
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    layout = summary.get("layout") or "files"
    note = f"; {summary['note']}" if summary.get("note") else ""
    return f"{shown} ({layout}{note})"


def print_inspection(report: Any) -> None:
    """The inspect report as a few plain lines per split."""
    console.print(f"{report.path}: source [bold]{report.source}[/] ({report.guessed_from})", highlight=False)
    for s in report.splits:
        if s.error:
            console.print(f"  split {s.split}: cannot be read: {s.error}", highlight=False, markup=False)
            continue
        console.print(f"  split {s.split}: {s.rows} row(s), {s.rejects} reject(s)", highlight=False, markup=False)
        if s.input.get("files"):
            console.print(f"    read {_files(s.input)}", highlight=False, markup=False)
        skipped = s.input.get("skipped") or []
        if skipped:
            console.print(f"    not read: {', '.join(skipped[:4])}" + (f" and {len(skipped) - 4} more"
                                                                       if len(skipped) > 4 else ""),
                          highlight=False, markup=False)
        for reason, count in list(s.reasons.items())[:5]:
            console.print(f"    {count:>6}  {reason}", highlight=False, markup=False)
        for r in s.first_rejects:
            console.print(f"    reject #{r['index']} (id {r['native_id']}): {r['field'] or '-'}: {r['reason']}",
                          highlight=False, markup=False)


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

    @data.command("inspect")
    def inspect_cmd(
        path: str = typer.Argument(..., help="A downloaded file or folder (hub snapshot, release tree, …)."),
        source: str | None = typer.Option(None, "--source", help="Read it as this source (default: guessed "
                                                                 "from the layout)."),
        split: str | None = typer.Option(None, "--split", help="Only this split (default: every split found)."),
        limit: int | None = typer.Option(None, "--limit", help="Stop each split after this many problems."),
        rejects: int = typer.Option(5, "--rejects", help="How many rejects to show per split."),
        mapping: list[str] | None = typer.Option(None, "--map", help="FIELD=COLUMN (generic source)."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Which layout and files vrd recognises in PATH, rows per split and the first rejects; writes nothing."""
        import json

        from vrd.sources.inspect import inspect_path

        with user_errors():
            report = inspect_path(path, source=source, split=split, limit=limit, n_rejects=rejects,
                                  **parse_map(mapping))
        if as_json:
            console.print_json(json.dumps(report.to_dict(), default=str))
        else:
            print_inspection(report)

    app.add_typer(data, name="data")
