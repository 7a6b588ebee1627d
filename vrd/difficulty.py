"""Difficulty levels from a base model's pass rate: one scheme, used by curate, eval and the signal report.

A level is a half-open band of the per-problem pass rate p = c / n. The default preset is the
Synergy Dilemma's (arXiv 2507.07562), defined on 16 base samples and applied here to the rate,
so it reads the same at any n:

    L1  c >= 12/16   (p >= 0.75)         easiest
    L2  8..11 / 16   (0.5 <= p < 0.75)
    L3  5..7 / 16    (0.3125 <= p < 0.5)
    L4  2..4 / 16    (0.125 <= p < 0.3125)
    L5  c <= 1 / 16  (p < 0.125)          hardest

`fixed` keeps curate's former labels (unsolved p = 0, hard (0, 1/3], medium (1/3, 2/3],
easy (2/3, 1), trivial p = 1); `quantile` cuts the problems strictly between 0 and 1 into
equal-count terciles; `edges:0.2,0.5,0.8` gives bands with those cut points.

Regression to the mean: a problem binned "hard" from its own samples looks easier when the
same samples are re-scored. The bins and the accuracy compared across them must come from
independent samples; `split_halves` gives two independent halves of one set of rollouts when
that is all there is (see `vrd.eval.results.summarize`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vrd.errors import VrdError

_EPS = 1e-6  # pass rates are stored as float32: 1/3 comes back as 0.33333334
NO_ROLLOUTS = "no rollouts"


@dataclass(frozen=True)
class Band:
    """One level: lo <= p < hi (or lo < p when `open_low`; p <= hi when `closed_high`)."""

    label: str
    lo: float
    hi: float
    open_low: bool = False
    closed_high: bool = False

    def contains(self, p: float) -> bool:
        above = p > self.lo + _EPS if self.open_low else p >= self.lo - _EPS
        below = p <= self.hi + _EPS if self.closed_high else p < self.hi - _EPS
        return above and below


@dataclass(frozen=True)
class BinScheme:
    """Named bands that cover [0, 1] without overlap, listed easiest first."""

    name: str
    bands: tuple[Band, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(b.label for b in self.bands)

    def label(self, rate: float | None) -> str:
        """The level of one pass rate ("no rollouts" for None / NaN)."""
        if rate is None or (isinstance(rate, float) and math.isnan(rate)):
            return NO_ROLLOUTS
        p = float(rate)
        for band in self.bands:
            if band.contains(p):
                return band.label
        raise VrdError(f"pass rate {p} is outside [0, 1]")

    def label_counts(self, correct: int, n: int) -> str:
        return self.label(correct / n if n else None)

    def order(self, label: str) -> int:
        """Sort key: levels in scheme order, anything else after."""
        return self.labels.index(label) if label in self.labels else len(self.labels)

    def describe(self) -> str:
        parts = []
        for b in self.bands:
            low = f"{b.lo:g} {'<' if b.open_low else '<='} p" if b.lo > 0 or b.open_low else "p"
            high = f"{'<=' if b.closed_high else '<'} {b.hi:g}" if b.hi < 1 or not b.closed_high else "<= 1"
            parts.append(f"{b.label}: {low} {high}")
        return f"{self.name} ({'; '.join(parts)})"


SYNERGY = BinScheme("synergy", (
    Band("L1", 12 / 16, 1.0, closed_high=True),
    Band("L2", 8 / 16, 12 / 16),
    Band("L3", 5 / 16, 8 / 16),
    Band("L4", 2 / 16, 5 / 16),
    Band("L5", 0.0, 2 / 16),
))

FIXED = BinScheme("fixed", (
    Band("trivial", 1.0, 1.0, closed_high=True),
    Band("easy", 2 / 3, 1.0, open_low=True),
    Band("medium", 1 / 3, 2 / 3, open_low=True, closed_high=True),
    Band("hard", 0.0, 1 / 3, open_low=True, closed_high=True),
    Band("unsolved", 0.0, 0.0, closed_high=True),
))

PRESETS: dict[str, BinScheme] = {"synergy": SYNERGY, "fixed": FIXED}
MODES = ("synergy", "fixed", "quantile", "edges:A,B,...")
DEFAULT = "synergy"


def edges_scheme(edges: Sequence[float], name: str | None = None) -> BinScheme:
    """Bands [0, e1), [e1, e2), ..., [ek, 1] labelled by their range, easiest (highest p) first."""
    cuts = sorted(float(e) for e in edges)
    if not cuts or any(not 0.0 < e < 1.0 for e in cuts) or len(set(cuts)) != len(cuts):
        raise VrdError(f"difficulty edges must be distinct numbers strictly between 0 and 1, got {list(edges)}")
    points = [0.0, *cuts, 1.0]
    bands = [Band(f"[{lo:g},{hi:g}{']' if hi == 1.0 else ')'}", lo, hi, closed_high=hi == 1.0)
             for lo, hi in zip(points[:-1], points[1:], strict=True)]
    return BinScheme(name or "edges:" + ",".join(f"{c:g}" for c in cuts), tuple(reversed(bands)))


def quantile_scheme(rates: Iterable[float]) -> BinScheme:
    """`fixed`'s labels with the hard/medium/easy cuts at the terciles of the rates strictly in (0, 1)."""
    inner = sorted(p for p in rates if p is not None and not math.isnan(p) and _EPS < p < 1 - _EPS)
    if not inner:
        lo, hi = 1 / 3, 2 / 3
    else:
        import numpy as np

        lo, hi = (float(np.quantile(inner, q)) for q in (1 / 3, 2 / 3))
    return BinScheme("quantile", (
        Band("trivial", 1.0, 1.0, closed_high=True),
        Band("easy", hi, 1.0, open_low=True),
        Band("medium", lo, hi, open_low=True, closed_high=True),
        Band("hard", 0.0, lo, open_low=True, closed_high=True),
        Band("unsolved", 0.0, 0.0, closed_high=True),
    ))


