"""CLI: `vrd curate` and `vrd export`. Flags override the YAML file given with --config."""

from __future__ import annotations

from pathlib import Path

import typer

from vrd.cli.common import console, user_errors


def curate_command(
    in_dir: Path = typer.Argument(..., help="Distill output: response rows (Parquet shards + manifest.json)."),
    out: Path = typer.Option(..., "--out", help="Output directory: OUT/<split>/ datasets and OUT/curation.json."),
    config: Path | None = typer.Option(None, "--config", help="YAML file of curate options; flags override it."),
    correct_only: bool | None = typer.Option(None, "--correct-only/--no-correct-only",
                                             help="Keep only correct responses [default: on]."),
    require_format: bool | None = typer.Option(None, "--require-format/--no-require-format",
                                               help="Keep only responses that pass the format check."),
    rollouts: Path | None = typer.Option(None, "--rollouts",
                                         help="Base-model rollouts (`vrd distill --keep all`) to take pass rates from."),
    pass_rate: str | None = typer.Option(None, "--pass-rate", help="Keep problems with pass rate in MIN:MAX."),
    difficulty_bins: str | None = typer.Option(None, "--difficulty-bins", help="synergy (L1-L5) | fixed | quantile | edges:A,B,... [default: synergy]."),
    dedup: str | None = typer.Option(None, "--dedup",
                                     help="Comma list of exact,near,image, or 'none' [default: all three]."),
    near_threshold: float | None = typer.Option(None, "--near-threshold",
                                                help="MinHash Jaccard threshold for near dups [0.8]."),
    near_ngram: int | None = typer.Option(None, "--near-ngram", help="Word n-gram size for near dedup [3]."),
    phash_distance: int | None = typer.Option(None, "--phash-distance",
                                              help="Max Hamming distance of 64-bit image phashes [4]."),
    image_match: str | None = typer.Option(None, "--image-match",
                                           help="Image dups need the same answer ('answer') or not ('any')."),
    decontaminate: str | None = typer.Option(None, "--decontaminate",
                                             help="Benchmarks to remove, e.g. mathvista,mathverse (or name=PATH)."),
    decontaminate_path: list[Path] | None = typer.Option(None, "--decontaminate-path",
                                                         help="A prepared vrd problems dir to remove (repeatable)."),
    decontam_ngram: int | None = typer.Option(None, "--decontam-ngram", help="Word n-gram size for decontam [8]."),
    decontam_image: bool | None = typer.Option(None, "--decontam-image/--no-decontam-image",
                                               help="Also remove problems reusing a benchmark figure [on]."),
    select: str | None = typer.Option(None, "--select",
                                      help="shortest | longest | random | first | closest [shortest]."),
    base_model: str | None = typer.Option(None, "--base-model", help="Model scoring responses for --select closest."),
    min_tokens: int | None = typer.Option(None, "--min-tokens", help="Drop responses shorter than this."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="Drop responses longer than this."),
    split: str | None = typer.Option(None, "--split", help="e.g. sft=2000,rl=20000,val=500 (a size may be a share like 50% or 'rest')."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for splits and random selection [0]."),
) -> None:
    """Filter, label, dedup, decontaminate and split distilled responses into training sets."""
    with user_errors():
        from vrd.curate.config import CurateConfig
        from vrd.curate.pipeline import curate
        from vrd.curate.report import render

        overrides = {
            "correct_only": correct_only, "require_format": require_format,
            "rollouts": str(rollouts) if rollouts else None, "pass_rate": pass_rate,
            "difficulty_bins": difficulty_bins,
            "dedup": () if dedup == "none" else dedup, "near_threshold": near_threshold, "near_ngram": near_ngram,
            "phash_distance": phash_distance, "image_match": image_match, "decontaminate": decontaminate,
            "decontaminate_path": tuple(str(p) for p in decontaminate_path) if decontaminate_path else None,
            "decontam_ngram": decontam_ngram, "decontam_image": decontam_image, "select": select,
            "base_model": base_model, "min_tokens": min_tokens, "max_tokens": max_tokens, "split": split,
            "seed": seed,
        }
        cfg = CurateConfig.from_yaml(config, **overrides) if config else CurateConfig.from_dict({}, **overrides)
        report = curate(in_dir, out, cfg)
        render(report, console)
        sizes = ", ".join(f"{name}: {info['rows']} rows" for name, info in report.splits.items())
        console.print(f"wrote {out} ({sizes}); report in {out / 'curation.json'}")


def export_command(
    in_dir: Path = typer.Argument(..., help="A `vrd curate` output (or one vrd dataset directory)."),
    format: str = typer.Option(..., "--format", help="llamafactory | easyr1 | trl | hf"),
    out: Path = typer.Option(..., "--out", help="Directory to write."),
    split: list[str] | None = typer.Option(None, "--split", help="Export only this split (repeatable)."),
    template: str | None = typer.Option(None, "--template",
                                        help="Re-render user text: math | r1v | none | PATH.jinja "
                                             "[default: the stored prompt; problems: math, easyr1: none]."),
    push_to_hub: str | None = typer.Option(None, "--push-to-hub", help="With --format hf: also upload to REPO."),
) -> None:
    """Write curated splits in the format a trainer loads as is."""
    with user_errors():
        from vrd.curate.exporters import export

        result = export(in_dir, format, out, splits=list(split) if split else None, template=template,
                        push_to_hub=push_to_hub)
        sizes = ", ".join(f"{k}: {v}" for k, v in result.splits.items())
        console.print(f"exported {format} to {result.out} ({sizes})")


def register(app: typer.Typer) -> None:
    """Add `curate` and `export` to the app."""
    app.command("curate")(curate_command)
    app.command("export")(export_command)
