"""How much learning signal each GRPO step actually had, measured on the step's own rollouts.

A group of G completions of one prompt teaches nothing when its rewards are all equal (every
advantage is zero), and teaches only formatting when the rewards differ but the accuracy column
does not (the spread comes from the format term alone). The first paper's "next checks" ask
for these shares during training rather than from offline rollouts; the Synergy paper's levels
(L1-L5 of the base model's pass rate, `vrd.difficulty`) show where the signal runs out.

Logged per step (metrics.jsonl, `vrd reward-audit`'s lower panel):
- `signal/adv_q05 .. signal/adv_q95`: quantiles of the advantages TRL computed;
- `signal/zero_adv_frac`: share of groups whose total reward (as weighted by the run) is constant;
- `signal/format_only_frac`: share of groups whose total reward varies but accuracy does not;
- the same two with `/L1` .. `/L5` for groups whose prompt row carries a base `pass_rate`
  (curate writes it on problem splits; with `--rollouts` from the base model it is the base
  pass rate), plus `signal/groups/Lk`, the number of such groups in the step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
EPS = 1e-6
SIGNAL_KEYS = ("signal/zero_adv_frac", "signal/format_only_frac")


def _spread(values: Any) -> Any:
    """Per-group max - min, ignoring NaN (a reward function that returned None)."""
    import torch

    finite = ~torch.isnan(values)
    hi = torch.where(finite, values, torch.full_like(values, -math.inf)).max(dim=1).values
    lo = torch.where(finite, values, torch.full_like(values, math.inf)).min(dim=1).values
    spread = hi - lo
    return torch.where(torch.isfinite(spread), spread, torch.zeros_like(spread))


def step_signal(total: Any, accuracy: Any, num_generations: int, *, advantages: Any = None,
                pass_rates: Sequence[float | None] | None = None, scheme: str = "synergy") -> dict[str, float]:
    """Signal shares of one generation batch (rows grouped contiguously by prompt, as TRL keeps them)."""
    import torch

    g = num_generations
    total = total.detach().float().reshape(-1, g)
    accuracy = accuracy.detach().float().reshape(-1, g)
    varies = _spread(total) > EPS
    acc_varies = _spread(accuracy) > EPS
    zero = ~varies
    fmt_only = varies & ~acc_varies
    out = {"signal/zero_adv_frac": zero.float().mean().item(),
           "signal/format_only_frac": fmt_only.float().mean().item()}
    if advantages is not None and advantages.numel():
        adv = advantages.detach().float().reshape(-1)
        adv = adv[~torch.isnan(adv)]
        if adv.numel():
            qs = torch.quantile(adv, torch.tensor(QUANTILES))
            out.update({f"signal/adv_q{round(q * 100):02d}": v.item() for q, v in zip(QUANTILES, qs, strict=True)})
    if pass_rates is not None and len(pass_rates) == total.numel():
        from vrd.difficulty import NO_ROLLOUTS, get_scheme

        bins = get_scheme(scheme)
        labels = [bins.label(_rate(pass_rates[i * g])) for i in range(total.size(0))]
        for label in dict.fromkeys(labels):
            if label == NO_ROLLOUTS:
                continue
            idx = torch.tensor([i for i, lab in enumerate(labels) if lab == label])
            out[f"signal/zero_adv_frac/{label}"] = zero[idx].float().mean().item()
            out[f"signal/format_only_frac/{label}"] = fmt_only[idx].float().mean().item()
            out[f"signal/groups/{label}"] = float(idx.numel())
    return out


def _rate(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def signal_series(records: Sequence[Mapping[str, Any]]) -> dict[str, list[list[float]]]:
    """{metric: [[step, value], ...]} for every `signal/*_frac*` key in a run's train records."""
    series: dict[str, dict[int, float]] = {}
    for r in records:
        step = r.get("step")
        if not isinstance(step, (int, float)):
            continue
        for key, value in r.items():
            if (key.startswith("signal/") and "_frac" in key and isinstance(value, (int, float))
                    and not isinstance(value, bool) and math.isfinite(value)):
                series.setdefault(key, {})[int(step)] = float(value)  # a resumed run's repeat: last wins
    return {k: [[s, v[s]] for s in sorted(v)] for k, v in sorted(series.items())}


def plot_signal(ax: Any, series: Mapping[str, Sequence[Sequence[float]]]) -> None:
    """Zero-advantage and format-only shares against step; per-level zero-advantage lines dashed."""
    styles = {"signal/zero_adv_frac": ("tab:red", "-", "zero-advantage groups"),
              "signal/format_only_frac": ("tab:purple", "-", "format-only groups")}
    for key, points in series.items():
        if not points:
            continue
        steps, values = zip(*points, strict=True)
        if key in styles:
            color, style, label = styles[key]
            ax.plot(steps, values, color=color, linestyle=style, marker=".", label=label)
        elif key.startswith("signal/zero_adv_frac/"):
            ax.plot(steps, values, linestyle="--", linewidth=1, label=f"zero-adv {key.rsplit('/', 1)[-1]}")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("step")
    ax.set_ylabel("share of groups")
    ax.set_title("learning signal per step (actual reward)")
    ax.legend(loc="upper right", fontsize=7, ncol=2)