def get_scheme(mode: str | BinScheme | None = None, rates: Iterable[float] | None = None) -> BinScheme:
    """A scheme by preset name, `quantile` (needs `rates`) or `edges:0.2,0.5`."""
    if isinstance(mode, BinScheme):
        return mode
    mode = (mode or DEFAULT).strip()
    if mode in PRESETS:
        return PRESETS[mode]
    if mode == "quantile":
        return quantile_scheme(rates or [])
    if mode.startswith("edges:"):
        try:
            edges = [float(e) for e in mode[len("edges:"):].split(",") if e.strip()]
        except ValueError as exc:
            raise VrdError(f"difficulty bins {mode!r}: edges must be numbers, e.g. edges:0.25,0.5,0.75") from exc
        return edges_scheme(edges)
    raise VrdError(f"difficulty bins {mode!r}: use one of {', '.join(MODES)}")


def levels(rates: Mapping[str, float | None], mode: str | BinScheme | None = None) -> dict[str, str]:
    """Per problem id, its level under the scheme."""
    scheme = get_scheme(mode, rates.values())
    return {pid: scheme.label(r) for pid, r in rates.items()}


def split_halves(outcomes: Mapping[str, Sequence[bool]]) -> tuple[dict[str, float], dict[str, float]]:
    """Two independent pass-rate estimates per problem: even-numbered samples and odd-numbered ones.

    Problems with fewer than two samples are left out of both (no independent half exists).
    """
    first, second = {}, {}
    for pid, oks in outcomes.items():
        if len(oks) < 2:
            continue
        a, b = list(oks[0::2]), list(oks[1::2])
        first[pid] = sum(a) / len(a)
        second[pid] = sum(b) / len(b)
    return first, second


def describe_mode(mode: str | BinScheme | None, rates: Iterable[float] | None = None) -> dict[str, Any]:
    scheme = get_scheme(mode, rates)
    return {"scheme": scheme.name, "levels": list(scheme.labels), "text": scheme.describe()}
