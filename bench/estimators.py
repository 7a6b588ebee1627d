"""Simulations with known truth for vrd's estimators: bias, interval coverage and null behaviour.

    python bench/estimators.py --json          # one JSON object (the figures below), fixed seed
    python bench/estimators.py --json --quick  # fewer repeats, for a smoke test

Settings (issue 13):
- signal: 2,000 problems, p ~ Beta(0.5, 3), n = 4 rollouts each, planned group size G = 10;
  truth = E[(1-p)^10] under Beta(0.5, 3) = B(0.5, 13) / B(0.5, 3) = 0.4653; 200 repeats, each
  with fresh problems, for the mean estimate, its bias and the coverage of the 95% interval.
- two-sample nulls: two sets of 30 problems x 4 rollouts, drawn from one distribution with a
  per-problem effect (rollouts of one problem are correlated), 32 dimensions; share of MMD
  permutation tests rejecting at alpha = 0.05, and the mean C2ST AUC.
- onset: 20 evaluations (steps 0, 10, ..., 190) of 200 held-out problems, binomial noise,
  reward rising linearly throughout. "rising": accuracy 0.30 -> 0.50 linearly; "saturating":
  0.30 + 0.25 (1 - exp(-step / 40)); "hit": 0.30 -> 0.50 at step 100, then down to 0.38 at 190.
  False-onset rates on the first two, hit rate (an onset reported within 40 steps of 100) on
  the third.
- compare: 100 problems, paired 0/1 outcomes with 20% discordant (8% lost, 12% gained, true
  delta +0.04); coverage of the 95% interval for the delta.

Goals: |bias| <= 0.03, coverage >= 0.90, MMD null rejection <= 0.10, C2ST null AUC <= 0.55,
false onsets <= 0.10, hit rate >= 0.80, compare coverage >= 0.90.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SEED = 20260
STEPS = np.arange(0, 200, 10, dtype=float)
N_EVAL = 200


# -- data with known truth ----------------------------------------------------------------------------


def signal_truth(a: float = 0.5, b: float = 3.0, g: int = 10) -> float:
    from scipy.special import betaln

    return math.exp(betaln(a, b + g) - betaln(a, b))


def signal_counts(rng: np.random.Generator, n_problems: int = 2000, n: int = 4) -> list[tuple[int, int]]:
    p = rng.beta(0.5, 3.0, size=n_problems)
    return [(n, int(c)) for c in rng.binomial(n, p)]


def clustered_null(rng: np.random.Generator, problems: int = 30, rollouts: int = 4, dim: int = 32,
                   tau: float = 1.0, sigma: float = 0.5) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Two sets from one distribution; each problem has its own centre, its rollouts scatter around it."""
    def one(prefix: str) -> tuple[np.ndarray, list[str]]:
        centres = rng.normal(0, tau, size=(problems, dim))
        x = np.repeat(centres, rollouts, axis=0) + rng.normal(0, sigma, size=(problems * rollouts, dim))
        return x, [f"{prefix}{j}" for j in range(problems) for _ in range(rollouts)]

    x, gx = one("a")
    y, gy = one("b")
    return x, y, gx, gy


def onset_curve(kind: str) -> np.ndarray:
    t = STEPS
    if kind == "rising":
        return 0.30 + 0.20 * t / t[-1]
    if kind == "saturating":
        return 0.30 + 0.25 * (1 - np.exp(-t / 40.0))
    if kind == "hit":
        return np.where(t <= 100, 0.30 + 0.20 * t / 100, 0.50 - 0.12 * (t - 100) / (t[-1] - 100))
    raise ValueError(kind)


