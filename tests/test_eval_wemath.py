"""We-Math's official Score and IK/IG/CM/RM on a hand-computed case (rules from We-Math's evaluation code)."""

from __future__ import annotations

import pytest

from vrd.eval.results import summarize
from vrd.eval.wemath import step_level, wemath_scores


def _rows(spec: dict[str, dict[str, bool]]) -> tuple[list[dict], dict[str, dict]]:
    rows, metas = [], {}
    for pid, keys in spec.items():
        for key, ok in keys.items():
            rid = f"wemath/{pid}/{key}"
            metas[rid] = {"problem": pid, "key": key}
            rows.append({"id": rid, "sample": 0, "correct": ok})
    return rows, metas


SPEC = {
    "2steps_1": {"2steps_1": True, "2steps_2": True, "2steps_multi": True},     # CM (strict and loose)
    "2steps_2": {"2steps_1": True, "2steps_2": False, "2steps_multi": True},    # RM strict, CM loose
    "2steps_3": {"2steps_1": False, "2steps_2": False, "2steps_multi": True},   # RM strict and loose
    "2steps_4": {"2steps_1": True, "2steps_2": True, "2steps_multi": False},    # IG
    "3steps_1": {"3steps_1": False, "3steps_2": True, "3steps_3": True, "3steps_multi": False},  # IK
}


def test_official_metrics_by_hand() -> None:
    rows, metas = _rows(SPEC)
    w = wemath_scores(rows, metas)
    assert w["n_problems"] == 5
    assert (w["IK"], w["IG"], w["CM_strict"], w["CM_loose"]) == (0.2, 0.2, 0.2, 0.4)
    assert w["RM_strict"] == pytest.approx(2 / 3) and w["RM_loose"] == pytest.approx(1 / 3)
    assert w["score_strict"] == pytest.approx((5 - 0.5 - 2 - 1) / 5)  # 0.3
    assert w["score_loose"] == pytest.approx((5 - 0.5 - 1 - 1) / 5)  # 0.5
    assert w["S1"] == pytest.approx(7 / 11) and w["S2"] == pytest.approx(3 / 4) and w["S3"] == 0.0
    lo, hi = w["score_strict_ci95"]
    assert lo <= 0.3 <= hi


def test_step_labels_and_summary_block() -> None:
    assert [step_level(k) for k in ("2steps_1", "2steps_2", "2steps_multi", "3steps_3", "3steps_multi", "x")] == [
        "S1", "S1", "S2", "S1", "S3", None]
    import json

    rows, metas = _rows(SPEC)
    full = [{**r, "format_ok": True, "pred": "A", "n_tokens": 5, "finish_reason": "stop",
             "meta": json.dumps(metas[r["id"]])} for r in rows]
    summary = summarize(full)
    assert summary["wemath"]["score_loose"] == pytest.approx(0.5)
    assert list(summary["difficulty"]) == ["S1", "S2", "S3"]
    assert summary["difficulty"]["S2"]["accuracy"] == pytest.approx(3 / 4)


def test_incomplete_problems_are_left_out_and_non_wemath_is_none() -> None:
    spec = {**SPEC, "2steps_9": {"2steps_1": True, "2steps_multi": True}}  # a step missing (--limit)
    rows, metas = _rows(spec)
    assert wemath_scores(rows, metas)["n_problems"] == 5
    assert wemath_scores([{"id": "a", "correct": True}], {"a": {"subset": "x"}}) is None
