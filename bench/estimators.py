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

Added with the statistics hardening (each a function below; `--only NAME` runs one section):
- accuracy: eval accuracy and pass@k through `vrd.eval.results.stats`, p ~ Beta, problems x
  samples in ACC_CASES (1x20 ... 8x15 with mean 0.1); truth E[p] and 1 - E[(1-p)^k].
- macro_accuracy: `macro_interval` over three benchmarks of 30 problems x 4 samples.
- compare_clustered: `paired_delta` on per-problem accuracies (logit-normal pass rates, other
  model +0.4 logit): coverage, null rejection, power; the unpaired fallback's coverage; the macro
  interval from the mean of paired bootstraps.
- behavior_tokens_delta: paired differences in mean / p95 tokens, truncated % and reflections
  per 1k tokens (`behavior_runs`: lognormal lengths, a length cap, Poisson markers) at 40 x 4,
  10 x 4, 40 x 1 and 200 x 4 problems x samples; bias over 20,000 point estimates with its
  Monte Carlo SE, coverage over the bootstrapped repeats.
- nll_per_byte: the shift report's mean NLL interval at 8, 30, 200 problems (Gamma values).
- mmd / c2st: 30 problems x 4 rollouts per set, 32 dims, null and a shift of |δ| = 2; MMD²
  truth analytic at a fixed bandwidth; C2ST truth 0.5 under the null, and under the shift the
  mean population AUC of the probe trained on 4/5 of the problems (Monte Carlo, `c2st_truth`).
- frechet: Gaussians with analytic Fréchet distance, i.i.d. rows and clustered rows.
- spearman: bivariate AR(1) with known Spearman rho, 20 and 60 points.
- onset_ci: coverage of the onset interval in the "hit" scenario (true knee 100).
- wemath_score: two-step We-Math problems from a latent ability, truth analytic.
- difficulty_levels: accuracy by level, levels from split halves vs from the same samples.
- signal_hypergeometric: all-wrong fraction at group size 4 <= 8 rollouts.
- signal_reward: every fraction the signal report prints (all-correct, all-wrong, zero advantage
  under accuracy and under the 0.9/0.1 format reward, the format-only share) at G = 10 and 4, and
  the bounds-only range with one rollout per problem; truths analytic.
- c2st_report: the C2ST interval at `vrd shift-report`'s scale (1,000 rows per set = 250 shared
  problems x 4, 384 unit-norm dims), null and a shift with truth 0.71.
- length_w1: the shift report's length Wasserstein distance to the base (no interval): its bias
  at the null and under a 10% longer set, 1,000 replies per set.

Goals: |bias| <= 0.03 (relative for unbounded statistics), 95% interval coverage in
[0.90, 0.99], level-0.05 tests reject a true null <= 0.10, C2ST null AUC <= 0.55, false onsets
<= 0.10, hit rate >= 0.80. The figures and what they led to are in docs/DESIGN.md.
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


# -- simulations added in the statistics hardening round ------------------------------------------


def _rows(correct: np.ndarray, sizes: np.ndarray | None = None) -> list[dict]:
    """Eval response rows for a (problems, samples) 0/1 matrix, as `vrd.eval.results.stats` reads them;
    `sizes` keeps only the first sizes[i] samples of problem i (rejected samples leave runs ragged)."""
    keep = correct.shape[1] if sizes is None else None
    return [{"id": f"p{i}", "sample": j, "correct": bool(correct[i, j]), "format_ok": True, "pred": "x",
             "n_tokens": 10, "finish_reason": "stop"} for i in range(correct.shape[0])
            for j in range(keep if sizes is None else int(sizes[i]))]


def _cover(ci, truth: float) -> bool:
    return ci is not None and ci[0] - 1e-12 <= truth <= ci[1] + 1e-12


def _summary(est: list[float], covered: list[bool], truth: float, widths: list[float] | None = None) -> dict:
    est_a = np.asarray([e for e in est if e is not None and math.isfinite(e)], dtype=float)
    out = {"truth": round(truth, 4), "bias": round(float(est_a.mean()) - truth, 4) if est_a.size else None,
           "coverage": round(float(np.mean(covered)), 3)}
    if widths:
        out["mean_width"] = round(float(np.mean(widths)), 4)
    return out


# Eval accuracy and pass@k: problems with pass rate p ~ Beta(A, B), m samples each.
ACC_CASES = {  # name: (problems, samples per problem, Beta a, Beta b)
    "1x20": (20, 1, 1.4, 0.6), "1x200": (200, 1, 1.4, 0.6),
    "4x10": (10, 4, 1.4, 0.6), "4x30": (30, 4, 1.4, 0.6), "4x200": (200, 4, 1.4, 0.6),
    "8x15_hard": (15, 8, 0.3, 2.7),
    "1to8x30": (30, -8, 1.4, 0.6),  # ragged: 1-8 samples per problem, independent of p
}


