"""`vrd reward-audit`: does the train reward still track held-out accuracy, and since when not?

Inputs are a run's `metrics.jsonl` (written by the reward-accuracy monitor) or TRL's
`trainer_state.json` (its `log_history`, which the monitor also feeds). Two numbers come out:

- **Spearman rank correlation** between reward and held-out accuracy at the eval steps.
  The reward at an eval step is the mean train reward logged since the previous eval step, so
  each pair covers the same stretch of training.
- **Deceptive-reward onset**: the eval step after which accuracy stops rising while reward keeps
  rising. Defined precisely:
  1. Fit accuracy(step) with a continuous two-segment (hinge) line, a + b*t + c*max(0, t - t_k),
     by least squares for every candidate knee t_k that leaves at least `min_side` points on each
     side; the knee with the smallest squared error is the change point t*.
  2. Noise: sigma_A = 1.4826 * MAD of the residuals of that fit, sigma_R likewise for a straight
     line fitted to the reward after t*.
  3. Accuracy *stopped rising* at t* when its fitted rise after t* (slope_after * span) is at most
     max(abs_tol, sigma_A), and it did rise before (slope_before * span_before > that tolerance).
     When it never rose at all (the single-line rise over the whole run is within the tolerance),
     the onset is the first eval step.
  4. Reward *keeps rising* after t* when its fitted rise over [t*, end] exceeds
     max(abs_tol, sigma_R) and its rank correlation with the step there is positive.
  5. The onset is t* when 3 and 4 hold; otherwise there is none.
  Fitting on the raw points (rather than on a smoothed curve) keeps each point's weight equal; the
  hinge fit itself is the smoothing, and the noise-scaled tolerances make single noisy evals unable
  to create or hide an onset.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vrd.errors import MissingInputError, VrdError

REWARD_KEYS = ("reward", "train/reward")
ACCURACY_KEYS = ("eval_accuracy", "eval/accuracy")


@dataclass
class AuditResult:
    n_points: int
    spearman: float | None
    spearman_p: float | None
    onset_step: int | None
    reason: str
    knee_step: int | None = None
    accuracy_slope_before: float | None = None
    accuracy_slope_after: float | None = None
    reward_rise_after: float | None = None
    tolerance: float | None = None
    steps: list[int] = field(default_factory=list)
    reward: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    source: str = ""
    # {metric: [[step, value], ...]}: per-step signal shares logged by RL (vrd/trainers/rl_signal.py)
    signal: dict[str, list[list[float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- reading ------------------------------------------------------------------------------------


def _first(record: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    for k in keys:
        v = record.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return float(v)
    return None


def _records(run_dir: Path) -> tuple[list[dict[str, Any]], Path]:
    metrics = run_dir / "metrics.jsonl"
    if metrics.is_file():
        from vrd.schema import read_jsonl

        return read_jsonl(metrics), metrics
    candidates = [run_dir / "trainer_state.json"]
    checkpoints = sorted(run_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1])
                         if p.name.split("-")[-1].isdigit() else -1)
    candidates += [c / "trainer_state.json" for c in reversed(checkpoints)]
    for state in candidates:
        if state.is_file():
            try:
                history = json.loads(state.read_text()).get("log_history", [])
            except json.JSONDecodeError as exc:
                raise VrdError(f"{state}: not valid JSON ({exc.msg})") from exc
            return list(history), state
    raise MissingInputError(f"{run_dir}: no metrics.jsonl and no trainer_state.json (is this a `vrd train` output?)")


def load_series(run_dir: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Path]:
    """(train steps, train rewards, eval steps, eval accuracies, file read)."""
    records, path = _records(Path(run_dir))
    train, evals = [], []
    for r in records:
        step = r.get("step")
        if not isinstance(step, (int, float)):
            continue
        acc = _first(r, ACCURACY_KEYS)
        if acc is not None:
            evals.append((int(step), acc))
            continue
        reward = _first(r, REWARD_KEYS)
        if reward is not None:
            train.append((int(step), reward))
    if not train:
        raise VrdError(f"{path}: no train reward logged (keys {', '.join(REWARD_KEYS)}); is this an RL run?")
    if not evals:
        raise VrdError(f"{path}: no held-out accuracy logged; train with --eval-data and --eval-every N")
    # A resumed run may log a step twice; keep the last value of each step.
    t = dict(train)
    e = dict(evals)
    ts, es = sorted(t), sorted(e)
    return (np.array(ts, dtype=float), np.array([t[s] for s in ts]), np.array(es, dtype=float),
            np.array([e[s] for s in es]), path)


def align(train_steps: np.ndarray, rewards: np.ndarray, eval_steps: np.ndarray,
          accuracy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (step, mean reward since the previous eval, accuracy); evals with no reward before are dropped."""
    steps, rew, acc = [], [], []
    prev = -math.inf
    for s, a in zip(eval_steps, accuracy, strict=True):
        window = (train_steps > prev) & (train_steps <= s)
        prev = s
        if window.any():
            steps.append(s)
            rew.append(float(rewards[window].mean()))
            acc.append(float(a))
    return np.array(steps), np.array(rew), np.array(acc)


# --- the statistics -----------------------------------------------------------------------------


