"""What `vrd eval compare` adds beyond accuracy: length, truncation, reflection and transfer.

The Synergy Dilemma paper reads its methods on three axes at once: accuracy by difficulty level
(the `base pass=Lk` rows of compare, from `vrd eval --rollouts`), response length (long-CoT SFT
makes answers longer, RL shorter) and transfer to benchmarks outside the training domain. This
module computes, per run and per benchmark (and pooled over all benchmarks):

- `mean tokens` and `p95 tokens` of the responses (`n_tokens` as the engine counted them);
- `truncated %`: responses stopped by the token limit (`finish_reason == "length"`);
- `reflections /1k tok`: reflection markers ("wait", "let me double-check", "alternatively", ...)
  per 1,000 response tokens, the paper's proxy for the self-checking style long-CoT SFT teaches;
- a `transfer` accuracy row: the mean over the transfer benchmarks present (text: GPQA,
  MATH-500, MMLU; vision: HallusionBench, MMBench).

Every difference from the first run carries a 95% interval from a paired bootstrap over the
problems both runs answered: one resample of problems is applied to both runs, and the statistic
(a ratio of sums, or the 95th percentile of the resampled responses) is recomputed on each side.
The truncated share is the exception: a rare 0/1 event over few problems makes that bootstrap
collapse, so it takes Newcombe's paired score interval (`_paired_share_ci`).
"""

from __future__ import annotations

import math
import os
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vrd.stats import bootstrap_indices, percentile_ci

TRANSFER_BENCHMARKS = ("gpqa", "math500", "mmlu", "hallusionbench", "mmbench")
REFLECTION = re.compile(
    r"\b(?:wait|hmm+|alternatively|on second thought|double[- ]check(?:ing)?|re-?check(?:ing)?|"
    r"let me (?:verify|reconsider|re-?examine|think again|check again)|i made a mistake|"
    r"that(?:'s| is) (?:not right|wrong|incorrect))\b",
    re.IGNORECASE,
)
METRICS = ("mean tokens", "p95 tokens", "truncated %", "reflections /1k tok")
N_BOOT = 1000


def reflection_count(text: str | None) -> int:
    """Reflection markers in one response (see REFLECTION)."""
    return len(REFLECTION.findall(text or ""))


@dataclass
class Responses:
    """One run's responses on one benchmark, per problem, in arrays the bootstrap can reweight."""

    ids: list[str] = field(default_factory=list)
    tokens: list[list[float]] = field(default_factory=list)
    truncated: list[list[float]] = field(default_factory=list)
    markers: list[list[float]] = field(default_factory=list)

    def restricted(self, ids: Sequence[str]) -> Responses:
        pos = {pid: i for i, pid in enumerate(self.ids)}
        keep = [pos[i] for i in ids]
        return Responses(list(ids), [self.tokens[k] for k in keep], [self.truncated[k] for k in keep],
                         [self.markers[k] for k in keep])


def responses_of(rows: Sequence[Mapping[str, Any]], prefix: str = "") -> Responses:
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in rows:
        grouped[prefix + str(r["id"])].append(r)
    out = Responses()
    for pid in sorted(grouped):
        rs = grouped[pid]
        out.ids.append(pid)
        out.tokens.append([float(r.get("n_tokens") or 0) for r in rs])
        out.truncated.append([1.0 if r.get("finish_reason") == "length" else 0.0 for r in rs])
        out.markers.append([float(reflection_count(r.get("response"))) for r in rs])
    return out


def _merge(parts: Sequence[Responses]) -> Responses:
    out = Responses()
    for p in parts:
        out.ids += p.ids
        out.tokens += p.tokens
        out.truncated += p.truncated
        out.markers += p.markers
    return out


# ---- the statistics, for problem weights w (1 each = the data; bootstrap counts = a resample) -----


def _sums(values: list[list[float]]) -> np.ndarray:
    return np.array([sum(v) for v in values], dtype=float)


def _counts(values: list[list[float]]) -> np.ndarray:
    return np.array([len(v) for v in values], dtype=float)


