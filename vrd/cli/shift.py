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
        color = "red" if sig["recommendation"] == "SFT first" else "green"
        console.print(f"[bold {color}]{sig.get('verdict_line') or sig['recommendation']}[/] — {sig['reason']}",
                      highlight=False)
        console.print(f"[dim]computed on {sig.get('computed_on')}; reward {sig.get('reward')}: "
                      f"format-only signal {_fmt(sig['at_group_size'].get('format_only_signal'), 2)}[/]",
                      highlight=False)
        console.print(f"[dim]rule: {sig['rule']['text']}[/]", highlight=False)
    else:
        console.print(f"[dim]signal availability: {sig['reason']}[/]", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `shift-report` to the app."""

    @app.command("shift-report")
    def shift_report_cmd(
        datasets: list[Path] = typer.Argument(..., help="Response dataset dirs (distill output or a curate split)."),
        base_model: str = typer.Option(..., "--base-model", help="Alias, hub id or local dir of the base model."),
        out: Path = typer.Option(..., "--out", help="Output dir for report.html and metrics.json."),
        base_samples: Path | None = typer.Option(
            None, "--base-samples", help="The base model's own `--keep all` rollouts on the same problems."),
        embedder: str | None = typer.Option(
            None, "--embedder", help="sentence-transformers dir or hub id (default: bundled all-MiniLM-L6-v2)."),
        max_samples: int = typer.Option(1000, "--max-samples", help="Rows scored per dataset (seeded sample); 0 = all."),
        batch_size: int = typer.Option(8, "--batch-size", help="Rows per NLL forward pass (length-sorted)."),
        template: str | None = typer.Option(
            None, "--template", help="Template whose format compliance is measured (math | r1v | easyr1-math | easyr1-r1v | none | "
                                    "PATH.jinja); default: from each manifest."),
        group_size: int = typer.Option(10, "--group-size", help="Planned GRPO group size for the recommendation."),
        max_all_wrong: float = typer.Option(0.5, "--max-all-wrong", help="Rule: SFT first above this all-wrong fraction."),
        min_pass_rate: float = typer.Option(0.1, "--min-pass-rate", help="Rule: SFT first below this mean pass rate."),
        rl_split: Path | None = typer.Option(
            None, "--rl-split", help="Problems RL will train on (e.g. the curated rl split): signal is computed on "
            "these ids of the base samples only."),
        format_weight: float = typer.Option(0.1, "--format-weight", help="w in the RL reward (1-w)*acc + w*format."),
        device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N]."),
        seed: int = typer.Option(0, "--seed", help="Seed for sampling rows and permutation tests."),
    ) -> None:
        """Measure how far each dataset sits from the base model (NLL, embeddings, length, style)
        and whether GRPO on the base model would get signal. Writes report.html and metrics.json."""
        with user_errors():
            from vrd.analysis.report import ShiftConfig, shift_report
            from vrd.analysis.signal import SignalRule

            if template is not None:
                from vrd.prompts import get_template

                get_template(template)
            cfg = ShiftConfig(
                base_model=base_model, out_dir=out, base_samples=base_samples, embedder=embedder,
                max_samples=max_samples or None, batch_size=batch_size, template=template, seed=seed, device=device,
                rl_split=rl_split, format_weight=format_weight,
                rule=SignalRule(group_size=group_size, max_all_wrong=max_all_wrong, min_mean_pass_rate=min_pass_rate),
            )
            report = shift_report(datasets, cfg, log=lambda msg: console.print(f"[dim]·[/] {msg}", highlight=False))
        print_ranking(report)
        console.print(f"report: {report.html_path}\nmetrics: {report.metrics_path}", highlight=False)
