"""The self-contained `report.html`: one file to mail around, no scripts, no external assets.

Charts are matplotlib PNGs embedded as base64 data URIs. Every piece of dataset or model
text goes through Jinja2 with autoescaping on, so a response containing markup (a teacher
writing `<script>`, or HTML copied from a web source) is shown, never executed.
"""

from __future__ import annotations

import base64
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

TEMPLATE_DIR = Path(__file__).parent / "templates"
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
BASE_COLOR = "#555555"


def plot_text(text: str) -> str:
    """User text (a dataset or run name) drawn literally: matplotlib reads `$...$` as mathtext, and a
    name such as `a$\\frac{$b` raised ValueError (deeply nested, RecursionError) while saving."""
    return str(text).replace("$", r"\$")


def _figure(width: float = 5.6, height: float = 3.0) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    return fig, ax


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _finite(values: Sequence[float] | None) -> list[float]:
    return [float(v) for v in values or [] if v is not None and math.isfinite(v)]


def overlay_histogram(series: Mapping[str, Sequence[float]], xlabel: str, reference: Sequence[float] | None = None,
                      bins: int = 30) -> str | None:
    """Step histograms (density) of each dataset on shared bins, the base samples dashed."""
    import numpy as np

    pooled = [v for vals in series.values() for v in _finite(vals)] + _finite(reference)
    if not pooled:
        return None
    lo, hi = min(pooled), max(pooled)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    fig, ax = _figure()
    for i, (name, vals) in enumerate(series.items()):
        vals = _finite(vals)
        if vals:
            ax.hist(vals, bins=edges, histtype="step", linewidth=1.8, density=True,
                    color=COLORS[i % len(COLORS)], label=plot_text(name))
    if reference:
        ax.hist(_finite(reference), bins=edges, histtype="step", linewidth=1.5, linestyle="--", density=True,
                color=BASE_COLOR, label="base samples")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend(fontsize=8, loc="best")
    return _png(fig)


def grouped_bars(groups: Mapping[str, Mapping[str, float]], ylabel: str, top: int = 8) -> str | None:
    """One bar group per category (e.g. reflection marker), one bar per dataset."""
    import numpy as np

    totals: dict[str, float] = {}
    for values in groups.values():
        for k, v in values.items():
            totals[k] = totals.get(k, 0.0) + (v if v is not None and math.isfinite(v) else 0.0)
    cats = [k for k, v in sorted(totals.items(), key=lambda kv: -kv[1]) if v > 0][:top]
    if not cats:
        return None
    fig, ax = _figure()
    width = 0.8 / max(len(groups), 1)
    x = np.arange(len(cats))
    for i, (name, values) in enumerate(groups.items()):
        color = BASE_COLOR if name == "base samples" else COLORS[i % len(COLORS)]
        ax.bar(x + i * width, [values.get(c) or 0.0 for c in cats], width, label=plot_text(name), color=color)
    ax.set_xticks(x + width * (len(groups) - 1) / 2, cats, rotation=20, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return _png(fig)


def pass_rate_chart(hist: Mapping[str, int]) -> str | None:
    from matplotlib.ticker import MaxNLocator

    if not hist:
        return None
    fig, ax = _figure()
    labels = list(hist)
    hardest, easiest = labels[-1], labels[0]  # levels are listed easiest first (vrd.difficulty)
    colors = ["#d62728" if lab == hardest else "#2ca02c" if lab == easiest else "#1f77b4" for lab in labels]
    ax.bar(labels, [hist[k] for k in labels], color=colors)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel("difficulty level from the base-model pass rate")
    ax.set_ylabel("problems")
    return _png(fig)


def zero_advantage_chart(curve: Sequence[Mapping[str, Any]], group_size: int) -> str | None:
    from matplotlib.ticker import MaxNLocator

    points = [c for c in curve if c.get("zero_advantage") is not None]
    if not points:
        return None
    fig, ax = _figure()
    ks = [c["k"] for c in points]
    exact = [str(c["estimator"]).startswith("hypergeometric (unbiased") for c in points]
    for key, color, label, size in (("zero_advantage", "#000000", "zero advantage", 28),
                                    ("all_wrong", "#d62728", "all wrong", 14),
                                    ("all_correct", "#2ca02c", "all correct", 14)):
        ys = [c[key] for c in points]
        ax.plot(ks, ys, color=color, label=label, linewidth=1.5)
        # Plug-in points (k beyond the rollouts taken) are drawn hollow: they are extrapolations.
        for unbiased in (True, False):
            xs = [k for k, e in zip(ks, exact, strict=True) if e is unbiased]
            sel = [y for y, e in zip(ys, exact, strict=True) if e is unbiased]
            ax.scatter(xs, sel, s=size, zorder=3, edgecolors=color, facecolors=color if unbiased else "white")
    ax.axvline(group_size, color="#999999", linestyle=":", label=f"group size {group_size}")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0.5, max(ks + [group_size]) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("rollouts per prompt (k)")
    ax.set_ylabel("fraction of prompts")
    ax.legend(fontsize=8)
    return _png(fig)


def fmt(value: Any, digits: int = 3) -> str:
    """Numbers for tables: fixed digits, '—' for missing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if digits > 0 and value != 0 and abs(value) < 10 ** -digits:
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


def pct(value: Any) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{100 * value:.1f}%"


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt
    env.filters["pct"] = pct
    return env


def render_report(path: str | os.PathLike, *, metrics: Mapping[str, Any], ranking: Sequence[Mapping[str, Any]],
                  examples: Mapping[str, Sequence[Mapping[str, Any]]], series: Mapping[str, Mapping[str, Any]],
                  reference: Mapping[str, Any] | None, ranking_rule: str, settings: Mapping[str, Any]) -> Path:
    """Write report.html. `series` holds raw per-row values (nll_per_byte, lengths) for the charts."""
    names = list(metrics["datasets"])
    base_series = series.get("__base__", {})
    charts = {
        "nll": overlay_histogram({n: series[n]["nll_per_byte"] for n in names}, "NLL per byte (nats) under the base model",
                                 base_series.get("nll_per_byte")),
        "length": overlay_histogram({n: series[n]["lengths"] for n in names}, "response length (base-model tokens)",
                                    base_series.get("lengths")),
    }
    groups = {n: metrics["datasets"][n]["style"]["reflection_markers_per_1k"] for n in names}
    if reference:
        groups["base samples"] = reference["style"]["reflection_markers_per_1k"]
    charts["reflection"] = grouped_bars(groups, "markers per 1k tokens")
    sig = metrics["signal"]
    if sig.get("available"):
        charts["pass_rate"] = pass_rate_chart(sig["pass_rate_histogram"])
        charts["zero_adv"] = zero_advantage_chart(sig["zero_advantage_by_k"], sig["rule"]["group_size"])
    sources = sorted({s for n in names for s in metrics["datasets"][n]["likelihood"]["by_source"]})
    page = _environment().get_template("report.html.j2").render(
        metrics=metrics, names=names, ranking=ranking, examples=examples, reference=reference,
        ranking_rule=ranking_rule, settings=settings, charts=charts, sources=sources, signal=sig,
        colors={n: COLORS[i % len(COLORS)] for i, n in enumerate(names)},
    )
    from vrd.outputs import write_text_atomic

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(out, page)

