"""`vrd shift-report`: measure how far each dataset sits from a base model, side by side.

Orchestration only: loading and sampling rows, then likelihood, embeddings, style and
signal from their own modules, written as `metrics.json` (stable keys, see `METRIC_KEYS`)
and a self-contained `report.html`. Datasets are ranked by closeness to the base model:
mean per-byte NLL under the base model first (tokenizer-independent), ties to three
decimals broken by embedding MMD² to the base samples.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vrd.analysis import signal as signal_mod
from vrd.analysis.config import ShiftConfig
from vrd.analysis.style import histogram, length_stats, quantiles, style_stats, token_lengths
from vrd.errors import ConfigError, DataError

# Top-level keys of metrics.json; tests and downstream tools rely on them.
METRIC_KEYS = ("base_model", "datasets", "signal")
RANKING_RULE = "mean per-byte NLL under the base model (lower = closer); ties to 3 decimals broken by MMD²"


@dataclass
class LoadedSet:
    name: str
    path: Path
    rows: list[dict[str, Any]]
    n_total: int
    template: str


@dataclass
class ShiftReport:
    metrics: dict[str, Any]
    ranking: list[dict[str, Any]]
    html_path: Path
    metrics_path: Path
    reference: dict[str, Any] | None = None  # the base samples' own NLL/length: what "close" looks like


def _template_of(path: Path, override: str | None) -> str:
    """Format template a dataset was prompted with: the override, its manifest, or "math"."""
    if override:
        return override
    from vrd.schema import read_manifest

    manifest = read_manifest(path) if path.is_dir() else {}
    found = manifest.get("template")
    for key in ("config", "args", "options", "distill"):
        if not found and isinstance(manifest.get(key), Mapping):
            found = manifest[key].get("template")
    if not found:
        return "math"
    from vrd.errors import VrdError
    from vrd.prompts import get_template

    try:
        return get_template(str(found)).name  # a registered name, or the template file it was prompted with
    except VrdError:  # the file it named is gone: hold replies to the default format
        return "math"


def sample_rows(rows: list[dict[str, Any]], max_samples: int | None, seed: int) -> list[dict[str, Any]]:
    """A seeded random subset, kept in dataset order, so reruns score the same rows."""
    if not max_samples or len(rows) <= max_samples:
        return rows
    keep = sorted(random.Random(seed).sample(range(len(rows)), max_samples))
    return [rows[i] for i in keep]


def dataset_names(paths: Sequence[Path]) -> list[str]:
    """Folder names; a repeated name gets its parent folder prefixed so keys stay unique."""
    names = [p.name or str(p) for p in paths]
    out = []
    for p, n in zip(paths, names, strict=True):
        out.append(f"{p.parent.name}/{n}" if names.count(n) > 1 else n)
    if len(set(out)) != len(out):
        raise ConfigError(f"datasets have the same name: {', '.join(out)}; pass distinct folders")
    return out


def load_set(path: Path, name: str, cfg: ShiftConfig) -> LoadedSet:
    from vrd.schema import read_rows

    rows = read_rows(path, kind="responses")
    if not rows:
        raise DataError(f"{path}: dataset has no rows")
    for i, row in enumerate(rows):
        if not isinstance(row.get("response"), str):
            raise DataError(f"{path}: row {i}: field 'response' must be a string")
    return LoadedSet(name, path, sample_rows(rows, cfg.max_samples, cfg.seed), len(rows), _template_of(path, cfg.template))


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _mean(values: Sequence[float]) -> float:
    vals = _finite(values)
    return float(np.mean(vals)) if vals else math.nan


def likelihood_metrics(rows: Sequence[Mapping[str, Any]], scores: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Means, quantiles, a per-byte histogram and a per-source breakdown of NLL scores."""
    per_tok = [s["nll_per_token"] for s in scores]
    per_byte = [s["nll_per_byte"] for s in scores]
    by_source: dict[str, dict[str, Any]] = {}
    for row, s in zip(rows, scores, strict=True):
        by_source.setdefault(str(row.get("source") or "?"), {"tok": [], "byte": []})
        by_source[str(row.get("source") or "?")]["tok"].append(s["nll_per_token"])
        by_source[str(row.get("source") or "?")]["byte"].append(s["nll_per_byte"])
    errors = [s["error"] for s in scores if s.get("error")]
    sums: dict[str, list[float]] = {}
    for row, sc in zip(rows, scores, strict=True):
        if sc["nll_per_byte"] is not None and math.isfinite(sc["nll_per_byte"]):
            sums.setdefault(str(row.get("id", id(row))), []).append(sc["nll_per_byte"])
    from vrd.stats import cluster_mean_ci

    # rows of one problem are correlated: the interval resamples problems (sum and count per problem)
    ci = (cluster_mean_ci([sum(v) for v in sums.values()], [len(v) for v in sums.values()], binary=False)
          if len(sums) > 1 else None)
    total_nll = sum(_finite([s["nll_sum"] for s in scores]))
    total_bytes = sum(s["n_bytes"] for s in scores if math.isfinite(s["nll_sum"]))
    mean_byte = _mean(per_byte)
    return {
        "n_scored": len(scores) - len(errors),
        "n_failed": len(errors),
        "n_truncated": sum(1 for s in scores if s.get("truncated")),
        "failures": errors[:20],
        "nll_per_token_mean": _mean(per_tok),
        "nll_per_byte_mean": mean_byte,
        "nll_per_byte_mean_ci95": list(ci) if ci and math.isfinite(ci[0]) else None,
        "bits_per_byte_mean": mean_byte / math.log(2) if math.isfinite(mean_byte) else math.nan,
        "nll_per_byte_pooled": total_nll / total_bytes if total_bytes else math.nan,
        "nll_per_token_quantiles": quantiles(per_tok),
        "nll_per_byte_quantiles": quantiles(per_byte),
        "nll_per_byte_histogram": histogram(per_byte),
        "by_source": {
            src: {"n": len(v["tok"]), "nll_per_token_mean": _mean(v["tok"]), "nll_per_byte_mean": _mean(v["byte"])}
            for src, v in sorted(by_source.items())
        },
    }


