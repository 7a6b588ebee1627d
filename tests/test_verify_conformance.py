"""vrd against math-verify's own test suite: agree at least as often, never pass a wrong answer.

`data/mathverify_cases.jsonl` holds every (gold, prediction, asserted verdict) row of the
parametrized tests in huggingface/Math-Verify `tests/` (commit 5d148cf), with its origin, and the
verdict of math-verify's default `parse` + `verify`. Cases whose asserted verdict needs a
non-default math-verify setting keep their `note`; they count towards agreement like the rest
but are exempt from the false-positive rule (their "wrong" holds only under that setting).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from vrd.verify import prewarm, verify_batch

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "mathverify_cases.jsonl").open()]


@pytest.fixture(scope="module")
def verdicts() -> list[bool]:
    prewarm(2)
    # A generous bound: under a loaded CI machine a few of these LaTeX cases take seconds.
    results = verify_batch([{"response": c["pred"], "answer": c["gold"]} for c in CASES], timeout=20.0)
    return [r.correct for r in results]


def test_table_is_the_whole_suite() -> None:
    assert len(CASES) >= 260
    assert all(c["origin"].startswith("test_") and "::" in c["origin"] for c in CASES)
    assert sum(bool(c["note"]) for c in CASES) <= 10


def test_stored_math_verify_verdicts_are_live() -> None:
    """The stored default verdicts are what the installed math-verify says (checked on a sample)."""
    from math_verify import parse, verify

    sample = random.Random(0).sample(CASES, 12)
    for c in sample:
        assert bool(verify(parse(c["gold"]), parse(c["pred"]))) == c["mathverify_default"], c["origin"]


def test_agrees_at_least_as_often_as_math_verify(verdicts: list[bool]) -> None:
    vrd_agree = sum(v == c["expected"] for v, c in zip(verdicts, CASES, strict=True))
    mv_agree = sum(c["mathverify_default"] == c["expected"] for c in CASES)
    disagreements = [(c["origin"], c["gold"][:60], c["pred"][:60]) for v, c in zip(verdicts, CASES, strict=True)
                     if v != c["expected"] and not c["note"]]
    assert vrd_agree >= mv_agree, f"vrd {vrd_agree} < math-verify {mv_agree}: {disagreements}"


def test_never_grades_an_asserted_wrong_pair_correct(verdicts: list[bool]) -> None:
    false_positives = [c["origin"] for v, c in zip(verdicts, CASES, strict=True)
                       if v and not c["expected"] and not c["note"]]
    assert false_positives == []
