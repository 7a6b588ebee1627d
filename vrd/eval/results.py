"""From graded responses to the numbers a researcher compares: accuracy by benchmark, subset, difficulty.

Results are always recomputed from the response shards on disk, never accumulated in memory,
so a resumed run, a run with a smaller `--limit`, or a second look with `--rollouts` all report
exactly what the kept responses say.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from vrd.errors import DataError, MissingInputError
from vrd.eval.data import meta_of

RESULTS_FILE = "results.json"
RESPONSES_DIR = "responses"
TEXT_COLUMNS = ("id", "sample", "correct", "format_ok", "pred", "n_tokens", "finish_reason", "meta")

# Where a problem's subset / difficulty is found in meta. Benchmark sources write `subset` and
# `difficulty`; other vrd folders (synth: family, tier) fall back to their own names.
SUBSET_KEYS = ("subset", "family", "subject", "question_type", "problem_version", "key")
DIFFICULTY_KEYS = ("difficulty", "level", "tier", "steps")

# Base-model pass-rate bins (lower edge exclusive, upper inclusive); 0 and 1 are their own bins
# because "never solved" and "always solved" are what decide whether RL has signal.
PASS_RATE_BINS: tuple[tuple[str, float, float], ...] = (
    ("0", -1.0, 0.0),
    ("(0,0.25]", 0.0, 0.25),
    ("(0.25,0.5]", 0.25, 0.5),
    ("(0.5,0.75]", 0.5, 0.75),
    ("(0.75,1)", 0.75, 1.0 - 1e-9),
    ("1", 1.0 - 1e-9, 1.0),
)


def pass_rate_bin(rate: float | None) -> str:
    if rate is None or math.isnan(rate):
        return "no rollouts"
    for label, low, high in PASS_RATE_BINS:
        if low < rate <= high:
            return label
    return "no rollouts"


def read_responses(folder: str | os.PathLike, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Text columns of a benchmark's response shards (images are never read), optionally only `ids`."""
    path = Path(folder)
    if not path.is_dir():
        return []
    wanted = set(ids) if ids is not None else None
    rows: list[dict[str, Any]] = []
    for f in sorted(p for p in path.glob("*.parquet")):
        table = pq.read_table(f, columns=list(TEXT_COLUMNS)).to_pylist()
        rows.extend(r for r in table if wanted is None or r["id"] in wanted)
    return rows


