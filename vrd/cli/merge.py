"""CLI: `vrd merge A B [C...] --out DIR` — weight-space merging (see vrd/models/merge.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from vrd.cli.common import console, user_errors


def register(app: typer.Typer) -> None:
    from vrd.config import command_options
    from vrd.models.merge import MergeConfig

    @app.command("merge")
    @command_options(MergeConfig)
    def merge_cmd(
        config: MergeConfig,
        models: list[str] = typer.Argument(..., help="Models to merge (folders or ids); the first gives config "
                                                    "and processor."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder (a sweep writes models/ and eval/ in it)."),
    ) -> None:
        """Merge fine-tuned models (linear, TIES, DARE), optionally sweeping alpha and evaluating each point."""
        with user_errors():
            from vrd.models.merge import MergeSpec, merge_models, sweep

            kw = config.spec_kw()
            alphas = config.alpha
            say = lambda msg: console.print(msg, highlight=False)  # noqa: E731
            if alphas and (len(alphas) > 1 or config.eval_benchmarks):
                eval_config = None
                if config.eval_benchmarks:
                    from vrd.eval.config import EvalConfig

                    # the model is each merged point's, set by the sweep
                    eval_config = EvalConfig(model=models[0], benchmarks=config.eval_benchmarks, limit=config.eval_limit,
                                             max_new_tokens=config.max_new_tokens, template=config.template,
                                             paths=config.paths)
                summary = sweep(models, alphas, out, eval_config=eval_config, overwrite=config.overwrite,
                                progress=say, **kw)
                for p in summary["points"]:
                    acc = p.get("mean_accuracy")
                    console.print(f"alpha={p['alpha']:g}  {p['model']}"
                                  + (f"  mean accuracy {100 * acc:.1f}%" if acc is not None else ""), highlight=False)
                console.print(f"Wrote {Path(out) / 'sweep.json'}", highlight=False)
                return
            if alphas:
                spec = MergeSpec.from_alpha(models, alphas[0], **kw)
            else:
                spec = MergeSpec(models=list(models), weights=list(config.weights), **kw)
            folder = merge_models(spec, out, overwrite=config.overwrite, progress=say)
            console.print(f"saved merged model + processor to {folder}")
