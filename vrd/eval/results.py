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

from vrd.difficulty import NO_ROLLOUTS, BinScheme, get_scheme, split_halves
from vrd.errors import DataError, MissingInputError, VrdError
from vrd.eval.data import meta_of
from vrd.eval.wemath import is_wemath, step_level, wemath_scores
from vrd.stats import cluster_mean_ci, pass_at_k

RESULTS_FILE = "results.json"
RESPONSES_DIR = "responses"
TEXT_COLUMNS = ("id", "sample", "correct", "format_ok", "pred", "n_tokens", "finish_reason", "meta")

# Where a problem's subset / difficulty is found in meta. Benchmark sources write `subset` and
# `difficulty`; other vrd folders (synth: family, tier) fall back to their own names.
SUBSET_KEYS = ("subset", "family", "subject", "question_type", "problem_version", "key")
DIFFICULTY_KEYS = ("difficulty", "level", "tier", "steps")



def pass_rate_bin(rate: float | None, scheme: str | BinScheme | None = None) -> str:
    """The difficulty level (`vrd.difficulty`, synergy L1-L5 by default) of a base-model pass rate."""
    return get_scheme(scheme).label(rate)


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


def _interval(lo_hi: tuple[float, float]) -> list[float] | None:
    lo, hi = lo_hi
    return None if math.isnan(lo) else [lo, hi]


def stats(rows: Sequence[Mapping[str, Any]], *, intervals: bool = True) -> dict[str, Any]:
    """Accuracy (mean over all samples) with its 95% interval over problems, unbiased pass@k for
    every k up to the fewest samples any problem has, format rate, answer rate and mean length."""
    by_problem: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by_problem[r["id"]].append(bool(r["correct"]))
    n = len(rows)
    k_max = min((len(v) for v in by_problem.values()), default=0)
    out: dict[str, Any] = {
        "n_problems": len(by_problem),
        "n_responses": n,
        "accuracy": _ratio(sum(bool(r["correct"]) for r in rows), n),
    }
    if intervals:
        out["ci95"] = _interval(cluster_mean_ci([sum(v) for v in by_problem.values()],
                                                [len(v) for v in by_problem.values()]))
    out.update({
        "format_rate": _ratio(sum(bool(r["format_ok"]) for r in rows), n),
        "answer_rate": _ratio(sum(r["pred"] is not None for r in rows), n),
        "mean_tokens": _ratio(sum(int(r["n_tokens"] or 0) for r in rows), n),
        "truncated_rate": _ratio(sum(r["finish_reason"] == "length" for r in rows), n),
    })
    if k_max > 1:
        counts = [(len(v), sum(v)) for v in by_problem.values()]
        curve: dict[str, float] = {}
        bands: dict[str, list[float] | None] = {}
        for k in range(1, k_max + 1):
            per = [pass_at_k(m, c, k) for m, c in counts]
            curve[str(k)] = sum(per) / len(per)
            if intervals:
                # per-problem pass@k is a [0, 1] value, not a 0/1 outcome: the effective sample
                # size may exceed the number of problems, up to the number of samples
                bands[str(k)] = _interval(cluster_mean_ci(per, [1.0] * len(per), n_max=float(n)))
        out[f"pass@{k_max}"] = curve[str(k_max)]
        out["pass_at_k"] = curve
        if intervals:
            out["pass_at_k_ci95"] = bands
    return out


def _grouped(rows: Sequence[Mapping[str, Any]], key_of, scheme: BinScheme | None = None) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in rows:
        key = key_of(r)
        if key is not None:
            groups[str(key)].append(r)
    return {k: stats(v) for k, v in sorted(groups.items(), key=lambda kv: _sort_key(kv[0], scheme))}


def _sort_key(label: str, scheme: BinScheme | None = None) -> tuple[int, float, str]:
    if scheme is not None and label in scheme.labels:
        return (0, scheme.order(label), label)
    if label == NO_ROLLOUTS:
        return (3, 0.0, label)
    try:
        return (1, float(label), label)
    except ValueError:
        return (2, 0.0, label)


