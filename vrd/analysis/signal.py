"""Will GRPO get a learning signal? Read it off the base model's own rollouts.

GRPO's advantage is a reward minus its group mean (divided by the group's std), so a group
whose G rewards are all equal contributes nothing. From each problem's n rollouts the chance
that G rollouts drawn for it agree is estimated two ways:

- G <= n: the hypergeometric C(c,G)/C(n,G) + C(n-c,G)/C(n,G), unbiased for p^G + (1-p)^G.
- G > n: beta-binomial empirical Bayes. The per-problem pass rates are modelled as draws from
  a Beta(a, b) fitted to all problems' (n, c) by maximum marginal likelihood; each problem's
  E[p^G | c of n] = B(a+c+G, b+n-c) / B(a+c, b+n-c) under its posterior. The plug-in
  p̂^G + (1-p̂)^G this replaces is biased upward when n < G: a problem whose 4 rollouts all
  failed is counted as certainly all-wrong in 10 (bench/estimators.py shows the bias).

Every fraction comes with a 95% bootstrap interval over problems (the prior is refitted in
each replicate). Zero advantage is counted under the actual reward, (1-w)·accuracy +
w·format (EasyR1's 0.9/0.1 by default): a group is flat only when every rollout has the same
reward, so an all-wrong group with mixed format still has a (format-only) signal; that share
is reported separately.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vrd.analysis.config import FORMAT_WEIGHT
from vrd.difficulty import get_scheme
from vrd.errors import ConfigError, DataError

N_BOOT = 400
LOG_LO, LOG_HI = -7.0, 9.0  # bounds on log a, log b


@dataclass(frozen=True)
class SignalRule:
    """The recommendation rule, stated in the report so a reader can disagree with it.

    "SFT first" when, at the planned GRPO group size, more than `max_all_wrong` of the
    prompts would have every rollout wrong, or the mean pass rate is below
    `min_mean_pass_rate`; otherwise "RL viable". Groups that are all *correct* also carry no
    signal, but SFT does not fix that (harder prompts or dynamic sampling do), so they only
    raise a note above `max_zero_advantage`.
    """

    group_size: int = 10
    max_all_wrong: float = 0.5
    min_mean_pass_rate: float = 0.1
    max_zero_advantage: float = 0.5

    def __post_init__(self) -> None:
        if self.group_size < 2:
            raise ConfigError(f"group size must be >= 2 (GRPO compares rollouts within a group), got {self.group_size}")
        for name in ("max_all_wrong", "min_mean_pass_rate", "max_zero_advantage"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    def describe(self) -> str:
        return (
            f"SFT first if, at group size {self.group_size}, the all-wrong fraction > {self.max_all_wrong:g} "
            f"or the mean pass rate < {self.min_mean_pass_rate:g}; otherwise RL viable. A zero-advantage "
            f"fraction > {self.max_zero_advantage:g} adds a note (filter prompts or use dynamic sampling)."
        )


@dataclass(frozen=True)
class RewardSpec:
    """The reward GRPO will normalise: (1 - format_weight) * correct + format_weight * format_ok."""

    format_weight: float = FORMAT_WEIGHT

    def __post_init__(self) -> None:
        if not 0.0 <= self.format_weight <= 1.0:
            raise ConfigError(f"format weight must be in [0, 1], got {self.format_weight}")

    def value(self, correct: bool, format_ok: bool) -> float:
        return round((1.0 - self.format_weight) * float(correct) + self.format_weight * float(format_ok), 9)

    def describe(self) -> str:
        w = self.format_weight
        return f"{1 - w:g}·accuracy + {w:g}·format" if w else "accuracy"


@dataclass(frozen=True)
class Outcome:
    """One problem's first-round rollouts: n, c correct, and how many rollouts got each reward value."""

    n: int
    c: int
    by_reward: tuple[tuple[float, int], ...]


