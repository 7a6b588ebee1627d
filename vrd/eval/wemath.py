"""We-Math's own metrics (Qiao et al., 2024; github.com/We-Math/We-Math, evaluation/*.py).

A We-Math multi-step problem (`ID` such as `2steps_17`) has one question per knowledge step
(`key` `2steps_1`, `2steps_2`) and the composite question (`2steps_multi`); three-step problems
likewise. Merging a problem's rows, the composite answer is read against its steps:

    IK  insufficient knowledge     some step wrong,  composite wrong
    IG  inadequate generalization  every step right, composite wrong
    CM  complete mastery           strict: every step right, composite right; loose: any step right
    RM  rote memorization          strict: some step wrong,  composite right; loose: every step wrong

IK, IG and CM are shares of the N multi-step problems (525 in testmini), RM a share of CM + RM,
and Score = (N - 0.5 IG - RM - IK) / N, strict and loose. S1 is the accuracy on the one-step
questions, S2 on `2steps_multi`, S3 on `3steps_multi` (the step questions of a 2-step problem
are one-step questions, not 2-step ones). With several samples per question each sample index
is scored as one full run and the scores are averaged. Score intervals resample problems.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

KEY = re.compile(r"^(\d+)steps_(\d+|multi)$")


def parse_key(key: Any) -> tuple[int, str] | None:
    """'2steps_multi' -> (2, 'multi'); '3steps_2' -> (3, '2'); anything else None."""
    m = KEY.match(str(key or "").strip())
    return (int(m.group(1)), m.group(2)) if m else None


def step_level(key: Any) -> str | None:
    """We-Math's difficulty label: S1 for a step question, S2 / S3 for a 2- / 3-step composite."""
    parsed = parse_key(key)
    if parsed is None:
        return None
    steps, part = parsed
    return f"S{steps}" if part == "multi" else "S1"


def is_wemath(metas: Sequence[Mapping[str, Any]]) -> bool:
    return bool(metas) and all(parse_key(m.get("key")) and m.get("problem") is not None for m in metas)


def _categories(steps_ok: Sequence[bool], multi_ok: bool) -> dict[str, bool]:
    all_right, any_right = all(steps_ok), any(steps_ok)
    return {
        "IK": not all_right and not multi_ok,
        "IG": all_right and not multi_ok,
        "CM_strict": all_right and multi_ok,
        "CM_loose": any_right and multi_ok,
        "RM_strict": not all_right and multi_ok,
        "RM_loose": not any_right and multi_ok,
    }


def _one_run(correct: Mapping[tuple[str, str], bool]) -> dict[str, Any] | None:
    """Official figures for one response per question: `correct[(problem ID, key)]`."""
    problems: dict[str, dict[str, bool]] = defaultdict(dict)
    for (pid, key), ok in correct.items():
        problems[pid][key] = ok
    cats, s1 = [], []
    by_steps: dict[int, list[bool]] = defaultdict(list)
    for _pid, keys in sorted(problems.items()):
        parsed = {parse_key(k): ok for k, ok in keys.items()}
        n_steps = next(iter(parsed))[0]
        multi = parsed.get((n_steps, "multi"))
        steps = [parsed.get((n_steps, str(i))) for i in range(1, n_steps + 1)]
        if multi is None or any(s is None for s in steps):
            continue  # an incomplete problem (e.g. --limit cut it): left out, as We-Math's merge would
        s1.extend(bool(s) for s in steps)
        by_steps[n_steps].append(bool(multi))
        cats.append(_categories([bool(s) for s in steps], bool(multi)))
    if not cats:
        return None
    n = len(cats)
    counts = {k: sum(c[k] for c in cats) for k in cats[0]}
    contrib = {mode: np.array([1.0 - 0.5 * c["IG"] - c[f"RM_{mode}"] - c["IK"] for c in cats])
               for mode in ("strict", "loose")}

    def share(num: float, den: float) -> float | None:
        return num / den if den else None

    return {
        "n_problems": n,
        "score_strict": float(contrib["strict"].mean()),
        "score_loose": float(contrib["loose"].mean()),
        "IK": counts["IK"] / n,
        "IG": counts["IG"] / n,
        "CM_strict": counts["CM_strict"] / n,
        "CM_loose": counts["CM_loose"] / n,
        "RM_strict": share(counts["RM_strict"], counts["CM_strict"] + counts["RM_strict"]),
        "RM_loose": share(counts["RM_loose"], counts["CM_loose"] + counts["RM_loose"]),
        "counts": counts,
        "S1": float(np.mean(s1)),
        **{f"S{k}": float(np.mean(v)) for k, v in sorted(by_steps.items())},
        "_contrib": contrib,
    }


def wemath_scores(rows: Sequence[Mapping[str, Any]], metas: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """The official We-Math block for one benchmark's response rows (None if they are not We-Math's)."""
    from vrd.stats import bootstrap_indices, percentile_ci

    by_sample: dict[int, dict[tuple[str, str], bool]] = defaultdict(dict)
    for r in rows:
        meta = metas[r["id"]]
        if parse_key(meta.get("key")) is None or meta.get("problem") is None:
            return None
        by_sample[int(r.get("sample") or 0)][(str(meta["problem"]), str(meta["key"]))] = bool(r["correct"])
    runs = [run for run in (_one_run(by_sample[s]) for s in sorted(by_sample)) if run is not None]
    if not runs:
        return None
    keys = [k for k in runs[0] if k not in ("counts", "_contrib", "n_problems")]
    out: dict[str, Any] = {"n_problems": runs[0]["n_problems"], "samples_averaged": len(runs)}
    for k in keys:
        values = [r[k] for r in runs if r.get(k) is not None]
        out[k] = float(np.mean(values)) if values else None
    out["counts"] = runs[0]["counts"] if len(runs) == 1 else None
    for mode in ("strict", "loose"):
        contrib = np.mean([r["_contrib"][mode] for r in runs if len(r["_contrib"][mode]) == out["n_problems"]], axis=0)
        reps = contrib[bootstrap_indices(contrib.size)].mean(1)
        out[f"score_{mode}_ci95"] = list(percentile_ci(reps, n=contrib.size))
    out["definition"] = ("We-Math official: Score = (N - 0.5 IG - RM - IK) / N over the N multi-step problems; "
                         "IK/IG/CM share of N, RM share of CM + RM; S1 one-step questions, S2/S3 composites")
    return out
