"""Small, dependency-light estimators shared by eval, the shift report and the reward audit.

Every headline number vrd prints carries a 95% interval from here. The unit of resampling is
the problem: several samples of one problem are correlated, so treating them as independent
rows would make every interval too narrow. `bench/estimators.py` simulates each statistic with a
known truth and prints its bias and its interval's coverage (docs/DESIGN.md, "Statistics").

Small samples: a plain percentile bootstrap over n problems is too narrow by about
sqrt((n-1)/n) and by the normal-vs-t gap, so intervals over fewer than ~30 problems covered
85-90% in simulation. Percentile intervals here are *expanded* (Hesterberg 2015) when the
number of resampled units is given, and proportions use a Wilson interval (with an effective
sample size when samples are clustered by problem), which stays inside [0, 1] and is not
degenerate at 0% or 100%.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from vrd.errors import DataError

Z95 = 1.959963984540054
N_BOOT = 2000


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _t(df: float, level: float = 0.95) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, df)) if df >= 1 else math.inf


def _z(level: float = 0.95) -> float:
    from scipy.stats import norm

    return Z95 if level == 0.95 else float(norm.ppf(0.5 + level / 2))


def _finite_pair(successes: float, n: float) -> None:
    if not (math.isfinite(successes) and math.isfinite(n)):
        raise DataError(f"a proportion needs finite counts, got {successes} of {n}")
    if successes < 0 or successes > n + 1e-9:
        raise DataError(f"successes must be in [0, n], got {successes} of {n}")


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (good coverage near 0 and 1, unlike Wald).

    `n` may be an effective sample size (not an integer). n <= 0 gives (nan, nan): no data, no
    interval; counts outside [0, n] or NaN raise DataError (a ValueError) rather than print a wrong interval.
    """
    if not n > 0:
        if math.isnan(n) or math.isnan(successes):
            raise DataError(f"a proportion needs finite counts, got {successes} of {n}")
        return (math.nan, math.nan)
    _finite_pair(successes, n)
    p = min(1.0, successes / n)
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (0.0 if p <= 0 else max(0.0, centre - half), 1.0 if p >= 1 else min(1.0, centre + half))


def expanded_level(n: int, level: float = 0.95) -> float:
    """The percentile level whose normal quantile equals sqrt(n/(n-1)) * t_{n-1}: the expanded
    percentile bootstrap (Hesterberg 2015), which restores coverage over few resampled units."""
    from scipy.stats import norm

    if n < 2:
        return level
    z = math.sqrt(n / (n - 1)) * _t(n - 1, level)
    return float(min(1.0 - 1e-9, 2 * norm.cdf(z) - 1))