def bench_accuracy(repeats: int, seed: int, cases: tuple[str, ...] | None = None) -> dict[str, dict]:
    """Accuracy (mean over samples) and its ci95, pass@k (k = samples) and its ci95, through
    `vrd.eval.results.stats`; truth is the population mean of p and of 1 - (1-p)^k."""
    from scipy.special import betaln

    from vrd.eval.results import stats

    rng = np.random.default_rng(seed)
    out = {}
    for name, (n, m, a, b) in ACC_CASES.items():
        if cases is not None and name not in cases:
            continue
        ragged, m = m < 0, abs(m)
        truth = a / (a + b)
        truth_k = 1.0 - math.exp(betaln(a, b + m) - betaln(a, b))
        acc, cov, wid, pk, pk_cov = [], [], [], [], []
        for _ in range(repeats):
            p = rng.beta(a, b, size=n)
            sizes = rng.integers(1, m + 1, size=n) if ragged else None
            s = stats(_rows(rng.random((n, m)) < p[:, None], sizes))
            acc.append(s["accuracy"])
            cov.append(_cover(s["ci95"], truth))
            wid.append(s["ci95"][1] - s["ci95"][0] if s["ci95"] else math.nan)
            if m > 1 and not ragged:
                pk.append(s[f"pass@{m}"])
                pk_cov.append(_cover(s["pass_at_k_ci95"][str(m)], truth_k))
        out[f"accuracy_{name}"] = _summary(acc, cov, truth, wid)
        if m > 1 and not ragged:
            out[f"pass@{m}_{name}"] = _summary(pk, pk_cov, truth_k)
    return out


def bench_macro(repeats: int, seed: int) -> dict:
    """Macro mean over three benchmarks (30 problems x 4 samples each) and `macro_interval`."""
    from vrd.eval.results import macro_interval, stats

    rng = np.random.default_rng(seed)
    params = [(1.4, 0.6), (1.0, 1.0), (0.5, 2.0)]
    truth = float(np.mean([a / (a + b) for a, b in params]))
    est, cov = [], []
    for _ in range(repeats):
        benches = {}
        for j, (a, b) in enumerate(params):
            p = rng.beta(a, b, size=30)
            benches[f"b{j}"] = stats(_rows(rng.random((30, 4)) < p[:, None]))
        est.append(float(np.mean([v["accuracy"] for v in benches.values()])))
        cov.append(_cover(macro_interval(benches), truth))
    return _summary(est, cov, truth)


def paired_clustered(rng: np.random.Generator, n: int, m: int, shift: float) -> tuple[dict, dict, float]:
    """Two models on n problems, m samples each: logit p_ref ~ N(0.3, 1.5²), p_other = logit + shift
    + N(0, 0.5²) per problem. Truth: E[p_other - p_ref] (by a large sample, cached)."""
    def draw(k: int) -> tuple[np.ndarray, np.ndarray]:
        z = rng.normal(0.3, 1.5, size=k)
        return 1 / (1 + np.exp(-z)), 1 / (1 + np.exp(-(z + shift + rng.normal(0, 0.5, size=k))))

    pa, pb = draw(n)
    ids = [f"p{i}" for i in range(n)]
    a = rng.binomial(m, pa) / m
    b = rng.binomial(m, pb) / m
    return dict(zip(ids, a, strict=True)), dict(zip(ids, b, strict=True)), 0.0


_PAIRED_TRUTH: dict[float, float] = {}


def paired_truth(shift: float) -> float:
    if shift not in _PAIRED_TRUTH:
        rng = np.random.default_rng(7)
        z = rng.normal(0.3, 1.5, size=2_000_000)
        pb = 1 / (1 + np.exp(-(z + shift + rng.normal(0, 0.5, size=z.size))))
        _PAIRED_TRUTH[shift] = float(np.mean(pb - 1 / (1 + np.exp(-z))))
    return _PAIRED_TRUTH[shift]


