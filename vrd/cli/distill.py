"""CLI: `vrd distill` — rejection-sample a teacher into a resumable response store."""

from __future__ import annotations

from typing import Any

import typer

from vrd.cli.common import console, err_console, user_errors
from vrd.errors import ConfigError


def _engine_options(pairs: list[str]) -> dict[str, Any]:
    import yaml

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--engine-option '{pair}': expected KEY=VALUE, e.g. max_pixels=401408")
        options[key.strip()] = yaml.safe_load(value)
    return options


def _print_summary(summary: Any) -> None:
    from rich.table import Table

    totals = summary.totals
    table = Table(title=f"distill · {summary.status}", show_header=True, header_style="bold")
    table.add_column("")
    table.add_column("this run", justify="right")
    table.add_column("whole store", justify="right")
    table.add_row("problems", f"{summary.problems_done} (+{summary.problems_done_before} done before)",
                  str(totals.get("problems_done", "")))
    table.add_row("samples", str(summary.generated), str(totals.get("generated", "")))
    table.add_row("kept rows", str(summary.kept), str(totals.get("rows", "")))
    table.add_row("acceptance (kept/generated)", f"{summary.acceptance:.1%}", f"{totals.get('acceptance', 0):.1%}")
    table.add_row("pass-rate mean (all rounds)", "", f"{totals.get('pass_rate_mean', 0):.3f}")
    table.add_row("pass-rate mean (round 1)", "", f"{totals.get('pass_rate_r1_mean', 0):.3f}")
    table.add_row("rejected", str(summary.rejected), str(totals.get("rejects", "")))
    table.add_row("samples/s", f"{summary.samples_per_s:.2f}", "")
    table.add_row("wall time", f"{summary.elapsed_s:.1f} s", "")
    console.print(table)
    if summary.moved_to:
        console.print(f"the previous run (different config) was moved to {summary.moved_to}")
    if summary.problems_failed:
        console.print(f"[yellow]{summary.problems_failed} problem(s) hit engine errors and were left for a rerun; "
                      f"see {summary.out}/rejects.jsonl[/]")
    console.print(f"out: {summary.out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""

    @app.command("distill")
    def distill(
        teacher: str = typer.Option(..., "--teacher", help="Teacher alias (e.g. qwen2.5-vl-7b), hub id or local dir."),
        data: str = typer.Option(..., "--data", help="A vrd problems dir, or a source name (prepared on the fly)."),
        out: str = typer.Option(..., "--out", help="Output dir; rerunning the same command resumes it."),
        backend: str = typer.Option(None, "--backend", help="hf | openai | vllm (default: vllm with a GPU, else hf)."),
        base_url: str = typer.Option(None, "--base-url", help="OpenAI-compatible server URL (--backend openai)."),
        samples: int = typer.Option(4, "--samples", help="Samples drawn per problem per round (K)."),
        keep: str = typer.Option("1", "--keep", help="Keep up to M correct samples per problem, or 'all'."),
        rounds: int = typer.Option(1, "--rounds", help="Rounds in all; each later round re-samples the problems with no correct sample yet."),
        temperature: float = typer.Option(1.0, "--temperature"),
        top_p: float = typer.Option(1.0, "--top-p"),
        max_new_tokens: int = typer.Option(2048, "--max-new-tokens"),
        template: str = typer.Option("math", "--template", help="math | r1v | path to a .jinja file."),
        system: str = typer.Option(None, "--system", help="Optional system prompt."),
        seed: int = typer.Option(0, "--seed"),
        shard: str = typer.Option(None, "--shard", help="I/N (0-based): this process's part of the problems."),
        executor: str = typer.Option("local", "--executor", help="local | ray"),
        limit: int = typer.Option(None, "--limit", help="Only the first N problems of the data."),
        batch_size: int = typer.Option(32, "--batch-size", help="Problems per committed batch."),
        split: str = typer.Option(None, "--split", help="Split, for --data SOURCE."),
        source_path: str = typer.Option(None, "--source-path", help="Local copy of the source, for --data SOURCE."),
        engine_option: list[str] = typer.Option([], "--engine-option", help="KEY=VALUE passed to the engine."),
        ray_actors: int = typer.Option(None, "--ray-actors", help="Actor pool size (default: one per GPU, or 1)."),
        ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster address (default: RAY_ADDRESS or local)."),
        new_run: bool = typer.Option(False, "--new-run",
                                     help="If OUT holds a run with a different config, move it to OUT.prev-<time> "
                                          "and start over (a run with the same config is resumed)."),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
    ) -> None:
        """Rejection-sample a teacher: K samples per problem, verified, up to M correct kept."""
        from vrd.distill.config import DistillConfig, parse_keep
        from vrd.distill.runner import DistillInterrupted, run_distill

        with user_errors():
            config = DistillConfig(
                teacher=teacher, data=data, out=out, backend=backend, base_url=base_url, samples=samples,
                keep=parse_keep(keep), rounds=rounds, temperature=temperature, top_p=top_p,
                max_new_tokens=max_new_tokens, template=template, system=system, seed=seed, shard=shard,
                executor=executor, limit=limit, batch_size=batch_size, split=split, source_path=source_path,
                engine_options=_engine_options(engine_option), ray_actors=ray_actors, ray_address=ray_address,
                new_run=new_run, progress=progress,
            )
            try:
                summary = run_distill(config)
            except DistillInterrupted as stop:
                _print_summary(stop.summary)
                err_console.print(f"[yellow]{stop}[/]")
                raise typer.Exit(code=130) from None
        _print_summary(summary)
