"""The hard time bound: off the main thread, in thread pools, and when a worker must be killed."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from vrd.verify import grade, verify_response
from vrd.verify import pool as pool_mod
from vrd.verify.pool import Task, run_tasks


@pytest.fixture(autouse=True, scope="module")
def _warm_workers() -> None:
    """Start workers up front: the bounds below are about items, not about importing sympy."""
    pool_mod.prewarm(4)


TOWER = "<think>power tower</think>\n\\boxed{9^{9^{9^{9}}}}"
SLACK = 2.0  # scheduling on a busy 2-core machine, and a replacement worker now and then


def test_tower_times_out_on_main_thread() -> None:
    start = time.monotonic()
    result = verify_response(TOWER, "1", timeout=1.0)
    assert (result.correct, result.timed_out, result.format_ok) == (False, True, True)
    assert time.monotonic() - start < 1.0 + SLACK


def test_timeout_in_a_plain_thread() -> None:
    box: dict[str, object] = {}

    def run() -> None:
        start = time.monotonic()
        box["result"] = verify_response(TOWER, "1", timeout=1.0)
        box["elapsed"] = time.monotonic() - start

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    result = box["result"]
    assert result.timed_out and not result.correct  # type: ignore[union-attr]
    assert box["elapsed"] < 1.0 + SLACK  # type: ignore[operator]


def test_timeouts_and_answers_from_a_thread_pool() -> None:
    jobs = [(TOWER, "1", False), ("\\boxed{2\\sqrt{3}}", "\\sqrt{12}", True),
            ("\\boxed{\\frac{\\pi}{2}}", "\\frac{1}{2}\\pi", True), (TOWER, "7", False),
            ("\\boxed{12}", "12", True), ("\\boxed{\\sqrt{2}}", "1.5", False)]
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as ex:
        results = list(ex.map(lambda job: verify_response(job[0], job[1], timeout=1.0), jobs))
    assert [r.correct for r in results] == [expected for _, _, expected in jobs]
    assert [r.timed_out for r in results] == [True, False, False, True, False, False]
    # Each thread borrows its own worker, so the two towers run side by side, not one after the other.
    assert time.monotonic() - start < 2 * 1.0 + SLACK


def test_grade_is_bounded_off_the_main_thread() -> None:
    with ThreadPoolExecutor(max_workers=1) as ex:
        fut = ex.submit(grade, "9^{9^{9^{9}}}", "1", timeout=1.0)
        assert fut.result(timeout=1.0 + SLACK) is False


def test_hard_kill_when_the_worker_ignores_its_timer() -> None:
    """With the in-worker timer pushed past the bound, only the parent's SIGKILL can stop the item;
    the worker is replaced and the next task is graded by the new one."""
    tasks = [Task("tower", "9^{9^{9^{9}}}", "1"), Task("root", "2\\sqrt{3}", "\\sqrt{12}"),
             Task("pi", "6.2832", "2\\pi")]
    start = time.monotonic()
    outcomes = {o.key: o for o in run_tasks(tasks, timeout=1.0, workers=1, soft_fraction=50.0)}
    elapsed = time.monotonic() - start
    assert outcomes["tower"].status == "timeout" and outcomes["tower"].equal is False
    assert 0.9 <= outcomes["tower"].seconds < 1.0 + 1.0
    assert (outcomes["root"].status, outcomes["root"].equal) == ("ok", True)
    assert (outcomes["pi"].status, outcomes["pi"].equal) == ("ok", True)
    assert elapsed < 1.0 + 2 * SLACK  # includes starting the replacement worker


def test_worker_is_replaced_after_a_kill() -> None:
    pool_mod.get_pool().shutdown()  # so the one idle worker below is the one the task gets
    before = pool_mod.get_pool().acquire(1)[0]
    pid = before.proc.pid
    pool_mod.get_pool().release([before])
    outcomes = list(run_tasks([Task(0, "9^{9^{9^{9}}}", "1")], timeout=0.5, workers=1, soft_fraction=50.0))
    assert outcomes[0].status == "timeout"
    after = pool_mod.get_pool().acquire(1)[0]
    try:
        assert after.proc.pid != pid
        assert after.proc.poll() is None
    finally:
        pool_mod.get_pool().release([after])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        list(run_tasks([Task(0, "1", "1")], timeout=0))


def test_a_worker_killed_while_idle_is_replaced() -> None:
    from vrd.verify.cache import RESULTS

    RESULTS.clear()
    pool = pool_mod.get_pool()
    pool.shutdown()
    (worker,) = pool.acquire(1)
    worker.wait_ready()
    pool.release([worker])
    worker.proc.kill()
    worker.proc.wait()
    assert grade("\\frac{\\sqrt{8}}{2}", "\\sqrt{2}", timeout=5.0) is True
