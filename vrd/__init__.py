"""vrd: distill, curate, measure and train chain-of-thought data for vision-language models.

The stages are top-level functions with one shape, `(inputs, out, config) -> result`:
`vrd.prepare`, `vrd.distill`, `vrd.curate`, `vrd.export`, `vrd.shift_report`, `vrd.evaluate`,
`vrd.train_sft`, `vrd.train_rl`, `vrd.audit` (see `vrd.api`). They load on first use, so
`import vrd` stays cheap.
"""

from __future__ import annotations

import sys as _sys
import types as _types
from importlib import metadata as _metadata
from typing import Any

try:
    __version__ = _metadata.version("vrd")
except _metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

# Stages whose name is also a subpackage (`vrd.distill`, `vrd.curate`): the package is made
# callable, so `vrd.distill(...)` is the API function whether or not the package was imported.
_PACKAGES = ("distill", "curate")

API = ("prepare", "distill", "curate", "export", "shift_report", "evaluate", "train_sft", "train_rl", "audit")


class _StagePackage(_types.ModuleType):
    """A subpackage that is also its stage's API function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from vrd import api

        return getattr(api, self.__name__.rsplit(".", 1)[-1])(*args, **kwargs)


def _callable_package(module_name: str) -> None:
    """Called by `vrd/distill/__init__.py` and `vrd/curate/__init__.py` on themselves."""
    _sys.modules[module_name].__class__ = _StagePackage


def __getattr__(name: str) -> Any:
    if name in _PACKAGES:
        import importlib

        return importlib.import_module(f"vrd.{name}")
    if name in API:
        from vrd import api

        return getattr(api, name)
    raise AttributeError(f"module 'vrd' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted({*globals(), *API})
