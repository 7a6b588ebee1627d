"""Run a real `vrd` process that kills itself at a chosen call: the kill lands at a known moment.

The driver wraps one function (`module.attr`, `module.Class.method`, optionally `@caller`: only
calls made from a function of that name count) and, on its N-th call, sends the process SIGKILL,
SIGINT or SIGTERM before or after the real call. Nothing in vrd knows about it: the hook lives
in the driver script, not in production code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from vrd.outputs import LOCK_DIR

ROOT = Path(__file__).parents[1]

DRIVER = r'''
import importlib, os, signal, sys
mode, target, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
SIGNALS = {"kill": signal.SIGKILL, "int": signal.SIGINT, "term": signal.SIGTERM}

def resolve(dotted):
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:-1]:
            owner = getattr(owner, name)
        return owner, parts[-1]
    raise SystemExit(f"driver: cannot resolve {dotted}")

if os.environ.get("VRD_TEST_FIXED_ENGINE"):  # the engine is not what a kill test tests
    import vrd.engines
    from vrd.engines.base import Completion, Engine

    class Fixed(Engine):
        name = "fixed"

        def generate(self, requests, params):
            return [[Completion(f"<think>step {i}</think> The answer is \\boxed{{42}}.", 9, "stop")
                     for i in range(params.n)] for _ in requests]

    vrd.engines.get_engine = lambda name, model, **kw: Fixed(model)
if target != "-":
    dotted, _, caller = target.partition("@")
    owner, attr = resolve(dotted)
    real = getattr(owner, attr)
    kind, _, when = mode.partition("-")
    calls = [0]

    def wrapped(*a, **k):
        if caller and sys._getframe(1).f_code.co_name != caller:
            return real(*a, **k)
        calls[0] += 1
        hit = calls[0] == n
        if hit and when == "before":
            os.kill(os.getpid(), SIGNALS[kind])
        result = real(*a, **k)
        if hit and when == "after":
            os.kill(os.getpid(), SIGNALS[kind])
        return result

    setattr(owner, attr, staticmethod(wrapped) if isinstance(owner, type) and isinstance(
        owner.__dict__.get(attr), staticmethod) else wrapped)
from vrd.cli.main import app
app(sys.argv[4:], standalone_mode=True, prog_name="vrd")
'''


def run_vrd(tmp: Path, args: list[str], *, at: str = "-", mode: str = "none", n: int = 1,
            timeout: float = 300, fixed_engine: bool = False) -> subprocess.CompletedProcess:
    """`vrd ARGS` in a fresh process; `mode` is kill|int|term-before|after, `at` the function to hit;
    `fixed_engine` answers every request with the same reply instead of loading a model."""
    driver = tmp / "kill_driver.py"
    if not driver.exists():
        driver.write_text(DRIVER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]),
           "PYTHONUNBUFFERED": "1", **({"VRD_TEST_FIXED_ENGINE": "1"} if fixed_engine else {})}
    return subprocess.run([sys.executable, str(driver), mode, at, str(n), *[str(a) for a in args]],
                          capture_output=True, text=True, env=env, timeout=timeout)


# Fields that differ between two runs of the same command by nature: when and how it was run.
VOLATILE = frozenset({"command", "created", "updated", "seconds", "time", "elapsed_s", "train_seconds"})


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def snapshot(root: Path) -> dict[str, Any]:
    """Every file under `root` (locks aside) by relative path, as a reader would see it: bytes, or
    for JSON files the parsed value without the fields that record when and how a run was made."""
    if not root.exists():
        return {}
    found: dict[str, Any] = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or LOCK_DIR in p.relative_to(root).parts:
            continue
        data = p.read_bytes()
        if data[:1] in (b"{", b"["):  # a JSON file (the export mark may be named .parquet)
            try:
                found[str(p.relative_to(root))] = _stable(json.loads(data))
                continue
            except ValueError:
                pass  # a torn JSON file is compared as bytes, and differs
        found[str(p.relative_to(root))] = data
    return found


def leftovers(folder: Path) -> list[str]:
    """Hidden staging folders and temporary files a writer leaves beside or inside its output."""
    found = []
    for p in folder.rglob(".*"):
        if LOCK_DIR in p.parts:
            continue
        if ".staging-" in p.name or ".tmp" in p.name or ".partial" in p.name or ".old-" in p.name:
            found.append(str(p.relative_to(folder)))
    return sorted(found)
