"""Teacher aliases: paper names map to Qwen hub ids with defaults; unknown ones get suggestions."""

from __future__ import annotations

from pathlib import Path

import pytest

from vrd.errors import UnknownNameError
from vrd.models.teachers import TEACHERS, resolve_teacher


@pytest.mark.parametrize(
    ("alias", "hub_id"),
    [
        ("qwen2.5-vl-3b", "Qwen/Qwen2.5-VL-3B-Instruct"),
        ("qwen2.5-vl-7b", "Qwen/Qwen2.5-VL-7B-Instruct"),
        ("qwen2.5-vl-32b", "Qwen/Qwen2.5-VL-32B-Instruct"),
        ("qwen2.5-vl-72b", "Qwen/Qwen2.5-VL-72B-Instruct"),
        ("qwen2-vl-2b", "Qwen/Qwen2-VL-2B-Instruct"),
        ("qwen2-vl-7b", "Qwen/Qwen2-VL-7B-Instruct"),
        ("qwen2-vl-72b", "Qwen/Qwen2-VL-72B-Instruct"),
    ],
)
def test_aliases(alias: str, hub_id: str) -> None:
    target, spec = resolve_teacher(alias)
    assert target == hub_id and spec is TEACHERS[alias]
    assert resolve_teacher(alias.upper())[0] == hub_id
    assert spec.max_pixels > spec.min_pixels > 0


def test_hub_ids_and_local_dirs_pass_through(tmp_path: Path) -> None:
    assert resolve_teacher("Qwen/Qwen2.5-VL-7B-Instruct")[1] is TEACHERS["qwen2.5-vl-7b"]
    assert resolve_teacher("someone/my-vlm") == ("someone/my-vlm", None)
    assert resolve_teacher(str(tmp_path)) == (str(tmp_path), None)


def test_unknown_alias_suggests_nearest() -> None:
    with pytest.raises(UnknownNameError) as err:
        resolve_teacher("qwen2.5-vl-34b")
    msg = str(err.value)
    assert "Did you mean:" in msg and "qwen2.5-vl-32b" in msg.split("Did you mean:")[1]
    with pytest.raises(UnknownNameError, match="qwen2-vl-7b"):
        resolve_teacher("qwen2vl-7b")


def test_engines_use_teacher_pixel_defaults() -> None:
    from vrd.engines import OpenAIEngine

    eng = OpenAIEngine("qwen2.5-vl-7b", base_url="http://127.0.0.1:9/v1")
    assert eng.max_pixels == TEACHERS["qwen2.5-vl-7b"].max_pixels
    assert OpenAIEngine("qwen2.5-vl-7b", base_url="http://127.0.0.1:9/v1", max_pixels=1000).max_pixels == 1000
