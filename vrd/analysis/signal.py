"""Will GRPO get a learning signal? Read it off the base model's own rollouts.

GRPO's advantage is a reward minus its group mean, so a group whose k rollouts are all
correct or all wrong contributes nothing. From each problem's n rollouts with c correct, the
chance that k rollouts drawn for it agree is C(c,k)/C(n,k) + C(n-c,k)/C(n,k) — the
hypergeometric (unbiased) estimate of p^k + (1-p)^k, valid for k <= n. For a planned group
size larger than the rollouts taken, the plug-in p̂^k + (1-p̂)^k is used and labelled as such
(it overstates agreement for problems that only look all-wrong because n was small).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from vrd.errors import ConfigError, DataError

PASS_RATE_BINS: tuple[str, ...] = ("0", "(0,0.2]", "(0.2,0.4]", "(0.4,0.6]", "(0.6,0.8]", "(0.8,1)", "1")


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


def problem_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, tuple[int, int]]:
    """Per problem id: (n rollouts, c correct), from its first round only.

    Later distill rounds re-sample only unsolved problems, so counting them would bias pass
    rates; the first round is an unbiased draw for every problem.
    """
    by_id: dict[str, list[tuple[int, bool]]] = {}
    for i, row in enumerate(rows):
        if "id" not in row or "correct" not in row:
            raise DataError(f"base samples row {i}: needs 'id' and 'correct' (rollouts from `vrd distill --keep all`)")
        rnd = row.get("round")
        by_id.setdefault(str(row["id"]), []).append((int(rnd) if rnd is not None else 0, bool(row["correct"])))
    counts: dict[str, tuple[int, int]] = {}
    for pid, items in by_id.items():
        first = min(r for r, _ in items)
        kept = [ok for r, ok in items if r == first]
        counts[pid] = (len(kept), sum(kept))
    return counts


def agree_probability(n: int, c: int, k: int) -> tuple[float, float, bool]:
    """(P[all k correct], P[all k wrong], unbiased?) for one problem."""
    if k <= n:
        total = math.comb(n, k)
        return math.comb(c, k) / total, math.comb(n - c, k) / total, True
    p = c / n if n else 0.0
    return p ** k, (1.0 - p) ** k, False


def zero_advantage(counts: Mapping[str, tuple[int, int]], k: int) -> dict[str, Any]:
    """Expected fraction of prompts whose k-rollout group is all-correct / all-wrong."""
    usable = [(n, c) for n, c in counts.values() if n > 0]
    if not usable:
        return {"k": k, "all_correct": math.nan, "all_wrong": math.nan, "zero_advantage": math.nan,
                "estimator": "none", "n_problems": 0}
    probs = [agree_probability(n, c, k) for n, c in usable]
    all_correct = sum(p[0] for p in probs) / len(probs)
    all_wrong = sum(p[1] for p in probs) / len(probs)
    n_unbiased = sum(1 for p in probs if p[2])
    estimator = "unbiased" if n_unbiased == len(probs) else ("plug-in" if n_unbiased == 0 else "mixed")
    return {"k": k, "all_correct": all_correct, "all_wrong": all_wrong, "zero_advantage": all_correct + all_wrong,
            "estimator": estimator, "n_problems": len(probs)}


def pass_rate_histogram(counts: Mapping[str, tuple[int, int]]) -> dict[str, int]:
    hist = {label: 0 for label in PASS_RATE_BINS}
    for n, c in counts.values():
        if n == 0:
            continue
        p = c / n
        if c == 0:
            label = "0"
        elif c == n:
            label = "1"
        else:
            label = PASS_RATE_BINS[min(math.ceil(p * 5 - 1e-9), 5)]  # (0,0.2] -> 1 ... (0.8,1) -> 5
        hist[label] += 1
    return hist


def recommend(mean_pass: float, at_group: Mapping[str, Any], rule: SignalRule) -> tuple[str, str]:
    """("SFT first" | "RL viable", one-line reason with the numbers that decided it)."""
    wrong, zero = at_group["all_wrong"], at_group["zero_advantage"]
    numbers = (f"at group size {rule.group_size}: {wrong:.0%} of prompts all-wrong, {zero:.0%} zero-advantage; "
               f"mean pass rate {mean_pass:.3f}")
    if wrong > rule.max_all_wrong or mean_pass < rule.min_mean_pass_rate:
        return "SFT first", numbers
    note = ""
    if zero > rule.max_zero_advantage:
        note = (f" (note: {zero:.0%} of groups carry no signal, {at_group['all_correct']:.0%} all-correct: "
                "filter prompts by pass rate or use dynamic sampling)")
    return "RL viable", numbers + note


def signal_report(rows: Iterable[Mapping[str, Any]], rule: SignalRule | None = None,
                  ks: Iterable[int] | None = None) -> dict[str, Any]:
    """Pass-rate histogram, zero-advantage fraction as a function of k, and the recommendation."""
    rule = rule or SignalRule()
    counts = problem_counts(rows)
    if not counts:
        raise DataError("base samples hold no rollouts")
    ns = [n for n, _ in counts.values()]
    rates = [c / n for n, c in counts.values() if n]
    mean_pass = sum(rates) / len(rates)
    if ks is None:  # every k the rollouts support, then doublings (plug-in) up to the planned group size
        ks = set(range(1, max(ns) + 1)) | {2 ** j for j in range(1, 12) if 2 ** j < rule.group_size} | {rule.group_size}
    k_values = sorted(set(ks))
    curve = [zero_advantage(counts, k) for k in k_values if k >= 1]
    at_group = zero_advantage(counts, rule.group_size)
    verdict, reason = recommend(mean_pass, at_group, rule)
    return {
        "available": True,
        "n_problems": len(counts),
        "n_rollouts": int(sum(ns)),
        "rollouts_per_problem": {"min": min(ns), "max": max(ns)},
        "mean_pass_rate": mean_pass,
        "frac_all_correct_observed": sum(1 for n, c in counts.values() if n and c == n) / len(counts),
        "frac_all_wrong_observed": sum(1 for n, c in counts.values() if n and c == 0) / len(counts),
        "pass_rate_histogram": pass_rate_histogram(counts),
        "zero_advantage_by_k": curve,
        "at_group_size": at_group,
        "recommendation": verdict,
        "reason": reason,
        "rule": {**asdict(rule), "text": rule.describe()},
    }


def unavailable(reason: str) -> dict[str, Any]:
    """The `signal` block when no base rollouts were given, with the same top-level shape."""
    return {"available": False, "reason": reason, "recommendation": None}
