"""`vrd eval compare`: runs side by side, with each run's difference from the first.

The first run is the reference (typically the base model), so the table reads directly as
"what SFT did" and "what RL did" per benchmark and per slice. Differences are in percentage
points; a slice that one run lacks shows as "-" rather than as zero.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vrd.errors import ConfigError
from vrd.eval.results import load_results

GROUPS = (("subsets", "subset"), ("difficulty", "difficulty"), ("pass_rate_bins", "base pass"))


def run_label(path: str | os.PathLike, results: Mapping[str, Any], taken: set[str]) -> str:
    """A short, unique column name: the run folder's name (the model name when that is taken)."""
    p = Path(path)
    label = (p.parent.name if p.is_file() else p.resolve().name) or str(results.get("model", "run"))
    if label in taken:
        label = f"{label} ({Path(str(results.get('model', ''))).name or len(taken)})"
    while label in taken:
        label += "'"
    taken.add(label)
    return label


def _accuracy(results: Mapping[str, Any], bench: str, group: str | None, key: str | None) -> tuple[float | None, int]:
    b = results.get("benchmarks", {}).get(bench)
    if b is None:
        return None, 0
    s = b if group is None else (b.get(group) or {}).get(key)
    if not s:
        return None, 0
    return s.get("accuracy"), int(s.get("n_problems") or 0)


def compare_runs(paths: Sequence[str | os.PathLike], *, breakdown: bool = True) -> dict[str, Any]:
    """Accuracy of every run on every benchmark (and slice), with differences from the first run."""
    if len(paths) < 2:
        raise ConfigError("compare needs at least two result folders")
    runs = [load_results(p) for p in paths]
    taken: set[str] = set()
    labels = [run_label(p, r, taken) for p, r in zip(paths, runs, strict=True)]
    benches: list[str] = []
    for r in runs:
        benches.extend(b for b in r.get("benchmarks", {}) if b not in benches)
    rows: list[dict[str, Any]] = []

    def add(bench: str, group: str | None, key: str | None, label: str) -> None:
        pairs = [_accuracy(r, bench, group, key) for r in runs]
        values = [v for v, _ in pairs]
        ref = values[0]
        deltas = [None if v is None or ref is None else v - ref for v in values]
        deltas[0] = None
        rows.append({"benchmark": bench, "slice": label, "accuracy": values, "delta": deltas,
                     "n": [n for _, n in pairs]})

    for bench in benches:
        add(bench, None, None, "all")
        if not breakdown:
            continue
        for group, name in GROUPS:
            keys: list[str] = []
            for r in runs:
                keys.extend(k for k in (r.get("benchmarks", {}).get(bench, {}).get(group) or {}) if k not in keys)
            for k in keys:
                add(bench, group, k, f"{name}={k}")
    means = [r.get("mean_accuracy") for r in runs]
    rows.append({"benchmark": "mean", "slice": "macro", "accuracy": means,
                 "delta": [None] + [None if m is None or means[0] is None else m - means[0] for m in means[1:]],
                 "n": [len(r.get("benchmarks", {})) for r in runs]})
    return {"runs": labels, "paths": [str(p) for p in paths], "models": [r.get("model") for r in runs],
            "rows": rows}


def _cell(value: float | None, delta: float | None, first: bool) -> str:
    if value is None:
        return "-"
    text = f"{100 * value:.1f}"
    if not first and delta is not None:
        text += f" ({100 * delta:+.1f})"
    return text


def comparison_table(comparison: Mapping[str, Any]):
    """A rich table; the differences are colored so a regression stands out."""
    from rich.table import Table

    table = Table(title="vrd eval compare (accuracy %, difference from the first run in points)")
    table.add_column("benchmark")
    table.add_column("slice")
    for label in comparison["runs"]:
        table.add_column(label, justify="right")
    for row in comparison["rows"]:
        cells = []
        for i, (v, d) in enumerate(zip(row["accuracy"], row["delta"], strict=True)):
            text = _cell(v, d, i == 0)
            if i and d is not None and abs(d) >= 0.0005:
                text = f"[{'green' if d > 0 else 'red'}]{text}[/]"
            cells.append(text)
        top = row["slice"] in ("all", "macro")
        table.add_row(row["benchmark"] if top else "", row["slice"], *cells, style="bold" if top else None)
    return table


def comparison_markdown(comparison: Mapping[str, Any]) -> str:
    head = ["benchmark", "slice", *comparison["runs"]]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---", "---"] + ["---:"] * len(comparison["runs"])) + "|"]
    for row in comparison["rows"]:
        cells = [_cell(v, d, i == 0) for i, (v, d) in enumerate(zip(row["accuracy"], row["delta"], strict=True))]
        lines.append("| " + " | ".join([row["benchmark"], row["slice"], *cells]) + " |")
    return "\n".join(lines) + "\n"


def write_comparison(comparison: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write `.json` (the numbers) or `.md` (the table) by the file's suffix."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        text = json.dumps(comparison, indent=2)
    elif p.suffix.lower() in (".md", ".markdown"):
        text = comparison_markdown(comparison)
    else:
        raise ConfigError(f"--out {p}: use a .json or .md file")
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, p)
    return p