def _ratio(num: np.ndarray, den: np.ndarray, w: np.ndarray, scale: float = 1.0) -> np.ndarray:
    d = w @ den
    return np.where(d > 0, scale * (w @ num) / np.where(d > 0, d, 1.0), np.nan)


def _weighted_p95(resp: Responses, w: np.ndarray) -> np.ndarray:
    """95th percentile of the responses, each weighted by its problem's weight (rows of w: replicates)."""
    flat = np.array([t for ts in resp.tokens for t in ts], dtype=float)
    owner = np.array([i for i, ts in enumerate(resp.tokens) for _ in ts], dtype=int)
    if flat.size == 0:
        return np.full(w.shape[0], np.nan)
    order = np.argsort(flat, kind="stable")
    flat, owner = flat[order], owner[order]
    cum = np.cumsum(w[:, owner], axis=1)
    total = cum[:, -1]
    pos = np.array([np.searchsorted(c, 0.95 * t, side="left") if t > 0 else -1 for c, t in zip(cum, total, strict=True)])
    return np.where(pos >= 0, flat[np.clip(pos, 0, flat.size - 1)], np.nan)


def statistic(name: str, resp: Responses, w: np.ndarray) -> np.ndarray:
    """One metric for each row of problem weights `w` (shape (R, n_problems))."""
    if name == "mean tokens":
        return _ratio(_sums(resp.tokens), _counts(resp.tokens), w)
    if name == "p95 tokens":
        return _weighted_p95(resp, w)
    if name == "truncated %":
        return _ratio(_sums(resp.truncated), _counts(resp.truncated), w, 100.0)
    if name == "reflections /1k tok":
        return _ratio(_sums(resp.markers), _sums(resp.tokens), w, 1000.0)
    raise KeyError(name)