def problem_outcomes(rows: Iterable[Mapping[str, Any]], reward: RewardSpec | None = None) -> dict[str, Outcome]:
    """Per problem id, its first round only.

    Later distill rounds re-sample only unsolved problems, so counting them would bias pass
    rates; the first round is an unbiased draw for every problem. Rows without `format_ok`
    count as well-formatted (the reward is then accuracy alone).
    """
    reward = reward or RewardSpec()
    by_id: dict[str, list[tuple[int, bool, bool]]] = {}
    for i, row in enumerate(rows):
        if "id" not in row or "correct" not in row:
            raise DataError(f"base samples row {i}: needs 'id' and 'correct' (rollouts from `vrd distill --keep all`)")
        rnd = row.get("round")
        fmt = row.get("format_ok")
        by_id.setdefault(str(row["id"]), []).append(
            (int(rnd) if rnd is not None else 0, bool(row["correct"]), True if fmt is None else bool(fmt)))
    out: dict[str, Outcome] = {}
    for pid, items in by_id.items():
        first = min(r for r, _, _ in items)
        kept = [(ok, fmt) for r, ok, fmt in items if r == first]
        values: dict[float, int] = {}
        for ok, fmt in kept:
            v = reward.value(ok, fmt)
            values[v] = values.get(v, 0) + 1
        out[pid] = Outcome(len(kept), sum(ok for ok, _ in kept), tuple(sorted(values.items())))
    return out


def problem_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, tuple[int, int]]:
    """Per problem id: (n rollouts, c correct), from its first round only."""
    return {pid: (o.n, o.c) for pid, o in problem_outcomes(rows).items()}


# -- beta-binomial empirical Bayes --------------------------------------------------------------------


