"""Where the demo keeps what is expensive to rebuild, keyed by the code and config that made it.

A second `vrd demo` must skip teacher training, but a change to the model factory, the synth
generator, the trainer or the teacher's settings must not reuse a stale teacher: the key hashes
all of them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import vrd


def cache_root() -> Path:
    """`$VRD_CACHE`, else `$XDG_CACHE_HOME/vrd`, else `~/.cache/vrd`."""
    if os.environ.get("VRD_CACHE"):
        return Path(os.environ["VRD_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vrd"


def code_digest(modules: Iterable[str]) -> str:
    """Hash of the source files of `modules` (packages: every .py and template below them)."""
    root = Path(vrd.__file__).parent
    h = hashlib.sha256()
    for name in sorted(modules):
        rel = Path(*name.split(".")[1:])
        target = root / rel
        files = sorted(p for p in target.rglob("*") if p.suffix in (".py", ".jinja", ".yaml")) \
            if target.is_dir() else [target.with_suffix(".py")]
        for f in files:
            if f.exists():
                h.update(str(f.relative_to(root)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()


def cache_key(config: Mapping[str, Any], modules: Iterable[str]) -> str:
    payload = json.dumps({"config": config, "code": code_digest(modules)}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