def level_bins(rows: Sequence[Mapping[str, Any]], pass_rates: Mapping[str, float] | None, *,
               scheme: str | BinScheme | None = None, same_samples: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Accuracy by base-model difficulty level, and a note on where the levels came from.

    Levels and the accuracy read across them must come from independent samples, or the
    "hard" bin (hard partly by bad luck) regresses upward when re-scored. When the rollouts
    are this run's own responses (`same_samples`), levels are taken from the even-numbered
    samples and accuracy from the odd-numbered ones; with one sample per problem that split
    is impossible and the note says the comparison regresses to the mean.
    """
    outcomes: dict[str, list[bool]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r["id"], r.get("sample") or 0)):
        outcomes[r["id"]].append(bool(r["correct"]))
    rates = dict(pass_rates or {})
    info: dict[str, Any] = {"independent": True, "note": "levels from the --rollouts samples, accuracy from this "
                            "run's responses (independent samples)"}
    used = list(rows)
    if same_samples:
        halves = split_halves(outcomes)
        if halves[0]:
            rates = halves[0]
            used = [r for r in rows if r["id"] in rates and int(r.get("sample") or 0) % 2 == 1]
            info["note"] = ("the rollouts are this run's own responses: levels from even-numbered samples, "
                            "accuracy from odd-numbered samples (independent halves)")
        else:
            info = {"independent": False, "note": "levels and accuracy come from the same single sample per "
                    "problem: accuracy by level regresses to the mean (pass other --rollouts or use -k >= 2)"}
    resolved = get_scheme(scheme, [v for v in rates.values() if v is not None])
    info.update(scheme=resolved.name, levels=list(resolved.labels), text=resolved.describe())
    bins = _grouped(used, lambda r: resolved.label(rates.get(r["id"])), resolved)
    return bins, info


def summarize(rows: Sequence[Mapping[str, Any]], *, pass_rates: Mapping[str, float] | None = None,
              rejects: int = 0, origin: str | None = None, bins: str | BinScheme | None = None,
              same_samples: bool = False, n_errors: int = 0) -> dict[str, Any]:
    """One benchmark's results: overall stats, then by subset, difficulty and base-model pass rate.

    `n_errors` counts problems set aside for engine errors: they are not in `rows`, so every rate
    is over answered problems only (an engine failure is not a wrong answer).
    """
    metas = {r["id"]: meta_of(r) for r in rows}
    summary = stats(rows)
    summary["n_errors"] = int(n_errors)
    summary["judged"] = sum(1 for r in rows if (meta_of(r).get("judge") or {}).get("extracted") is not None)
    summary["rejected"] = rejects
    if origin:
        summary["origin"] = origin
    subsets = _grouped(rows, lambda r: _first(metas[r["id"]], SUBSET_KEYS))
    if subsets:
        summary["subsets"] = subsets
    official = wemath_scores(rows, metas) if is_wemath(list(metas.values())) else None
    if official is not None:  # We-Math: its own levels (S1 step questions, S2/S3 composites) and Score
        summary["wemath"] = official
        difficulty = _grouped(rows, lambda r: step_level(metas[r["id"]].get("key")))
    else:
        difficulty = _grouped(rows, lambda r: _first(metas[r["id"]], DIFFICULTY_KEYS))
    if difficulty:
        summary["difficulty"] = difficulty
    if pass_rates is not None:
        summary["pass_rate_bins"], summary["pass_rate_bins_info"] = level_bins(
            rows, pass_rates, scheme=bins, same_samples=same_samples)
    return summary


def macro_average(benchmarks: Mapping[str, Mapping[str, Any]], key: str = "accuracy") -> float | None:
    values = [b[key] for b in benchmarks.values() if b.get(key) is not None]
    return sum(values) / len(values) if values else None


def macro_interval(benchmarks: Mapping[str, Mapping[str, Any]]) -> list[float] | None:
    """95% interval of the macro mean: benchmarks are independent, so their variances add
    (each benchmark's variance read off its own interval's half-width)."""
    parts = [(b["accuracy"], b.get("ci95")) for b in benchmarks.values() if b.get("accuracy") is not None]
    if not parts or any(ci is None for _, ci in parts):
        return None
    from vrd.stats import Z95

    mean = sum(a for a, _ in parts) / len(parts)
    var = sum(((ci[1] - ci[0]) / (2 * Z95)) ** 2 for _, ci in parts) / len(parts) ** 2
    half = Z95 * math.sqrt(var)
    return [max(0.0, mean - half), min(1.0, mean + half)]


def write_results(results: Mapping[str, Any], out: str | os.PathLike) -> Path:
    """`results.json`, written atomically (a crash never leaves half a file), credentials masked."""
    from vrd.outputs import write_text_atomic
    from vrd.redact import redact

    path = Path(out) / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, json.dumps(redact(dict(results)), indent=2, sort_keys=False, default=str))


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
        value = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{p}: not valid JSON ({exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{p}: not UTF-8 text") from exc
    except RecursionError as exc:
        raise DataError(f"{p}: JSON nested too deeply") from exc
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise DataError(f"{p}: not readable JSON ({exc})") from exc
    if not isinstance(value, dict) or "benchmarks" not in value or not isinstance(value["benchmarks"], dict):
        raise DataError(f"{p}: not a vrd eval results file (no 'benchmarks')")
    _check_numbers(value["benchmarks"], p, "benchmarks")
    return value


def _check_numbers(node: Any, path: Path, where: str) -> None:
    """The figures compare does arithmetic on, by type: a hand-edited results.json with
    `"accuracy": "high"` or NaN is named here, not a TypeError in the middle of a table."""
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        here = f"{where}.{key}"
        if key in ("accuracy", "n_problems") and value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise DataError(f"{path}: field '{here}' must be a finite number, got {value!r}")
        elif key == "ci95" and value is not None:
            if not (isinstance(value, list) and len(value) == 2 and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)):
                raise DataError(f"{path}: field '{here}' must be [low, high], got {value!r}")
        elif isinstance(value, dict):
            _check_numbers(value, path, here)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def results_table(results: Mapping[str, Any], *, breakdown: bool = True):
    """A rich table: one line per benchmark, then its subsets and difficulty bins, indented."""
    from rich.table import Table

    table = Table(title=f"vrd eval: {results.get('model', '?')}", show_lines=False)
    pass_key = next((k for b in results.get("benchmarks", {}).values() for k in b if k.startswith("pass@")), None)
    # problems set aside for engine errors (not graded): a column only when some run had them
    errors = any(b.get("n_errors") for b in results.get("benchmarks", {}).values())
    columns = [("benchmark", "left"), ("slice", "left"), ("n", "right")]
    columns += [("errors", "right")] if errors else []
    columns += [("acc %", "right"), ("95% CI", "right")]
    columns += [(f"{pass_key} %", "right")] if pass_key else []
    columns += [("format %", "right"), ("answered %", "right"), ("tokens", "right")]
    for col, justify in columns:
        table.add_column(col, justify=justify)

    def add(name: str, label: str, s: Mapping[str, Any], style: str | None = None) -> None:
        tokens = s.get("mean_tokens")
        ci = s.get("ci95")
        cells = [name, label, str(s.get("n_problems", 0))]
        cells += [str(s["n_errors"]) if "n_errors" in s and label == "all" else ""] if errors else []
        cells += [pct(s.get("accuracy")), "-" if not ci else f"{pct(ci[0])}-{pct(ci[1])}"]
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
        blanks = [""] * (len(columns) - 5 - errors)
        ci = results.get("mean_accuracy_ci95")
        table.add_row("mean", "macro", "", *([""] if errors else []), pct(results.get("mean_accuracy")),
                      "-" if not ci else f"{pct(ci[0])}-{pct(ci[1])}", *blanks, style="bold")
    return table


def _run_folder(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.parent if p.is_file() else p


def problem_outcomes(path: str | os.PathLike, results: Mapping[str, Any]) -> dict[str, dict[str, Any]] | None:
    """Per benchmark: per problem id its accuracy and its slice keys, from the run's response shards.

    None when the shards are gone (a results.json kept alone): compare then falls back to
    unpaired intervals.
    """
    folder = _run_folder(path) / RESPONSES_DIR
    if not folder.is_dir():
        return None
    rates = None
    if results.get("rollouts"):
        from vrd.eval.data import rollout_pass_rates

        try:
            rates = rollout_pass_rates(results["rollouts"])
        except (OSError, ValueError, VrdError):
            rates = None
    out: dict[str, dict[str, Any]] = {}
    for bench, summary in results.get("benchmarks", {}).items():
        rows = read_responses(folder / bench)
        if not rows:
            return None
        acc: dict[str, list[bool]] = defaultdict(list)
        keys: dict[str, dict[str, str | None]] = {}
        for r in rows:
            acc[r["id"]].append(bool(r["correct"]))
            if r["id"] not in keys:
                meta = meta_of(r)
                sub, dif = _first(meta, SUBSET_KEYS), step_level(meta.get("key")) or _first(meta, DIFFICULTY_KEYS)
                keys[r["id"]] = {"subsets": None if sub is None else str(sub),
                                 "difficulty": None if dif is None else str(dif)}
        info = summary.get("pass_rate_bins_info") or {}
        if rates is not None and info.get("independent", True) and "even-numbered" not in info.get("note", ""):
            from vrd.difficulty import get_scheme

            scheme = get_scheme(info.get("scheme"), list(rates.values()))
            for pid in keys:
                keys[pid]["pass_rate_bins"] = scheme.label(rates.get(pid))
        out[bench] = {"acc": {pid: sum(v) / len(v) for pid, v in acc.items()}, "keys": keys}
    return out
