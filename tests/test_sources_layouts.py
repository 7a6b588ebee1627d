"""Every published layout a user downloads reads right, and no row is lost silently (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from layout_fixtures import (
    GEOQA_PORT_ROWS,
    write_geoqa_port,
    write_intergps,
    write_mathv_repo,
    write_mathverse_snapshot,
    write_mathvista_snapshot,
    write_mmlu_csv,
    write_mmlu_hub,
    write_r1v_geoqa_test,
    write_tqa_release,
    write_wemath_snapshot,
)
from real_rows import GEOMETRY3K_DATA

from vrd.errors import VrdError
from vrd.schema import read_jsonl, read_manifest, read_rows
from vrd.sources.base import Reject
from vrd.sources.benchmarks.gpqa import GPQA
from vrd.sources.benchmarks.wemath import parse_lettered_options
from vrd.sources.prepare import prepare
from vrd.sources.registry import get_source


def run(name: str, path: Path, split: str | None = None, **options):
    """Rows and rejects of one source, plus the source (for what it says it read)."""
    src = get_source(name, path=str(path), split=split, **options)
    items = list(src.problems())
    rows = [r for r in items if not isinstance(r, Reject)]
    return rows, [r for r in items if isinstance(r, Reject)], src


def meta(row: dict) -> dict:
    return json.loads(row["meta"])


# -- Geometry3K as released by InterGPS --------------------------------------------------------------

def test_intergps_release_root_reads_each_split_from_its_folder(tmp_path: Path) -> None:
    root = write_intergps(tmp_path / "geometry3k")
    train, rejects, src = run("geometry3k", root, "train")
    assert [r["id"] for r in train] == ["geometry3k/train/11", "geometry3k/train/15"]
    first = train[0]
    assert first["question"] == "<image>\n" + GEOMETRY3K_DATA["11"]["problem_text"]
    assert (first["choices"], first["answer"], first["answer_type"]) == (["30", "40", "60", "80"], "D", "choice")
    assert len(first["images"]) == 1 and meta(first)["problem_type_graph"] == ["Circle"]
    assert meta(train[1])["rough_value"] == [5, 7.07, 8.66, 10]  # the folder whose rough_value mixes int/float
    assert train[1]["choices"][1] == "5 \\sqrt { 2 }" and train[1]["answer"] == "C"
    # the folder without its diagram is one reject, named by its id
    assert [(r.native_id, r.field) for r in rejects] == [("12", "images")]
    assert "img_diagram.png" in rejects[0].reason
    assert src.layout.startswith("InterGPS release")
    val, _, _ = run("geometry3k", root, "val")
    test, _, _ = run("geometry3k", root, "test")
    assert [r["id"] for r in val] == ["geometry3k/val/2101"] and val[0]["answer"] == "B"
    assert [r["id"] for r in test] == ["geometry3k/test/2401"] and test[0]["choices"][3].startswith("\\frac")


def test_intergps_split_folder_and_wrong_split(tmp_path: Path) -> None:
    root = write_intergps(tmp_path / "geometry3k")
    rows, rejects, _ = run("geometry3k", root / "train", "train")
    assert len(rows) == 2 and len(rejects) == 1
    with pytest.raises(VrdError, match="'val' folder but --split is 'train'"):
        run("geometry3k", root / "val", "train")
    val, _, _ = run("geometry3k", root / "val")  # no --split: the folder names it
    assert [r["id"] for r in val] == ["geometry3k/val/2101"]
    with pytest.raises(VrdError, match="without a 'dev/' folder.*test, train, val"):
        run("geometry3k", root, "dev")
    one, _, _ = run("geometry3k", root / "test" / "2401", "test")
    assert [r["answer"] for r in one] == ["D"]


def test_intergps_prepare_writes_rows_and_traceable_rejects(tmp_path: Path) -> None:
    root = write_intergps(tmp_path / "g3k")
    result = prepare("geometry3k", tmp_path / "out", path=str(root), split="train", progress=False)
    assert (result.n_problems, result.n_rejects) == (2, 1)
    (reject,) = read_jsonl(tmp_path / "out" / "rejects.jsonl")
    assert reject["native_id"] == "12" and reject["field"] == "images"
    manifest = read_manifest(tmp_path / "out")
    assert manifest["input"]["layout"].startswith("InterGPS release")


# -- GeoQA ------------------------------------------------------------------------------------------

def test_geoqa_port_with_original_field_names(tmp_path: Path) -> None:
    root = write_geoqa_port(tmp_path / "geoqa")
    train, rejects, src = run("geoqa", root)
    assert [r["question"] for r in train] == ["<image>\n" + GEOQA_PORT_ROWS[0]["subject"]]
    assert (train[0]["answer"], train[0]["answer_type"], train[0]["choices"]) == ("C", "choice",
                                                                                   ["80°", "60°", "50°", "40°"])
    assert not rejects and len(train[0]["images"]) == 1 and "1 kept, 2 of other splits left out" in src.note
    # the port's one hub split holds GeoQA's test and val rows too, marked original_split
    test, rejects, _ = run("geoqa", root, "test")
    assert not rejects and [(r["id"], r["answer"]) for r in test] == [("geoqa/test/1", "B")]
    m = meta(test[0])
    assert (m["original_split"], m["formal_point"], m["answer_text"]) == ("test", ["平行线分线段成比例"], "2")
    # label 7 with four options: one reject naming the row and the field
    val, rejects, _ = run("geoqa", root, "val")
    assert not val and [(r.native_id, r.field) for r in rejects] == [("2", "label")]
    # GeoQA's held-out split is dev.pk in the release, 'val' or 'validation' in ports: one split
    for name in ("dev", "validation"):
        _, rejects, _ = run("geoqa", root, name)
        assert [(r.native_id, r.field) for r in rejects] == [("2", "label")]
    with pytest.raises(VrdError, match="no row has original_split 'extra'; the rows have test, train, val"):
        run("geoqa", root, "extra")


def test_geoqa_pickles_are_refused_with_a_way_out(tmp_path: Path) -> None:
    release = tmp_path / "GeoQA3"
    release.mkdir()
    marker = tmp_path / "ran"
    # a pickle that would create a file if it were ever loaded
    import pickle

    class Boom:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (release / "train.pk").write_bytes(pickle.dumps([Boom()]))
    for target in (release, release / "train.pk"):
        with pytest.raises(VrdError, match="does not unpickle.*hz2475/geoQA"):
            run("geoqa", target)
    assert not marker.exists()


def test_r1v_geoqa_test_prompts(tmp_path: Path) -> None:
    f = write_r1v_geoqa_test(tmp_path / "src" / "eval")
    rows, rejects, _ = run("geoqa", f, "test")
    assert not rejects and [r["answer"] for r in rows] == ["140°", "65°", "55°"]
    assert rows[0]["question"].startswith("<image>\nAs shown in the figure, in triangle ABC")
    assert all(len(r["images"]) == 1 and r["choices"] == [] for r in rows)
    assert [r["id"] for r in rows] == ["geoqa/test/0", "geoqa/test/1", "geoqa/test/2"]


# -- MMLU -------------------------------------------------------------------------------------------

def test_mmlu_hub_snapshot_reads_only_the_asked_split(tmp_path: Path) -> None:
    root = write_mmlu_hub(tmp_path / "mmlu")
    test, rejects, src = run("mmlu", root, "test")
    assert not rejects and [r["id"] for r in test] == ["mmlu/test/abstract_algebra-0", "mmlu/test/anatomy-0"]
    assert [r["answer"] for r in test] == ["B", "B"] and test[0]["choices"] == ["0", "4", "2", "6"]
    assert [Path(f).name for f in src.files] == ["test-00000-of-00001.parquet"] and "/all/" in src.files[0]
    counts = {split: len(run("mmlu", root, split)[0]) for split in ("validation", "dev", "auxiliary_train")}
    assert counts == {"validation": 1, "dev": 1, "auxiliary_train": 5}
    limited = list(get_source("mmlu", path=str(root), split="test").problems(limit=1))
    assert limited[0]["question"].startswith("Find the degree")  # --limit starts with test rows, not auxiliary_train
    one, _, _ = run("mmlu", root, "test", config="abstract_algebra")
    assert len(one) == 1


def test_mmlu_original_headerless_csvs(tmp_path: Path) -> None:
    root = write_mmlu_csv(tmp_path / "mmlu")
    test, rejects, src = run("mmlu", root / "data", "test")
    assert not rejects and [(r["id"], r["answer"]) for r in test] == [("mmlu/test/abstract_algebra-0", "B"),
                                                                       ("mmlu/test/anatomy-0", "B")]
    assert test[1]["choices"] == ["Vomer", "Nasal", "Maxilla", "Mandible"] and "headerless" in src.layout
    val, _, _ = run("mmlu", root, "validation")  # the hub's split name finds the release's val/ folder
    assert [r["answer"] for r in val] == ["C"] and meta(val[0])["subject"] == "abstract_algebra"
    (root / "data" / "test" / "anatomy_test.csv").write_text("only,three,fields\n")
    _, rejects, _ = run("mmlu", root, "test")
    assert len(rejects) == 1 and "expected 6 fields" in rejects[0].reason


# -- whole hub snapshots ------------------------------------------------------------------------------

def test_mathvista_snapshot_reads_the_testmini_parquet(tmp_path: Path) -> None:
    root = write_mathvista_snapshot(tmp_path / "MathVista")
    rows, rejects, src = run("mathvista", root)
    assert not rejects and [meta(r)["native_id"] for r in rows] == ["1", "2", "3", "7", "9", "10"]
    assert [r["answer"] for r in rows] == ["1.2", "1000", "C", "B", "D", "E"]
    assert all(isinstance(r["images"][0], dict) for r in rows)  # the embedded image, not a path to images/
    assert [Path(f).name for f in src.files] == ["testmini-00000-of-00001-725687bf7a18d64b.parquet"]
    test, rejects, src = run("mathvista", root, "test")  # the test split's answers are withheld
    assert not test and {(r.field, r.reason) for r in rejects} == {("answer", "is empty")}
    assert "test-00000-of-00002" in src.files[0] and [r.native_id for r in rejects] == [str(1000 + i) for i in range(6)]


def test_mathverse_snapshot_and_its_option_forms(tmp_path: Path) -> None:
    root = write_mathverse_snapshot(tmp_path / "MathVerse")
    rows, rejects, src = run("mathverse", root)
    assert not rejects and [Path(f).name for f in src.files] == ["testmini.parquet"]
    assert "parquet copy, not the json one" in src.note
    by = {meta(r)["native_id"]: r for r in rows}
    assert sorted(by) == ["1", "339", "429", "440"] and all(len(r["images"]) == 1 for r in rows)
    assert (by["1"]["answer"], by["1"]["choices"]) == ("D", ["40°", "60°", "120°", "140°"])
    # `Choice:` with `A. text` options and the answer written as the option's text
    assert (by["339"]["answer"], by["339"]["choices"][0]) == ("A", "090^\\circ T")
    assert "Choice:" not in by["339"]["question"]
    assert (by["429"]["answer"], by["429"]["choices"]) == ("B", ["True", "False"])
    # two right options
    assert (by["440"]["answer"], by["440"]["answer_type"], meta(by["440"])["answers"]) == ("C, D", "text", ["C", "D"])
    text_only, _, src = run("mathverse", root / "testmini_text_only.parquet")
    assert len(text_only) == 4 and all(r["images"] == [] for r in text_only)


def test_wemath_snapshot_and_real_option_strings(tmp_path: Path) -> None:
    root = write_wemath_snapshot(tmp_path / "We-Math")
    rows, rejects, src = run("wemath", root)
    assert not rejects and "data/testmini-00000-of-00001-adbfe22dcd3558e6.parquet" in src.files[0]
    by = {meta(r)["native_id"]: r for r in rows}
    assert sorted(by) == [1, 94, 102, 1118, 1287]
    q94 = by[94]
    assert q94["choices"] == ["Yes, A needs to be rotated 90 degrees clockwise around point O.",
                              "Yes, A needs to be rotated 45 degrees counterclockwise around point O.",
                              "No.", "No correct answer"]
    assert q94["answer"] == "A" and meta(q94)["printed_letters"] == ["A", "B", "C", "F"]
    assert (by[1118]["choices"], by[1118]["answer"]) == (["45°", "60°", "120°", "No correct answer"], "A")
    assert by[1287]["choices"] == ["4", "3", "2", "1", "No correct answer"]
    assert by[102]["choices"][0].endswith("to get Shape C.") and len(by[102]["choices"]) == 4
    m = meta(by[1287])
    # A step question of a 3-step problem is one-step (We-Math's S1); only `3steps_multi` is S3.
    assert (m["key"], m["question_number"], m["problem"]) == ("3steps_2", 1287, "3steps_42")
    assert (m["steps"], m["steps_in_problem"]) == ("S1", 3)
    assert m["knowledge_concept"] == "Properties and Understanding of Trapezoids"


def test_wemath_option_parser_edge_forms() -> None:
    assert parse_lettered_options("A. ①;B．②;C. ③; D. Cannot be determined") == (
        ["①", "②", "③", "Cannot be determined"], ["A", "B", "C", "D"])
    choices, _ = parse_lettered_options("A. Equal; B. twice triangle BE;G.; C. half of BE;G.; D. Cannot be determined")
    assert choices == ["Equal", "twice triangle BEG.", "half of BEG.", "Cannot be determined"]


def test_wemath_rejects_carry_the_question_number(tmp_path: Path) -> None:
    root = write_wemath_snapshot(tmp_path / "We-Math")
    data = json.loads((root / "testmini.json").read_text())
    data[0]["option"] = "no options here"
    (root / "testmini.json").write_text(json.dumps(data))
    for row in data:  # the authors' JSON points at images beside it
        (root / row["image_path"]).parent.mkdir(parents=True, exist_ok=True)
        (root / row["image_path"]).write_bytes(b"")
    _, rejects, _ = run("wemath", root / "testmini.json")
    assert [(r.native_id, r.field) for r in rejects][0] == ("1", "option")
    assert {r.native_id for r in rejects[1:]} == {"94", "102", "1118", "1287"}  # empty image files


def test_mathvision_repo_keeps_the_words_around_placeholders(tmp_path: Path) -> None:
    root = write_mathv_repo(tmp_path / "MATH-V")
    rows, rejects, src = run("mathvision", root, "testmini")
    assert not rejects and [Path(f).name for f in src.files] == ["testmini.jsonl"]
    by = {meta(r)["native_id"]: r for r in rows}
    assert by["4"]["question"] == "How many different digits can you find in this picture?\n<image>"
    ant = by["33"]["question"]
    assert ant.startswith("<image>\nWhen the ant <image1> walks from home <image2> along the arrows")
    assert ant.count("<image>") == 1 and len(by["33"]["images"]) == 1 and by["33"]["answer"] == "A"
    assert "One piece looks like:\n<image1>" in by["34"]["question"] and by["34"]["answer"] == "E"
    test, _, _ = run("mathvision", root, "test")
    assert len(test) == 1


def test_tqa_test_split_file_is_v2(tmp_path: Path) -> None:
    root = write_tqa_release(tmp_path / "tqa")
    for split in ("train", "val", "test"):
        rows, rejects, src = run("tqa", root, split)
        assert not rejects and len(rows) == 3
        assert Path(src.files[0]).name == ("tqa_v2_test.json" if split == "test" else f"tqa_v1_{split}.json")
        assert [r["answer"] for r in rows] == ["B", "C", "D"] and len(rows[0]["images"]) == 1


# -- reading rules ------------------------------------------------------------------------------------

def test_split_absent_from_a_folder_that_names_splits_is_an_error(tmp_path: Path) -> None:
    root = write_mathvista_snapshot(tmp_path / "MathVista")
    with pytest.raises(VrdError, match="no file or folder for split 'train'.*split\\(s\\) test, testmini"):
        list(get_source("generic", path=str(root), split="train").problems())


def test_unreadable_json_is_one_line_naming_the_file(tmp_path: Path) -> None:
    d = tmp_path / "g"
    d.mkdir()
    (d / "train.jsonl").write_text('{"question": "q", "answer": "1"}\n{"question": "r", "answer": \n')
    with pytest.raises(VrdError, match="train.jsonl: cannot be read as json"):
        list(get_source("generic", path=str(d)).problems())


def test_gpqa_repeated_option_text_is_dropped_and_noted() -> None:
    src = GPQA()
    record = {"Record ID": "recX", "Question": "Which?", "Correct Answer": "1.5 m", "Incorrect Answer 1": "2 m",
              "Incorrect Answer 2": "1.5  m", "Incorrect Answer 3": "3 m", "High-level domain": "Physics"}
    row = src.convert(record, 0)
    assert len(row["choices"]) == 3 and row["choices"][ord(row["answer"]) - 65] == "1.5 m"
    assert meta(row)["repeated_options"] == ["1.5  m"]


def test_prepare_manifest_names_the_files_read(tmp_path: Path) -> None:
    root = write_mathverse_snapshot(tmp_path / "MathVerse")
    prepare("mathverse", tmp_path / "out", path=str(root), progress=False)
    manifest = read_manifest(tmp_path / "out")
    assert [Path(f).name for f in manifest["input"]["files"]] == ["testmini.parquet"]
    assert len(read_rows(tmp_path / "out")) == 4


# -- vrd data inspect ----------------------------------------------------------------------------------

def test_inspect_reports_layout_files_rows_per_split_and_first_rejects(tmp_path: Path) -> None:
    from vrd.sources.inspect import inspect_path

    report = inspect_path(str(write_intergps(tmp_path / "g3k")))
    assert report.source == "geometry3k" and "InterGPS" in report.guessed_from
    assert [(s.split, s.rows, s.rejects) for s in report.splits] == [("train", 2, 1), ("val", 1, 0), ("test", 1, 0)]
    assert report.splits[0].first_rejects[0]["native_id"] == "12"
    mmlu = inspect_path(str(write_mmlu_hub(tmp_path / "mmlu")), split="test")
    assert (mmlu.source, [(s.split, s.rows) for s in mmlu.splits]) == ("mmlu", [("test", 2)])
    assert any("auxiliary_train" in f for f in mmlu.splits[0].input["skipped"])
    verse = inspect_path(str(write_mathverse_snapshot(tmp_path / "verse")))
    assert verse.source == "mathverse" and [(s.split, s.rows) for s in verse.splits] == [("testmini", 4)]
    assert verse.splits[0].input["files"][0].endswith("testmini.parquet")
    assert inspect_path(str(write_tqa_release(tmp_path / "tqa"))).source == "tqa"
    assert inspect_path(str(write_wemath_snapshot(tmp_path / "wm"))).source == "wemath"
    assert inspect_path(str(write_geoqa_port(tmp_path / "geoqa"))).source == "geoqa"
    assert inspect_path(str(write_mathv_repo(tmp_path / "mathv"))).source == "mathvision"


def test_inspect_cli_prints_one_line_errors(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vrd.cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["data", "inspect", str(write_mathvista_snapshot(tmp_path / "vista")),
                                 "--split", "testmini"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "source mathvista" in out and "split testmini: 6 row(s), 0 reject(s)" in out
    assert "annot_testmini.json" in out  # listed as not read
    (tmp_path / "GeoQA3").mkdir()
    (tmp_path / "GeoQA3" / "test.pk").write_bytes(b"\x80\x04N.")
    result = runner.invoke(app, ["data", "inspect", str(tmp_path / "GeoQA3" / "test.pk")])
    assert result.exit_code == 2 and "does not unpickle" in result.output and "Traceback" not in result.output
    bad = tmp_path / "bad" / "data"
    bad.mkdir(parents=True)
    (bad / "testmini-00000-of-00001.parquet").write_bytes(b"PAR1 not parquet")
    result = runner.invoke(app, ["data", "inspect", str(bad.parent)])
    assert result.exit_code == 2 and "Traceback" not in result.output  # nothing readable: exit 2
    assert "cannot be read as parquet" in " ".join(result.output.split())
    result = runner.invoke(app, ["data", "inspect", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no such file or folder" in result.output
