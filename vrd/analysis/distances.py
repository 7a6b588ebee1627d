"""Two-sample distances between embedded datasets: how far a dataset's responses sit from
the base model's own samples.

Three views that fail differently: MMD² (kernel mean embeddings, with a permutation test so
a small sample does not look like a shift), Fréchet distance (Gaussian fit, as in FID), and a
classifier two-sample test (a cross-validated logistic regression's AUC: 0.5 means a linear
probe cannot tell the sets apart). MAUVE is added when the optional `mauve-text` is installed.

Rows are not independent: a problem's several rollouts resemble each other. Given each row's
problem id (`groups_x`, `groups_y`), the permutation test moves whole problems between the sets
(within a problem when both sets have it), the classifier's folds never split a problem, and
the 95% intervals resample problems. Treating rows as i.i.d. instead makes two samples of one
distribution look different almost every time (bench/estimators.py). Fréchet distance is
biased upward by about k/n, so it is reported debiased by extrapolation from half-size
subsamples (FD∞ ≈ 2·FD(n) − FD(n/2), as in Chong & Forsyth's FID∞), with the raw value and n.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def _sq_dists(z: np.ndarray) -> np.ndarray:
    sq = np.sum(z * z, axis=1)
    d = sq[:, None] + sq[None, :] - 2.0 * z @ z.T
    return np.maximum(d, 0.0)


def median_bandwidth(d2: np.ndarray) -> float:
    """Median heuristic: sigma² = median pairwise squared distance over the pooled sample / 2."""
    off = d2[~np.eye(len(d2), dtype=bool)]
    med = float(np.median(off)) if off.size else 0.0
    return math.sqrt(med / 2.0) if med > 0 else 1.0


def _units(n_x: int, n_y: int, groups_x: Sequence[Any] | None, groups_y: Sequence[Any] | None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(unit of each pooled row, side of each unit (0 = x), stratum of each unit, problem of each row).

    A unit is one problem's rows within one set; without groups every row is its own unit. Units of
    a problem present in both sets form one stratum (they may swap sides); all other units form
    stratum -1.
    """
    if groups_x is None or groups_y is None:
        gx, gy = [("x", i) for i in range(n_x)], [("y", i) for i in range(n_y)]
    else:
        if len(groups_x) != n_x or len(groups_y) != n_y:
            raise ValueError("one group label per row is needed")
        gx, gy = [str(g) for g in groups_x], [str(g) for g in groups_y]
    keys = [(0, g) for g in gx] + [(1, g) for g in gy]
    index: dict[tuple[int, Any], int] = {}
    row_unit = np.array([index.setdefault(k, len(index)) for k in keys])
    unit_side = np.array([k[0] for k in index])
    problems = [k[1] for k in index]
    both = set(gx) & set(gy) if groups_x is not None else set()
    strata_names: dict[Any, int] = {}  # a problem in both sets is its own stratum; -1 pools the rest
    unit_stratum = np.array([strata_names.setdefault(p, len(strata_names)) if p in both else -1 for p in problems])
    problem_ids: dict[Any, int] = {}
    row_problem = np.array([problem_ids.setdefault(k[1], len(problem_ids)) for k in keys])
    return row_unit, unit_side, unit_stratum, row_problem


def _permute_sides(rng: np.random.Generator, unit_side: np.ndarray, unit_stratum: np.ndarray) -> np.ndarray:
    out = unit_side.copy()
    for s in np.unique(unit_stratum):
        idx = np.flatnonzero(unit_stratum == s)
        out[idx] = unit_side[rng.permutation(idx)]
    return out


def _check_finite(x: np.ndarray, name: str) -> None:
    from vrd.errors import DataError

    if x.ndim != 2:
        raise DataError(f"{name}: expected a 2-d array of embeddings (rows x features), got shape {x.shape}")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise DataError(f"{name}: {int(bad.sum())} embedding rows hold NaN or inf (first row {int(np.argmax(bad))})")