def robust_sigma(x: np.ndarray) -> float:
    if x.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def hinge_fit(t: np.ndarray, y: np.ndarray, min_side: int) -> tuple[int, np.ndarray, np.ndarray]:
    """(knee index, coefficients [a, b, c], fitted values) of the best continuous two-segment line."""
    best: tuple[float, int, np.ndarray, np.ndarray] | None = None
    for k in range(min_side - 1, len(t) - min_side):
        X = np.column_stack([np.ones_like(t), t, np.maximum(0.0, t - t[k])])
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        fitted = X @ coef
        sse = float(((y - fitted) ** 2).sum())
        if best is None or sse < best[0] - 1e-12:
            best = (sse, k, coef, fitted)
    if best is None:
        raise ValueError("too few points for a hinge fit")
    return best[1], best[2], best[3]


def find_onset(steps: np.ndarray, reward: np.ndarray, accuracy: np.ndarray, *, abs_tol: float = 0.01,
               min_side: int | None = None) -> dict[str, Any]:
    """The onset step per the module docstring, with the quantities that decided it."""
    from scipy.stats import spearmanr

    n = len(steps)
    min_side = min_side or max(3, n // 10)
    if n < 2 * min_side + 1:
        return {"onset_step": None, "reason": f"too few eval points ({n}; need {2 * min_side + 1})"}
    k, coef, fitted = hinge_fit(steps, accuracy, min_side)
    knee = steps[k]
    sigma_a = robust_sigma(accuracy - fitted)
    tol = max(abs_tol, sigma_a)
    slope_before, slope_after = float(coef[1]), float(coef[1] + coef[2])
    rise_before = slope_before * (knee - steps[0])
    rise_after_acc = slope_after * (steps[-1] - knee)
    line = np.polyfit(steps, accuracy, 1)
    rise_total = float(line[0] * (steps[-1] - steps[0]))
    out: dict[str, Any] = {"knee_step": int(knee), "accuracy_slope_before": slope_before,
                           "accuracy_slope_after": slope_after, "tolerance": tol}
    never_rose = rise_total <= tol and rise_before <= tol
    candidate_idx = 0 if never_rose else k
    t_c = steps[candidate_idx]
    after = steps >= t_c
    r_line = np.polyfit(steps[after], reward[after], 1)
    sigma_r = robust_sigma(reward[after] - np.polyval(r_line, steps[after]))
    reward_rise = float(r_line[0] * (steps[-1] - t_c))
    varies = after.sum() > 2 and np.ptp(reward[after]) > 0
    rho_r = float(spearmanr(steps[after], reward[after]).statistic) if varies else 0.0
    out["reward_rise_after"] = reward_rise
    reward_rising = reward_rise > max(abs_tol, sigma_r) and (rho_r > 0)
    if never_rose:
        if reward_rising:
            return {**out, "onset_step": int(t_c), "reason": "accuracy never rose while reward rose"}
        return {**out, "onset_step": None, "reason": "neither accuracy nor reward rose"}
    stopped = rise_after_acc <= tol and rise_before > tol
    if not stopped:
        return {**out, "onset_step": None, "reason": "accuracy keeps rising with reward"}
    if not reward_rising:
        return {**out, "onset_step": None, "reason": "accuracy plateaued, but so did reward"}
    return {**out, "onset_step": int(knee),
            "reason": f"accuracy stopped rising at step {int(knee)} while reward rose {reward_rise:+.3f} after it"}


def audit(run_dir: str | os.PathLike, *, abs_tol: float = 0.01) -> AuditResult:
    from scipy.stats import spearmanr

    from vrd.trainers.rl_signal import signal_series

    ts, rs, es, acc, path = load_series(run_dir)
    steps, reward, accuracy = align(ts, rs, es, acc)
    rho = p = None
    if len(steps) >= 3 and np.std(reward) > 0 and np.std(accuracy) > 0:
        res = spearmanr(reward, accuracy)
        rho, p = float(res.statistic), float(res.pvalue)
    found = find_onset(steps, reward, accuracy, abs_tol=abs_tol)
    return AuditResult(
        n_points=len(steps), spearman=rho, spearman_p=p, source=str(path),
        steps=[int(s) for s in steps], reward=reward.tolist(), accuracy=accuracy.tolist(), **found,
        signal=signal_series(_records(Path(run_dir))[0]),
    )


# --- output -------------------------------------------------------------------------------------


def plot(result: AuditResult, path: str | os.PathLike) -> Path:
    """Reward and held-out accuracy against step, with the onset marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if result.signal:  # a second panel: how much of each step's batch could teach anything
        fig, (ax, ax_signal) = plt.subplots(2, 1, figsize=(8, 7.5), dpi=100, sharex=True,
                                            gridspec_kw={"height_ratios": [3, 2]})
        from vrd.trainers.rl_signal import plot_signal

        plot_signal(ax_signal, result.signal)
    else:
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    ax.plot(result.steps, result.reward, color="tab:blue", marker=".", label="train reward")
    ax.set_xlabel("step")
    ax.set_ylabel("train reward", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(result.steps, result.accuracy, color="tab:orange", marker=".", label="held-out accuracy")
    ax2.set_ylabel("held-out accuracy (greedy)", color="tab:orange")
    if result.onset_step is not None:
        ax.axvline(result.onset_step, color="tab:red", linestyle="--", label=f"onset @ {result.onset_step}")
    rho = "n/a" if result.spearman is None else f"{result.spearman:.2f}"
    ax.set_title(f"reward vs held-out accuracy (Spearman {rho})")
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out


def write_report(result: AuditResult, run_dir: str | os.PathLike) -> tuple[Path, Path]:
    """`reward_audit.json` and `reward_audit.png` in the run directory."""
    run = Path(run_dir)
    js = run / "reward_audit.json"
    js.write_text(json.dumps(result.to_dict(), indent=2))
    return js, plot(result, run / "reward_audit.png")
