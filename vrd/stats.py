"""Small, dependency-light estimators shared by eval, the shift report and the reward audit.

Every headline number vrd prints carries a 95% interval from here. The unit of resampling is
the problem: several samples of one problem are correlated, so treating them as independent
rows would make every interval too narrow (see `bench/estimators.py` for the coverage checks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

Z95 = 1.959963984540054
N_BOOT = 2000


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (good coverage near 0 and 1, unlike Wald)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def percentile_ci(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    reps = np.asarray(replicates, dtype=float)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return (math.nan, math.nan)
    a = (1 - level) / 2
    return (float(np.quantile(reps, a)), float(np.quantile(reps, 1 - a)))


def bootstrap_indices(n: int, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """(n_boot, n) resampled indices, seeded so a rerun prints the same interval."""
    return _rng(seed).integers(0, n, size=(n_boot, n))


def cluster_mean_ci(successes: Sequence[float], trials: Sequence[float], *, n_boot: int = N_BOOT,
                    seed: int = 0, binary: bool = True) -> tuple[float, float]:
    """Interval for sum(successes) / sum(trials), resampling problems (clusters) with replacement.

    For 0/1 outcomes with one trial per problem this is the Wilson interval (the bootstrap of a
    0/1 mean is too narrow at small n and degenerate at 0 or 1). `binary=False` for sums of
    continuous values (e.g. NLL per byte).
    """
    s, t = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    if s.size == 0 or t.sum() <= 0:
        return (math.nan, math.nan)
    if binary and np.all(t == 1):
        return wilson(float(s.sum()), float(t.sum()))
    idx = bootstrap_indices(s.size, n_boot, seed)
    reps = s[idx].sum(1) / np.maximum(t[idx].sum(1), 1e-12)
    return percentile_ci(reps)


def paired_delta(ref: Mapping[str, float], other: Mapping[str, float], *, n_boot: int = N_BOOT,
                 seed: int = 0) -> dict[str, object]:
    """Mean of other - ref over the problems both have, with a paired bootstrap over problems.

    Values are per-problem accuracies (mean over that problem's samples). Returns the delta, its
    percentile `ci95`, the number of pairs, whether the interval excludes 0, and the replicates
    (for combining benchmarks into a macro mean).
    """
    ids = sorted(set(ref) & set(other))
    if not ids:
        return {"delta": None, "ci95": None, "n_pairs": 0, "significant": False, "replicates": None}
    d = np.array([other[i] - ref[i] for i in ids], dtype=float)
    idx = bootstrap_indices(d.size, n_boot, seed)
    reps = d[idx].mean(1)
    lo, hi = percentile_ci(reps)
    if np.all(d == d[0]):  # no discordant problems: the delta is exact for these problems
        lo = hi = float(d[0])
    return {"delta": float(d.mean()), "ci95": [lo, hi], "n_pairs": int(d.size),
            "significant": bool(lo > 0 or hi < 0) and not (lo == hi == 0), "replicates": reps}


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct (Chen et al., 2021): 1 - C(n-c, k) / C(n, k)."""
    if k > n or k < 1:
        raise ValueError(f"pass@{k} needs k in [1, n={n}]")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def spearman_ci(x: Sequence[float], y: Sequence[float], *, n_boot: int = N_BOOT, seed: int = 0,
                block: int | None = None) -> tuple[float, float]:
    """Spearman rho with a moving-block bootstrap interval (points of a training curve are serially
    dependent, so single points are not exchangeable; blocks keep the local dependence)."""
    from scipy.stats import rankdata

    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = xa.size
    if n < 4:
        return (math.nan, math.nan)
    b = block or max(2, int(round(n ** (1 / 3))))
    starts = _rng(seed).integers(0, n - b + 1, size=(n_boot, math.ceil(n / b)))
    idx = (starts[:, :, None] + np.arange(b)[None, None, :]).reshape(n_boot, -1)[:, :n]
    rx = np.apply_along_axis(rankdata, 1, xa[idx])
    ry = np.apply_along_axis(rankdata, 1, ya[idx])
    rx -= rx.mean(1, keepdims=True)
    ry -= ry.mean(1, keepdims=True)
    den = np.sqrt((rx * rx).sum(1) * (ry * ry).sum(1))
    rho = np.where(den > 0, (rx * ry).sum(1) / np.where(den > 0, den, 1), np.nan)
    return percentile_ci(rho)
