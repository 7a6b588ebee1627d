"""CLI: `vrd merge A B [C...] --out DIR` — weight-space merging (see vrd/models/merge.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from vrd.cli.common import console, user_errors
from vrd.errors import ConfigError


def register(app: typer.Typer) -> None:
    @app.command("merge")
    def merge_cmd(
        models: list[str] = typer.Argument(..., help="Models to merge (folders or ids); the first gives config "
                                                    "and processor."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder (a sweep writes models/ and eval/ in it)."),
        method: str = typer.Option("linear", "--method", help="linear | ties | dare | dare_ties."),
        alpha: str | None = typer.Option(None, "--alpha", help="Two models: weight of the first (A*alpha + "
                                         "B*(1-alpha)); a comma list sweeps, e.g. 0,0.25,0.5,0.75,1."),
        weights: str | None = typer.Option(None, "--weights", help="One weight per model, comma-separated "
                                           "(default equal); instead of --alpha."),
        base: str | None = typer.Option(None, "--base", help="Common base model (ties / dare task vectors)."),
        density: float = typer.Option(0.5, "--density", help="ties: fraction kept by magnitude; "
                                      "dare: keep probability 1-p."),
        scale: float = typer.Option(1.0, "--lambda", help="Scale of the merged task vector (ties / dare)."),
        vision: str = typer.Option("merge", "--vision", help="merge the vision tower too, or keep the first's."),
        seed: int = typer.Option(0, "--seed", help="Seed of DARE's drop mask."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out / merged points."),
        eval_benchmarks: str | None = typer.Option(None, "--eval", help="Benchmarks to evaluate each merged model "
                                                   "on (as `vrd eval --benchmarks`)."),
        eval_limit: int | None = typer.Option(None, "--eval-limit", help="First N problems of each benchmark."),
        max_new_tokens: int = typer.Option(2048, "--max-new-tokens", help="Eval generation length."),
        template: str = typer.Option("math", "--template", help="Eval prompt template."),
        path: list[str] | None = typer.Option(None, "--path", help="NAME=DIR local benchmark copy (repeatable)."),
    ) -> None:
        """Merge fine-tuned models (linear, TIES, DARE), optionally sweeping alpha and evaluating each point."""
        with user_errors():
            from vrd.models.merge import MergeSpec, merge_models, parse_floats, sweep

            kw = {"method": method, "base": base, "density": density, "lambda_": scale, "vision": vision,
                  "seed": seed}
            alphas = parse_floats(alpha, "--alpha")
            if alpha is not None and weights is not None:
                raise ConfigError("give --alpha (two models) or --weights (one per model), not both")
            say = lambda msg: console.print(f"[dim]{msg}[/]", highlight=False)  # noqa: E731
            if alphas and (len(alphas) > 1 or eval_benchmarks):
                eval_config = None
                if eval_benchmarks:
                    from vrd.eval.data import parse_paths
                    from vrd.eval.runner import EvalConfig

                    eval_config = EvalConfig(model="", benchmarks=[b.strip() for b in eval_benchmarks.split(",")
                                                                   if b.strip()],
                                             limit=eval_limit, max_new_tokens=max_new_tokens, template=template,
                                             paths=parse_paths(path))
                summary = sweep(models, alphas, out, eval_config=eval_config, overwrite=overwrite, progress=say, **kw)
                for p in summary["points"]:
                    acc = p.get("mean_accuracy")
                    console.print(f"alpha={p['alpha']:g}  {p['model']}"
                                  + (f"  mean accuracy {100 * acc:.1f}%" if acc is not None else ""), highlight=False)
                console.print(f"Wrote {Path(out) / 'sweep.json'}", highlight=False)
                return
            if alphas:
                spec = MergeSpec.from_alpha(models, alphas[0], **kw)
            else:
                spec = MergeSpec(models=list(models), weights=parse_floats(weights, "--weights"), **kw)
            folder = merge_models(spec, out, overwrite=overwrite, progress=say)
            console.print(f"saved merged model + processor to [bold]{folder}[/]")
