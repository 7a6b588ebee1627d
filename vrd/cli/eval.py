"""CLI: `vrd eval` (run benchmarks) and `vrd eval compare` (runs side by side)."""

from __future__ import annotations

from pathlib import Path

import typer

from vrd.cli.common import console, user_errors
from vrd.errors import ConfigError

eval_app = typer.Typer(
    name="eval",
    help="Evaluate a model on benchmarks (`vrd eval --model M --benchmarks a,b --out DIR`), "
         "or compare runs (`vrd eval compare DIR_A DIR_B`).",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
)


def _split_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _parse_options(items: list[str] | None) -> dict[str, object]:
    """`--engine-option key=value` pairs, numbers and booleans read as such."""
    import json

    options: dict[str, object] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--engine-option {item!r}: expected KEY=VALUE")
        try:
            options[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            options[key.strip()] = raw
    return options


@eval_app.callback()
def eval_command(
    ctx: typer.Context,
    model: str | None = typer.Option(None, "--model", "-m", help="Model: teacher alias, hub id or local folder."),
    benchmarks: str | None = typer.Option(
        None, "--benchmarks", "-b",
        help="Comma-separated: mathvista, mathverse, mathvision[:testmini], wemath, math500, gpqa, mmlu, "
             "or a vrd problems folder."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run folder: results.json, responses/."),
    backend: str = typer.Option("hf", "--backend", help="hf | openai | vllm | auto."),
    base_url: str | None = typer.Option(None, "--base-url", help="Server URL for --backend openai."),
    limit: int | None = typer.Option(None, "--limit", help="First N problems of each benchmark."),
    samples: int = typer.Option(1, "--samples", "-k", help="Samples per problem (accuracy = mean; pass@k too)."),
    template: str = typer.Option("math", "--template", help="math | r1v | none | PATH.jinja."),
    temperature: float = typer.Option(0.0, "--temperature", help="0 = greedy."),
    top_p: float = typer.Option(1.0, "--top-p"),
    max_new_tokens: int = typer.Option(2048, "--max-new-tokens"),
    system: str | None = typer.Option(None, "--system", help="System prompt."),
    seed: int = typer.Option(0, "--seed"),
    batch_size: int = typer.Option(16, "--batch-size", help="Problems per written shard."),
    path: list[str] | None = typer.Option(None, "--path", help="NAME=DIR: a local copy of a benchmark "
                                             "(raw files or a vrd problems folder). Repeatable."),
    rollouts: Path | None = typer.Option(None, "--rollouts", help="Base-model rollouts (vrd responses) for "
                                            "accuracy by base pass-rate bin."),
    bins: str = typer.Option("synergy", "--bins", help="Difficulty levels for --rollouts: synergy (L1-L5) | "
                             "fixed | quantile | edges:A,B,..."),
    judge_url: str | None = typer.Option(None, "--judge-url", help="OpenAI-compatible URL of an LLM judge, "
                                            "asked only when no answer is found by rule."),
    judge_model: str | None = typer.Option(None, "--judge-model", help="Judge model name."),
    engine_option: list[str] | None = typer.Option(None, "--engine-option", help="KEY=VALUE for the engine "
                                                      "(e.g. max_pixels=200704). Repeatable."),
    new_run: bool = typer.Option(False, "--new-run", help="Discard responses already in --out and start over."),
    breakdown: bool = typer.Option(True, "--breakdown/--no-breakdown", help="Show subsets and difficulty."),
) -> None:
    """Run benchmarks (resumable: a rerun skips finished problems)."""
    if ctx.invoked_subcommand is not None:
        return
    if model is None and benchmarks is None and out is None:
        console.print(ctx.get_help())
        raise typer.Exit()
    with user_errors():
        missing = [n for n, v in (("--model", model), ("--benchmarks", benchmarks), ("--out", out)) if not v]
        if missing:
            raise ConfigError(f"vrd eval needs {', '.join(missing)}")
        from vrd.eval.data import parse_paths
        from vrd.eval.results import results_table
        from vrd.eval.runner import EvalConfig, run_eval

        config = EvalConfig(
            model=str(model), benchmarks=_split_list(benchmarks), backend=backend, base_url=base_url, limit=limit,
            samples=samples, template=template, temperature=temperature, top_p=top_p,
            max_new_tokens=max_new_tokens, system=system, seed=seed, batch_size=batch_size,
            paths=parse_paths(path), rollouts=str(rollouts) if rollouts else None, bins=bins, judge_url=judge_url,
            judge_model=judge_model, engine_options=_parse_options(engine_option), new_run=new_run,
        )

        def progress(name: str, done: int, total: int) -> None:
            console.print(f"[dim]{name}: {done}/{total} problems[/]", highlight=False)

        results = run_eval(config, out, progress=progress)
        console.print(results_table(results, breakdown=breakdown))
        judge = results["judge"]
        judge_line = (f"LLM judge {judge['model']} used on {judge['used']} response(s)" if judge["enabled"]
                      else "LLM judge: off (rule-based grading only)")
        run = results.get("last_run", {})
        console.print(f"{judge_line}. Generated {run.get('problems_generated', 0)} problem(s), "
                      f"skipped {run.get('problems_skipped', 0)} already done. "
                      f"Wrote {Path(out) / 'results.json'} and {Path(out) / 'responses'}/", highlight=False)
        notes = {b["pass_rate_bins_info"]["note"] for b in results["benchmarks"].values()
                 if b.get("pass_rate_bins_info") and not b["pass_rate_bins_info"].get("independent", True)}
        for note in sorted(notes):
            console.print(f"[yellow]difficulty levels:[/] {note}", highlight=False)
        rejected = {n: b["rejected"] for n, b in results["benchmarks"].items() if b.get("rejected")}
        if rejected:
            console.print(f"[yellow]rejected records (not evaluated):[/] {rejected}", highlight=False)


@eval_app.command("compare")
def compare_command(
    runs: list[Path] = typer.Argument(..., help="Eval run folders (or results.json files); the first is the reference."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Also write the comparison to FILE.json or FILE.md."),
    breakdown: bool = typer.Option(True, "--breakdown/--no-breakdown", help="Show subsets and difficulty."),
) -> None:
    """Accuracies side by side per benchmark and slice, with differences from the first run."""
    with user_errors():
        from vrd.eval.compare import compare_runs, comparison_table, write_comparison

        comparison = compare_runs([str(r) for r in runs], breakdown=breakdown)
        console.print(comparison_table(comparison))
        if out is not None:
            console.print(f"Wrote {write_comparison(comparison, out)}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `vrd eval` and `vrd eval compare`."""
    app.add_typer(eval_app, name="eval")
