"""vrd: distill, curate, measure and train chain-of-thought data for vision-language models.

The stages are top-level functions with one shape, `(inputs, out, config) -> result`:
`vrd.prepare`, `vrd.distill`, `vrd.curate`, `vrd.export`, `vrd.shift_report`, `vrd.evaluate`,
`vrd.train_sft`, `vrd.train_rl`, `vrd.audit` (see `vrd.api`). They load on first use, so
`import vrd` stays cheap.
"""

from __future__ import annotations

from importlib import metadata as _metadata
from typing import Any

try:
    __version__ = _metadata.version("vrd")
except _metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

API = ("prepare", "distill", "curate", "export", "shift_report", "evaluate", "train_sft", "train_rl", "audit")


def __getattr__(name: str) -> Any:
    if name in API:
        from vrd import api

        return getattr(api, name)
    raise AttributeError(f"module 'vrd' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted({*globals(), *API})
