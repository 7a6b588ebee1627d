"""`vrd eval compare`: runs side by side, with each run's difference from the first.

The first run is the reference (typically the base model), so the table reads directly as
"what SFT did" and "what RL did" per benchmark and per slice. Differences are in percentage
points; a slice that one run lacks shows as "-" rather than as zero.

Each difference carries a 95% interval: a paired bootstrap over the problems both runs
answered (per-problem accuracy, mean over samples), read from the runs' response shards.
When a run's responses are not on disk (only results.json was kept) the interval is the
unpaired one from the two runs' own intervals, which is wider. Only a difference whose
interval excludes 0 is coloured.

A run's problems that the engine failed on (`n_errors` in its results.json, listed in its
rejects.jsonl) are not graded, so two runs of one benchmark can be graded on different numbers
of problems. Each benchmark row carries every run's `n_errors`, the table shows them beside the
accuracy, and `notes` says wherever the graded counts differ: the accuracies are then over
different problem sets, while the paired difference is over the problems both runs answered.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vrd.errors import ConfigError
from vrd.eval.results import load_results, problem_outcomes
from vrd.stats import Z95, paired_delta, percentile_ci

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


def _errors(results: Mapping[str, Any], bench: str) -> int | None:
    """Problems of `bench` the run set aside for engine errors; None when its results do not say."""
    b = results.get("benchmarks", {}).get(bench)
    if b is None or b.get("n_errors") is None:
        return None
    return int(b["n_errors"])


def _count_note(bench: str, labels: Sequence[str], ns: Sequence[int], errors: Sequence[int | None],
                present: Sequence[bool]) -> str | None:
    """One line when the runs graded `bench` on different numbers of problems, naming the engine errors."""
    runs = [(label, n, e) for label, n, e, here in zip(labels, ns, errors, present, strict=True) if here]
    if len({n for _, n, _ in runs}) < 2:
        return None
    parts = [f"{label} {n}" + (f" ({e} set aside for engine errors)" if e else "") for label, n, e in runs]
    why = ("; rerun `vrd eval` on a run with errors to retry them (see its rejects.jsonl)"
           if any(e for _, _, e in runs) else "")
    return (f"{bench}: graded on different numbers of problems ({', '.join(parts)}): each accuracy is over its own "
            f"run's problems, each difference over the problems both runs answered{why}")


def _slice(outcomes: Mapping[str, Any] | None, bench: str, group: str | None, key: str | None) -> dict[str, float] | None:
    if outcomes is None or bench not in outcomes:
        return None
    b = outcomes[bench]
    if group is None:
        return b["acc"]
    if not any(group in k for k in b["keys"].values()):
        return None
    return {pid: a for pid, a in b["acc"].items() if b["keys"][pid].get(group) == key}


def _ci(results: Mapping[str, Any], bench: str, group: str | None, key: str | None) -> list[float] | None:
    b = results.get("benchmarks", {}).get(bench)
    s = b if group is None or b is None else (b.get(group) or {}).get(key)
    return (s or {}).get("ci95")


def _unpaired(ref_ci: list[float] | None, ci: list[float] | None, delta: float) -> list[float] | None:
    if not ref_ci or not ci:
        return None
    se = math.hypot((ref_ci[1] - ref_ci[0]) / (2 * Z95), (ci[1] - ci[0]) / (2 * Z95))
    return [delta - Z95 * se, delta + Z95 * se]


def compare_runs(paths: Sequence[str | os.PathLike], *, breakdown: bool = True) -> dict[str, Any]:
    """Accuracy of every run on every benchmark (and slice), with differences from the first run
    and their 95% intervals."""
    if len(paths) < 2:
        raise ConfigError("compare needs at least two result folders")
    runs = [load_results(p) for p in paths]
    outcomes = [problem_outcomes(p, r) for p, r in zip(paths, runs, strict=True)]
    taken: set[str] = set()
    labels = [run_label(p, r, taken) for p, r in zip(paths, runs, strict=True)]
    benches: list[str] = []
    for r in runs:
        benches.extend(b for b in r.get("benchmarks", {}) if b not in benches)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    macro_reps: list[list[Any]] = [[] for _ in runs]
    macro_n = [0] * len(runs)
    macro_deltas: list[list[float]] = [[] for _ in runs]

    def add(bench: str, group: str | None, key: str | None, label: str) -> None:
        pairs = [_accuracy(r, bench, group, key) for r in runs]
        values = [v for v, _ in pairs]
        ref = values[0]
        deltas: list[float | None] = [None] * len(runs)
        cis: list[list[float] | None] = [None] * len(runs)
        sig = [False] * len(runs)
        methods: list[str | None] = [None] * len(runs)
        ref_slice = _slice(outcomes[0], bench, group, key)
        for j in range(1, len(runs)):
            if values[j] is None or ref is None:
                continue
            other = _slice(outcomes[j], bench, group, key)
            if ref_slice is not None and other is not None and set(ref_slice) & set(other):
                # a different seed per benchmark, so the macro mean's replicates are independent draws
                pd = paired_delta(ref_slice, other, seed=benches.index(bench))
                deltas[j], cis[j], sig[j] = pd["delta"], pd["ci95"], pd["significant"]
                methods[j] = f"paired bootstrap over {pd['n_pairs']} problems"
                if group is None:
                    macro_reps[j].append(pd["replicates"])
                    macro_deltas[j].append(pd["delta"])
                    macro_n[j] += pd["n_pairs"]
            else:
                deltas[j] = values[j] - ref
                cis[j] = _unpaired(_ci(runs[0], bench, group, key), _ci(runs[j], bench, group, key), deltas[j])
                sig[j] = bool(cis[j] and (cis[j][0] > 0 or cis[j][1] < 0))
                methods[j] = "unpaired (responses not on disk)" if cis[j] else None
                if group is None:
                    macro_reps[j].append(None)
        row = {"benchmark": bench, "slice": label, "accuracy": values, "delta": deltas, "ci95": cis,
               "significant": sig, "method": methods, "n": [n for _, n in pairs]}
        if group is None:
            row["n_errors"] = [_errors(r, bench) for r in runs]
            note = _count_note(bench, labels, row["n"], row["n_errors"], [v is not None for v in values])
            if note:
                notes.append(note)
        rows.append(row)

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
    m_deltas: list[float | None] = [None] + [None if m is None or means[0] is None else m - means[0] for m in means[1:]]
    m_cis: list[list[float] | None] = [None] * len(runs)
    m_sig = [False] * len(runs)
    for j in range(1, len(runs)):
        reps = macro_reps[j]
        if m_deltas[j] is not None and reps and all(x is not None for x in reps) and len(reps) == len(benches):
            lo, hi = percentile_ci(sum(reps) / len(reps), n=macro_n[j])
            # the estimate its interval is about: the mean of the paired differences, which is the difference
            # of the means unless engine errors left the runs graded on different problems
            m_deltas[j] = sum(macro_deltas[j]) / len(macro_deltas[j])
            m_cis[j], m_sig[j] = [lo, hi], bool(lo > 0 or hi < 0)
    rows.append({"benchmark": "mean", "slice": "macro", "accuracy": means, "delta": m_deltas, "ci95": m_cis,
                 "significant": m_sig, "method": [None] + ["mean of paired bootstraps" if c else None for c in m_cis[1:]],
                 "n": [len(r.get("benchmarks", {})) for r in runs],
                 "n_errors": [None if all(_errors(r, b) is None for b in r.get("benchmarks", {}))
                              else sum(_errors(r, b) or 0 for b in r.get("benchmarks", {})) for r in runs]})
    from vrd.eval.behavior import behavior_rows, transfer_row  # length, reflection, transfer (Synergy paper)

    transfer = transfer_row(paths, runs)
    if transfer is not None:
        rows.append(transfer)
    return {"runs": labels, "paths": [str(p) for p in paths], "models": [r.get("model") for r in runs],
            "rows": rows, "notes": notes, "behavior": behavior_rows(paths, runs)}


def _cell(value: float | None, delta: float | None, first: bool, ci: list[float] | None = None,
          errors: int | None = None) -> str:
    if value is None:
        return "-"
    text = f"{100 * value:.1f}"
    if not first and delta is not None:
        band = f" [{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]" if ci else ""
        text += f" ({100 * delta:+.1f}{band})"
    if errors:
        text += f", {errors} err"  # problems set aside for engine errors: not in this accuracy
    return text


def _errors_of(row: Mapping[str, Any]) -> list[int | None]:
    return list(row.get("n_errors") or [None] * len(row["accuracy"]))


def comparison_table(comparison: Mapping[str, Any]):
    """A rich table; the differences are colored so a regression stands out."""
    from rich.table import Table
    from rich.text import Text

    notes = list(comparison.get("notes") or [])
    table = Table(title="vrd eval compare (accuracy %, difference from the first run in points [95% CI]; "
                        "coloured only when the interval excludes 0; 'err' = problems set aside for engine errors)",
                  caption="\n".join(notes) or None)
    table.add_column("benchmark")
    table.add_column("slice")
    for label in comparison["runs"]:
        table.add_column(label, justify="right")
    for row in comparison["rows"]:
        cells = []
        cis, sig = row.get("ci95") or [None] * len(row["delta"]), row.get("significant") or [False] * len(row["delta"])
        errs = _errors_of(row)
        for i, (v, d) in enumerate(zip(row["accuracy"], row["delta"], strict=True)):
            text = _cell(v, d, i == 0, cis[i], errs[i])
            if i and d is not None and sig[i]:
                text = Text(text, style="green" if d > 0 else "red")  # markup is off for user text
            cells.append(text)
        top = row["slice"] in ("all", "macro")
        table.add_row(row["benchmark"] if top else "", row["slice"], *cells, style="bold" if top else None)
    return table


def comparison_markdown(comparison: Mapping[str, Any]) -> str:
    head = ["benchmark", "slice", *comparison["runs"]]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---", "---"] + ["---:"] * len(comparison["runs"])) + "|"]
    for row in comparison["rows"]:
        cis, sig = row.get("ci95") or [None] * len(row["delta"]), row.get("significant") or [False] * len(row["delta"])
        errs = _errors_of(row)
        cells = [_cell(v, d, i == 0, cis[i], errs[i]) + (" *" if sig[i] else "")
                 for i, (v, d) in enumerate(zip(row["accuracy"], row["delta"], strict=True))]
        lines.append("| " + " | ".join([row["benchmark"], row["slice"], *cells]) + " |")
    lines.append("")
    lines.append("Differences in points with 95% intervals (paired bootstrap over problems); * = interval excludes 0; "
                 "err = problems set aside for engine errors (not graded).")
    lines.extend(f"\n**Note:** {note}" for note in comparison.get("notes") or [])
    from vrd.eval.behavior import behavior_markdown

    extra = behavior_markdown(comparison)
    return "\n".join(lines) + "\n" + ("\n" + extra if extra else "")


def write_comparison(comparison: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write `.json` (the numbers) or `.md` (the table) by the file's suffix."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        text = json.dumps(comparison, indent=2)
    elif p.suffix.lower() in (".md", ".markdown"):
        text = comparison_markdown(comparison)
    else:
        raise ConfigError(f"--out {p}: use a .json or .md file")
    from vrd.outputs import write_text_atomic

    p.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(p, text)
