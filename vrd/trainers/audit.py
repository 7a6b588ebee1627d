"""`vrd reward-audit`: does the train reward still track held-out accuracy, and since when not?

Inputs are a run's `metrics.jsonl` (written by the reward-accuracy monitor) or TRL's
`trainer_state.json` (its `log_history`, which the monitor also feeds). Two numbers come out:

- **Spearman rank correlation** between reward and held-out accuracy at the eval steps, with a
  moving-block bootstrap 95% interval (both series trend with training, so the points are not
  independent and the textbook p-value would be far too small). The reward at an eval step is
  the mean train reward logged since the previous eval step; the step-0 evaluation is kept
  (it anchors the accuracy curve) even though no reward precedes it.
- **Deceptive-reward onset**: the eval step after which held-out accuracy *falls* while the
  reward keeps rising. Accuracy that saturates, or keeps rising, is not an onset.
  1. Fit accuracy(step) with a continuous two-segment (hinge) line a + b·t + c·max(0, t − t_k)
     for every knee t_k that leaves at least `min_side` points on each side. The knee of least
     squared error locates the change.
  2. Test statistic T = min over knees of the t-ratio of the slope after the knee (b + c), with
     the binomial variance a(1−a)/n of each eval point when the eval size n is logged, else
     the robust residual variance. T is very negative when accuracy falls after some knee.
  3. Its null distribution is simulated from the closest non-decreasing curve (isotonic fit
     of the accuracies) with the same noise: the least favourable "no fall" world consistent
     with the data, so rising and saturating curves give false onsets at about `alpha`.
  4. Onset = the knee when p <= `alpha`, the fitted fall exceeds `abs_tol` and the reward rose
     by more than `abs_tol` after the knee. If accuracy never rose significantly over the whole
     run while reward did, the onset is the first eval step.
  5. A 95% interval for the onset step: knees refitted on curves simulated from the hinge fit.
  The onset is also given in epochs and samples seen when the run logged them.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vrd.errors import ConfigError, DataError, MissingInputError, VrdError

REWARD_KEYS = ("reward", "train/reward")
ACCURACY_KEYS = ("eval_accuracy", "eval/accuracy")


@dataclass
class AuditResult:
    n_points: int
    spearman: float | None
    spearman_ci95: list[float] | None
    onset_step: int | None
    reason: str
    onset_ci95: list[float] | None = None
    onset_p_value: float | None = None
    onset_epoch: float | None = None
    onset_samples: float | None = None
    knee_step: int | None = None
    accuracy_slope_before: float | None = None
    accuracy_slope_after: float | None = None
    reward_rise_after: float | None = None
    accuracy_fall_after: float | None = None
    tolerance: float | None = None
    steps: list[int] = field(default_factory=list)
    reward: list[float | None] = field(default_factory=list)
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


def _read_metrics(path: Path) -> list[dict[str, Any]]:
    """metrics.jsonl's records. A run killed mid-write leaves its last line torn (no newline, not
    JSON): that line is dropped with a warning, so a killed run can be audited before it is resumed;
    a bad line anywhere else is an error naming it."""
    *lines, tail = path.read_bytes().split(b"\n")
    rows: list[dict[str, Any]] = []
    for lineno, raw in enumerate([*lines, tail], start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, a 5,000-digit int
            if lineno == len(lines) + 1:  # no newline after it: the writer was killed mid-line
                logging.getLogger(__name__).warning("%s: dropping its torn last line (the run was killed "
                                                    "while writing it)", path)
                break
            raise DataError(f"line {lineno}: invalid JSON ({exc})", path=path) from exc
        if not isinstance(value, dict):
            raise DataError(f"line {lineno}: expected a JSON object, got {type(value).__name__}", path=path)
        rows.append(value)
    return rows


def _records(run_dir: Path) -> tuple[list[dict[str, Any]], Path]:
    metrics = run_dir / "metrics.jsonl"
    if metrics.is_file():
        return _read_metrics(metrics), metrics
    candidates = [run_dir / "trainer_state.json"]
    checkpoints = sorted(run_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1])
                         if p.name.split("-")[-1].isdigit() else -1)
    candidates += [c / "trainer_state.json" for c in reversed(checkpoints)]
    for state in candidates:
        if state.is_file():
            try:
                value = json.loads(state.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise DataError(f"not valid JSON ({exc.msg})", path=state) from exc
            except UnicodeDecodeError as exc:
                raise DataError("not UTF-8 text", path=state) from exc
            except RecursionError as exc:
                raise DataError("JSON nested too deeply", path=state) from exc
            history = value.get("log_history", []) if isinstance(value, dict) else None
            if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
                raise DataError("expected an object whose `log_history` is a list of objects", path=state)
            return list(history), state
    raise MissingInputError(f"{run_dir}: no metrics.jsonl and no trainer_state.json (is this a `vrd train` output?)")


def load_series(run_dir: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Path]:
    """(train steps, train rewards, eval steps, eval accuracies, file read)."""
    series = read_run(run_dir)
    return series["train_steps"], series["rewards"], series["eval_steps"], series["accuracy"], series["path"]


def read_run(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Train rewards, eval accuracies with their eval size, and epoch / samples seen by step."""
    records, path = _records(Path(run_dir))
    train: dict[int, float] = {}
    evals: dict[int, float] = {}
    sizes: dict[int, float] = {}
    epochs: dict[int, float] = {}
    samples: dict[int, float] = {}
    for r in records:
        step = r.get("step")
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not math.isfinite(step):
            continue  # a record without a usable step (NaN, text) cannot be placed on the curve
        s = int(step)  # a resumed run may log a step twice; the last value wins
        for key, store in (("epoch", epochs), ("samples_seen", samples)):
            value = _first(r, (key,))
            if value is not None:
                store[s] = value
        acc = _first(r, ACCURACY_KEYS)
        if acc is not None:
            evals[s] = acc
            n = _first(r, ("eval_n",))
            if n:
                sizes[s] = n
            continue
        reward = _first(r, REWARD_KEYS)
        if reward is not None:
            train[s] = reward
    if not train:
        raise VrdError(f"{path}: no train reward logged (keys {', '.join(REWARD_KEYS)}); is this an RL run?")
    if not evals:
        raise VrdError(f"{path}: no held-out accuracy logged; train with --eval-data and --eval-every N")
    ts, es = sorted(train), sorted(evals)
    return {"train_steps": np.array(ts, dtype=float), "rewards": np.array([train[x] for x in ts]),
            "eval_steps": np.array(es, dtype=float), "accuracy": np.array([evals[x] for x in es]),
            "eval_n": float(np.median(list(sizes.values()))) if sizes else None,
            "epochs": epochs, "samples": samples, "path": path, "records": records}