def bench_compare_more(repeats: int, seed: int, designs: tuple[tuple[int, int], ...] = ((30, 1), (30, 4), (200, 4)),
                       macro: bool = True) -> dict:
    """`paired_delta` on clustered outcomes: coverage at 30 and 200 problems with a real effect, the
    false-positive rate ('significant') with no effect, power with one, and the macro interval
    (mean of paired bootstraps over three benchmarks) as `vrd eval compare` builds it."""
    from vrd.eval.compare import _unpaired
    from vrd.stats import cluster_mean_ci, paired_delta, percentile_ci

    rng = np.random.default_rng(seed)
    out = {}
    for n, m in designs:
        truth = paired_truth(0.4)
        est, cov, null_sig, alt_sig, unpaired = [], [], [], [], []
        for r in range(repeats):
            ref, other, _ = paired_clustered(rng, n, m, 0.4)
            d = paired_delta(ref, other, n_boot=1000, seed=r)
            # the fallback when responses are gone: each run's own interval, variances added
            cis = [cluster_mean_ci([v * m for v in run.values()], [m] * n) for run in (ref, other)]
            unpaired.append(_cover(_unpaired(list(cis[0]), list(cis[1]), d["delta"]), truth))
            est.append(d["delta"])
            cov.append(_cover(d["ci95"], truth))
            alt_sig.append(d["significant"])
            ref0, other0, _ = paired_clustered(rng, n, m, 0.0)
            null_sig.append(paired_delta(ref0, other0, n_boot=1000, seed=r)["significant"])
        out[f"delta_{m}x{n}"] = {**_summary(est, cov, truth), "null_rejection": round(float(np.mean(null_sig)), 3),
                                 "power": round(float(np.mean(alt_sig)), 3),
                                 "unpaired_coverage": round(float(np.mean(unpaired)), 3)}
    if not macro:
        return out
    truth = paired_truth(0.4)
    est, cov = [], []
    for _ in range(max(1, repeats // 2)):
        reps, deltas = [], []
        for j in range(3):
            ref, other, _ = paired_clustered(rng, 60 + 20 * j, 2, 0.4)
            d = paired_delta(ref, other, n_boot=1000, seed=j)
            reps.append(d["replicates"])
            deltas.append(d["delta"])
        est.append(float(np.mean(deltas)))
        cov.append(_cover(percentile_ci(sum(reps) / len(reps)), truth))
    out["macro_delta"] = _summary(est, cov, truth)
    return out


BEHAVIOR_DESIGNS = ((40, 4), (10, 4), (40, 1), (200, 4))  # (problems, samples per problem)


BEHAVIOR_CAP = math.exp(6.0)  # a reply longer than this counts as stopped by the token limit


def behavior_runs(rng: np.random.Generator, problems: int, samples: int) -> tuple:
    """Two runs on the same problems: log length = problem effect N(5, 0.6²) shared by both runs +
    row noise N(0, 0.4²), the other run 10% longer; a reply is truncated when longer than
    BEHAVIOR_CAP; reflection markers ~ Poisson(rate · length / 1000) with a per-problem rate
    ~ Gamma(2, 2.5) (mean 5 per 1k tokens) shared by both runs, 1.2x in the other run."""
    from vrd.eval.behavior import Responses

    centre = rng.normal(5.0, 0.6, size=problems)
    rate = rng.gamma(2.0, 2.5, size=problems)
    ids = [f"p{i}" for i in range(problems)]

    def run(scale: float, more: float) -> Responses:
        tok = np.exp(centre[:, None] + rng.normal(0, 0.4, size=(problems, samples))) * scale
        marks = rng.poisson(more * rate[:, None] * tok / 1000.0).astype(float)
        return Responses(list(ids), tok.tolist(), (tok > BEHAVIOR_CAP).astype(float).tolist(), marks.tolist())

    return run(1.0, 1.0), run(1.1, 1.2)


def behavior_truths() -> dict[str, float]:
    """other − ref in the population, for `behavior_runs`."""
    from scipy.stats import norm

    s = math.hypot(0.6, 0.4)
    tail = lambda shift: norm.sf((math.log(BEHAVIOR_CAP) - 5.0 - shift) / s)  # noqa: E731
    return {"mean tokens": 0.1 * math.exp(5.0 + s ** 2 / 2), "p95 tokens": 0.1 * math.exp(5.0 + 1.6449 * s),
            "truncated %": 100 * (tail(math.log(1.1)) - tail(0.0)), "reflections /1k tok": 0.2 * 5.0}


def bench_behavior(repeats: int, seed: int, designs: tuple[tuple[int, int], ...] = BEHAVIOR_DESIGNS,
                   bias_repeats: int = 20_000, n_boot: int = 500, metrics: tuple[str, ...] | None = None) -> dict:
    """Paired differences in every metric compare prints (`vrd.eval.behavior.paired_metric`, a
    paired bootstrap over whole problems) on `behavior_runs`; truths (`behavior_truths`): mean
    0.1·exp(5 + s²/2), p95 0.1·exp(5 + 1.645·s), s² = 0.6² + 0.4² (the other run's lengths are
    1.1x in distribution), truncated % from the lognormal tail above the cap, reflections +1.0 /1k.

    The p95 delta is noisy: its sd is 1.4x its size at 40 problems x 4 (2.6x at 10 x 4), so a
    bias read off a few hundred repeats carries a Monte Carlo error of ±8% of the truth (300
    repeats once printed −23%). Bias is therefore taken over `bias_repeats` point estimates
    (the statistic alone, no bootstrap) and printed with its Monte Carlo SE (`bias_mc_se`);
    coverage and width come from `repeats` bootstrapped repeats. The truncated-% interval is
    Newcombe's paired score interval (`_paired_share_ci`), not the bootstrap."""
    from vrd.eval.behavior import paired_metric, statistic

    truths = {k: v for k, v in behavior_truths().items() if metrics is None or k in metrics}
    rng = np.random.default_rng(seed)
    out: dict[str, dict] = {}
    for n, m in designs:
        est: dict[str, list[float]] = {k: [] for k in truths}
        cov: dict[str, list[bool]] = {k: [] for k in truths}
        wid: dict[str, list[float]] = {k: [] for k in truths}
        one = np.ones((1, n))
        for r in range(max(repeats, bias_repeats)):
            a, b = behavior_runs(rng, n, m)
            for metric, truth in truths.items():
                if r < repeats:
                    d = paired_metric(metric, a, b, n_boot=n_boot, seed=r)
                    est[metric].append(d["delta"])
                    cov[metric].append(_cover(d["ci95"], truth))
                    wid[metric].append(d["ci95"][1] - d["ci95"][0] if d["ci95"] else math.nan)
                else:
                    est[metric].append(float(statistic(metric, b, one)[0] - statistic(metric, a, one)[0]))
        for metric, truth in truths.items():
            e, c = np.asarray(est[metric]), np.asarray(cov[metric], dtype=float)
            key = metric.replace(" /1k tok", "_per_1k").replace(" %", "_pct").replace(" ", "_")
            out[f"{key}_{m}x{n}"] = {
                "truth": round(truth, 4), "bias": round(float(e.mean()) - truth, 4),
                "bias_rel": round(float(e.mean()) / truth - 1, 4),
                "bias_mc_se_rel": round(float(e.std()) / math.sqrt(e.size) / truth, 4),
                "sd_rel": round(float(e.std()) / truth, 3),
                "coverage": round(float(c.mean()), 3), "coverage_mc_se": round(math.sqrt(c.mean() * (1 - c.mean()) / c.size), 3),
                "mean_width_rel": round(float(np.nanmean(wid[metric])) / truth, 3), "repeats": len(c), "bias_repeats": e.size}
    return out


def bench_nll(repeats: int, seed: int, sizes: tuple[int, ...] = (8, 30, 200)) -> dict:
    """Mean per-byte NLL and its interval over problems (`cluster_mean_ci(binary=False)`, as the
    shift report uses it): problem means ~ Gamma(4, 0.25), rows ~ Gamma(10, mean/10), 2 per problem.
    Truth 1.0."""
    from vrd.stats import cluster_mean_ci

    rng = np.random.default_rng(seed)
    out = {}
    for n in sizes:
        est, cov = [], []
        for _ in range(repeats):
            mean = rng.gamma(4.0, 0.25, size=n)
            rows = rng.gamma(10.0, mean[:, None] / 10.0, size=(n, 2))
            est.append(float(rows.mean()))
            cov.append(_cover(cluster_mean_ci(rows.sum(1), [2] * n, binary=False), 1.0))
        out[f"nll_{n}"] = _summary(est, cov, 1.0)
    return out


MMD_DIM, MMD_TAU, MMD_SIGMA = 32, 1.0, 0.5


def mmd_truth(delta: float) -> tuple[float, float]:
    """(population MMD² between the row marginals, bandwidth) for rows N(0, s²I) vs N(δ·1/√d·..., s²I)
    with RBF bandwidth h² = s² d (the median heuristic's limit): 2c(1 - exp(-|δ|²/(2(h² + 2s²))))."""
    s2 = MMD_TAU ** 2 + MMD_SIGMA ** 2
    h2 = s2 * MMD_DIM
    c = (h2 / (h2 + 2 * s2)) ** (MMD_DIM / 2)
    return 2 * c * (1 - math.exp(-delta ** 2 / (2 * (h2 + 2 * s2)))), math.sqrt(h2)


def clustered_pair(rng: np.random.Generator, problems: int, rollouts: int, delta: float
                   ) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """As `clustered_null`, the second set's problem centres moved by |δ| along the diagonal."""
    x, y, gx, gy = clustered_null(rng, problems, rollouts, MMD_DIM, MMD_TAU, MMD_SIGMA)
    return x, y + delta / math.sqrt(MMD_DIM), gx, gy


def bench_mmd(repeats: int, seed: int, problems: int = 30, n_perm: int = 100, n_boot: int = 100) -> dict:
    """MMD²: bias and ci95 coverage against the analytic MMD² (fixed bandwidth), null rejection
    and power of the grouped permutation test at 30 problems x 4 rollouts per set."""
    from vrd.analysis.distances import mmd2_rbf

    rng = np.random.default_rng(seed)
    out = {}
    for delta in (0.0, 2.0):
        truth, h = mmd_truth(delta)
        est, cov, rej = [], [], []
        for r in range(repeats):
            x, y, gx, gy = clustered_pair(rng, problems, 4, delta)
            res = mmd2_rbf(x, y, groups_x=gx, groups_y=gy, n_permutations=n_perm, n_boot=n_boot, seed=r, bandwidth=h)
            est.append(res["mmd2"])
            cov.append(_cover(res["ci95"], truth))
            rej.append(res["p_value"] <= 0.05)
        key = "null" if delta == 0 else "shift"
        out[key] = {**_summary(est, cov, truth), ("rejection" if delta == 0 else "power"): round(float(np.mean(rej)), 3)}
    return out


def c2st_truth(delta: float, seed: int, problems: int = 30, draws: int = 100, folds: int = 5) -> float:
    """What a K-fold C2ST estimates: the population AUC of a logistic regression trained on the
    (K−1)/K share of the problems, averaged over training sets (0.5 exactly under the null);
    each fit scored on 2,000 fresh problems per set."""
    if delta == 0:
        return 0.5
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    xt, yt, _, _ = clustered_pair(rng, 2000, 4, delta)
    z_test, l_test = np.concatenate([xt, yt]), np.r_[np.ones(len(xt)), np.zeros(len(yt))]
    n_train = problems * (folds - 1) // folds
    aucs = []
    for _ in range(draws):
        x, y, _, _ = clustered_pair(rng, n_train, 4, delta)
        clf = LogisticRegression(max_iter=2000).fit(np.concatenate([x, y]), np.r_[np.ones(len(x)), np.zeros(len(y))])
        aucs.append(roc_auc_score(l_test, clf.predict_proba(z_test)[:, 1]))
    return float(np.mean(aucs))


def bench_c2st(repeats: int, seed: int, problems: int = 30, truth_draws: int = 100) -> dict:
    """C2ST AUC at `problems` x 4 rollouts per set, null (truth 0.5) and shifted (δ = 2; truth from
    `c2st_truth`): bias, coverage and mean width of its ci95, and the share of intervals that
    exclude 0.5 (the null's false-detection rate; the shift's power)."""
    from threadpoolctl import threadpool_limits

    from vrd.analysis.distances import classifier_auc

    rng = np.random.default_rng(seed)
    with threadpool_limits(1):  # small fits: BLAS threads only contend (the test took 400 s under load)
        return _bench_c2st(rng, repeats, seed, problems, truth_draws, classifier_auc)


def _bench_c2st(rng: np.random.Generator, repeats: int, seed: int, problems: int, truth_draws: int,
                classifier_auc) -> dict:
    out = {}
    for delta in (0.0, 2.0):
        truth = c2st_truth(delta, seed + 1, problems, truth_draws)
        est, cov, detect, width = [], [], [], []
        for r in range(repeats):
            x, y, gx, gy = clustered_pair(rng, problems, 4, delta)
            res = classifier_auc(x, y, groups_x=gx, groups_y=gy, ci=True, seed=r)
            est.append(res["auc"])
            cov.append(_cover(res["ci95"], truth))
            detect.append(res["ci95"] is not None and res["ci95"][0] > 0.5)
            width.append(res["ci95"][1] - res["ci95"][0] if res["ci95"] is not None else math.nan)
        summary = {**_summary(est, cov, truth, width), "sd": round(float(np.std(est)), 4)}
        if delta == 0:
            out["null"] = {**summary, "rejection": round(float(np.mean(detect)), 3)}
        else:
            out["shift"] = {**summary, "power": round(float(np.mean(detect)), 3)}
    return out


# `vrd shift-report` at its defaults: --max-samples 1000 rows per set, all-MiniLM-L6-v2 (384 dims,
# unit-normalised), both sets answering the same problems (the base model's rollouts are on the
# dataset's problems, so `_units` puts a problem's rows of both sets in one fold).
REPORT_PROBLEMS, REPORT_ROLLOUTS, REPORT_DIM = 250, 4, 384
REPORT_SHIFT = 0.04


def report_pair(rng: np.random.Generator, problems: int, delta: float, rollouts: int = REPORT_ROLLOUTS,
                dim: int = REPORT_DIM) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Sentence-embedding-like rows: a direction shared by all texts, a power-law spectrum
    (variance of axis j ∝ j^-0.8, as text embeddings have), a centre per problem shared by both
    sets (responses to one question resemble each other whoever wrote them), row noise, then unit
    norm. The first set is moved by δ along a fixed direction before normalising."""
    scale = np.arange(1, dim + 1) ** -0.4
    scale /= np.sqrt((scale ** 2).sum())  # total variance 1
    common = np.zeros(dim)
    common[0] = 1.0
    direction = np.random.default_rng(1).normal(size=dim)
    direction /= np.linalg.norm(direction)
    centres = rng.normal(size=(problems, dim)) * scale * 0.8

    def one(shift: float) -> np.ndarray:
        v = common + np.repeat(centres, rollouts, axis=0) + rng.normal(size=(problems * rollouts, dim)) * scale * 0.6
        v = v + shift * direction
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    ids = [f"p{i}" for i in range(problems) for _ in range(rollouts)]
    return one(delta), one(0.0), ids, list(ids)


def c2st_report_truth(delta: float, seed: int, problems: int = REPORT_PROBLEMS, draws: int = 40,
                      folds: int = 5, holdout: int = 2000) -> float:
    """As `c2st_truth` for `report_pair`: the mean population AUC of the probe trained on the
    (K−1)/K share of the problems (both sets' rows), scored on `holdout` fresh problems."""
    if delta == 0:
        return 0.5
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    xt, yt, _, _ = report_pair(rng, holdout, delta)
    z_test, l_test = np.concatenate([xt, yt]), np.r_[np.ones(len(xt)), np.zeros(len(yt))]
    aucs = []
    for _ in range(draws):
        x, y, _, _ = report_pair(rng, problems * (folds - 1) // folds, delta)
        clf = LogisticRegression(max_iter=2000).fit(np.concatenate([x, y]), np.r_[np.ones(len(x)), np.zeros(len(y))])
        aucs.append(roc_auc_score(l_test, clf.predict_proba(z_test)[:, 1]))
    return float(np.mean(aucs))


def bench_c2st_report(repeats: int, seed: int, problems: int = REPORT_PROBLEMS, truth_draws: int = 40,
                      shifts: tuple[float, ...] = (0.0, REPORT_SHIFT)) -> dict:
    """The C2ST interval at report scale (`report_pair`: 250 shared problems x 4 rows per set =
    1,000 rows, 384 unit-norm dims, `classifier_auc` as `embedding_distances` calls it): bias,
    coverage and width of its ci95 under the null (truth 0.5) and a shift (truth from
    `c2st_report_truth`), and the share of intervals excluding 0.5. One BLAS thread: these fits
    are small, and threads only contend."""
    from threadpoolctl import threadpool_limits

    from vrd.analysis.distances import classifier_auc

    rng = np.random.default_rng(seed)
    out = {}
    with threadpool_limits(1):
        for delta in shifts:
            truth = c2st_report_truth(delta, seed + 1, problems, truth_draws)
            est, cov, detect, width = [], [], [], []
            for r in range(repeats):
                x, y, gx, gy = report_pair(rng, problems, delta)
                res = classifier_auc(x, y, groups_x=gx, groups_y=gy, ci=True, seed=r)
                est.append(res["auc"])
                cov.append(_cover(res["ci95"], truth))
                detect.append(res["ci95"] is not None and res["ci95"][0] > 0.5)
                width.append(res["ci95"][1] - res["ci95"][0] if res["ci95"] is not None else math.nan)
            summary = {**_summary(est, cov, truth, width), "sd": round(float(np.std(est)), 4),
                       "coverage_mc_se": round(math.sqrt(max(np.mean(cov) * (1 - np.mean(cov)), 1e-9) / repeats), 3),
                       "repeats": repeats}
            key = "null" if delta == 0 else f"shift_{delta:g}"
            out[key] = {**summary, ("rejection" if delta == 0 else "power"): round(float(np.mean(detect)), 3)}
    return out


def bench_frechet(repeats: int, seed: int, n_boot: int = 50) -> dict:
    """Fréchet distance between N(0, I) and N(δ, s²I) in 16 dimensions (truth d(δ² + (1-s)²)),
    rows i.i.d. (100 per set) and clustered (25 problems x 4 rows, same marginals): bias of the
    raw and the debiased estimate, and coverage of the debiased ci95."""
    from vrd.analysis.distances import frechet_debiased

    rng = np.random.default_rng(seed)
    d, delta, s = 16, 0.25, 1.2
    truth = d * (delta ** 2 + (1 - s) ** 2)
    out = {}
    for kind in ("iid", "clustered"):
        raw, deb, cov = [], [], []
        for r in range(repeats):
            if kind == "iid":
                x = rng.normal(size=(100, d))
                y = delta + s * rng.normal(size=(100, d))
                gx = gy = None
            else:  # marginal N(0, 1) per coordinate: centre variance 0.7, row noise 0.3
                x = np.repeat(rng.normal(0, math.sqrt(0.7), (25, d)), 4, 0) + rng.normal(0, math.sqrt(0.3), (100, d))
                y = delta + s * (np.repeat(rng.normal(0, math.sqrt(0.7), (25, d)), 4, 0)
                                 + rng.normal(0, math.sqrt(0.3), (100, d)))
                gx = [f"a{i // 4}" for i in range(100)]
                gy = [f"b{i // 4}" for i in range(100)]
            res = frechet_debiased(x, y, seed=r, n_boot=n_boot, groups_x=gx, groups_y=gy)
            raw.append(res["frechet_raw"])
            deb.append(res["frechet"])
            cov.append(_cover(res["ci95"], truth))
        out[kind] = {"truth": round(truth, 4), "bias_raw": round(float(np.mean(raw)) - truth, 4),
                     "bias": round(float(np.mean(deb)) - truth, 4), "coverage": round(float(np.mean(cov)), 3)}
    return out


def bench_spearman(repeats: int, seed: int, sizes: tuple[int, ...] = (20, 60)) -> dict:
    """Spearman interval (`spearman_ci`, moving blocks) on 20 and 60 points of a bivariate AR(1)
    (φ = 0.5, Gaussian, r = 0.6); truth 6/π asin(r/2)."""
    from scipy.stats import spearmanr

    from vrd.stats import spearman_ci

    rng = np.random.default_rng(seed)
    r_, phi = 0.6, 0.5
    truth = 6 / math.pi * math.asin(r_ / 2)
    out = {}
    for n in sizes:
        est, cov = [], []
        for i in range(repeats):
            e = rng.multivariate_normal([0, 0], [[1, r_], [r_, 1]], size=n + 50)
            z = np.zeros_like(e)
            for t in range(1, len(e)):
                z[t] = phi * z[t - 1] + math.sqrt(1 - phi ** 2) * e[t]
            x, y = z[50:, 0], z[50:, 1]
            est.append(float(spearmanr(x, y).statistic))
            cov.append(_cover(spearman_ci(x, y, n_boot=500, seed=i), truth))
        out[f"n{n}"] = _summary(est, cov, truth)
    return out


def bench_onset_ci(repeats: int, seed: int) -> dict:
    """Coverage of the onset interval: in the 'hit' scenario (true knee at step 100), the share of
    detected onsets whose onset_ci95 contains 100."""
    from vrd.trainers.audit import find_onset

    rng = np.random.default_rng(seed)
    cov, found, est = [], 0, []
    for _ in range(repeats):
        steps, reward, acc = onset_run(rng, "hit")
        res = find_onset(steps, reward, acc, n_eval=N_EVAL, seed=int(rng.integers(1 << 30)))
        if res["onset_step"] is not None:
            found += 1
            est.append(res["onset_step"])
            cov.append(_cover(res["onset_ci95"], 100.0))
    return {"truth": 100, "bias": round(float(np.mean(est)) - 100, 1) if est else None,
            "coverage": round(float(np.mean(cov)), 3) if cov else None, "detected": found}


def wemath_sim(rng: np.random.Generator, n: int) -> tuple[list[dict], dict[str, dict]]:
    """n two-step We-Math problems: ability θ ~ N(0, 1); steps right w.p. σ(θ + 0.8), the composite
    w.p. σ(θ - 0.2 + 1.0·[both steps right])."""
    theta = rng.normal(size=n)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    steps = rng.random((n, 2)) < sig(theta + 0.8)[:, None]
    multi = rng.random(n) < sig(theta - 0.2 + 1.0 * steps.all(1))
    rows, metas = [], {}
    for i in range(n):
        for key, ok in (("2steps_1", steps[i, 0]), ("2steps_2", steps[i, 1]), ("2steps_multi", multi[i])):
            qid = f"q{i}_{key}"
            rows.append({"id": qid, "sample": 0, "correct": bool(ok)})
            metas[qid] = {"key": key, "problem": f"2steps_{i}"}
    return rows, metas


def wemath_truth() -> float:
    """E[strict contribution] = E_θ[q²(1 + q) / 2], q = σ(θ + 0.8): a problem scores 1 when all
    is right, 0.5 when only the composite is wrong (IG), 0 otherwise (Gauss-Hermite in θ)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    q = 1 / (1 + np.exp(-(nodes + 0.8)))
    return float((weights * q * q * (1 + q) / 2).sum() / weights.sum())


def bench_wemath(repeats: int, seed: int) -> dict:
    """We-Math strict Score and its ci95 at 40 two-step problems (`wemath_sim`), truth analytic."""
    from vrd.eval.wemath import wemath_scores

    truth = wemath_truth()
    rng = np.random.default_rng(seed)
    est, cov = [], []
    for _ in range(repeats):
        s = wemath_scores(*wemath_sim(rng, 40))
        est.append(s["score_strict"])
        cov.append(_cover(s["score_strict_ci95"], truth))
    return _summary(est, cov, truth)


def bench_levels(repeats: int, seed: int) -> dict:
    """Accuracy by difficulty level when the levels come from this run's own samples
    (`level_bins(same_samples=True)`: even samples set the level, odd samples score it) against
    the naive reading (levels and accuracy from the same samples). Truth per level: the mean true
    pass rate of the problems placed in it. Largest |bias| over levels, 300 problems x 8 samples."""
    from vrd.eval.results import level_bins

    rng = np.random.default_rng(seed)
    err_split: dict[str, list[float]] = {}
    err_naive: dict[str, list[float]] = {}
    for _ in range(repeats):
        p = rng.beta(0.7, 0.7, size=300)
        correct = rng.random((300, 8)) < p[:, None]
        rows = _rows(correct)
        bins, _ = level_bins(rows, None, same_samples=True)
        from vrd.difficulty import get_scheme

        scheme = get_scheme(None)
        even = correct[:, 0::2].mean(1)
        full = correct.mean(1)
        for label, s in bins.items():
            members = [i for i in range(300) if scheme.label(float(even[i])) == label]
            if members:
                err_split.setdefault(label, []).append(s["accuracy"] - float(p[members].mean()))
        naive, _ = level_bins(rows, {f"p{i}": float(full[i]) for i in range(300)})
        for label, s in naive.items():
            members = [i for i in range(300) if scheme.label(float(full[i])) == label]
            if members:
                err_naive.setdefault(label, []).append(s["accuracy"] - float(p[members].mean()))
    worst = lambda e: round(max(abs(float(np.mean(v))) for v in e.values()), 4)  # noqa: E731
    return {"max_abs_bias_split": worst(err_split), "max_abs_bias_same_samples": worst(err_naive)}


def bench_signal_small_k(repeats: int, seed: int) -> dict:
    """Signal at group size 4 <= 8 rollouts (hypergeometric branch): all-wrong fraction, truth
    B(0.5, 7) / B(0.5, 3), 500 problems."""
    from vrd.analysis.signal import eb_agreement

    rng = np.random.default_rng(seed)
    truth = signal_truth(g=4)
    est, cov = [], []
    for r in range(repeats):
        p = rng.beta(0.5, 3.0, size=500)
        res = eb_agreement([(8, int(c)) for c in rng.binomial(8, p)], 4, n_boot=200, seed=r)
        est.append(res["all_wrong"])
        cov.append(_cover(res["all_wrong_ci95"], truth))
    return _summary(est, cov, truth)


def signal_reward_truth(g: int, a: float = 0.5, b: float = 3.0, fa: float = 9.0, fb: float = 1.0) -> dict[str, float]:
    """Truths for `signal_reward_rollouts` at group size g: with p ~ Beta(a, b) and the format rate
    f ~ Beta(fa, fb) independent, the reward (0.9·correct + 0.1·format) takes four values with
    probabilities pf, p(1−f), (1−p)f, (1−p)(1−f), so every fraction is a product of Beta moments."""
    from scipy.special import betaln

    def moment(x: float, y: float) -> float:  # E[u^g], u ~ Beta(x, y)
        return math.exp(betaln(x + g, y) - betaln(x, y))

    right, wrong = moment(a, b), moment(b, a)
    fmt_same = moment(fa, fb) + moment(fb, fa)
    return {"all_correct": right, "all_wrong": wrong, "zero_advantage": right + wrong,
            "zero_advantage_reward": (right + wrong) * fmt_same, "format_only_signal": (right + wrong) * (1 - fmt_same)}


def signal_reward_rollouts(rng: np.random.Generator, problems: int, n: int) -> list:
    """`Outcome`s of n rollouts per problem under EasyR1's reward: correct w.p. p ~ Beta(0.5, 3),
    well-formatted w.p. f ~ Beta(9, 1) (mean 0.9) independently."""
    from vrd.analysis.signal import Outcome, RewardSpec

    spec = RewardSpec()
    p = rng.beta(0.5, 3.0, size=problems)
    f = rng.beta(9.0, 1.0, size=problems)
    ok = rng.random((problems, n)) < p[:, None]
    fmt = rng.random((problems, n)) < f[:, None]
    out = []
    for i in range(problems):
        values: dict[float, int] = {}
        for j in range(n):
            v = spec.value(bool(ok[i, j]), bool(fmt[i, j]))
            values[v] = values.get(v, 0) + 1
        out.append(Outcome(n, int(ok[i].sum()), tuple(sorted(values.items()))))
    return out


def bench_signal_reward(repeats: int, seed: int, problems: int = 500, n_boot: int = 200) -> dict:
    """Every fraction the signal report prints beside all-wrong, under the actual reward (four
    reward values; `signal_reward_rollouts`), 500 problems x 4 rollouts, group size 10 (> n: the
    EB branch, one beta-binomial per reward value) and 4 (<= n: hypergeometric); plus the
    bounds-only interval with one rollout per problem (its range must contain the true all-wrong
    fraction). Truths analytic (`signal_reward_truth`)."""
    from vrd.analysis.signal import eb_agreement

    names = ("all_correct", "all_wrong", "zero_advantage", "zero_advantage_reward", "format_only_signal")
    rng = np.random.default_rng(seed)
    out: dict[str, dict] = {}
    for g in (10, 4):
        truth = signal_reward_truth(g)
        est: dict[str, list] = {k: [] for k in names}
        cov: dict[str, list] = {k: [] for k in names}
        for r in range(repeats):
            res = eb_agreement(signal_reward_rollouts(rng, problems, 4), g, n_boot=n_boot, seed=r)
            for k in names:
                est[k].append(res[k])
                cov[k].append(_cover(res[f"{k}_ci95"], truth[k]))
        for k in names:
            c = np.asarray(cov[k], dtype=float)
            out[f"{k}_G{g}"] = {**_summary(est[k], cov[k], truth[k]),
                                "coverage_mc_se": round(math.sqrt(c.mean() * (1 - c.mean()) / c.size), 3)}
    truth = signal_reward_truth(10)["all_wrong"]
    cov_b = []
    for r in range(repeats):
        res = eb_agreement(signal_reward_rollouts(rng, problems, 1), 10, n_boot=0, seed=r)
        cov_b.append(_cover(res["all_wrong_ci95"], truth))
    out["all_wrong_bounds_n1_G10"] = {"truth": round(truth, 4), "coverage": round(float(np.mean(cov_b)), 3)}
    return out


def bench_length_w1(repeats: int, seed: int, problems: int = 250, samples: int = 4) -> dict:
    """The shift report's `wasserstein_to_base` (`length_stats`, plug-in 1-Wasserstein distance in
    tokens, printed without an interval) at its scale: 1,000 replies per set, 250 problems x 4,
    log length = problem effect N(6, 0.6²) + row noise N(0, 0.4²). Null: both sets alike (truth 0);
    shift: the dataset 10% longer, truth (1.1 − 1)·E[L] = 0.1·exp(6 + s²/2) (a scale family's
    quantile functions differ by that factor everywhere)."""
    from vrd.analysis.style import length_stats

    s_all = math.hypot(0.6, 0.4)
    rng = np.random.default_rng(seed)
    out = {}
    for name, scale in (("null", 1.0), ("shift", 1.1)):
        truth = (scale - 1.0) * math.exp(6.0 + s_all ** 2 / 2)
        est = []
        for _ in range(repeats):
            def one(c: float) -> np.ndarray:
                centre = rng.normal(6.0, 0.6, size=problems)
                return np.rint(c * np.exp(np.repeat(centre, samples) + rng.normal(0, 0.4, problems * samples)))
            est.append(length_stats(one(scale).astype(int).tolist(), one(1.0).astype(int).tolist())["wasserstein_to_base"])
        e = np.asarray(est)
        out[name] = {"truth": round(truth, 2), "bias": round(float(e.mean()) - truth, 2), "sd": round(float(e.std()), 2),
                     "mean_length": round(math.exp(6.0 + s_all ** 2 / 2), 1)}
    return out


SECTIONS = {  # name: (function, default repeats, seed offset); quick runs a tenth
    "signal": (bench_signal, 200, 0), "nulls": (bench_nulls, 200, 1), "onset": (bench_onset, 200, 2),
    "compare": (bench_compare, 1000, 3), "accuracy": (bench_accuracy, 300, 4), "macro_accuracy": (bench_macro, 300, 5),
    "compare_clustered": (bench_compare_more, 300, 6), "behavior_tokens_delta": (bench_behavior, 300, 7),
    "nll_per_byte": (bench_nll, 400, 8), "mmd": (bench_mmd, 100, 9), "c2st": (bench_c2st, 40, 10),
    "frechet": (bench_frechet, 100, 11), "spearman": (bench_spearman, 300, 12), "onset_ci": (bench_onset_ci, 300, 13),
    "wemath_score": (bench_wemath, 300, 14), "difficulty_levels": (bench_levels, 50, 15),
    "signal_hypergeometric": (bench_signal_small_k, 200, 16), "signal_reward": (bench_signal_reward, 100, 17),
    "c2st_report": (bench_c2st_report, 200, 18), "length_w1": (bench_length_w1, 300, 19),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="Print one JSON object (the default prints it too).")
    ap.add_argument("--quick", action="store_true", help="A tenth of the repeats (smoke test; noisier figures).")
    ap.add_argument("--only", default="", help=f"Comma-separated sections: {', '.join(SECTIONS)} (default all).")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    only = [s for s in args.only.split(",") if s] or list(SECTIONS)
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    scale = 0.1 if args.quick else 1.0
    t0 = time.perf_counter()
    result: dict[str, object] = {}
    for name in only:
        fn, repeats, offset = SECTIONS[name]
        t1 = time.perf_counter()
        value = fn(max(5, int(repeats * scale)), args.seed + offset)
        if name == "nulls":
            result["mmd_null_rejection"], result["c2st_null_auc_mean"] = round(value[0], 3), round(value[1], 3)
        elif name == "onset":
            result.update({"onset_false_rate_rising": round(value["rising"], 3),
                           "onset_false_rate_saturating": round(value["saturating"], 3),
                           "onset_hit_rate": round(value["hit"], 3)})
        elif name == "compare":
            result["compare_ci_coverage"] = round(value, 3)
        else:
            result[name] = value
        if not args.json:
            print(f"{name}: {time.perf_counter() - t1:.0f} s", file=sys.stderr)
    print(json.dumps(result))
    if not args.json:
        print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
