"""The embedded synth source: determinism, coverage of families/tiers/forms, images, gold solutions."""

from __future__ import annotations

import collections
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from vrd.schema import read_dataset, read_manifest, read_rows
from vrd.sources.prepare import synth
from vrd.sources.synth import FAMILIES, FORMS, TIERS, make_problem


@pytest.fixture(scope="module")
def synth_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("synth120")
    synth(120, 7, out, progress=False)
    return read_rows(out)


def test_two_runs_with_one_seed_write_identical_bytes(tmp_path: Path) -> None:
    from vrd.cli.main import app

    runner = CliRunner()
    for name in ("a", "b"):
        result = runner.invoke(app, ["data", "synth", "--n", "50", "--seed", "0", "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert "wrote 50 problems" in result.output
    a = sorted(p.name for p in (tmp_path / "a").glob("*.parquet"))
    assert a == sorted(p.name for p in (tmp_path / "b").glob("*.parquet")) and a
    for name in a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    ma, mb = read_manifest(tmp_path / "a"), read_manifest(tmp_path / "b")
    # the manifests differ only in timestamps (and in the command line, which names --out)
    for key in ("created", "updated", "command"):
        ma.pop(key), mb.pop(key)
    assert ma == mb and ma["counts"] == {"problems": 50, "rejects": 0} and ma["options"]["seed"] == 0


def test_other_seed_differs_and_prefix_is_stable(tmp_path: Path) -> None:
    assert make_problem(3, seed=0)["question"] != make_problem(3, seed=1)["question"] or \
        make_problem(3, seed=0)["meta"] != make_problem(3, seed=1)["meta"]
    synth(10, 0, tmp_path / "ten", progress=False)
    synth(20, 0, tmp_path / "twenty", progress=False)
    ten, twenty = read_rows(tmp_path / "ten"), read_rows(tmp_path / "twenty")
    assert ten == twenty[:10]
    assert len({r["id"] for r in twenty}) == 20
    assert ten[0]["id"] == "synth/train/s0-000000"


def test_rows_cover_every_family_tier_and_form(synth_rows: list[dict]) -> None:
    metas = [json.loads(r["meta"]) for r in synth_rows]
    assert {m["family"] for m in metas} == set(FAMILIES)
    assert {m["form"] for m in metas} == set(FORMS)
    combos = collections.Counter((m["family"], m["tier"]) for m in metas)
    assert set(combos) == {(f, t) for f in FAMILIES for t in TIERS}
    for m in metas:
        assert m["steps"] == m["tier"]  # a tier is its number of computation steps


def test_rows_follow_the_contract(synth_rows: list[dict]) -> None:
    for row in synth_rows:
        meta = json.loads(row["meta"])
        assert row["question"].count("<image>") == 1 == len(row["images"])
        assert row["source"] == "synth" and row["split"] == "train"
        if meta["form"] == "choice":
            assert row["answer_type"] == "choice" and len(row["choices"]) == 4
            assert len(set(row["choices"])) == 4
            assert row["choices"]["ABCD".index(row["answer"])] == meta["value"]
        else:
            assert row["answer_type"] == "number" and row["choices"] == []
            assert row["answer"] == meta["value"]
            float(row["answer"])
        image = Image.open(io.BytesIO(row["images"][0]["bytes"]))
        assert image.size == (224, 224) and image.size[0] % 28 == 0
        assert not image.info  # no text chunks or timestamps in the PNG


def test_solutions_are_short_and_regular(synth_rows: list[dict]) -> None:
    for row in synth_rows:
        solution = json.loads(row["meta"])["solution"]
        assert solution.startswith("<think>") and "</think>\n\\boxed{" in solution
        assert solution.endswith("\\boxed{" + row["answer"] + "}")
        assert len(solution.split()) <= 60


def test_gold_solutions_verify_as_correct(synth_rows: list[dict]) -> None:
    from vrd.verify import verify_response

    for row in synth_rows:
        meta = json.loads(row["meta"])
        result = verify_response(meta["solution"], row["answer"], choices=row["choices"],
                                 answer_type=row["answer_type"])
        assert result.correct and result.format_ok, (row["id"], meta["solution"], result)
        # and a wrong final answer is caught: the checks can fail
        wrong = "A" if row["answer"] != "A" else "B"
        if row["answer_type"] == "number":
            wrong = str(float(row["answer"]) + 1)
        bad = meta["solution"].rsplit("\\boxed{", 1)[0] + "\\boxed{" + wrong + "}"
        assert not verify_response(bad, row["answer"], choices=row["choices"],
                                   answer_type=row["answer_type"]).correct


def _arith(text: str) -> float:
    """Evaluate + - * / and parentheses over numbers, nothing else."""
    import ast
    import operator

    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            return ops[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"not plain arithmetic: {text!r}")

    return walk(ast.parse(text, mode="eval"))


def test_solution_arithmetic_holds() -> None:
    """Recompute every `= a op b = c` a solution states, so a gold solution never teaches a wrong sum."""
    import re

    checked = 0
    for i in range(100):
        meta = json.loads(make_problem(i, seed=3)["meta"])
        for lhs, rhs in re.findall(r"= ([\d\s+\-*/().]+?) = (\d+(?:\.\d+)?)", meta["solution"]):
            assert abs(_arith(lhs) - float(rhs)) < 1e-6, (meta["solution"], lhs, rhs)
            checked += 1
    assert checked >= 60


def test_options_select_families_tiers_forms(tmp_path: Path) -> None:
    result = synth(12, 1, tmp_path / "o", families="triangle,rectangle", tiers="1", forms="choice", progress=False)
    assert result.n_problems == 12
    metas = [json.loads(r["meta"]) for r in read_rows(tmp_path / "o")]
    assert {m["family"] for m in metas} == {"triangle", "rectangle"}
    assert {m["tier"] for m in metas} == {1} and {m["form"] for m in metas} == {"choice"}
    from vrd.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="triangle"):
        synth(3, 0, tmp_path / "x", families="triangel", progress=False)


def test_synth_dataset_loads_as_hf_dataset(tmp_path: Path) -> None:
    synth(6, 0, tmp_path / "d", progress=False)
    ds = read_dataset(tmp_path / "d")
    assert len(ds) == 6 and ds[0]["images"][0].mode == "RGB"
    assert (tmp_path / "d" / "rejects.jsonl").read_text() == ""
