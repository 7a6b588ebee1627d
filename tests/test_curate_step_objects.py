"""Curate steps are objects: `default_steps(config)` builds the pipeline, and a new step composes in."""

from __future__ import annotations

from pathlib import Path

import curate_fixtures as S
import polars as pl
import pytest

from vrd.curate.config import CurateConfig
from vrd.curate.pipeline import curate
from vrd.curate.steps import CurateRun, Step, default_steps
from vrd.schema import read_dataset


class DropIds(Step):
    """A user's own problem-level filter."""

    name, level = "drop listed", "problems"

    def __init__(self, ids: set[str]) -> None:
        self.ids = ids

    def apply(self, frame: pl.DataFrame, run: CurateRun) -> tuple[pl.DataFrame, dict[str, int]]:
        keep = frame.filter(~pl.col("id").is_in(list(self.ids)))
        return keep, {"listed": frame.height - keep.height}


def test_default_steps_follow_the_config() -> None:
    full = default_steps(CurateConfig(pass_rate="0.1:0.9", dedup="exact,image", decontaminate="mathvista"))
    assert [(s.name, s.level) for s in full] == [
        ("images", "problems"), ("difficulty", "problems"), ("pass-rate", "problems"), ("correctness", "rows"), ("length", "rows"),
        ("decontaminate", "problems"), ("dedup exact", "problems"), ("dedup image", "problems"), ("select", "rows")]
    bare = default_steps(CurateConfig(dedup="none", correct_only=False))
    assert [s.name for s in bare] == ["images", "difficulty", "correctness", "length", "select"]


def test_a_new_step_composes_without_touching_curate(tmp_path: Path) -> None:
    responses = S.write_responses(tmp_path / "responses")
    cfg = CurateConfig(split="sft=rest", dedup="none")
    curate(responses, tmp_path / "base", cfg)
    base_ids = set(read_dataset(tmp_path / "base" / "sft")["id"])
    victims = set(sorted(base_ids)[:2])
    steps = default_steps(cfg)
    steps.insert(-1, DropIds(victims))  # before select
    report = curate(responses, tmp_path / "custom", cfg, steps=steps)
    assert set(read_dataset(tmp_path / "custom" / "sft")["id"]) == base_ids - victims
    record = next(r for r in report.steps if r.step == "drop listed")
    assert record.unit == "problems" and record.dropped == {"listed": 2}
    assert record.problems_in - record.problems_out == 2


def test_a_step_with_a_bad_level_is_refused(tmp_path: Path) -> None:
    class Odd(DropIds):
        level = "images"  # type: ignore[assignment]

    with pytest.raises(TypeError, match="level must be"):
        curate(S.write_responses(tmp_path / "r"), tmp_path / "o", CurateConfig(), steps=[Odd(set())], write=False)
