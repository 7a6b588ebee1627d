"""Worker processes for the slow path, with a hard per-item time bound.

Why processes that get killed, not signals or threads: SIGALRM works only on the main thread
of the main interpreter, and neither a signal nor a thread can stop sympy stuck in C code on
`9^{9^{9^{9}}}`. Here each task runs in a worker process; the calling thread (any thread)
watches the clock and SIGKILLs a worker whose current task overruns, answers "timed out" for
that task, re-queues the worker's other tasks and starts a fresh worker.

Workers are plain `subprocess` children (not `multiprocessing`), so they can be started from
daemonic pool processes, Ray actors or a training process with CUDA threads alike. Idle workers
are kept for the next call, because starting one (importing sympy) takes about half a second.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from vrd.errors import ConfigError, VrdError

PIPELINE_DEPTH = 2  # tasks queued per worker, so it never waits on the parent between tasks
SOFT_FRACTION = 0.8  # the in-worker timer fires first and usually saves a respawn
STARTUP_TIMEOUT_S = 120.0
MAX_PENDING = 4_096  # tasks pulled ahead while workers start

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class Task:
    key: object
    pred: str
    gold: str


@dataclass(frozen=True)
class Outcome:
    """`status` is "ok", "timeout" (killed or timer), "error" (grader raised) or "crash" (worker died)."""

    key: object
    status: str
    equal: bool
    seconds: float = 0.0  # time the task held its worker


def _death_watch() -> list[str]:
    """The parent pid for the worker to die with (see worker._die_with_parent), main thread only.

    Linux ties PR_SET_PDEATHSIG to the thread that forked, not the process: a worker started
    by a short-lived thread (a thread pool calling verify_response) would be killed when that
    thread ends, so those workers rely on their pipe closing instead.
    """
    return [str(os.getpid())] if threading.current_thread() is threading.main_thread() else []


class Worker:
    """One worker process and the tasks sent to it, oldest first."""

    def __init__(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        self._stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vrd.verify.worker", str(to_child_r), str(from_child_w),
                 *_death_watch()],
                pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                env=env,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.tx = Connection(to_child_w, readable=False)
        self.rx = Connection(from_child_r, writable=False)
        self.started = time.monotonic()
        self.ready = False
        self.free_since = self.started  # when its current head task could start
        self.inflight: deque[tuple[Task, float]] = deque()

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT_S) -> None:
        """Block until the worker has imported math-verify (it announces itself once)."""
        if self.ready:
            return
        if not self.rx.poll(timeout):
            self.kill()
            raise VrdError(f"a verifier worker did not start within {timeout:.0f}s")
        try:
            message = self.rx.recv()
        except (EOFError, OSError):
            detail = self.stderr_tail()
            self.kill()
            raise VrdError(f"a verifier worker failed to start: {detail or 'no output'}") from None
        self.ready, self.free_since = True, message[3]

    def send(self, task: Task, soft_timeout: float) -> None:
        now = time.monotonic()
        if not self.inflight:
            self.free_since = now
        self.tx.send((id(task), task.pred, task.gold, soft_timeout))
        self.inflight.append((task, now))

    def deadline(self, timeout: float) -> float:
        return max(self.free_since, self.inflight[0][1]) + timeout

    def stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            return self._stderr.read()[-2000:].decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.close_pipes()

    def close(self) -> None:
        try:
            self.tx.send(None)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
        self.close_pipes()

    def close_pipes(self) -> None:
        for conn in (self.tx, self.rx):
            try:
                conn.close()
            except OSError:
                pass
        self._stderr.close()


class WorkerPool:
    """Idle workers kept between calls. Each caller borrows workers exclusively, so calls from
    many threads at once never share a worker (and never wait on each other's slow items)."""

    def __init__(self) -> None:
        self._idle: list[Worker] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self.max_idle = max(os.cpu_count() or 1, 2) * 2

    def acquire(self, n: int) -> list[Worker]:
        with self._lock:
            taken, self._idle = self._idle[:n], self._idle[n:]
        dead = [w for w in taken if w.proc.poll() is not None]  # killed from outside while idle
        for w in dead:
            w.kill()
        taken = [w for w in taken if w not in dead]
        return taken + [Worker() for _ in range(n - len(taken))]

    def release(self, workers: Iterable[Worker]) -> None:
        extra = []
        with self._lock:
            for w in workers:
                if w.inflight or w.proc.poll() is not None:
                    w.kill()  # stale results in its pipe; never reuse
                elif len(self._idle) < self.max_idle:
                    self._idle.append(w)
                else:
                    extra.append(w)
        for w in extra:
            w.close()

    def shutdown(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for w in idle:
            w.close()


def prewarm(n: int | None = None) -> None:
    """Start `n` workers (default: one per core) and wait until they are ready, so that the first
    slow items of a run do not pay for start-up. Useful before timing, or in a trainer's setup."""
    pool = get_pool()
    workers = pool.acquire(n or default_workers())
    try:
        for w in workers:
            w.wait_ready()
    finally:
        pool.release(workers)


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def get_pool() -> WorkerPool:
    """The process-wide pool; a forked child gets its own instead of its parent's workers."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._pid != os.getpid():
            _POOL = WorkerPool()
        return _POOL


@atexit.register
def _shutdown() -> None:
    if _POOL is not None and _POOL._pid == os.getpid():
        _POOL.shutdown()


MAX_TIMEOUT_S = 3600.0  # an item that needs more than an hour is wrong; larger values overflow poll()


def check_timeout(timeout: float) -> float:
    """A per-item timeout in (0, MAX_TIMEOUT_S]: nan would grade slow items wrong, inf/1e12 overflow."""
    import math

    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or math.isnan(timeout) \
            or not 0 < timeout <= MAX_TIMEOUT_S:
        raise ConfigError(f"--timeout must be a positive number of seconds, at most {MAX_TIMEOUT_S:g}, got {timeout!r}")
    return float(timeout)


def check_workers(workers: int | None) -> int:
    """Worker processes to use: at most one per core (more only add memory and contention)."""
    cores = default_workers()
    if workers is None or workers == 0:
        return cores
    if workers < 0:
        raise ConfigError(f"--workers must be >= 0 (0 = one per core), got {workers}")
    return min(int(workers), cores)


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def run_tasks(
    tasks: Iterable[Task], *, timeout: float, workers: int | None = None, soft_fraction: float = SOFT_FRACTION
) -> Iterator[Outcome]:
    """Yield an Outcome for every task, in completion order, each task bounded by `timeout` seconds.

    `tasks` is consumed lazily, so a caller can interleave its own cheap work with the pulls;
    no worker is started until the first task arrives. The bound runs from when a ready worker
    can start the task, so it excludes a worker's own start-up (about half a second, once).
    """
    check_timeout(timeout)
    n_workers = check_workers(workers)
    source = iter(tasks)
    pending: deque[Task] = deque()
    exhausted = False
    pool = get_pool()
    active: list[Worker] = []
    soft = timeout * soft_fraction
    try:
        while True:
            ready = [w for w in active if w.ready]
            capacity = PIPELINE_DEPTH * max(len(active), n_workers)
            # Pull ahead: enough to keep every worker fed, more while they are still starting.
            while not exhausted and (len(pending) < capacity or (not ready and len(pending) < MAX_PENDING)):
                try:
                    pending.append(next(source))
                except StopIteration:
                    exhausted = True
            if pending and not active:
                active = pool.acquire(n_workers)
            for w in ready:
                while pending and len(w.inflight) < PIPELINE_DEPTH:
                    task = pending.popleft()
                    try:
                        w.send(task, soft)
                    except OSError:  # the worker died between tasks: the task never started
                        pending.appendleft(task)
                        yield from _replace(active, w, pending, "crash")
                        break
            if exhausted and not pending and not any(w.inflight for w in active):
                return
            now = time.monotonic()
            deadlines = [w.deadline(timeout) for w in active if w.inflight]
            deadlines += [w.started + STARTUP_TIMEOUT_S for w in active if not w.ready]
            wait_s = max(0.0, min(deadlines) - now) if deadlines else 0.05
            by_conn = {w.rx: w for w in active}
            for conn in wait(list(by_conn), timeout=wait_s):
                w = by_conn[conn]
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    yield from _replace(active, w, pending, "crash")
                    continue
                task_id, status, equal, finished_at = message
                if task_id == "ready":
                    w.ready, w.free_since = True, finished_at
                    continue
                started = w.deadline(0.0)
                task, _ = w.inflight.popleft()
                if id(task) != task_id:  # cannot happen with an ordered pipe; fail loudly if it does
                    raise RuntimeError("verifier worker answered out of order")
                w.free_since = finished_at
                yield Outcome(task.key, status, bool(equal), max(0.0, finished_at - started))
            now = time.monotonic()
            for w in list(active):
                if w.inflight and now > w.deadline(timeout):
                    yield from _replace(active, w, pending, "timeout")
                elif not w.ready and (now > w.started + STARTUP_TIMEOUT_S or w.proc.poll() is not None):
                    detail = w.stderr_tail()
                    w.kill()
                    active.remove(w)
                    raise VrdError(f"a verifier worker failed to start: {detail or 'no output'}")
    finally:
        pool.release(active)


def _replace(active: list[Worker], w: Worker, pending: deque[Task], status: str) -> Iterator[Outcome]:
    """Kill `w`, report its head task with `status`, re-queue the rest and start a replacement."""
    started = w.deadline(0.0) if w.inflight else time.monotonic()
    head = w.inflight.popleft()[0] if w.inflight else None
    rest = [task for task, _ in w.inflight]
    w.inflight.clear()
    if status == "crash" and not w.ready:
        detail = w.stderr_tail()
        w.kill()
        active.remove(w)
        raise VrdError(f"a verifier worker failed to start: {detail or 'no output'}")
    w.kill()
    active[active.index(w)] = Worker()
    pending.extendleft(reversed(rest))
    if head is not None:
        yield Outcome(head.key, status, False, time.monotonic() - started)
