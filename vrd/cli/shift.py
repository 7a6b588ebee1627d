"""CLI: `vrd shift-report` — how far datasets sit from a base model, and whether RL will get signal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vrd.cli.common import console, user_errors


def _fmt(value: Any, digits: int = 3) -> str:
    from vrd.analysis.html import fmt

    return fmt(value, digits)


def print_ranking(report: Any) -> None:
    """The terminal table: datasets closest to the base model first."""
    from rich import box
    from rich.table import Table

    from vrd.analysis.report import RANKING_RULE

    metrics = report.metrics
    table = Table(title=f"Closeness to {metrics['base_model']}", caption=f"ranked by {RANKING_RULE}",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("#", "dataset", "NLL/byte", "MMD²", "p", "AUC", "len", "refl/1k", "format"):
        if col == "dataset":
            table.add_column(col, overflow="fold", min_width=14)
        else:
            table.add_column(col, justify="right", no_wrap=True)
    for r in report.ranking:
        d = metrics["datasets"][r["name"]]
        emb = d["embedding"]
        on = emb.get("available")
        fmt_rate = d["style"]["format_rate"]
        table.add_row(
            str(r["rank"]), r["name"], _fmt(d["likelihood"]["nll_per_byte_mean"]), _fmt(emb.get("mmd2"), 4) if on else "—",
            _fmt(emb.get("mmd2_p_value"), 3) if on else "—", _fmt(emb.get("classifier_auc"), 2) if on else "—",
            _fmt(d["length"]["mean"], 0), _fmt(d["style"]["reflection_per_1k_tokens"], 1),
            "—" if fmt_rate is None else f"{100 * fmt_rate:.0f}%",
        )
    console.print(table)
    sig = metrics["signal"]
    if sig.get("available"):
        color = {"SFT first": "red", "RL viable": "green"}.get(sig["recommendation"], "yellow")
        from rich.text import Text

        console.print(Text.assemble((sig.get("verdict_line") or sig["recommendation"], f"bold {color}"),
                                    f" — {sig['reason']}"), highlight=False)
        console.print(f"computed on {sig.get('computed_on')}; reward {sig.get('reward')}: "
                      f"format-only signal {_fmt(sig['at_group_size'].get('format_only_signal'), 2)}",
                      highlight=False)
        console.print(f"rule: {sig['rule']['text']}", highlight=False)
    else:
        console.print(f"signal availability: {sig['reason']}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `shift-report` to the app."""
    from vrd.analysis.config import ShiftConfig
    from vrd.config import command_options

    @app.command("shift-report")
    @command_options(ShiftConfig)
    def shift_report_cmd(
        config: ShiftConfig,
        datasets: list[Path] = typer.Argument(..., help="Response dataset dirs (distill output or a curate split)."),
        out: Path = typer.Option(..., "--out", help="Output dir for report.html and metrics.json."),
    ) -> None:
        """Measure how far each dataset sits from the base model (NLL, embeddings, length, style)
        and whether GRPO on the base model would get signal. Writes report.html and metrics.json."""
        with user_errors():
            import vrd

            report = vrd.shift_report(datasets, out, config,
                                      log=lambda msg: console.print(f"· {msg}", highlight=False))
        print_ranking(report)
        console.print(f"report: {report.html_path}\nmetrics: {report.metrics_path}", highlight=False)
