"""Two-sample distances between embedded datasets: how far a dataset's responses sit from
the base model's own samples.

Three views that fail differently: MMD² (kernel mean embeddings, with a permutation test so
a small sample does not look like a shift), Fréchet distance (Gaussian fit, as in FID), and a
classifier two-sample test (a cross-validated logistic regression's AUC: 0.5 means a linear
probe cannot tell the sets apart). MAUVE is added when the optional `mauve-text` is installed.
"""

from __future__ import annotations

import importlib.util
import math
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


def _mmd2_from_kernel(k: np.ndarray, ix: np.ndarray, iy: np.ndarray) -> float:
    """Unbiased MMD² (Gretton et al. 2012, eq. 3) from the pooled kernel matrix."""
    kxx, kyy, kxy = k[np.ix_(ix, ix)], k[np.ix_(iy, iy)], k[np.ix_(ix, iy)]
    m, n = len(ix), len(iy)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def mmd2_rbf(x: np.ndarray, y: np.ndarray, *, n_permutations: int = 200, seed: int = 0,
             bandwidth: float | None = None) -> dict[str, float]:
    """Unbiased MMD² with an RBF kernel and its permutation p-value.

    The p-value is (1 + #{permuted MMD² >= observed}) / (1 + permutations), so it is never 0.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 2 or len(y) < 2:
        return {"mmd2": math.nan, "p_value": math.nan, "bandwidth": math.nan}
    z = np.concatenate([x, y])
    d2 = _sq_dists(z)
    sigma = bandwidth or median_bandwidth(d2)
    k = np.exp(-d2 / (2.0 * sigma * sigma))
    ix, iy = np.arange(len(x)), np.arange(len(x), len(z))
    observed = _mmd2_from_kernel(k, ix, iy)
    rng = np.random.default_rng(seed)
    exceed = 0
    for _ in range(n_permutations):
        perm = rng.permutation(len(z))
        if _mmd2_from_kernel(k, perm[: len(x)], perm[len(x):]) >= observed:
            exceed += 1
    return {"mmd2": observed, "p_value": (1 + exceed) / (1 + n_permutations), "bandwidth": sigma}


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """||mu_x - mu_y||² + Tr(Sx + Sy - 2 (Sx Sy)^½).

    Tr((Sx Sy)^½) is the sum of square roots of the eigenvalues of Sx Sy, which are real and
    non-negative in exact arithmetic; clipping round-off keeps rank-deficient covariances
    (fewer samples than dimensions, the usual case here) from producing complex numbers.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 2 or len(y) < 2:
        return math.nan
    mu = x.mean(0) - y.mean(0)
    sx, sy = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    eig = np.linalg.eigvals(sx @ sy)
    tr_sqrt = float(np.sum(np.sqrt(np.clip(eig.real, 0.0, None))))
    return float(max(mu @ mu + np.trace(sx) + np.trace(sy) - 2.0 * tr_sqrt, 0.0))


def classifier_auc(x: np.ndarray, y: np.ndarray, *, folds: int = 5, seed: int = 0) -> dict[str, float]:
    """Cross-validated ROC AUC of a logistic regression telling x (label 1) from y (label 0)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    n_min = min(len(x), len(y))
    if n_min < 2:
        return {"auc": math.nan, "folds": 0}
    k = min(folds, n_min)
    z = np.concatenate([x, y])
    labels = np.concatenate([np.ones(len(x)), np.zeros(len(y))])
    clf = LogisticRegression(max_iter=2000, C=1.0)
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    proba = cross_val_predict(clf, z, labels, cv=cv, method="predict_proba")[:, 1]
    return {"auc": float(roc_auc_score(labels, proba)), "folds": k}


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


def embedding_distances(x: np.ndarray, y: np.ndarray, *, n_permutations: int = 200, seed: int = 0) -> dict[str, Any]:
    """All distances between a dataset (x) and the base samples (y), as one JSON-ready dict."""
    mmd = mmd2_rbf(x, y, n_permutations=n_permutations, seed=seed)
    clf = classifier_auc(x, y, seed=seed)
    return {
        "n": int(len(x)),
        "n_base": int(len(y)),
        "mmd2": mmd["mmd2"],
        "mmd2_p_value": mmd["p_value"],
        "mmd_bandwidth": mmd["bandwidth"],
        "mmd_permutations": n_permutations,
        "frechet": frechet_distance(x, y),
        "classifier_auc": clf["auc"],
        "classifier_folds": clf["folds"],
        "mauve": mauve_score(x, y, seed=seed),
    }