def percentile_ci(replicates: np.ndarray, level: float = 0.95, n: int | None = None) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates (NaN replicates dropped); with `n` (the number
    of resampled units) the expanded percentile interval."""
    reps = np.asarray(replicates, dtype=float)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return (math.nan, math.nan)
    if n is not None:
        level = expanded_level(n, level)
    a = (1 - level) / 2
    return (float(np.quantile(reps, a)), float(np.quantile(reps, 1 - a)))


def bootstrap_indices(n: int, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """(n_boot, n) resampled indices, seeded so a rerun prints the same interval."""
    return _rng(seed).integers(0, n, size=(n_boot, n))


def _clean(successes: Sequence[float], trials: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    s, t = np.asarray(successes, dtype=float).ravel(), np.asarray(trials, dtype=float).ravel()
    if s.shape != t.shape:
        raise DataError(f"one trial count per problem is needed ({s.size} sums, {t.size} counts)")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(t))):
        raise DataError("per-problem sums and counts must be finite (a NaN score was not set aside)")
    if np.any(t < 0):
        raise DataError("per-problem counts must be >= 0")
    keep = t > 0
    return s[keep], t[keep]


def proportion_ci(successes: Sequence[float], trials: Sequence[float], *, n_max: float | None = None,
                  level: float = 0.95) -> tuple[float, float]:
    """Interval for sum(successes) / sum(trials) of outcomes in [0, 1], clustered by problem.

    A Wilson interval at the effective sample size n_eff = p(1-p) / v, where v is the
    with-replacement variance of the ratio over problems, shrunk by (z / t_{k-1})² for k problems
    (Korn & Graubard 1998). One 0/1 trial per problem is the plain Wilson interval. n_eff is kept
    between sum(t)² / sum(t²) (every problem all-or-nothing) and `n_max` (default sum(t)), so a
    run that got everything right or wrong still gets a non-degenerate interval.
    """
    s, t = _clean(successes, trials)
    if s.size == 0:
        return (math.nan, math.nan)
    if np.any(s < -1e-9) or np.any(s > t + 1e-9):
        raise DataError("per-problem successes must be in [0, trials]")
    total, k = float(t.sum()), s.size
    p = float(s.sum()) / total
    if np.all(t == 1) and np.all((s == 0) | (s == 1)):
        return wilson(float(s.sum()), total)
    n_lo, n_hi = total * total / float((t * t).sum()), float(n_max or total)
    z = _z(level)
    if k < 2:
        return wilson(p * n_lo, n_lo, z)
    e = s - p * t
    v = k / (k - 1) * float((e * e).sum()) / (total * total)
    n_eff = n_hi if v <= 0 else p * (1 - p) / v
    n_eff = float(np.clip(n_eff, n_lo, n_hi)) if 0 < p < 1 else n_lo
    n_eff *= (z / _t(k - 1, level)) ** 2
    return wilson(p * n_eff, n_eff, z)


def ratio_ci(sums: Sequence[float], counts: Sequence[float], *, level: float = 0.95) -> tuple[float, float]:
    """t interval for sum(sums) / sum(counts) of unbounded values (e.g. NLL per byte), with the
    linearised (ratio-estimator) variance over problems and k-1 degrees of freedom."""
    s, t = _clean(sums, counts)
    k = s.size
    if k < 2:
        return (math.nan, math.nan)
    total = float(t.sum())
    r = float(s.sum()) / total
    e = s - r * t
    se = math.sqrt(k / (k - 1) * float((e * e).sum())) / total
    half = _t(k - 1, level) * se
    return (r - half, r + half)


def cluster_mean_ci(successes: Sequence[float], trials: Sequence[float], *, binary: bool = True,
                    n_max: float | None = None) -> tuple[float, float]:
    """Interval for sum(successes) / sum(trials) over problems (clusters): `proportion_ci` for
    outcomes in [0, 1], `ratio_ci` for sums of continuous values (`binary=False`)."""
    if binary:
        return proportion_ci(successes, trials, n_max=n_max)
    return ratio_ci(successes, trials)


def _paired_fallback(d: np.ndarray) -> tuple[float, float]:
    """Interval for a mean difference when every problem has the same difference (the bootstrap
    is then a point): Newcombe's square-and-add of Wilson limits for the shares of problems
    gained and lost. No discordant problem in n still allows a difference of about ±4/n."""
    n = d.size
    g, lost = float(np.clip(d, 0, 1).sum()), float(np.clip(-d, 0, 1).sum())
    gl, gh = wilson(g, n)
    ll, lh = wilson(lost, n)
    delta = (g - lost) / n
    return (delta - math.hypot(g / n - gl, lh - lost / n), delta + math.hypot(gh - g / n, lost / n - ll))


def paired_delta(ref: Mapping[str, float], other: Mapping[str, float], *, n_boot: int = N_BOOT,
                 seed: int = 0) -> dict[str, object]:
    """Mean of other - ref over the problems both have, with a paired bootstrap over problems.

    Values are per-problem accuracies (mean over that problem's samples). Returns the delta, its
    expanded percentile `ci95`, the number of pairs, whether the interval excludes 0, and the
    replicates (for combining benchmarks into a macro mean). One pair gives no interval; when
    every pair has the same difference the bootstrap is degenerate and the interval is
    Newcombe's (`_paired_fallback`).
    """
    ids = sorted(set(ref) & set(other))
    d = np.array([float(other[i]) - float(ref[i]) for i in ids], dtype=float)
    if d.size and not np.all(np.isfinite(d)):
        bad = [i for i, v in zip(ids, d, strict=True) if not math.isfinite(v)][:3]
        raise DataError(f"per-problem accuracies must be finite (problems {bad})")
    if d.size < 2:
        return {"delta": float(d.mean()) if d.size else None, "ci95": None, "n_pairs": int(d.size),
                "significant": False, "replicates": None}
    idx = bootstrap_indices(d.size, n_boot, seed)
    reps = d[idx].mean(1)
    lo, hi = percentile_ci(reps, n=d.size)
    if np.all(d == d[0]) and np.all(np.abs(d) <= 1):
        lo, hi = _paired_fallback(d)
    return {"delta": float(d.mean()), "ci95": [lo, hi], "n_pairs": int(d.size),
            "significant": bool(lo > 0 or hi < 0), "replicates": reps}


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct (Chen et al., 2021): 1 - C(n-c, k) / C(n, k)."""
    if not 0 <= c <= n:
        raise DataError(f"pass@k needs 0 <= correct <= samples, got {c} correct of {n}")
    if k > n or k < 1:
        raise DataError(f"pass@{k} needs k in [1, n={n}] (a problem has only {n} samples)")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def spearman_ci(x: Sequence[float], y: Sequence[float], *, n_boot: int = N_BOOT, seed: int = 0,
                block: int | None = None) -> tuple[float, float]:
    """Spearman rho with a moving-block bootstrap interval (points of a training curve are serially
    dependent, so single points are not exchangeable; blocks keep the local dependence).

    Expanded percentile for n points (the plain percentile covered 0.92 at 20 points in
    simulation; expanding for n / block blocks over-covered); fewer than 4 finite pairs give (nan, nan).
    """
    from scipy.stats import rankdata

    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[keep], ya[keep]
    n = xa.size
    if n < 4:
        return (math.nan, math.nan)
    b = block or max(2, int(round(n ** (1 / 3))))
    starts = _rng(seed).integers(0, n - b + 1, size=(n_boot, math.ceil(n / b)))
    idx = (starts[:, :, None] + np.arange(b)[None, None, :]).reshape(n_boot, -1)[:, :n]
    rx = rankdata(xa[idx], axis=1)
    ry = rankdata(ya[idx], axis=1)
    rx -= rx.mean(1, keepdims=True)
    ry -= ry.mean(1, keepdims=True)
    den = np.sqrt((rx * rx).sum(1) * (ry * ry).sum(1))
    rho = np.where(den > 0, (rx * ry).sum(1) / np.where(den > 0, den, 1), np.nan)
    lo, hi = percentile_ci(rho, n=n)
    if math.isnan(lo):  # a constant series: no rank correlation is defined
        return (math.nan, math.nan)
    return (max(-1.0, lo), min(1.0, hi))