def onset_run(rng: np.random.Generator, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    acc = rng.binomial(N_EVAL, onset_curve(kind)) / N_EVAL
    reward = 0.2 + 0.6 * STEPS / STEPS[-1] + rng.normal(0, 0.03, size=STEPS.size)
    return STEPS.copy(), reward, acc


def paired_outcomes(rng: np.random.Generator, n: int = 100) -> tuple[dict[str, float], dict[str, float], float]:
    """Base right 50%; 8% lost, 12% gained (20% discordant): true delta +0.04."""
    u = rng.random(n)
    base = (u < 0.5).astype(float)
    other = base.copy()
    other[u < 0.08] = 0.0          # lost: base right, other wrong
    other[(u >= 0.5) & (u < 0.62)] = 1.0  # gained
    ids = [f"p{i}" for i in range(n)]
    return dict(zip(ids, base, strict=True)), dict(zip(ids, other, strict=True)), 0.04


# -- the estimators under test --------------------------------------------------------------------


def bench_signal(repeats: int, seed: int) -> dict[str, float]:
    from vrd.analysis.signal import eb_agreement

    rng = np.random.default_rng(seed)
    truth = signal_truth()
    estimates, covered = [], 0
    for r in range(repeats):
        res = eb_agreement(signal_counts(rng), 10, n_boot=200, seed=r)
        estimates.append(res["all_wrong"])
        lo, hi = res["all_wrong_ci95"]
        covered += lo <= truth <= hi
    mean = float(np.mean(estimates))
    return {"truth": round(truth, 4), "estimate_mean": round(mean, 4), "bias": round(mean - truth, 4),
            "ci_coverage": round(covered / repeats, 3)}


def bench_nulls(repeats: int, seed: int) -> tuple[float, float]:
    from vrd.analysis.distances import classifier_auc, mmd2_rbf

    rng = np.random.default_rng(seed)
    rejections, aucs = 0, []
    for r in range(repeats):
        x, y, gx, gy = clustered_null(rng)
        rejections += mmd2_rbf(x, y, groups_x=gx, groups_y=gy, n_permutations=200, seed=r)["p_value"] <= 0.05
        aucs.append(classifier_auc(x, y, groups_x=gx, groups_y=gy, seed=r)["auc"])
    return rejections / repeats, float(np.mean(aucs))


def bench_onset(repeats: int, seed: int) -> dict[str, float]:
    from vrd.trainers.audit import find_onset

    rng = np.random.default_rng(seed)
    out = {}
    for kind in ("rising", "saturating", "hit"):
        found = 0
        for _ in range(repeats):
            steps, reward, acc = onset_run(rng, kind)
            res = find_onset(steps, reward, acc, n_eval=N_EVAL, seed=int(rng.integers(1 << 30)))
            onset = res["onset_step"]
            found += onset is not None and (kind != "hit" or abs(onset - 100) <= 40)
        out[kind] = found / repeats
    return out


def bench_compare(repeats: int, seed: int) -> float:
    from vrd.stats import paired_delta

    rng = np.random.default_rng(seed)
    covered = 0
    for r in range(repeats):
        ref, other, truth = paired_outcomes(rng)
        lo, hi = paired_delta(ref, other, n_boot=1000, seed=r)["ci95"]
        covered += lo <= truth <= hi
    return covered / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="Print one JSON object (the default prints it too).")
    ap.add_argument("--quick", action="store_true", help="A tenth of the repeats (smoke test; noisier figures).")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    scale = 0.1 if args.quick else 1.0
    reps = lambda n: max(5, int(n * scale))  # noqa: E731
    t0 = time.perf_counter()
    signal = bench_signal(reps(200), args.seed)
    mmd_rej, c2st_auc = bench_nulls(reps(200), args.seed + 1)
    onset = bench_onset(reps(200), args.seed + 2)
    coverage = bench_compare(reps(1000), args.seed + 3)
    result = {
        "signal": signal,
        "mmd_null_rejection": round(mmd_rej, 3),
        "c2st_null_auc_mean": round(c2st_auc, 3),
        "onset_false_rate_rising": round(onset["rising"], 3),
        "onset_false_rate_saturating": round(onset["saturating"], 3),
        "onset_hit_rate": round(onset["hit"], 3),
        "compare_ci_coverage": round(coverage, 3),
    }
    print(json.dumps(result))
    if not args.json:
        print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
