"""Benchmark sources: fixtures in each real format -> problem rows with letters, types and slices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_fixtures import (
    GPQA_ROWS,
    MATHVISTA_FEATURES,
    MATHVISTA_ROWS,
    _hub_parquet,
    png,
    write_all,
    write_mathvision,
    write_mathvista_json,
)

from vrd.errors import UnknownNameError, VrdError
from vrd.eval.data import load_benchmark
from vrd.schema import load_image, read_rows, validate_row
from vrd.sources import BENCHMARKS, SOURCES, source_class
from vrd.sources.benchmarks.gpqa import shuffled_options
from vrd.sources.benchmarks.mathverse import split_choices
from vrd.sources.benchmarks.wemath import parse_options, step_count


@pytest.fixture(scope="module")
def fixture_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_all(tmp_path_factory.mktemp("bench"))


def load(name: str, paths: dict[str, Path], **kw):
    bench = load_benchmark(name, paths={name: str(paths[name])}, **kw)
    for i, row in enumerate(bench.problems):
        validate_row(row, "problems", index=i)
        for image in row["images"]:
            assert load_image(image).size == (24, 24)
    return bench


def by_native(bench) -> dict[str, dict]:
    return {json.loads(r["meta"])["native_id"]: r for r in bench.problems}


def meta(row: dict) -> dict:
    return json.loads(row["meta"])


def test_benchmarks_are_registered_sources() -> None:
    assert set(BENCHMARKS) == {"mathvista", "mathverse", "mathvision", "wemath", "math500", "gpqa", "mmlu",
                               "hallusionbench", "mmbench"}
    for name in BENCHMARKS:
        cls = source_class(name)
        assert name in SOURCES and cls.name == name
        assert cls.hub_id and "/" in cls.hub_id


def test_mathvista_parquet(fixture_paths) -> None:
    bench = load("mathvista", fixture_paths)
    rows = by_native(bench)
    assert [r["id"] for r in bench.problems] == [f"mathvista/testmini/{i}" for i in "1234"]
    assert (rows["1"]["answer"], rows["1"]["answer_type"], rows["1"]["choices"]) == ("C", "choice", ["30", "45", "60", "90"])
    assert (rows["4"]["answer"], rows["4"]["answer_type"]) == ("B", "choice")
    assert (rows["2"]["answer"], rows["2"]["answer_type"], rows["2"]["choices"]) == ("6", "number", [])
    assert "integer" in rows["2"]["question"]
    assert "1 decimal place" in rows["3"]["question"]
    assert rows["1"]["question"].count("<image>") == 1
    m = meta(rows["3"])
    assert (m["subset"], m["unit"], m["precision"], m["task"]) == ("free_form", "cm", 1.0, "geometry problem solving")
    assert meta(rows["1"])["answer_text"] == "60"


def test_mathvista_authors_json_with_relative_images(tmp_path: Path) -> None:
    root = write_mathvista_json(tmp_path / "mv")
    bench = load("mathvista", {"mathvista": root})
    assert [r["answer"] for r in bench.problems] == ["C", "6", "2.5", "B"]


def test_mathvista_bad_rows_are_rejected_with_field(tmp_path: Path) -> None:
    rows = [dict(MATHVISTA_ROWS[0], decoded_image={"bytes": png((1, 2, 3)), "path": None}, query=""),
            dict(MATHVISTA_ROWS[0], pid="9", answer="75", decoded_image={"bytes": png((1, 2, 3)), "path": None},
                 query=""),
            dict(MATHVISTA_ROWS[1], pid="10", decoded_image={"bytes": b"not an image", "path": None}, query="")]
    _hub_parquet(rows, MATHVISTA_FEATURES, tmp_path / "data" / "testmini-00000-of-00001.parquet")
    bench = load_benchmark("mathvista", paths={"mathvista": str(tmp_path)})
    assert [r["id"] for r in bench.problems] == ["mathvista/testmini/1"]
    reasons = {r.field: r.reason for r in bench.rejects}
    assert "'75' is neither an option letter" in reasons["answer"]
    assert "cannot be decoded" in reasons["images"]


def test_mathverse_versions_choices_and_query_cot(fixture_paths) -> None:
    bench = load("mathverse", fixture_paths)
    rows = by_native(bench)
    assert sorted(rows) == ["1", "2", "3", "4"]  # testmini_text_only.json is another file, not mixed in
    td = rows["1"]
    assert td["choices"] == ["30°", "40°", "60°", "80°"] and td["answer"] == "B" and td["answer_type"] == "choice"
    assert "Choices" not in td["question"]
    vo = rows["2"]  # Vision Only: no text, so query_cot asks for the letter
    assert "According to the question shown in the image" in vo["question"]
    assert (vo["answer"], vo["answer_type"], vo["choices"]) == ("B", "choice", [])
    assert (rows["3"]["answer"], rows["3"]["answer_type"]) == ("12", "number")
    assert (rows["4"]["answer"], rows["4"]["answer_type"]) == ("4\\pi", "expression")
    assert {meta(r)["subset"] for r in rows.values()} == {"Text Dominant", "Vision Only", "Vision Intensive",
                                                          "Text Lite"}
    assert meta(td)["problem_index"] == "1" and meta(td)["subject"] == "Plane Geometry"


def test_mathverse_text_only_file(fixture_paths) -> None:
    bench = load_benchmark("mathverse", paths={"mathverse": str(fixture_paths["mathverse"] /
                                                              "testmini_text_only.json")})
    (row,) = bench.problems
    assert row["images"] == [] and "<image>" not in row["question"] and meta(row)["subset"] == "Text Only"


def test_split_choices_parses_mathverse_block() -> None:
    q, opts = split_choices("Find x.\nChoices:\nA:1\nB:2 cm\nC:\\frac{1}{2}\nD:4")
    assert q == "Find x." and opts == ["1", "2 cm", "\\frac{1}{2}", "4"]
    assert split_choices("No block here.") == ("No block here.", [])


def test_mathvision_levels_and_image_marks(fixture_paths, tmp_path: Path) -> None:
    bench = load("mathvision", fixture_paths)
    rows = by_native(bench)
    assert (rows["1"]["answer"], rows["1"]["choices"]) == ("C", ["A", "B", "C", "D", "E"])
    assert "<image1>" not in rows["1"]["question"] and rows["1"]["question"].endswith("<image>")
    assert (rows["2"]["answer"], rows["2"]["answer_type"], rows["2"]["choices"]) == ("7", "number", [])
    assert [meta(r)["difficulty"] for r in bench.problems] == [1, 3, 5, 3]
    assert meta(rows["3"])["subset"] == "metric geometry - angle"
    mini = write_mathvision(tmp_path / "mv", split="testmini")
    b2 = load_benchmark("mathvision:testmini", paths={"mathvision": str(mini)})
    assert b2.name == "mathvision-testmini" and b2.problems[0]["id"] == "mathvision/testmini/1"


def test_wemath_options_string_and_steps(fixture_paths) -> None:
    bench = load("wemath", fixture_paths)
    assert len({r["id"] for r in bench.problems}) == 4  # one ID per problem, several step questions
    first = bench.problems[0]
    assert first["choices"] == ["3.14", "6.28", "12.56", "25.12", "No correct answer"] and first["answer"] == "C"
    assert [meta(r)["subset"] for r in bench.problems] == ["2steps_1", "2steps_2", "2steps_multi", "3steps_3"]
    assert [meta(r)["difficulty"] for r in bench.problems] == ["S1", "S1", "S2", "S1"]  # We-Math S1/S2/S3
    assert meta(bench.problems[3])["answer_text"] == "3215.36"
    assert parse_options("A. 30°; B. 45°;C. 60°") == ["30°", "45°", "60°"]
    assert step_count("1step_3") == 1


def test_math500_text_only(fixture_paths) -> None:
    bench = load("math500", fixture_paths)
    assert bench.problems[0]["id"] == "math500/test/test/prealgebra/1.json"
    assert all(r["images"] == [] and r["choices"] == [] for r in bench.problems)
    assert [r["answer_type"] for r in bench.problems] == ["number", "number", "number", "expression"]
    assert [meta(r)["difficulty"] for r in bench.problems] == [1, 2, 2, 5]


def test_gpqa_shuffle_is_deterministic_and_letter_points_at_correct(fixture_paths) -> None:
    a = load("gpqa", fixture_paths)
    b = load("gpqa", fixture_paths)
    assert len(a.problems) == 3  # gpqa_main.csv beside it is not mixed in
    assert [r["choices"] for r in a.problems] == [r["choices"] for r in b.problems]
    for row, src in zip(a.problems, GPQA_ROWS, strict=True):
        assert row["choices"][ord(row["answer"]) - ord("A")] == src["Correct Answer"]
        assert sorted(row["choices"]) == sorted([src["Correct Answer"], *[src[f"Incorrect Answer {i}"] for i in (1, 2, 3)]])
    letters = {shuffled_options("right", ["w1", "w2", "w3"], f"rec{i}")[1] for i in range(40)}
    assert len(letters) > 1  # the correct option does not always land on one letter
    assert meta(a.problems[1])["subset"] == "Chemistry"


def test_mmlu_class_label_to_letter(fixture_paths) -> None:
    bench = load("mmlu", fixture_paths)
    assert [r["answer"] for r in bench.problems] == ["B", "A", "D", "B"]  # all/ only, not the subject folder too
    one = load_benchmark("mmlu", paths={"mmlu": str(fixture_paths["mmlu"])}, options={"config": "elementary_mathematics"})
    assert [r["answer"] for r in one.problems] == ["B", "A"]
    assert [r["id"] for r in bench.problems][:2] == ["mmlu/test/elementary_mathematics-0",
                                                     "mmlu/test/elementary_mathematics-1"]
    assert meta(bench.problems[2])["subset"] == "high_school_geography"


def test_limit_and_unknown_names(fixture_paths) -> None:
    assert len(load_benchmark("mmlu", paths={"mmlu": str(fixture_paths["mmlu"])}, limit=2).problems) == 2
    with pytest.raises(UnknownNameError, match="mathvista"):
        load_benchmark("mathvsta")
    with pytest.raises(VrdError, match="not a known benchmark"):
        load_benchmark("mybench", paths={"mybench": str(fixture_paths["mmlu"])})


def test_prepare_writes_a_problems_folder(fixture_paths, tmp_path: Path) -> None:
    from vrd.sources.prepare import prepare

    prepare("wemath", tmp_path / "wm", path=str(fixture_paths["wemath"]), progress=False)
    rows = read_rows(tmp_path / "wm")
    assert [r["answer"] for r in rows] == ["C", "B", "B", "B"]
    # a prepared folder is itself a benchmark, named by `--path name=DIR` or by its folder name
    again = load_benchmark("wemath", paths={"wemath": str(tmp_path / "wm")})
    assert again.origin.startswith("vrd dataset") and len(again.problems) == 4
    assert load_benchmark(str(tmp_path / "wm")).name == "wm"