def _off_problem(k: np.ndarray, row_problem: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(kernel with every pair of rows of one problem zeroed, row -> problem one-hot matrix)."""
    same = row_problem[:, None] == row_problem[None, :]
    onehot = np.zeros((len(row_problem), int(row_problem.max()) + 1))
    onehot[np.arange(len(row_problem)), row_problem] = 1.0
    return np.where(same, 0.0, k), onehot


def _mmd2_masks(k: np.ndarray, mx: np.ndarray, onehot: np.ndarray) -> float:
    """MMD² for the split given by the boolean mask `mx` (True = x) of the pooled kernel."""
    return _mmd2_counts(k, mx.astype(float), (~mx).astype(float), onehot)


def _mmd2_counts(k: np.ndarray, cx: np.ndarray, cy: np.ndarray, onehot: np.ndarray) -> float:
    """MMD² over pairs of rows from *different problems*, for multisets of the pooled rows
    (`cx[i]` copies of row i in x); `k` already has same-problem pairs zeroed (`_off_problem`).

    Without groups every row is its own problem and this is the unbiased estimator (Gretton et
    al. 2012, eq. 3). With groups, two rollouts of one problem sit closer than two independent
    rows, so keeping their pairs biased MMD² upward by ~0.02 on a null where the truth is 0
    (bench/estimators.py); pairs across problems are independent, which makes the estimate
    unbiased for the MMD² between the two sets' row distributions. A problem drawn twice in a
    bootstrap sample is still one problem, so its copies never pair either.
    """
    m, n = float(cx.sum()), float(cy.sum())
    px, py = onehot.T @ cx, onehot.T @ cy
    den_x, den_y, den_xy = m * m - float(px @ px), n * n - float(py @ py), m * n - float(px @ py)
    if den_x <= 0 or den_y <= 0 or den_xy <= 0:
        return math.nan
    kx, ky = k @ cx, k @ cy
    return float((cx @ kx) / den_x + (cy @ ky) / den_y - 2.0 * (cx @ ky) / den_xy)


def _cluster_resample(rng: np.random.Generator, row_unit: np.ndarray, unit_side: np.ndarray,
                      unit_stratum: np.ndarray | None = None) -> np.ndarray:
    """Row indices of a bootstrap sample that resamples problems.

    A problem present in both sets is drawn as a whole (its rows on both sides together, so the
    pairing survives); units of problems in one set only are drawn within their side.
    """
    rows_of = [np.flatnonzero(row_unit == u) for u in range(len(unit_side))]
    strata = unit_stratum if unit_stratum is not None else np.full(len(unit_side), -1)
    picked = []
    paired = sorted(int(x) for x in np.unique(strata) if x >= 0)
    if paired:
        for s in rng.choice(paired, size=len(paired), replace=True):
            picked.extend(rows_of[u] for u in np.flatnonzero(strata == s))
    for side in (0, 1):
        units = np.flatnonzero((unit_side == side) & ~np.isin(strata, paired))
        if units.size:
            picked.extend(rows_of[u] for u in rng.choice(units, size=units.size, replace=True))
    return np.concatenate(picked)


def mmd2_rbf(x: np.ndarray, y: np.ndarray, *, n_permutations: int = 200, seed: int = 0,
             bandwidth: float | None = None, groups_x: Sequence[Any] | None = None,
             groups_y: Sequence[Any] | None = None, n_boot: int = 0) -> dict[str, Any]:
    """Unbiased MMD² with an RBF kernel, its permutation p-value and (with `n_boot`) a 95% interval.

    The p-value is (1 + #{permuted MMD² >= observed}) / (1 + permutations), so it is never 0.
    With groups, whole problems are permuted (see the module docstring).
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    _check_finite(x, "x")
    _check_finite(y, "y")
    if len(x) < 2 or len(y) < 2:
        return {"mmd2": math.nan, "p_value": math.nan, "bandwidth": math.nan, "ci95": None, "unit": None}
    z = np.concatenate([x, y])
    d2 = _sq_dists(z)
    sigma = bandwidth or median_bandwidth(d2)
    row_unit, unit_side, unit_stratum, row_problem = _units(len(x), len(y), groups_x, groups_y)
    k, onehot = _off_problem(np.exp(-d2 / (2.0 * sigma * sigma)), row_problem)
    mx = unit_side[row_unit] == 0
    observed = _mmd2_masks(k, mx, onehot)
    if math.isnan(observed):  # e.g. each set is a single problem: no cross-problem pair within a set
        return {"mmd2": math.nan, "p_value": math.nan, "bandwidth": sigma, "ci95": None,
                "unit": "problem" if groups_x is not None else "row"}
    rng = np.random.default_rng(seed)
    exceed = 0
    for _ in range(n_permutations):
        side = _permute_sides(rng, unit_side, unit_stratum)
        value = _mmd2_masks(k, side[row_unit] == 0, onehot)
        if not math.isnan(value) and value >= observed:
            exceed += 1
    out: dict[str, Any] = {"mmd2": observed, "p_value": (1 + exceed) / (1 + n_permutations), "bandwidth": sigma,
                           "unit": "problem" if groups_x is not None else "row", "ci95": None}
    if n_boot:
        from vrd.stats import Z95

        reps = []
        for _ in range(n_boot):
            idx = _cluster_resample(rng, row_unit, unit_side, unit_stratum)
            counts = np.bincount(idx, minlength=len(z)).astype(float)
            reps.append(_mmd2_counts(k, counts * mx, counts * ~mx, onehot))
        # Centred on the estimate with the bootstrap's spread (a normal interval: the unbiased
        # statistic's replicates are near-symmetric; with fewer than ~10 problems it under-covers).
        spread = float(np.nanstd(reps))
        out["ci95"] = [observed - Z95 * spread, observed + Z95 * spread]
    return out


def _frechet_parts(x: np.ndarray, y: np.ndarray) -> float:
    mu = x.mean(0) - y.mean(0)
    ax = (x - x.mean(0)) / math.sqrt(len(x) - 1)
    ay = (y - y.mean(0)) / math.sqrt(len(y) - 1)
    # Tr((Sx Sy)^½) is the nuclear norm of Ax Ayᵀ (= of Sx^½ Sy^½): use whichever side is smaller.
    if min(len(x), len(y)) <= x.shape[1]:
        tr_sqrt = float(np.linalg.svd(ax @ ay.T, compute_uv=False).sum())
    else:
        def root(a: np.ndarray) -> np.ndarray:
            vals, vecs = np.linalg.eigh(a.T @ a)
            return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T

        tr_sqrt = float(np.linalg.svd(root(ax) @ root(ay), compute_uv=False).sum())
    return float(max(mu @ mu + (ax * ax).sum() + (ay * ay).sum() - 2.0 * tr_sqrt, 0.0))


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """||mu_x - mu_y||² + Tr(Sx + Sy - 2 (Sx Sy)^½), the plain (size-biased) estimate."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 2 or len(y) < 2:
        return math.nan
    return _frechet_parts(x, y)


def frechet_debiased(x: np.ndarray, y: np.ndarray, *, seed: int = 0, halves: int = 4, n_boot: int = 0,
                     groups_x: Sequence[Any] | None = None, groups_y: Sequence[Any] | None = None) -> dict[str, Any]:
    """Fréchet distance extrapolated to infinite samples, with the raw value, n and a 95% interval.

    FD(n) ≈ FD∞ + k/n, so FD∞ ≈ 2·FD(n) − FD(n/2), the half-size value averaged over `halves`
    random halves. With groups the halves are half of each set's *problems* (all their rows): the
    k/n term scales with the number of independent problems, and halving rows of clustered data
    barely moves it, which left 3.1 of a 4.9 bias in place in simulation (bench/estimators.py).
    The interval is the estimate ± 1.96 bootstrap standard deviations (problems resampled).
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    _check_finite(x, "x")
    _check_finite(y, "y")
    raw = frechet_distance(x, y)
    out: dict[str, Any] = {"frechet": raw, "frechet_raw": raw, "n": [len(x), len(y)], "ci95": None}
    if math.isnan(raw) or min(len(x), len(y)) < 8:
        return out
    rng = np.random.default_rng(seed)

    def half_rows(n: int, groups: Sequence[Any] | None) -> np.ndarray:
        if groups is None:
            return rng.choice(n, n // 2, replace=False)
        labels = np.array([str(g) for g in groups])
        names = np.unique(labels)
        if names.size < 4:  # too few problems to halve: rows it is
            return rng.choice(n, n // 2, replace=False)
        return np.flatnonzero(np.isin(labels, rng.choice(names, names.size // 2, replace=False)))

    both = groups_x is not None and groups_y is not None
    half = [frechet_distance(x[half_rows(len(x), groups_x if both else None)],
                             y[half_rows(len(y), groups_y if both else None)]) for _ in range(halves)]
    correction = float(np.mean(half)) - raw
    out["frechet"] = raw - correction
    if n_boot:
        from vrd.stats import Z95

        row_unit, unit_side, unit_stratum, _ = _units(len(x), len(y), groups_x, groups_y)
        z = np.concatenate([x, y])
        side = unit_side[row_unit]
        reps = []
        for _ in range(n_boot):
            idx = _cluster_resample(rng, row_unit, unit_side, unit_stratum)
            reps.append(frechet_distance(z[idx][side[idx] == 0], z[idx][side[idx] == 1]))
        # Duplicated rows in a bootstrap sample bias FD upward (fewer distinct points), so the
        # interval takes the replicates' spread around the debiased estimate.
        spread = float(np.nanstd(reps))
        out["ci95"] = [out["frechet"] - Z95 * spread, out["frechet"] + Z95 * spread]
    return out


def classifier_auc(x: np.ndarray, y: np.ndarray, *, folds: int = 5, seed: int = 0,
                   groups_x: Sequence[Any] | None = None, groups_y: Sequence[Any] | None = None,
                   repeats: int = 3, ci: bool = False) -> dict[str, Any]:
    """Cross-validated ROC AUC of a logistic regression telling x (label 1) from y (label 0).

    With groups, no problem is split across folds (`StratifiedGroupKFold`), so the probe cannot
    score by recognising a problem it saw in training. K-fold is repeated `repeats` times with
    different splits; the AUC is the mean of the per-fold AUCs (each fold's classifier never saw
    its test rows, so under no shift every fold AUC has mean exactly 0.5; pooling the folds'
    scores biased it low, −0.02 at 30 problems). The interval is Nadeau & Bengio's corrected
    resampled t (2003): variance (1/J + n_test/n_train)·s² over the J = repeats·K fold AUCs,
    t with K − 1 df. Resampling the out-of-fold scores alone left out the classifier's training
    variability and covered 0.80-0.85 at 30 problems per set (bench/estimators.py, `c2st`).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    _check_finite(x, "x")
    _check_finite(y, "y")
    n_min = min(len(x), len(y))
    grouped = groups_x is not None and groups_y is not None
    none: dict[str, Any] = {"auc": math.nan, "folds": 0, "repeats": 0, "ci95": None, "grouped": grouped}
    if n_min < 2:
        return {**none, "grouped": False}
    z = np.concatenate([x, y])
    labels = np.concatenate([np.ones(len(x)), np.zeros(len(y))])
    _, _, _, row_problem = _units(len(x), len(y), groups_x, groups_y)
    if grouped:
        n_groups = min(len(np.unique(row_problem[labels == 1])), len(np.unique(row_problem[labels == 0])))
        k = min(folds, n_groups)
    else:
        k = min(folds, n_min)
    if k < 2:
        return none
    fold_aucs: list[float] = []
    n_test = n_train = 0
    for r in range(max(1, repeats)):
        if grouped:
            splits = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed + r).split(z, labels, row_problem)
        else:
            splits = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed + r).split(z, labels)
        for train, test in splits:
            if np.ptp(labels[test]) == 0 or np.ptp(labels[train]) == 0:
                continue  # a fold holding one set only: no AUC to take
            clf = LogisticRegression(max_iter=2000, C=1.0).fit(z[train], labels[train])
            fold_aucs.append(float(roc_auc_score(labels[test], clf.predict_proba(z[test])[:, 1])))
            n_test, n_train = n_test + len(test), n_train + len(train)
    if not fold_aucs:
        return none
    aucs = np.array(fold_aucs)
    auc = float(aucs.mean())
    out: dict[str, Any] = {"auc": auc, "folds": k, "repeats": max(1, repeats), "ci95": None, "grouped": grouped}
    if ci and aucs.size >= 2:
        from vrd.stats import _t

        # n_test/n_train corrects for the overlap of the folds' training sets (the fold AUCs are
        # positively correlated, so s²/J alone is too small). t with K − 1 df, not J − 1: the
        # repetitions re-split the same rows, adding folds but no independent evidence about the
        # spread; with J − 1 df the interval covered 0.89 at the null in simulation, with K − 1 0.92.
        se = math.sqrt((1.0 / aucs.size + n_test / n_train) * float(aucs.var(ddof=1)))
        half = _t(k - 1) * se
        out["ci95"] = [max(0.0, auc - half), min(1.0, auc + half)]
    return out


def mauve_available() -> bool:
    return importlib.util.find_spec("mauve") is not None


def mauve_score(x: np.ndarray, y: np.ndarray, *, seed: int = 0) -> float | None:
    """MAUVE on precomputed features when `mauve-text` is installed, else None."""
    if not mauve_available() or len(x) < 2 or len(y) < 2:
        return None
    import mauve

    n_clusters = max(2, min(len(x), len(y)) // 10)
    out = mauve.compute_mauve(p_features=x, q_features=y, num_buckets=n_clusters, seed=seed, verbose=False)
    return float(out.mauve)


def embedding_distances(x: np.ndarray, y: np.ndarray, *, n_permutations: int = 200, seed: int = 0,
                        groups_x: Sequence[Any] | None = None, groups_y: Sequence[Any] | None = None,
                        n_boot: int = 200) -> dict[str, Any]:
    """All distances between a dataset (x) and the base samples (y), as one JSON-ready dict.

    `groups_*` are the rows' problem ids (tests and intervals then respect problems); every
    distance carries a `*_ci95` (None when too few rows). Rows whose embedding holds NaN or inf
    (an embedder overflow) are set aside and counted in `n_nonfinite`, not allowed to stop a
    report that has already scored every row's likelihood.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    dropped = [0, 0]
    if x.ndim == 2 and y.ndim == 2:
        keep_x, keep_y = np.isfinite(x).all(1), np.isfinite(y).all(1)
        dropped = [int((~keep_x).sum()), int((~keep_y).sum())]
        x, y = x[keep_x], y[keep_y]
        groups_x = None if groups_x is None else [g for g, k in zip(groups_x, keep_x, strict=True) if k]
        groups_y = None if groups_y is None else [g for g, k in zip(groups_y, keep_y, strict=True) if k]
    g = {"groups_x": groups_x, "groups_y": groups_y}
    mmd = mmd2_rbf(x, y, n_permutations=n_permutations, seed=seed, n_boot=n_boot, **g)
    clf = classifier_auc(x, y, seed=seed, ci=n_boot > 0, **g)
    fd = frechet_debiased(x, y, seed=seed, n_boot=max(n_boot // 4, 0), **g)
    return {
        "n": int(len(x)),
        "n_base": int(len(y)),
        "n_nonfinite": dropped,
        "resampling_unit": "problem" if groups_x is not None and groups_y is not None else "row",
        "mmd2": mmd["mmd2"],
        "mmd2_ci95": mmd["ci95"],
        "mmd2_p_value": mmd["p_value"],
        "mmd_bandwidth": mmd["bandwidth"],
        "mmd_permutations": n_permutations,
        "frechet": fd["frechet"],
        "frechet_ci95": fd["ci95"],
        "frechet_raw": fd["frechet_raw"],
        "frechet_n": fd["n"],
        "frechet_estimator": "debiased: 2·FD(n) − FD(n/2)",
        "classifier_auc": clf["auc"],
        "classifier_auc_ci95": clf["ci95"],
        "classifier_folds": clf["folds"],
        "classifier_grouped": clf["grouped"],
        "classifier_repeats": clf["repeats"],
        "mauve": mauve_score(x, y, seed=seed),
    }