def _first(meta: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for k in keys:
        v = meta.get(k)
        if v is not None and v != "":
            return v
    return None


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def stats(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Accuracy (mean over all samples), pass@k, format rate, answer rate and mean length of `rows`."""
    by_problem: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by_problem[r["id"]].append(bool(r["correct"]))
    n = len(rows)
    k = max((len(v) for v in by_problem.values()), default=0)
    out: dict[str, Any] = {
        "n_problems": len(by_problem),
        "n_responses": n,
        "accuracy": _ratio(sum(bool(r["correct"]) for r in rows), n),
        "format_rate": _ratio(sum(bool(r["format_ok"]) for r in rows), n),
        "answer_rate": _ratio(sum(r["pred"] is not None for r in rows), n),
        "mean_tokens": _ratio(sum(int(r["n_tokens"] or 0) for r in rows), n),
        "truncated_rate": _ratio(sum(r["finish_reason"] == "length" for r in rows), n),
    }
    if k > 1:
        out[f"pass@{k}"] = _ratio(sum(any(v) for v in by_problem.values()), len(by_problem))
    return out


def _grouped(rows: Sequence[Mapping[str, Any]], key_of) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in rows:
        key = key_of(r)
        if key is not None:
            groups[str(key)].append(r)
    return {k: stats(v) for k, v in sorted(groups.items(), key=lambda kv: _sort_key(kv[0]))}


def _sort_key(label: str) -> tuple[int, float, str]:
    bins = [b[0] for b in PASS_RATE_BINS]
    if label in bins:
        return (0, bins.index(label), label)
    try:
        return (1, float(label), label)
    except ValueError:
        return (2, 0.0, label)


def summarize(rows: Sequence[Mapping[str, Any]], *, pass_rates: Mapping[str, float] | None = None,
              rejects: int = 0, origin: str | None = None) -> dict[str, Any]:
    """One benchmark's results: overall stats, then by subset, difficulty and base-model pass rate."""
    metas = {r["id"]: meta_of(r) for r in rows}
    summary = stats(rows)
    summary["judged"] = sum(1 for r in rows if (meta_of(r).get("judge") or {}).get("extracted") is not None)
    summary["rejected"] = rejects
    if origin:
        summary["origin"] = origin
    subsets = _grouped(rows, lambda r: _first(metas[r["id"]], SUBSET_KEYS))
    if subsets:
        summary["subsets"] = subsets
    difficulty = _grouped(rows, lambda r: _first(metas[r["id"]], DIFFICULTY_KEYS))
    if difficulty:
        summary["difficulty"] = difficulty
    if pass_rates is not None:
        summary["pass_rate_bins"] = _grouped(rows, lambda r: pass_rate_bin(pass_rates.get(r["id"])))
    return summary


def macro_average(benchmarks: Mapping[str, Mapping[str, Any]], key: str = "accuracy") -> float | None:
    values = [b[key] for b in benchmarks.values() if b.get(key) is not None]
    return sum(values) / len(values) if values else None


def write_results(results: Mapping[str, Any], out: str | os.PathLike) -> Path:
    """`results.json`, written atomically (a crash never leaves half a file)."""
    path = Path(out) / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(results, indent=2, sort_keys=False, default=str))
    os.replace(tmp, path)
    return path


def load_results(path: str | os.PathLike) -> dict[str, Any]:
    """results.json of a run folder (or the file itself)."""
    p = Path(path)
    if p.is_dir() or not p.suffix:
        if not (p / RESULTS_FILE).exists():
            raise MissingInputError(f"{p}: no results.json here; is it a `vrd eval --out` folder?")
        p = p / RESULTS_FILE
    if not p.exists():
        raise MissingInputError(f"{p}: no such results file")
    try:
        value = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{p}: not valid JSON ({exc.msg})") from exc
    if not isinstance(value, dict) or "benchmarks" not in value:
        raise DataError(f"{p}: not a vrd eval results file (no 'benchmarks')")
    return value


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def results_table(results: Mapping[str, Any], *, breakdown: bool = True):
    """A rich table: one line per benchmark, then its subsets and difficulty bins, indented."""
    from rich.table import Table

    table = Table(title=f"vrd eval: {results.get('model', '?')}", show_lines=False)
    pass_key = next((k for b in results.get("benchmarks", {}).values() for k in b if k.startswith("pass@")), None)
    columns = [("benchmark", "left"), ("slice", "left"), ("n", "right"), ("acc %", "right")]
    columns += [(f"{pass_key} %", "right")] if pass_key else []
    columns += [("format %", "right"), ("answered %", "right"), ("tokens", "right")]
    for col, justify in columns:
        table.add_column(col, justify=justify)

    def add(name: str, label: str, s: Mapping[str, Any], style: str | None = None) -> None:
        tokens = s.get("mean_tokens")
        cells = [name, label, str(s.get("n_problems", 0)), pct(s.get("accuracy"))]
        cells += [pct(s.get(pass_key))] if pass_key else []
        cells += [pct(s.get("format_rate")), pct(s.get("answer_rate")), "-" if tokens is None else f"{tokens:.0f}"]
        table.add_row(*cells, style=style)

    for name, s in results.get("benchmarks", {}).items():
        add(name, "all", s, style="bold")
        if not breakdown:
            continue
        for group, label in (("subsets", "subset"), ("difficulty", "difficulty"), ("pass_rate_bins", "base pass")):
            for key, sub in (s.get(group) or {}).items():
                add("", f"{label}={key}", sub)
    if len(results.get("benchmarks", {})) > 1:
        blanks = [""] * (len(columns) - 4)
        table.add_row("mean", "macro", "", pct(results.get("mean_accuracy")), *blanks, style="bold")
    return table
