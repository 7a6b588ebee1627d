"""CLI: `vrd data list | synth | prepare | inspect` — problem datasets from the embedded synth set or a source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vrd.cli.common import USER_ERROR_EXIT, console, err_console, user_errors


def _report(result: Any) -> None:
    console.print(f"wrote {result.n_problems} problems ({result.source}/{result.split}) to "
                  f"{result.out}")
    read = getattr(result, "input", None) or {}
    if read.get("files"):
        console.print(f"read {_files(read)}", highlight=False, markup=False)
    if result.n_rejects:
        err_console.print(f"{result.n_rejects} record(s) rejected -> {result.rejects_path}")
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
    console.print(f"{report.path}: source {report.source} ({report.guessed_from})", highlight=False)
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
    from vrd.config import command_options
    from vrd.sources.config import InspectConfig, PrepareConfig, SynthConfig

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
    @command_options(SynthConfig)
    def synth_cmd(
        config: SynthConfig,
        out: Path = typer.Option(..., "--out", help="Directory to write the problem dataset to."),
    ) -> None:
        """Procedural geometry problems drawn with PIL, with gold step-by-step solutions; offline."""
        from vrd.sources.prepare import synth

        with user_errors():
            result = synth(config.n, config.seed, out, split=config.split, families=config.families,
                           tiers=config.tiers, forms=config.forms)
        _report(result)

    @data.command("prepare")
    @command_options(PrepareConfig)
    def prepare_cmd(
        config: PrepareConfig,
        source: str = typer.Argument(..., help="Source name (see `vrd data list`)."),
        out: Path = typer.Option(..., "--out", help="Directory to write the problem dataset to."),
    ) -> None:
        """Normalize a source to problem rows; bad records go to rejects.jsonl and the rest is kept."""
        import vrd

        with user_errors():
            result = vrd.prepare(source, out, config)
        _report(result)

    @data.command("inspect")
    @command_options(InspectConfig)
    def inspect_cmd(
        config: InspectConfig,
        path: str = typer.Argument(..., help="A downloaded file or folder (hub snapshot, release tree, …)."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Which layout and files vrd recognises in PATH, rows per split and the first rejects; writes nothing."""
        import json

        from vrd.sources.inspect import inspect_path

        with user_errors():
            report = inspect_path(path, source=config.source, split=config.split, limit=config.limit,
                                  n_rejects=config.rejects, **config.map)
        if as_json:
            console.print_json(json.dumps(report.to_dict(), default=str))
        else:
            print_inspection(report)
        if report.splits and all(s.error for s in report.splits):  # nothing here can be read: a script must see it
            err_console.print(f"error: {report.path}: no split can be read ({report.splits[0].error})",
                              highlight=False, soft_wrap=True)
            raise typer.Exit(code=USER_ERROR_EXIT)

    app.add_typer(data, name="data")
