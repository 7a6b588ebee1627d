"""verify_batch: order, agreement with verify_response, de-duplication, bounds, no processes for fast items."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from vrd.verify import pool as pool_mod
from vrd.verify import prewarm, verify_batch, verify_response

OPTS = ["10", "12", "14", "16"]
TOWER = "<think>t</think>\\boxed{9^{9^{9^{9}}}}"


@pytest.fixture(autouse=True, scope="module")
def _warm_workers() -> None:
    prewarm(2)


def _items() -> list[dict]:
    return [
        {"response": "<think>a</think>\\boxed{B}", "answer": "B", "choices": OPTS},
        {"response": "<think>a</think>\\boxed{2\\sqrt{3}}", "answer": "\\sqrt{12}"},
        {"response": "<think>a</think><answer>12 cm</answer>", "answer": "12", "template": "r1v"},
        {"response": "The answer is 13.", "answer": "12"},
        {"response": "<think>a</think>\\boxed{\\frac{\\pi}{3}}", "answer": "\\frac{\\pi}{6}"},
        {"response": "<think>a</think>\\boxed{14}", "answer": "B", "choices": OPTS},
        {"response": "<think>a</think>\\boxed{0.866}", "answer": "\\frac{\\sqrt{3}}{2}", "answer_type": "expression"},
        {"response": None, "answer": "3"},
        {"response": "<think>a</think>\\boxed{45\\%}", "answer": 0.45},
    ]


EXPECTED = [
    ("B", True, True), ("2\\sqrt{3}", True, True), ("12 cm", True, True), ("13", False, False),
    ("\\frac{\\pi}{3}", False, True), ("C", False, True), ("0.866", True, True), (None, False, False),
    ("45\\%", True, True),
]


def test_batch_results_in_order_and_equal_to_single_calls() -> None:
    items = _items()
    results = verify_batch(items, workers=2)
    assert [(r.pred, r.correct, r.format_ok) for r in results] == EXPECTED
    singles = [
        verify_response(it["response"], it["answer"], choices=it.get("choices"), answer_type=it.get("answer_type"),
                        template=it.get("template", "math"))
        for it in items
    ]
    assert results == singles


@pytest.mark.parametrize("workers", [1, 3])
def test_worker_count_does_not_change_results(workers: int) -> None:
    items = _items() * 5
    results = verify_batch(items, workers=workers)
    assert [(r.pred, r.correct, r.format_ok) for r in results] == EXPECTED * 5


def test_repeated_answers_are_graded_once() -> None:
    gold = "\\frac{7\\sqrt{5}}{3}"  # unusual, so no earlier test has cached it
    items = [{"response": f"<think>s{i}</think>\\boxed{{\\frac{{7}}{{3}}\\sqrt{{5}}}}", "answer": gold} for i in range(20)]
    items += [{"response": "\\boxed{\\sqrt{5}}", "answer": gold}] * 5
    stats: dict = {}
    results = verify_batch(items, stats=stats)
    assert [r.correct for r in results] == [True] * 20 + [False] * 5
    assert stats["slow_items"] == 2


def test_letters_and_numbers_start_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args, **kwargs):
        raise AssertionError("a worker process was started for a fast-path item")

    monkeypatch.setattr(pool_mod, "Worker", forbidden)
    monkeypatch.setattr(pool_mod, "_POOL", pool_mod.WorkerPool())  # no idle workers to borrow either
    items = [
        {"response": "<think>x</think>\\boxed{C}", "answer": "C", "choices": OPTS},
        {"response": "**Answer:** (A)", "answer": "B", "choices": OPTS},
        {"response": "<think>x</think>\\boxed{30^\\circ}", "answer": "30"},
        {"response": "<answer>1,234 students</answer>", "answer": "1234"},
        {"response": "The answer is 3/4.", "answer": "0.75"},
        {"response": "\\boxed{parallel}", "answer": "perpendicular"},
    ] * 50
    results = verify_batch(items)
    assert [r.correct for r in results[:6]] == [True, False, True, True, True, False]


def test_one_runaway_item_does_not_hold_up_the_batch() -> None:
    items = [{"response": "\\boxed{\\sqrt{8}}", "answer": "2\\sqrt{2}"}, {"response": TOWER, "answer": "1"},
             {"response": "\\boxed{\\sqrt{18}}", "answer": "3\\sqrt{2}"}, {"response": "\\boxed{B}", "answer": "B"}]
    stats: dict = {}
    start = time.monotonic()
    results = verify_batch(items, timeout=1.0, stats=stats)
    assert time.monotonic() - start < 1.0 + 3.0
    assert [r.correct for r in results] == [True, False, True, True]
    assert [r.timed_out for r in results] == [False, True, False, False]
    assert stats["timed_out"] == 1 and 0.7 <= stats["slowest_item_s"] <= 2.0


def test_batch_from_worker_threads() -> None:
    batches = [[{"response": TOWER, "answer": "1"}, {"response": "\\boxed{\\sqrt{27}}", "answer": "3\\sqrt{3}"}]] * 3
    with ThreadPoolExecutor(max_workers=3) as ex:
        outs = list(ex.map(lambda b: verify_batch(b, workers=1, timeout=1.0), batches))
    for out in outs:
        assert [(r.correct, r.timed_out) for r in out] == [(False, True), (True, False)]


def test_bad_items_name_their_index() -> None:
    with pytest.raises(ValueError, match="item 1: answer is missing"):
        verify_batch([{"response": "x", "answer": "1"}, {"response": "x"}])
    with pytest.raises(KeyError, match="item 0: .*unknown template 'latex'"):
        verify_batch([{"response": "x", "answer": "1", "template": "latex"}])
    with pytest.raises(ValueError, match="choices must be a list"):
        verify_batch([{"response": "x", "answer": "1", "choices": "A,B"}])


def test_empty_batch() -> None:
    assert verify_batch([]) == []
