"""The Python API: `vrd.<stage>(inputs, out, config)` and the example in README.md."""

from __future__ import annotations

import copy
from pathlib import Path

from distill_fixtures import ScriptedEngine, config_for, make_problem

import vrd


def test_every_stage_is_a_top_level_function_with_one_shape() -> None:
    import inspect

    from vrd import api

    for name in vrd.API:
        fn = getattr(api, name)
        assert callable(getattr(vrd, name)), name
        params = list(inspect.signature(fn).parameters)
        assert params[:3] == ["inputs", "out", "config"], (name, params)
    assert set(vrd.API) <= set(dir(vrd))


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


def readme_example(section: str = "## Python API") -> str:
    """The first ```python block after `section` in README.md."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = text.index(section)
    begin = text.index("```python\n", start) + len("```python\n")
    return text[begin:text.index("```", begin)]


def test_readme_python_api_example_runs(tmp_path: Path, monkeypatch, capsys) -> None:
    code = readme_example()
    assert "vrd.distill(" in code and "vrd.curate(" in code
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md:python-api", "exec"), {"__name__": "readme"})  # noqa: S102 - our own README
    printed = capsys.readouterr().out
    assert "8 samples, 4 SFT rows" in printed  # 4 problems x 2 samples kept, one selected per problem
    assert (tmp_path / "runs" / "trl").is_dir() and (tmp_path / "runs" / "curated" / "curation.json").is_file()