def fit_beta_binomial(n: np.ndarray, c: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """Maximum marginal likelihood Beta(a, b) for counts c of n (weights: how often each (n, c) occurs).

    Bounded to [e^-7, e^9] so that data with no overdispersion (or n = 1 everywhere, where it
    cannot be identified) give a finite, nearly binomial prior instead of a runaway fit.
    """
    n, c = np.asarray(n, dtype=float), np.asarray(c, dtype=float)
    w = np.ones_like(n) if weights is None else np.asarray(weights, dtype=float)
    keep = (w > 0) & (n > 0)
    n, c, w = n[keep], c[keep], w[keep]
    if not w.size:
        return (1.0, 1.0)
    w = w / w.sum()
    p = np.clip(float((w * c).sum() / (w * n).sum()), 1e-4, 1 - 1e-4)
    var = float((w * (c / n - p) ** 2).sum())
    nbar = float((w * n).sum())
    # method of moments for the start: Var(c/n) = p(1-p)[1/n + (1 - 1/n) rho], rho = 1/(a+b+1)
    rho = float(np.clip((var / (p * (1 - p)) - 1 / nbar) / max(1 - 1 / nbar, 1e-9), 1e-3, 0.999))
    x = np.clip(np.log([max(p * (1 / rho - 1), 1e-3), max((1 - p) * (1 / rho - 1), 1e-3)]), LOG_LO, LOG_HI)
    # With integer counts, B(a+c, b+n-c) / B(a, b) = prod_{j<c}(a+j) prod_{j<n-c}(b+j) / prod_{j<n}(a+b+j),
    # so the likelihood and its derivatives are sums over j weighted by how many problems reach j.
    j = np.arange(int(n.max()), dtype=float)
    wc = (w[:, None] * (j[None, :] < c[:, None])).sum(0)
    wf = (w[:, None] * (j[None, :] < (n - c)[:, None])).sum(0)
    wn = (w[:, None] * (j[None, :] < n[:, None])).sum(0)

    def loglik(x: np.ndarray) -> float:
        a, b = np.exp(x)
        return float((wc * np.log(a + j)).sum() + (wf * np.log(b + j)).sum() - (wn * np.log(a + b + j)).sum())

    # Newton on (log a, log b) with backtracking: cheap enough to refit inside a bootstrap loop.
    f = loglik(x)
    for _ in range(100):
        a, b = np.exp(x)
        ia, ib, iab = 1 / (a + j), 1 / (b + j), 1 / (a + b + j)
        ga = float((wc * ia).sum() - (wn * iab).sum())
        gb = float((wf * ib).sum() - (wn * iab).sum())
        hab = float((wn * iab * iab).sum())
        haa = float(-(wc * ia * ia).sum()) + hab
        hbb = float(-(wf * ib * ib).sum()) + hab
        g = np.array([a * ga, b * gb])
        h = np.array([[a * a * haa + a * ga, a * b * hab], [a * b * hab, b * b * hbb + b * gb]])
        try:
            step = -np.linalg.solve(h, g)
            if float(step @ g) <= 0:  # not an ascent direction: fall back to the gradient
                step = g
        except np.linalg.LinAlgError:
            step = g
        t = 1.0
        while t > 1e-6:
            x_new = np.clip(x + t * step, LOG_LO, LOG_HI)
            f_new = loglik(x_new)
            if f_new >= f - 1e-15:
                break
            t /= 2
        else:
            break
        moved = float(np.abs(x_new - x).max())
        x, f = x_new, f_new
        if moved < 1e-7:
            break
    a, b = np.exp(x)
    return (float(a), float(b))


def _agree(n: np.ndarray, m: np.ndarray, k: int, prior: tuple[float, float]) -> np.ndarray:
    """Per cell, P[k rollouts drawn for the problem all fall in the category with m of n]."""
    from scipy.special import betaln, gammaln

    a, b = prior
    out = np.empty(n.shape, dtype=float)
    small = k <= n
    if small.any():  # hypergeometric, exact and unbiased
        ns, ms = n[small], m[small]
        with np.errstate(invalid="ignore"):
            lg = gammaln(ms + 1) - gammaln(ms - k + 1) - gammaln(ns + 1) + gammaln(ns - k + 1)
        out[small] = np.where(ms >= k, np.exp(np.where(ms >= k, lg, 0.0)), 0.0)
    big = ~small
    if big.any():  # posterior mean of q^k under Beta(a + m, b + n - m)
        nb, mb = n[big], m[big]
        out[big] = np.exp(betaln(a + mb + k, b + nb - mb) - betaln(a + mb, b + nb - mb))
    return out


def agree_probability(n: int, c: int, k: int, prior: tuple[float, float] | None = None) -> tuple[float, float, bool]:
    """(P[all k correct], P[all k wrong], unbiased?) for one problem.

    k <= n: hypergeometric (unbiased). k > n: the posterior mean under `prior` (empirical
    Bayes); without a prior, the plug-in p̂^k, kept only to show what it overstates.
    """
    if k <= n or prior is not None:
        nn, cc = np.array([float(n)]), np.array([float(c)])
        pr = prior or (1.0, 1.0)
        right, wrong = _agree(nn, cc, k, pr)[0], _agree(nn, nn - cc, k, pr[::-1])[0]
        return float(right), float(wrong), k <= n
    p = c / n if n else 0.0
    return p ** k, (1.0 - p) ** k, False


def _estimator_name(ns: np.ndarray, k: int) -> str:
    if np.all(k <= ns):
        return "hypergeometric (unbiased, k <= n)"
    if np.all(k > ns):
        return "beta-binomial empirical Bayes"
    return "hypergeometric where k <= n, beta-binomial empirical Bayes elsewhere"


def _categories(outcomes: Sequence[Outcome]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """Unique problem signatures (n, c, count per reward value) and how often each occurs."""
    values = sorted({v for o in outcomes for v, _ in o.by_reward})
    sigs: dict[tuple[int, ...], int] = {}
    for o in outcomes:
        per = dict(o.by_reward)
        key = (o.n, o.c, *(per.get(v, 0) for v in values))
        sigs[key] = sigs.get(key, 0) + 1
    table = np.array(list(sigs), dtype=float)
    return table[:, 0], table[:, 1], table[:, 2:], [float(x) for x in sigs.values()], values  # type: ignore[return-value]


def _estimate(n: np.ndarray, c: np.ndarray, cats: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """[all-correct, all-wrong, zero advantage under accuracy, zero advantage under the reward]."""
    total = w.sum()
    prior = fit_beta_binomial(n, c, w) if np.any(k > n) else (1.0, 1.0)
    right = float((w * _agree(n, c, k, prior)).sum() / total)
    wrong = float((w * _agree(n, n - c, k, prior[::-1])).sum() / total)
    flat = 0.0
    for j in range(cats.shape[1]):
        m = cats[:, j]
        if np.array_equal(m, c):
            pj = prior
        elif np.array_equal(m, n - c):
            pj = prior[::-1]
        else:
            pj = fit_beta_binomial(n, m, w) if np.any(k > n) else (1.0, 1.0)
        flat += float((w * _agree(n, m, k, pj)).sum() / total)
    return np.array([right, wrong, right + wrong, min(flat, right + wrong)])


def _bounds_only(n: np.ndarray, c: np.ndarray, w: np.ndarray, k: int, n_problems: int) -> dict[str, Any]:
    """One rollout per problem says nothing about how pass rates spread, only their mean q: the
    all-wrong fraction lies between (1-q)^k (every problem alike) and 1-q (each always or never).
    The 95% range takes those bounds at the ends of q's Wilson interval, so it covers the truth
    whenever q's interval does, not only when q is estimated exactly."""
    from vrd.stats import wilson

    q_lo, q_hi = wilson(float((w * c).sum()), float((w * n).sum()))
    nan = math.nan
    return {"k": k, "all_correct": nan, "all_wrong": nan, "zero_advantage": nan, "zero_advantage_reward": nan,
            "format_only_signal": nan, "all_correct_ci95": [q_lo ** k, q_hi],
            "all_wrong_ci95": [(1 - q_hi) ** k, 1 - q_lo],
            "estimator": "not identifiable from one rollout per problem (bounds only)", "n_problems": n_problems}


def eb_agreement(counts: Iterable[tuple[int, int]] | Sequence[Outcome], k: int, *, n_boot: int = N_BOOT,
                 seed: int = 0) -> dict[str, Any]:
    """All-correct / all-wrong / zero-advantage fractions at group size k, with bootstrap 95% intervals.

    `counts` are (n, c) pairs or `Outcome`s (which also carry the reward values). The bootstrap
    resamples problems (multinomial weights over the distinct signatures, the prior refitted in
    each replicate), so the interval covers both the rollout noise and the choice of problems.
    """
    items = list(counts)
    outcomes = [o if isinstance(o, Outcome) else Outcome(int(o[0]), int(o[1]), ((1.0, int(o[1])), (0.0, int(o[0]) - int(o[1]))))
                for o in items]
    outcomes = [o for o in outcomes if o.n > 0]
    if not outcomes:
        nan = math.nan
        return {"k": k, "all_correct": nan, "all_wrong": nan, "zero_advantage": nan, "zero_advantage_reward": nan,
                "format_only_signal": nan, "estimator": "none", "n_problems": 0}
    n, c, cats, mult, _values = _categories(outcomes)
    w0 = np.asarray(mult)
    if k > 1 and np.all(n < 2):
        return _bounds_only(n, c, w0, k, len(outcomes))
    point = _estimate(n, c, cats, w0, k)
    out: dict[str, Any] = {"k": k, "all_correct": point[0], "all_wrong": point[1], "zero_advantage": point[2],
                           "zero_advantage_reward": point[3], "format_only_signal": max(0.0, point[2] - point[3]),
                           "estimator": _estimator_name(n, k), "n_problems": len(outcomes)}
    if np.any(k > n):
        out["prior"] = dict(zip(("a", "b"), fit_beta_binomial(n, c, w0), strict=True))
    if n_boot:
        from vrd.stats import percentile_ci

        rng = np.random.default_rng(seed)
        draws = rng.multinomial(len(outcomes), w0 / w0.sum(), size=n_boot).astype(float)
        reps = np.array([_estimate(n, c, cats, d, k) for d in draws])
        names = ("all_correct", "all_wrong", "zero_advantage", "zero_advantage_reward")
        for j, name in enumerate(names):
            out[f"{name}_ci95"] = list(percentile_ci(reps[:, j], n=len(outcomes)))
        out["format_only_signal_ci95"] = list(percentile_ci(np.maximum(reps[:, 2] - reps[:, 3], 0.0), n=len(outcomes)))
    return out


def zero_advantage(counts: Mapping[str, tuple[int, int]], k: int) -> dict[str, Any]:
    """Fractions of prompts whose k-rollout group is all-correct / all-wrong (point estimates)."""
    res = eb_agreement(list(counts.values()), k, n_boot=0)
    return {key: res[key] for key in ("k", "all_correct", "all_wrong", "zero_advantage", "estimator", "n_problems")}


def pass_rate_histogram(counts: Mapping[str, tuple[int, int]], bins: str | None = None) -> dict[str, int]:
    """Problems per difficulty level (`vrd.difficulty`, synergy L1-L5 by default)."""
    scheme = get_scheme(bins, [c / n for n, c in counts.values() if n])
    hist = {label: 0 for label in scheme.labels}
    for n, c in counts.values():
        if n:
            hist[scheme.label_counts(c, n)] += 1
    return hist


def _interval_text(value: float, ci: Sequence[float] | None) -> str:
    if math.isnan(value):
        return f"between {ci[0]:.2f} and {ci[1]:.2f}" if ci else "n/a"
    return f"{value:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def recommend(mean_pass: float, at_group: Mapping[str, Any], rule: SignalRule) -> tuple[str, str]:
    """("SFT first" | "RL viable", one line with the numbers, their intervals and the estimator)."""
    if math.isnan(at_group["all_wrong"]):
        lo, hi = at_group.get("all_wrong_ci95") or (math.nan, math.nan)
        return "undetermined", (f"all-wrong between {lo:.2f} and {hi:.2f} at group size {rule.group_size}: "
                                f"{at_group['estimator']}; take at least 2 rollouts per problem")
    wrong, zero = at_group["all_wrong"], at_group.get("zero_advantage_reward", at_group["zero_advantage"])
    ci_w = at_group.get("all_wrong_ci95")
    ci_z = at_group.get("zero_advantage_reward_ci95", at_group.get("zero_advantage_ci95"))
    numbers = (f"all-wrong {_interval_text(wrong, ci_w)} at group size {rule.group_size}, "
               f"zero-advantage {_interval_text(zero, ci_z)}; mean pass rate {mean_pass:.3f} "
               f"({at_group['estimator']})")
    verdict = "SFT first" if wrong > rule.max_all_wrong or mean_pass < rule.min_mean_pass_rate else "RL viable"
    if ci_w and ci_w[0] <= rule.max_all_wrong <= ci_w[1]:
        numbers += f"; the interval straddles the {rule.max_all_wrong:g} threshold, so the verdict is uncertain"
    if verdict == "RL viable" and zero > rule.max_zero_advantage:
        numbers += (f" (note: {zero:.0%} of groups carry no signal, {at_group['all_correct']:.0%} all-correct: "
                    "filter prompts by pass rate or use dynamic sampling)")
    return verdict, numbers


def signal_report(rows: Iterable[Mapping[str, Any]], rule: SignalRule | None = None,
                  ks: Iterable[int] | None = None, *, reward: RewardSpec | None = None, n_boot: int = N_BOOT,
                  seed: int = 0, bins: str | None = None, computed_on: str | None = None) -> dict[str, Any]:
    """Difficulty histogram, zero-advantage fraction as a function of k, and the recommendation."""
    rule = rule or SignalRule()
    reward = reward or RewardSpec()
    rows = list(rows)
    outcomes = problem_outcomes(rows, reward)
    if not outcomes:
        raise DataError("base samples hold no rollouts")
    counts = {pid: (o.n, o.c) for pid, o in outcomes.items()}
    ns = [n for n, _ in counts.values()]
    rates = [c / n for n, c in counts.values() if n]
    mean_pass = sum(rates) / len(rates)
    if ks is None:  # every k the rollouts support, then doublings (extrapolated) up to the planned group size
        ks = set(range(1, max(ns) + 1)) | {2 ** j for j in range(1, 12) if 2 ** j < rule.group_size} | {rule.group_size}
    k_values = sorted(k for k in set(ks) if k >= 1)
    curve = [eb_agreement(list(outcomes.values()), k, n_boot=0) for k in k_values]
    at_group = eb_agreement(list(outcomes.values()), rule.group_size, n_boot=n_boot, seed=seed)
    verdict, reason = recommend(mean_pass, at_group, rule)
    has_format = any("format_ok" in r for r in rows)
    return {
        "available": True,
        "computed_on": computed_on or "every problem in the base samples",
        "n_problems": len(counts),
        "n_rollouts": int(sum(ns)),
        "rollouts_per_problem": {"min": min(ns), "max": max(ns)},
        "mean_pass_rate": mean_pass,
        "frac_all_correct_observed": sum(1 for n, c in counts.values() if n and c == n) / len(counts),
        "frac_all_wrong_observed": sum(1 for n, c in counts.values() if n and c == 0) / len(counts),
        "pass_rate_histogram": pass_rate_histogram(counts, bins),
        "difficulty_scheme": get_scheme(bins, rates).describe(),
        "zero_advantage_by_k": curve,
        "at_group_size": at_group,
        "estimator": at_group["estimator"],
        "reward": reward.describe() if has_format else "accuracy (no format_ok column in the base samples)",
        "recommendation": verdict,
        "verdict_line": f"{verdict}: all-wrong {_interval_text(at_group['all_wrong'], at_group.get('all_wrong_ci95'))}"
                        f" at group size {rule.group_size} ({at_group['estimator']})",
        "reason": reason,
        "rule": {**asdict(rule), "text": rule.describe()},
    }


def unavailable(reason: str) -> dict[str, Any]:
    """The `signal` block when no base rollouts were given, with the same top-level shape."""
    return {"available": False, "reason": reason, "recommendation": None}
