"""The one difficulty scheme: synergy L1-L5 by counts of 16, fixed, quantile and custom edges."""

from __future__ import annotations

import pytest

from vrd.difficulty import NO_ROLLOUTS, get_scheme, levels, split_halves
from vrd.errors import VrdError


def test_synergy_levels_match_the_paper_counts_of_16() -> None:
    s = get_scheme("synergy")
    want = {16: "L1", 12: "L1", 11: "L2", 8: "L2", 7: "L3", 5: "L3", 4: "L4", 2: "L4", 1: "L5", 0: "L5"}
    for c, label in want.items():
        assert s.label_counts(c, 16) == label, c
    assert s.labels == ("L1", "L2", "L3", "L4", "L5")
    assert s.label(None) == NO_ROLLOUTS and s.label(float("nan")) == NO_ROLLOUTS


def test_synergy_tolerates_float32_rates() -> None:
    import numpy as np

    s = get_scheme("synergy")
    assert s.label(float(np.float32(5 / 16))) == "L3" and s.label(float(np.float32(0.75))) == "L1"


def test_fixed_quantile_and_edges() -> None:
    f = get_scheme("fixed")
    assert [f.label(p) for p in (0.0, 0.1, 1 / 3, 0.5, 2 / 3, 0.9, 1.0)] == [
        "unsolved", "hard", "hard", "medium", "medium", "easy", "trivial"]
    q = get_scheme("quantile", [0.0, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95, 1.0])
    assert [q.label(p) for p in (0.9, 0.93, 0.95)] == ["hard", "medium", "easy"]
    e = get_scheme("edges:0.5,0.25")
    assert [e.label(p) for p in (0.0, 0.25, 0.49, 0.5, 1.0)] == ["[0,0.25)", "[0.25,0.5)", "[0.25,0.5)",
                                                               "[0.5,1]", "[0.5,1]"]
    with pytest.raises(VrdError, match="edges"):
        get_scheme("edges:0,2")
    with pytest.raises(VrdError, match="synergy"):
        get_scheme("fifths")


def test_levels_and_independent_halves() -> None:
    assert levels({"a": 1.0, "b": 0.0}) == {"a": "L1", "b": "L5"}
    first, second = split_halves({"a": [True, False, True, False], "b": [True], "c": [False, True]})
    assert first == {"a": 1.0, "c": 0.0} and second == {"a": 0.0, "c": 1.0}