def align(train_steps: np.ndarray, rewards: np.ndarray, eval_steps: np.ndarray,
          accuracy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(step, mean reward since the previous eval, accuracy) for every eval step.

    An eval with no train reward before it (the step-0 evaluation) keeps its accuracy and gets a
    NaN reward: it anchors the accuracy curve, and dropping it would hide an early fall.
    """
    steps, rew, acc = [], [], []
    prev = -math.inf
    for s, a in zip(eval_steps, accuracy, strict=True):
        window = (train_steps > prev) & (train_steps <= s)
        prev = s
        steps.append(s)
        rew.append(float(rewards[window].mean()) if window.any() else math.nan)
        acc.append(float(a))
    return np.array(steps), np.array(rew), np.array(acc)


def at_step(table: dict[int, float], step: float) -> float | None:
    """A logged quantity (epoch, samples seen) at `step`, interpolated between logged steps."""
    if not table:
        return None
    xs = sorted(table)
    if len(xs) == 1:
        return table[xs[0]] * step / xs[0] if xs[0] else None
    return float(np.interp(step, xs, [table[x] for x in xs]))


# --- the statistics -----------------------------------------------------------------------------


def robust_sigma(x: np.ndarray) -> float:
    if x.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def hinge_fit(t: np.ndarray, y: np.ndarray, min_side: int) -> tuple[int, np.ndarray, np.ndarray]:
    """(knee index, coefficients [a, b, c], fitted values) of the best continuous two-segment line."""
    knees, projections, hats = _hinge_operators(t, min_side)
    if not knees:
        raise ValueError("too few points for a hinge fit")
    sse = [float(((y - h @ y) ** 2).sum()) for h in hats]
    j = int(np.argmin(sse))
    return knees[j], projections[j] @ y, hats[j] @ y


def _hinge_operators(t: np.ndarray, min_side: int) -> tuple[list[int], list[np.ndarray], list[np.ndarray]]:
    """For each admissible knee: its index, the least-squares map y -> [a, b, c] and the hat matrix."""
    knees, projections, hats = [], [], []
    for k in range(min_side - 1, len(t) - min_side):
        x = np.column_stack([np.ones_like(t), t, np.maximum(0.0, t - t[k])])
        pinv = np.linalg.pinv(x)
        knees.append(k)
        projections.append(pinv)
        hats.append(x @ pinv)
    return knees, projections, hats


def isotonic(y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Least-squares non-decreasing fit (pool adjacent violators)."""
    w = np.ones_like(y) if w is None else w
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, wt in zip(y.tolist(), w.tolist(), strict=True):
        blocks.append([v, wt, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    return np.concatenate([np.full(int(c), m) for m, _, c in blocks])


def _noise(fitted: np.ndarray, residuals: np.ndarray, n_eval: float | None) -> np.ndarray:
    """Per-point noise variance: binomial at the fitted accuracy when the eval size is known."""
    if n_eval:
        a = np.clip(fitted, 0.02, 0.98)
        return a * (1 - a) / n_eval
    return np.full(fitted.shape, max(robust_sigma(residuals), 1e-4) ** 2)


def _simulate(rng: np.random.Generator, curve: np.ndarray, var: np.ndarray, n_eval: float | None,
              size: int) -> np.ndarray:
    if n_eval:
        n = int(round(n_eval))
        return rng.binomial(n, np.clip(curve, 0.0, 1.0), size=(size, curve.size)) / n
    return curve + rng.normal(0.0, 1.0, size=(size, curve.size)) * np.sqrt(var)


def find_onset(steps: np.ndarray, reward: np.ndarray, accuracy: np.ndarray, *, abs_tol: float = 0.01,
               min_side: int | None = None, n_eval: float | None = None, alpha: float = 0.05, n_sim: int = 500,
               seed: int = 0) -> dict[str, Any]:
    """The onset step per the module docstring, with the quantities that decided it."""
    steps, reward, accuracy = (np.asarray(v, dtype=float) for v in (steps, reward, accuracy))
    n = len(steps)
    min_side = min_side or max(3, n // 10)
    if n < 2 * min_side + 1:
        return {"onset_step": None, "reason": f"too few eval points ({n}; need {2 * min_side + 1})"}
    span = max(float(steps[-1] - steps[0]), 1e-12)
    t = (steps - steps[0]) / span  # scaled to [0, 1] for conditioning; slopes are per run
    knees, projections, hats = _hinge_operators(t, min_side)
    sse = np.array([float(((accuracy - h @ accuracy) ** 2).sum()) for h in hats])
    best = int(np.argmin(sse))
    k = knees[best]
    coef = projections[best] @ accuracy
    fitted = hats[best] @ accuracy
    knee = float(steps[k])
    slope_before, slope_after = float(coef[1]), float(coef[1] + coef[2])  # accuracy per whole run
    null_curve = isotonic(accuracy)
    var = _noise(null_curve, accuracy - fitted, n_eval)
    gains = np.array([p[1] + p[2] for p in projections])  # y -> slope after each knee
    se = np.sqrt((gains ** 2 * var).sum(1))

    def statistic(y: np.ndarray) -> np.ndarray:
        return (y @ gains.T / se).min(axis=-1)

    rng = np.random.default_rng(seed)
    t_obs = float(statistic(accuracy))
    t_null = statistic(_simulate(rng, null_curve, var, n_eval, n_sim))
    p_value = float((1 + np.sum(t_null <= t_obs)) / (1 + n_sim))
    fall = -slope_after * float(t[-1] - t[k])
    out: dict[str, Any] = {"knee_step": int(knee), "accuracy_slope_before": slope_before / span,
                           "accuracy_slope_after": slope_after / span, "tolerance": abs_tol,
                           "onset_p_value": p_value, "accuracy_fall_after": fall}
    # reward after the knee (finite points only: the step-0 eval has none)
    def reward_rise(start: int) -> float:
        m = np.isfinite(reward) & (np.arange(n) >= start)
        if m.sum() < 3 or np.ptp(reward[m]) == 0:
            return 0.0
        line = np.polyfit(t[m], reward[m], 1)
        return float(line[0] * (t[-1] - t[m][0]))

    # accuracy never rose: no significant overall increase (one-sided, 5%) while reward rose
    x = t - t.mean()
    trend = float((x @ accuracy) / (x @ x))
    trend_se = float(np.sqrt(((x / (x @ x)) ** 2 * _noise(np.full(n, accuracy.mean()), accuracy - accuracy.mean(),
                                                             n_eval)).sum()))
    if trend / max(trend_se, 1e-12) < 1.645 and trend < abs_tol and p_value > alpha:
        rise = reward_rise(0)
        out["reward_rise_after"] = rise
        if rise > abs_tol:
            return {**out, "onset_step": int(steps[0]), "onset_ci95": [float(steps[0]), float(steps[0])],
                    "reason": "accuracy never rose while reward rose"}
        return {**out, "onset_step": None, "onset_ci95": None, "reason": "neither accuracy nor reward rose"}
    rise = reward_rise(k)
    out["reward_rise_after"] = rise
    if p_value > alpha or fall <= abs_tol:
        why = "keeps rising" if slope_after > abs_tol else "levels off (saturates) but does not fall"
        return {**out, "onset_step": None, "onset_ci95": None,
                "reason": f"accuracy {why} with reward (fall test p = {p_value:.2g})"}
    if rise <= abs_tol:
        return {**out, "onset_step": None, "onset_ci95": None,
                "reason": f"accuracy fell after step {int(knee)}, but so did reward (no reward rise)"}
    sims = _simulate(rng, fitted, _noise(fitted, accuracy - fitted, n_eval), n_eval, 200)
    sse_sims = np.stack([((sims - sims @ h.T) ** 2).sum(1) for h in hats], axis=1)
    knee_sims = steps[np.array(knees)[sse_sims.argmin(1)]]
    lo, hi = (float(v) for v in np.quantile(knee_sims, [0.025, 0.975]))
    return {**out, "onset_step": int(knee), "onset_ci95": [lo, hi],
            "reason": f"accuracy fell {fall:.3f} after step {int(knee)} (p = {p_value:.2g}) while reward rose "
                      f"{rise:+.3f}"}


def audit(run_dir: str | os.PathLike, *, abs_tol: float = 0.01, alpha: float = 0.05, seed: int = 0) -> AuditResult:
    from scipy.stats import spearmanr

    if isinstance(abs_tol, bool) or not isinstance(abs_tol, (int, float)) or not math.isfinite(abs_tol) \
            or not 0 <= abs_tol < 1:
        raise ConfigError(f"--tolerance must be an accuracy difference in [0, 1), got {abs_tol!r}")

    from vrd.stats import spearman_ci
    from vrd.trainers.rl_signal import signal_series

    run = read_run(run_dir)
    steps, reward, accuracy = align(run["train_steps"], run["rewards"], run["eval_steps"], run["accuracy"])
    paired = np.isfinite(reward)
    rho = ci = None
    if paired.sum() >= 3 and np.std(reward[paired]) > 0 and np.std(accuracy[paired]) > 0:
        rho = float(spearmanr(reward[paired], accuracy[paired]).statistic)
        lo, hi = spearman_ci(reward[paired], accuracy[paired], seed=seed)
        ci = None if math.isnan(lo) else [lo, hi]
    found = find_onset(steps, reward, accuracy, abs_tol=abs_tol, n_eval=run["eval_n"], alpha=alpha, seed=seed)
    onset = found.get("onset_step")
    return AuditResult(
        n_points=len(steps), spearman=rho, spearman_ci95=ci, source=str(run["path"]),
        steps=[int(s) for s in steps], reward=[None if not math.isfinite(r) else float(r) for r in reward],
        accuracy=accuracy.tolist(),
        onset_epoch=None if onset is None else at_step(run["epochs"], onset),
        onset_samples=None if onset is None else at_step(run["samples"], onset),
        **{k: v for k, v in found.items() if k in AuditResult.__dataclass_fields__},
        signal=signal_series(run["records"]),
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
    reward = [math.nan if r is None else r for r in result.reward]
    ax.plot(result.steps, reward, color="tab:blue", marker=".", label="train reward")
    ax.set_xlabel("step")
    ax.set_ylabel("train reward", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(result.steps, result.accuracy, color="tab:orange", marker=".", label="held-out accuracy")
    ax2.set_ylabel("held-out accuracy (greedy)", color="tab:orange")
    if result.onset_step is not None:
        ax.axvline(result.onset_step, color="tab:red", linestyle="--", label=f"onset @ {result.onset_step}")
        if result.onset_ci95 and result.onset_ci95[1] > result.onset_ci95[0]:
            ax.axvspan(*result.onset_ci95, color="tab:red", alpha=0.1, label="onset 95% interval")
    rho = "n/a" if result.spearman is None else f"{result.spearman:.2f}"
    ax.set_title(f"reward vs held-out accuracy (Spearman {rho})")
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    from vrd.outputs import atomic_path

    with atomic_path(out, out.suffix) as tmp:  # whole or absent: a kill never leaves half a PNG
        fig.savefig(tmp)  # savefig picks the format by suffix
    plt.close(fig)
    return out


def write_report(result: AuditResult, run_dir: str | os.PathLike) -> tuple[Path, Path]:
    """`reward_audit.json` and `reward_audit.png` in the run directory."""
    from vrd.outputs import write_text_atomic

    run = Path(run_dir)
    js = write_text_atomic(run / "reward_audit.json", json.dumps(result.to_dict(), indent=2))
    return js, plot(result, run / "reward_audit.png")
