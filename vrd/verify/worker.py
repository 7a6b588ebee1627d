"""Entry point of one verifier worker process: `python -m vrd.verify.worker IN_FD OUT_FD`.

It reads `(task_id, pred, gold, soft_timeout)` tuples and answers `(task_id, status, value,
finished_at)`. A soft SIGALRM timer (legal here: this is the worker's own main thread) stops
most runaway sympy work cheaply, keeping the process; the parent's kill is the hard bound for
the rest (C-level big-integer arithmetic ignores signals). The worker also caps its address
space, so a runaway allocation fails with MemoryError instead of exhausting the machine.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from multiprocessing.connection import Connection

MEMORY_LIMIT_BYTES = 4 * 1024**3


class SoftTimeout(BaseException):
    """Raised by the timer; a BaseException so sympy's `except Exception` blocks let it through."""


def _on_alarm(signum, frame):  # noqa: ARG001 - signal handler signature
    raise SoftTimeout


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):  # not all platforms allow it; the kill still bounds time
        pass


def serve(rx: Connection, tx: Connection) -> None:
    from vrd.verify.symbolic import symbolic_equal

    # Warm the parser and the sympy paths most answers take before announcing readiness.
    for pred, gold in (("1", "1"), ("2\\sqrt{3}", "\\frac{\\pi}{2}")):
        symbolic_equal(pred, gold)
    signal.signal(signal.SIGALRM, _on_alarm)
    tx.send(("ready", None, None, time.monotonic()))
    while True:
        try:
            task = rx.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        task_id, pred, gold, soft_timeout = task
        status, value = "ok", False
        try:
            signal.setitimer(signal.ITIMER_REAL, max(soft_timeout, 0.01))
            try:
                value = bool(symbolic_equal(pred, gold))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except SoftTimeout:
            status = "timeout"
        except RecursionError:
            status = "error"
        except Exception:  # noqa: BLE001 - a grader error is an incorrect answer, not a crash
            status = "error"
        tx.send((task_id, status, value, time.monotonic()))


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to SIGKILL this worker when its parent dies (SIGTERM, kill -9, crash).

    The parent's atexit cleanup does not run on a signal, and a worker busy in sympy's C code
    never reads the closed pipe, so without this a killed `vrd verify` leaves orphans running.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(0)


def main(argv: list[str]) -> None:
    if len(argv) > 3:
        _die_with_parent(int(argv[3]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # Keep stray prints from sympy or math-verify off anything the parent reads.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    _limit_memory()
    rx = Connection(int(argv[1]), writable=False)
    tx = Connection(int(argv[2]), readable=False)
    serve(rx, tx)


if __name__ == "__main__":
    main(sys.argv)
