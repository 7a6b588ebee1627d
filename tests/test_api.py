"""The Python API: `vrd.<stage>(inputs, out, config)` and the example in README.md."""

from __future__ import annotations

import copy
from pathlib import Path

from distill_fixtures import ScriptedEngine, config_for, make_problem

import vrd


def test_stage_packages_are_the_api_functions() -> None:
    import importlib

    config_module = importlib.import_module("vrd.distill.config")  # the package is now an attribute of vrd
    assert callable(vrd.distill) and vrd.distill.DistillConfig is config_module.DistillConfig


def test_run_distill_leaves_the_callers_config_alone(tmp_path: Path) -> None:
    from vrd.distill.runner import run_distill

    cfg = config_for(tmp_path, samples=2, keep=1)
    before = copy.deepcopy(cfg)
    summary = run_distill(cfg, engine=ScriptedEngine({"a": ["RW"], "b": ["WW"]}),
                          problems=[make_problem("a"), make_problem("b")])
    assert summary.kept == 1 and summary.problems_done == 2
    assert cfg == before and cfg.data_id is None