def _examples(rows: Sequence[Mapping[str, Any]], scores: Sequence[Mapping[str, Any]], limit: int = 2000) -> list[dict]:
    """Most typical and most surprising responses under the base model, for the HTML page."""
    scored = [(s["nll_per_byte"], i) for i, s in enumerate(scores) if math.isfinite(s["nll_per_byte"])]
    scored.sort()
    if not scored:
        return []
    picks = {"lowest NLL": scored[0][1], "median NLL": scored[len(scored) // 2][1], "highest NLL": scored[-1][1]}
    out = []
    for label, i in picks.items():
        row = rows[i]
        text = row.get("response") or ""
        out.append({
            "label": label,
            "id": str(row.get("id", "")),
            "nll_per_byte": scores[i]["nll_per_byte"],
            "prompt": (row.get("prompt") or "")[:limit],
            "response": text[:limit] + ("…" if len(text) > limit else ""),
        })
    return out


def rank_datasets(datasets: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Closest first by mean per-byte NLL; MMD² breaks ties (NaN/missing sort last)."""
    def num(value: Any) -> float:
        return float(value) if value is not None and math.isfinite(value) else math.inf

    def key(item: tuple[str, Mapping[str, Any]]) -> tuple[float, float, str]:
        name, m = item
        nll = num(m["likelihood"].get("nll_per_byte_mean"))
        return (round(nll, 3) if math.isfinite(nll) else nll, num(m["embedding"].get("mmd2")), name)

    ordered = sorted(datasets.items(), key=key)
    out = [{"rank": r, "name": name, "nll_per_byte_mean": m["likelihood"]["nll_per_byte_mean"],
            "ci95": m["likelihood"].get("nll_per_byte_mean_ci95"),
            "mmd2": m["embedding"].get("mmd2"), "mmd2_ci95": m["embedding"].get("mmd2_ci95")}
           for r, (name, m) in enumerate(ordered, start=1)]
    # Two neighbours whose NLL intervals overlap are not reliably in this order.
    for a, b in zip(out, out[1:], strict=False):
        a["separated_from_next"] = bool(a["ci95"] and b["ci95"] and a["ci95"][1] < b["ci95"][0])
    if out:
        out[-1]["separated_from_next"] = None
    return out


def _json_safe(value: Any) -> Any:
    """NaN/inf become null so metrics.json is strict JSON any tool can read."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


def signal_rows(rows: list[dict[str, Any]], rl_split: Path | None) -> tuple[list[dict[str, Any]], str]:
    """The base rollouts of the problems RL will train on, and a line saying which those are."""
    if rl_split is None:
        return rows, "every problem in the base samples (pass --rl-split to restrict to the RL split)"
    from vrd.schema import read_rows

    ids = {str(r["id"]) for r in read_rows(rl_split)}
    kept = [r for r in rows if str(r.get("id")) in ids]
    if not kept:
        raise DataError(f"--rl-split {rl_split}: none of its {len(ids)} problem ids are in the base samples")
    n_base = len({str(r.get("id")) for r in rows})
    n_kept = len({str(r["id"]) for r in kept})
    return kept, f"the RL split {rl_split} ({n_kept} of its {len(ids)} problems have base rollouts; {n_base} in total)"


def shift_report(datasets: Sequence[str | os.PathLike], cfg: ShiftConfig,
                 log: Callable[[str], None] | None = None) -> ShiftReport:
    """Compute every metric for every dataset and write metrics.json + report.html."""
    from vrd.outputs import output_lock, require_out_dir

    if cfg.out_dir is None:
        raise ConfigError("missing required setting 'out_dir' (give --out)")
    require_out_dir(cfg.out_dir)  # before minutes of scoring, not after
    from vrd.models.loading import check_device

    check_device(cfg.device)
    if not datasets:
        raise ConfigError("give at least one dataset directory")
    with output_lock(cfg.out_dir, "shift-report"):
        return _shift_report(datasets, cfg, log)


def _shift_report(datasets: Sequence[str | os.PathLike], cfg: ShiftConfig,
                  log: Callable[[str], None] | None) -> ShiftReport:
    from vrd.analysis.likelihood import score_nll
    from vrd.models.loading import load_model_and_processor

    say = log or (lambda _msg: None)
    paths = [Path(d) for d in datasets]
    names = dataset_names(paths)
    sets = [load_set(p, n, cfg) for p, n in zip(paths, names, strict=True)]
    base_rows_all: list[dict[str, Any]] | None = None
    if cfg.base_samples is not None:
        from vrd.schema import read_rows

        base_rows_all = read_rows(cfg.base_samples, kind="responses")
        if not base_rows_all:
            raise DataError(f"{cfg.base_samples}: base samples hold no rows")
    base_rows = sample_rows(base_rows_all, cfg.max_samples, cfg.seed) if base_rows_all else None
    if cfg.rl_split is not None:
        from vrd.schema import shard_files

        shard_files(cfg.rl_split)  # read at the end: a bad path must fail before the models load

    say(f"loading base model {cfg.base_model}")
    model, processor = load_model_and_processor(cfg.base_model, device=cfg.device)
    tokenizer = getattr(processor, "tokenizer", processor)

    scores: dict[str, list[dict[str, Any]]] = {}
    for s in sets:
        say(f"scoring NLL of {s.name} ({len(s.rows)} of {s.n_total} rows)")
        scores[s.name] = score_nll((model, processor), s.rows, batch_size=cfg.batch_size, progress=log is not None)
        n_cut = sum(1 for r in scores[s.name] if r.get("truncated"))
        if n_cut:
            say(f"{s.name}: {n_cut} response(s) longer than the model's context were scored on their first part")
    reference: dict[str, Any] | None = None
    base_lengths: list[int] | None = None
    if base_rows:
        say(f"scoring NLL of the base samples ({len(base_rows)} rows, the reference point)")
        base_scores = score_nll((model, processor), base_rows, batch_size=cfg.batch_size, progress=log is not None)
        base_lengths = token_lengths([r["response"] for r in base_rows], tokenizer)
        reference = {"likelihood": likelihood_metrics(base_rows, base_scores), "length": length_stats(base_lengths),
                     "style": style_stats([r["response"] for r in base_rows], base_lengths, sets[0].template)}
    del model

    embed: dict[str, Any] = {}
    if base_rows:
        from vrd.analysis.distances import embedding_distances
        from vrd.analysis.embeddings import DEFAULT_EMBEDDER, embed_texts, load_embedder

        say(f"embedding responses with {cfg.embedder or DEFAULT_EMBEDDER}")
        embedder = load_embedder(cfg.embedder)
        base_vecs = embed_texts([r["response"] for r in base_rows], embedder)
        for s in sets:
            vecs = embed_texts([r["response"] for r in s.rows], embedder)
            embed[s.name] = {"available": True, "embedder": cfg.embedder or DEFAULT_EMBEDDER,
                             **embedding_distances(vecs, base_vecs, n_permutations=cfg.n_permutations, seed=cfg.seed,
                                                   groups_x=[str(r.get("id", i)) for i, r in enumerate(s.rows)],
                                                   groups_y=[str(r.get("id", i)) for i, r in enumerate(base_rows)])}
    no_base = {"available": False, "reason": "no --base-samples given: nothing to compare embeddings against"}

    per_set: dict[str, dict[str, Any]] = {}
    examples: dict[str, list[dict]] = {}
    series: dict[str, dict[str, Any]] = {}
    if base_rows and reference is not None:
        series["__base__"] = {"nll_per_byte": [s["nll_per_byte"] for s in base_scores], "lengths": base_lengths}
    for s in sets:
        texts = [r["response"] for r in s.rows]
        lengths = token_lengths(texts, tokenizer)
        per_set[s.name] = {
            "path": str(s.path),
            "n_rows": s.n_total,
            "n_sampled": len(s.rows),
            "likelihood": likelihood_metrics(s.rows, scores[s.name]),
            "embedding": embed.get(s.name, no_base),
            "length": length_stats(lengths, base_lengths),
            "style": style_stats(texts, lengths, s.template),
        }
        examples[s.name] = _examples(s.rows, scores[s.name])
        series[s.name] = {"nll_per_byte": [x["nll_per_byte"] for x in scores[s.name]], "lengths": lengths}

    if base_rows_all:
        say("computing signal availability from the base rollouts")
        rows_for_signal, computed_on = signal_rows(base_rows_all, cfg.rl_split)
        sig = signal_mod.signal_report(rows_for_signal, signal_mod.SignalRule(**cfg.rule_settings()), reward=signal_mod.RewardSpec(cfg.format_weight),
                                       seed=cfg.seed, computed_on=computed_on)
    else:
        sig = signal_mod.unavailable("no --base-samples given: signal availability needs the base model's rollouts")

    metrics = _json_safe({"base_model": str(cfg.base_model), "datasets": per_set, "signal": sig})
    ranking = rank_datasets(metrics["datasets"])
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics_path, html_path = out / "metrics.json", out / "report.html"
    from vrd.analysis.html import render_report
    from vrd.outputs import publish, staging_beside, write_text_atomic

    # Both files are built in a staging folder beside OUT. When OUT holds only an earlier report,
    # the folders are swapped in one atomic step (a kill leaves the earlier pair or the new one);
    # when it holds other files too, the two are renamed in turn, each whole.
    with staging_beside(out) as staging:
        stage = staging.path
        say("writing report.html")
        render_report(stage / "report.html", metrics=metrics, ranking=ranking, examples=examples, series=series,
                      reference=_json_safe(reference) if reference else None, ranking_rule=RANKING_RULE,
                      settings={"embedder": cfg.embedder or "all-MiniLM-L6-v2", "max_samples": cfg.max_samples,
                                "base_samples": str(cfg.base_samples) if cfg.base_samples else None,
                                "batch_size": cfg.batch_size, "seed": cfg.seed})
        write_text_atomic(stage / "metrics.json", json.dumps(metrics, indent=2, sort_keys=False, allow_nan=False))
        publish(staging, out, (metrics_path.name, html_path.name), "shift-report")
    return ShiftReport(metrics=metrics, ranking=ranking, html_path=html_path, metrics_path=metrics_path,
                       reference=reference)

