"""Length and style of responses: the shift you can see without a model.

A foreign teacher usually announces itself in length (long R1-style traces vs a short
base model), in self-reflection habits ("wait", "let me check") and in whether it follows
the prompted answer format. Lengths are counted with the *base* model's tokenizer so every
dataset is measured in the same unit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

# Phrases reasoning models use when they double back. Word-bounded, case-insensitive, and
# disjoint ("let me verify" counts once, not also as "verify").
REFLECTION_MARKERS: dict[str, str] = {
    "wait": r"\bwait\b",
    "alternatively": r"\balternatively\b",
    "let me check": r"\blet me check\b",
    "let me verify": r"\blet me verify\b",
    "verify": r"(?<!let me )\bverif(?:y|ied|ying|ication)\b",
    "double-check": r"\bdouble[- ]check",
    "re-check": r"\bre-?check",
    "re-examine": r"\bre-?examine",
    "reconsider": r"\breconsider",
    "on second thought": r"\bon second thought",
    "hmm": r"\bhm+\b",
    "mistake": r"\bmistake\b",
}
_COMPILED = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in REFLECTION_MARKERS.items()}
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def quantiles(values: Sequence[float]) -> dict[str, float]:
    """p5..p95 of the finite values (NaN when there are none)."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if arr.size == 0:
        return {f"p{round(q * 100)}": math.nan for q in QUANTILES}
    return {f"p{round(q * 100)}": float(np.quantile(arr, q)) for q in QUANTILES}


def histogram(values: Sequence[float], bins: int | Sequence[float] = 20) -> dict[str, list[float]]:
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if arr.size == 0:
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(arr, bins=bins)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def token_lengths(texts: Sequence[str], tokenizer: Any) -> list[int]:
    if not texts:
        return []
    return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]


def length_stats(lengths: Sequence[int], base_lengths: Sequence[int] | None = None) -> dict[str, Any]:
    """Summary of token lengths, and the 1-Wasserstein distance (in tokens) to the base samples."""
    from scipy.stats import wasserstein_distance

    arr = np.asarray(lengths, dtype=np.float64)
    out: dict[str, Any] = {
        "unit": "base-model tokens",
        "n": int(arr.size),
        "mean": float(arr.mean()) if arr.size else math.nan,
        "median": float(np.median(arr)) if arr.size else math.nan,
        "max": int(arr.max()) if arr.size else 0,
        "quantiles": quantiles(arr.tolist()),
        "histogram": histogram(arr.tolist()),
        "wasserstein_to_base": None,
        "base_mean": None,
    }
    if base_lengths is not None and len(base_lengths) and arr.size:
        out["wasserstein_to_base"] = float(wasserstein_distance(arr, np.asarray(base_lengths, dtype=np.float64)))
        out["base_mean"] = float(np.mean(base_lengths))
    return out


def reflection_counts(text: str) -> dict[str, int]:
    return {name: len(rx.findall(text)) for name, rx in _COMPILED.items()}


def style_stats(texts: Sequence[str], lengths: Sequence[int], template: str = "math") -> dict[str, Any]:
    """Reflection markers per 1k tokens (overall and per marker) and format compliance."""
    from vrd.verify import check_format

    total_tokens = int(sum(lengths))
    per_marker = {name: 0 for name in REFLECTION_MARKERS}
    for text in texts:
        for name, n in reflection_counts(text).items():
            per_marker[name] += n
    scale = 1000.0 / total_tokens if total_tokens else math.nan
    n_format = sum(1 for t in texts if check_format(t, template))
    return {
        "reflection_per_1k_tokens": sum(per_marker.values()) * scale,
        "reflection_markers_per_1k": {k: v * scale for k, v in per_marker.items()},
        "format_template": template,
        "format_rate": n_format / len(texts) if texts else math.nan,
        "mean_chars": float(np.mean([len(t) for t in texts])) if texts else math.nan,
    }