def _paired_share_ci(ref: list[list[float]], other: list[list[float]]) -> tuple[float, float]:
    """95% interval (in percent) for other − ref of a share of replies (0/1 per reply), paired by problem.

    Truncation is rare, and a bootstrap of a rare share over few problems collapses: with no
    truncated reply in either run every replicate is 0 and the interval a false point, and at 10
    problems x 4 with 2% truncated it covered 0.73 in simulation. This is Newcombe's hybrid score
    interval for paired proportions (1998, method 10) built from each run's clustered Wilson
    interval (`proportion_ci`, Korn-Graubard effective n) and the correlation φ of the runs'
    per-problem shares (0 when either is constant; a negative φ is taken as 0, which only widens).
    """
    from vrd.stats import proportion_ci

    s1, n1, s2, n2 = _sums(ref), _counts(ref), _sums(other), _counts(other)
    keep = (n1 > 0) & (n2 > 0)
    s1, n1, s2, n2 = s1[keep], n1[keep], s2[keep], n2[keep]
    if s1.size == 0:
        return (math.nan, math.nan)
    p1, p2 = s1.sum() / n1.sum(), s2.sum() / n2.sum()
    l1, u1 = proportion_ci(s1, n1)
    l2, u2 = proportion_ci(s2, n2)
    r1, r2 = s1 / n1, s2 / n2
    phi = 0.0
    if s1.size > 2 and np.ptp(r1) > 0 and np.ptp(r2) > 0:
        phi = max(0.0, float(np.corrcoef(r1, r2)[0, 1]))
    d = p2 - p1
    lo = d - math.sqrt(max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2))
    hi = d + math.sqrt(max(0.0, (u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2))
    return (100.0 * max(-1.0, lo), 100.0 * min(1.0, hi))


def paired_metric(name: str, ref: Responses, other: Responses, *, n_boot: int = N_BOOT,
                  seed: int = 0) -> dict[str, Any]:
    """other - ref on the problems both answered, with a paired bootstrap interval over problems."""
    common = sorted(set(ref.ids) & set(other.ids))
    if not common:
        return {"delta": None, "ci95": None, "significant": False, "n_pairs": 0}
    a, b = ref.restricted(common), other.restricted(common)
    one = np.ones((1, len(common)))
    delta = float(statistic(name, b, one)[0] - statistic(name, a, one)[0])
    idx = bootstrap_indices(len(common), n_boot, seed)
    w = np.zeros((n_boot, len(common)))
    np.add.at(w, (np.repeat(np.arange(n_boot), len(common)), idx.reshape(-1)), 1.0)
    reps = statistic(name, b, w) - statistic(name, a, w)
    lo, hi = percentile_ci(reps, n=len(common))
    if name == "truncated %" and not math.isnan(delta):
        lo, hi = _paired_share_ci(a.truncated, b.truncated)
    if math.isnan(delta):
        return {"delta": None, "ci95": None, "significant": False, "n_pairs": len(common)}
    ci = None if math.isnan(lo) else [lo, hi]
    return {"delta": delta, "ci95": ci, "significant": bool(ci and (lo > 0 or hi < 0)), "n_pairs": len(common)}


# ---- compare rows ----------------------------------------------------------------------------------


BEHAVIOR_COLUMNS = ("id", "n_tokens", "finish_reason", "response")


def read_behavior(folder: Path) -> list[dict[str, Any]]:
    """The columns the length and reflection metrics need, from one benchmark's response shards."""
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for f in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
        rows.extend(pq.read_table(f, columns=list(BEHAVIOR_COLUMNS)).to_pylist())
    return rows


def _run_responses(path: str | os.PathLike, results: Mapping[str, Any]) -> dict[str, Responses] | None:
    from vrd.eval.results import RESPONSES_DIR

    p = Path(path)
    folder = (p.parent if p.is_file() else p) / RESPONSES_DIR
    if not folder.is_dir():
        return None
    out = {}
    for bench in results.get("benchmarks", {}):
        rows = read_behavior(folder / bench)
        if rows:
            out[bench] = responses_of(rows, prefix=f"{bench}/")
    return out


def behavior_rows(paths: Sequence[str | os.PathLike], runs: Sequence[Mapping[str, Any]], *,
                  n_boot: int = N_BOOT) -> list[dict[str, Any]]:
    """Per benchmark (then pooled as `all`): each metric per run, with paired differences from the first."""
    per_run = [_run_responses(p, r) for p, r in zip(paths, runs, strict=True)]
    benches: list[str] = []
    for r in per_run:
        benches.extend(b for b in (r or {}) if b not in benches)
    scopes: list[tuple[str, Callable[[dict[str, Responses]], Responses | None]]] = [
        (b, lambda rr, b=b: rr.get(b)) for b in benches]
    if len(benches) > 1:
        scopes.append(("all", lambda rr: _merge([rr[b] for b in benches if b in rr]) if rr else None))
    rows = []
    for scope, pick in scopes:
        resp = [pick(r) if r is not None else None for r in per_run]
        for name in METRICS:
            values = [None if x is None or not x.ids else _finite(statistic(name, x, np.ones((1, len(x.ids))))[0])
                      for x in resp]
            row: dict[str, Any] = {"benchmark": scope, "metric": name, "values": values,
                                   "delta": [None] * len(resp), "ci95": [None] * len(resp),
                                   "significant": [False] * len(resp)}
            for j in range(1, len(resp)):
                if resp[0] is None or resp[j] is None:
                    continue
                pm = paired_metric(name, resp[0], resp[j], n_boot=n_boot)
                row["delta"][j], row["ci95"][j], row["significant"][j] = pm["delta"], pm["ci95"], pm["significant"]
            rows.append(row)
    return rows


def _finite(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def transfer_row(paths: Sequence[str | os.PathLike], runs: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Mean accuracy over the transfer benchmarks every run has, with a paired macro interval."""
    from vrd.eval.results import problem_outcomes
    from vrd.stats import paired_delta

    present = [b for b in TRANSFER_BENCHMARKS if all(b in r.get("benchmarks", {}) for r in runs)]
    if not present:
        return None
    values = [sum(r["benchmarks"][b]["accuracy"] for b in present) / len(present) for r in runs]
    outcomes = [problem_outcomes(p, r) for p, r in zip(paths, runs, strict=True)]
    deltas: list[float | None] = [None] + [v - values[0] for v in values[1:]]
    cis: list[list[float] | None] = [None] * len(runs)
    sig = [False] * len(runs)
    for j in range(1, len(runs)):
        if outcomes[0] is None or outcomes[j] is None:
            continue
        # a different seed per benchmark: shared seeds would resample the same positions everywhere
        pds = [paired_delta(outcomes[0][b]["acc"], outcomes[j][b]["acc"], seed=s) for s, b in enumerate(present)]
        reps = [pd["replicates"] for pd in pds]
        if all(x is not None for x in reps):
            lo, hi = percentile_ci(sum(reps) / len(reps), n=sum(pd["n_pairs"] for pd in pds))
            cis[j], sig[j] = [lo, hi], bool(lo > 0 or hi < 0)
    return {"benchmark": "transfer", "slice": f"macro ({', '.join(present)})", "accuracy": values, "delta": deltas,
            "ci95": cis, "significant": sig,
            "method": [None] + ["mean of paired bootstraps" if c else None for c in cis[1:]],
            "n": [len(present)] * len(runs)}


def _number(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if "reflections" in metric else f"{value:.1f}" if "%" in metric else f"{value:.0f}"


def _cell(metric: str, value: float | None, delta: float | None, ci: list[float] | None, first: bool) -> str:
    text = _number(metric, value)
    if first or delta is None or value is None:
        return text
    fmt = "{:+.2f}" if "reflections" in metric else "{:+.1f}"
    band = f" [{fmt.format(ci[0])}, {fmt.format(ci[1])}]" if ci else ""
    return f"{text} ({fmt.format(delta)}{band})"


def behavior_table(comparison: Mapping[str, Any]):
    """A rich table of the length / truncation / reflection rows."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="length and reflection (difference from the first run [95% CI, paired bootstrap]; "
                        "coloured only when the interval excludes 0)")
    table.add_column("benchmark")
    table.add_column("metric")
    for label in comparison["runs"]:
        table.add_column(label, justify="right")
    last = None
    for row in comparison.get("behavior", []):
        cells = []
        for i, v in enumerate(row["values"]):
            text = _cell(row["metric"], v, row["delta"][i], row["ci95"][i], i == 0)
            if i and row["significant"][i]:
                text = Text(text, style="yellow")  # markup is off for user text
            cells.append(text)
        table.add_row(row["benchmark"] if row["benchmark"] != last else "", row["metric"], *cells)
        last = row["benchmark"]
    return table


def behavior_markdown(comparison: Mapping[str, Any]) -> str:
    rows = comparison.get("behavior", [])
    if not rows:
        return ""
    head = ["benchmark", "metric", *comparison["runs"]]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---", "---"] + ["---:"] * len(comparison["runs"])) + "|"]
    for row in rows:
        cells = [_cell(row["metric"], v, row["delta"][i], row["ci95"][i], i == 0) + (" *" if row["significant"][i] else "")
                 for i, v in enumerate(row["values"])]
        lines.append("| " + " | ".join([row["benchmark"], row["metric"], *cells]) + " |")
    return "\n".join(lines) + "\n"


# ---- the paper's figures ------------------------------------------------------------------------


def level_accuracy(comparison: Mapping[str, Any]) -> tuple[list[str], list[list[float | None]]]:
    """Accuracy by base-pass level per run, pooled over benchmarks (weighted by problems)."""
    sums: dict[str, list[float]] = {}
    counts: dict[str, list[float]] = {}
    order: list[str] = []
    for row in comparison["rows"]:
        if not str(row["slice"]).startswith("base pass="):
            continue
        level = row["slice"].split("=", 1)[1]
        if level not in order:
            order.append(level)
        n_runs = len(row["accuracy"])
        sums.setdefault(level, [0.0] * n_runs)
        counts.setdefault(level, [0.0] * n_runs)
        for i, (acc, n) in enumerate(zip(row["accuracy"], row["n"], strict=True)):
            if acc is not None and n:
                sums[level][i] += acc * n
                counts[level][i] += n
    order = [lv for lv in sorted(order) if lv.startswith("L")] + [lv for lv in order if not lv.startswith("L")]
    return order, [[s / c if c else None for s, c in zip(sums[lv], counts[lv], strict=True)] for lv in order]


def _pooled(comparison: Mapping[str, Any], metric: str) -> list[float | None]:
    rows = [r for r in comparison.get("behavior", []) if r["metric"] == metric]
    pooled = [r for r in rows if r["benchmark"] == "all"] or rows[:1]
    return pooled[0]["values"] if pooled else [None] * len(comparison["runs"])


def write_plots(comparison: Mapping[str, Any], out_dir: str | os.PathLike) -> list[Path]:
    """accuracy_by_level.png, length_by_method.png, accuracy_vs_length.png (those the data allows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vrd.outputs import output_lock, publish, staging_beside

    out = Path(out_dir)
    with output_lock(out, "eval compare --plot"), staging_beside(out) as staging:
        # Drawn beside the folder and put in together: a kill never shows some figures of this
        # comparison beside others of an earlier one.
        drawn = _write_plots(comparison, staging.path, plt)
        publish(staging, out, FIGURES, "eval compare --plot")
    return [out / f.name for f in drawn]


FIGURES = ("accuracy_by_level.png", "length_by_method.png", "accuracy_vs_length.png")


def _write_plots(comparison: Mapping[str, Any], out: Path, plt: Any) -> list[Path]:
    runs = [str(r).replace("$", r"\$") for r in comparison["runs"]]  # run names drawn literally, not as mathtext
    written: list[Path] = []
    levels, acc = level_accuracy(comparison)
    if levels:
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
        width = 0.8 / max(1, len(runs))
        for i, label in enumerate(runs):
            xs = [k + (i - (len(runs) - 1) / 2) * width for k in range(len(levels))]
            ax.bar(xs, [100 * (a[i] or 0) for a in acc], width=width, label=label)
        ax.set_xticks(range(len(levels)), levels)
        ax.set_xlabel("difficulty level (base-model pass rate, L1 easiest)")
        ax.set_ylabel("accuracy %")
        ax.set_title("accuracy by difficulty level")
        ax.legend(fontsize=8)
        written.append(_save(fig, out / "accuracy_by_level.png"))
    mean, p95 = _pooled(comparison, "mean tokens"), _pooled(comparison, "p95 tokens")
    if any(v is not None for v in mean):
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
        ax.bar(range(len(runs)), [v or 0 for v in mean], color="tab:blue", label="mean")
        ax.scatter(range(len(runs)), [v if v is not None else np.nan for v in p95], color="tab:red", marker="_",
                   s=400, label="p95", zorder=3)
        ax.set_xticks(range(len(runs)), runs, rotation=20)
        ax.set_ylabel("response tokens")
        ax.set_title("response length by method")
        ax.legend(fontsize=8)
        written.append(_save(fig, out / "length_by_method.png"))
        means = [r for r in comparison["rows"] if r["benchmark"] == "mean"]
        if means:
            fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
            for label, x, y in zip(runs, mean, means[0]["accuracy"], strict=True):
                if x is not None and y is not None:
                    ax.scatter([x], [100 * y], s=40)
                    ax.annotate(label, (x, 100 * y), textcoords="offset points", xytext=(4, 4), fontsize=8)
            ax.set_xlabel("mean response tokens")
            ax.set_ylabel("mean accuracy % (macro over benchmarks)")
            ax.set_title("accuracy vs length")
            written.append(_save(fig, out / "accuracy_vs_length.png"))
    return written


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    from vrd.outputs import atomic_path

    with atomic_path(path, path.suffix) as tmp:  # whole or absent
        fig.savefig(tmp)  # savefig picks the format by suffix
    plt.close(fig)
    return path
