"""Every source prepared from fixture files in its real on-disk format (written here, a few rows each)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import datasets
import pytest
from PIL import Image
from typer.testing import CliRunner

from vrd.schema import read_dataset, read_jsonl, read_manifest, read_rows
from vrd.sources.prepare import prepare

CORRUPT = b"\x89PNG\r\n\x1a\nthis is not a png"


def png(color: tuple[int, int, int], size: int = 28) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="PNG")
    return buf.getvalue()


def hf_image(data: bytes) -> dict:
    return {"bytes": data, "path": None}


# --- fixture writers: each source's real format ---------------------------------------------------

def write_geometry3k(root: Path) -> Path:
    """The hub layout of hiyouga/geometry3k: data/<split>-*.parquet, `images` as a list of HF images."""
    features = datasets.Features({
        "images": datasets.List(datasets.Image()),
        "problem": datasets.Value("string"),
        "answer": datasets.Value("string"),
        "id": datasets.Value("int64"),
        "choices": datasets.List(datasets.Value("string")),
        "ground_truth": datasets.Value("string"),
    })
    train = {
        "images": [[hf_image(png((255, 0, 0)))], [hf_image(png((0, 255, 0)))], [hf_image(CORRUPT)],
                   [hf_image(png((0, 0, 255)))]],
        "problem": ["<image>Find x.", "<image>Find the area of the figure.", "<image>Find y.",
                    "Find $m \\angle 2$."],
        "answer": ["3", "2\\sqrt{221}", "5", "58"],
        "id": [2101, 2102, 2103, 2104],
        "choices": [["3", "6", "9", "12"], ["24", "2\\sqrt{221}", "30", "44"], ["1", "5", "7", "9"],
                    ["29", "58", "61", "122"]],
        "ground_truth": ["A", "B", "B", "B"],
    }
    test = {k: v[:1] for k, v in train.items()}
    test["id"] = [1]
    data = root / "data"
    data.mkdir(parents=True)
    datasets.Dataset.from_dict(train, features=features).to_parquet(str(data / "train-00000-of-00001.parquet"))
    datasets.Dataset.from_dict(test, features=features).to_parquet(str(data / "test-00000-of-00001.parquet"))
    return root


def write_geometry3k_plain(root: Path) -> Path:
    """The first revision of hiyouga/geometry3k: only images, problem, answer."""
    features = datasets.Features({"images": datasets.List(datasets.Image()), "problem": datasets.Value("string"),
                                  "answer": datasets.Value("string")})
    rows = {"images": [[hf_image(png((9, 9, 9)))], [hf_image(png((8, 8, 8)))]],
            "problem": ["<image>Find x. Round to the nearest tenth.", "<image>Find $y$."],
            "answer": ["16.5", "\\frac{5}{2}"]}
    root.mkdir(parents=True)
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(root / "train.parquet"))
    return root


def write_geoqa(root: Path) -> Path:
    """R1-V's GEOQA_R1V_Train_8K: image, problem, solution with <answer>…</answer>."""
    features = datasets.Features({"image": datasets.Image(), "problem": datasets.Value("string"),
                                  "solution": datasets.Value("string")})
    rows = {
        "image": [hf_image(png((1, 2, 3))), hf_image(png((4, 5, 6))), hf_image(png((7, 8, 9)))],
        "problem": ["As shown in the figure, AB ∥ CD, ∠1 = 35°. What is the measure of ∠2?",
                    "As shown in the figure, the radius of circle O is 5. Find the chord length AB.",
                    "In the figure, find the value of x."],
        "solution": ["<answer>145°</answer>", "<answer>8</answer>", "<think>no answer tag here"],
    }
    root.mkdir(parents=True)
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(root / "train-00000-of-00001.parquet"))
    return root


def write_geoqa_choices(root: Path) -> Path:
    """A choice-style GeoQA port: choices plus a label that is an index or a letter."""
    root.mkdir(parents=True)
    rows = [
        {"image": hf_image(png((10, 10, 10))), "problem": "Find ∠BOC.", "choices": ["30°", "60°", "90°", "120°"],
         "label": 3},
        {"image": hf_image(png((20, 20, 20))), "problem": "Find AB.", "choices": ["2", "4", "6", "8"], "label": "B"},
    ]
    features = datasets.Features({"image": datasets.Image(), "problem": datasets.Value("string"),
                                  "choices": datasets.List(datasets.Value("string")),
                                  "label": datasets.Value("string")})
    for r in rows:
        r["label"] = str(r["label"])
    datasets.Dataset.from_list(rows, features=features).to_parquet(str(root / "train.parquet"))
    return root


def _tqa_choice(key: str, text: str) -> dict:
    return {"idStructural": f"{key}.", "processedText": text, "rawText": f"{key}. {text}"}


def write_tqa(root: Path) -> Path:
    """The TQA v1 release layout: train/tqa_v1_train.json plus question_images/."""
    train = root / "train"
    (train / "question_images").mkdir(parents=True)
    (train / "question_images" / "food_chain_7.png").write_bytes(png((30, 60, 90)))
    (train / "question_images" / "earth_layers_1.png").write_bytes(png((90, 60, 30)))
    lessons = [
        {
            "globalID": "L_0001",
            "lessonName": "food chains",
            "questions": {
                "diagramQuestions": {
                    "DQ_000011": {
                        "beingAsked": {"processedText": "Which organism is a producer?", "rawText": "Which ...?"},
                        "answerChoices": {"b": _tqa_choice("b", "grass"), "a": _tqa_choice("a", "hawk"),
                                          "c": _tqa_choice("c", "snake"), "d": _tqa_choice("d", "mouse")},
                        "correctAnswer": {"processedText": "b", "rawText": "b"},
                        "imagePath": "question_images/food_chain_7.png",
                        "imageName": "food_chain_7.png",
                        "questionType": "Diagram Multiple Choice",
                        "globalID": "DQ_000011",
                    },
                    "DQ_000012": {
                        "beingAsked": {"processedText": "What eats the mouse?"},
                        "answerChoices": {"a": _tqa_choice("a", "grass"), "b": _tqa_choice("b", "snake")},
                        "correctAnswer": {"processedText": "b"},
                        "imagePath": "question_images/missing.png",
                        "questionType": "Diagram Multiple Choice",
                        "globalID": "DQ_000012",
                    },
                },
                "nonDiagramQuestions": {
                    "NDQ_000100": {
                        "beingAsked": {"processedText": "Producers make their own food."},
                        "answerChoices": {"a": _tqa_choice("a", "true"), "b": _tqa_choice("b", "false")},
                        "correctAnswer": {"processedText": "a"},
                        "questionType": "True or False",
                        "globalID": "NDQ_000100",
                    },
                },
            },
        },
        {
            "globalID": "L_0002",
            "lessonName": "earth layers",
            "questions": {
                "diagramQuestions": {
                    "DQ_000020": {
                        "beingAsked": {"processedText": "Which layer is the thinnest?"},
                        "answerChoices": {"a": _tqa_choice("a", "crust"), "b": _tqa_choice("b", "mantle"),
                                          "c": _tqa_choice("c", "outer core")},
                        "correctAnswer": {"processedText": "crust"},
                        "imagePath": "question_images/earth_layers_1.png",
                        "questionType": "Diagram Multiple Choice",
                        "globalID": "DQ_000020",
                    },
                },
                "nonDiagramQuestions": {
                    "NDQ_000200": {
                        "beingAsked": {"processedText": "The outer core is made of ____."},
                        "answerChoices": {"a": _tqa_choice("a", "solid rock"), "b": _tqa_choice("b", "liquid metal"),
                                          "c": _tqa_choice("c", "gas")},
                        "correctAnswer": {"processedText": "b"},
                        "questionType": "Multiple Choice",
                        "globalID": "NDQ_000200",
                    },
                },
            },
        },
    ]
    (train / "tqa_v1_train.json").write_text(json.dumps(lessons, indent=1))
    return root


def write_generic_jsonl(root: Path) -> Path:
    """A user's JSONL with image paths relative to the file and their own column names."""
    (root / "imgs").mkdir(parents=True)
    (root / "imgs" / "a.png").write_bytes(png((100, 0, 0)))
    (root / "imgs" / "b.png").write_bytes(png((0, 100, 0)))
    (root / "imgs" / "bad.png").write_bytes(CORRUPT)
    rows = [
        {"qid": "q1", "prompt_text": "How many sides does the shape have?", "gold": "4", "img": "imgs/a.png",
         "difficulty": "easy"},
        {"qid": "q2", "prompt_text": "Which color dominates?", "gold": "Green", "img": "imgs/b.png",
         "opts": ["Red", "Green", "Blue"], "difficulty": "easy"},
        {"qid": "q3", "prompt_text": "What is shown?", "gold": "a square", "img": "imgs/bad.png", "difficulty": "hard"},
        {"qid": "q4", "prompt_text": "Simplify \\frac{6}{8}.", "gold": "\\frac{3}{4}", "img": None,
         "difficulty": "hard"},
    ]
    path = root / "mine.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


# --- tests ----------------------------------------------------------------------------------------

def by_id(out: Path) -> dict[str, dict]:
    return {r["id"]: r for r in read_rows(out)}


def test_geometry3k_hub_layout(tmp_path: Path) -> None:
    src = write_geometry3k(tmp_path / "geo3k")
    result = prepare("geometry3k", tmp_path / "out", path=str(src), progress=False)
    assert (result.n_problems, result.n_rejects) == (3, 1)
    rows = by_id(tmp_path / "out")
    assert set(rows) == {"geometry3k/train/2101", "geometry3k/train/2102", "geometry3k/train/2104"}
    first = rows["geometry3k/train/2101"]
    assert first["question"] == "<image>Find x."
    assert (first["answer"], first["answer_type"], first["choices"]) == ("A", "choice", ["3", "6", "9", "12"])
    assert json.loads(first["meta"])["answer_text"] == "3"
    assert rows["geometry3k/train/2102"]["answer"] == "B"
    # a question without a mark gets one in front
    assert rows["geometry3k/train/2104"]["question"] == "<image>\nFind $m \\angle 2$."
    # the corrupt image is set aside with its reason; the rest is kept
    rejects = read_jsonl(tmp_path / "out" / "rejects.jsonl")
    assert [r["native_id"] for r in rejects] == ["2103"]
    assert rejects[0]["field"] == "images" and "cannot be decoded" in rejects[0]["reason"]
    manifest = read_manifest(tmp_path / "out")
    assert manifest["counts"] == {"problems": 3, "rejects": 1}
    assert manifest["source"] == "geometry3k" and manifest["split"] == "train"
    # the written dataset reads back through the contract, images included
    ds = read_dataset(tmp_path / "out")
    assert len(ds) == 3 and ds[0]["images"][0].size == (28, 28)


def test_geometry3k_split_and_free_form(tmp_path: Path) -> None:
    src = write_geometry3k(tmp_path / "geo3k")
    result = prepare("geometry3k", tmp_path / "test", path=str(src), split="test", progress=False)
    assert result.n_problems == 1
    assert list(by_id(tmp_path / "test")) == ["geometry3k/test/1"]
    prepare("geometry3k", tmp_path / "free", path=str(src), free_form=True, progress=False)
    rows = by_id(tmp_path / "free")
    assert rows["geometry3k/train/2102"]["choices"] == []
    assert rows["geometry3k/train/2102"]["answer"] == "2\\sqrt{221}"
    assert rows["geometry3k/train/2102"]["answer_type"] == "expression"
    assert rows["geometry3k/train/2101"]["answer_type"] == "number"


def test_geometry3k_plain_revision_stable_ids(tmp_path: Path) -> None:
    src = write_geometry3k_plain(tmp_path / "plain")
    prepare("geometry3k", tmp_path / "a", path=str(src), progress=False)
    prepare("geometry3k", tmp_path / "b", path=str(src), progress=False)
    a, b = read_rows(tmp_path / "a"), read_rows(tmp_path / "b")
    assert [r["id"] for r in a] == ["geometry3k/train/0", "geometry3k/train/1"] == [r["id"] for r in b]
    assert [(r["answer"], r["answer_type"]) for r in a] == [("16.5", "number"), ("\\frac{5}{2}", "number")]
    assert (tmp_path / "a" / "data-00000.parquet").read_bytes() == (tmp_path / "b" / "data-00000.parquet").read_bytes()


def test_geoqa_r1v(tmp_path: Path) -> None:
    src = write_geoqa(tmp_path / "geoqa")
    result = prepare("geoqa", tmp_path / "out", path=str(src), progress=False)
    assert (result.n_problems, result.n_rejects) == (2, 1)
    rows = read_rows(tmp_path / "out")
    assert [r["answer"] for r in rows] == ["145°", "8"]
    (reject,) = read_jsonl(result.rejects_path)
    assert (reject["index"], reject["field"]) == (2, "solution") and "no <answer>" in reject["reason"]
    assert rows[0]["answer_type"] == "number" and rows[1]["answer_type"] == "number"
    assert all(r["question"].startswith("<image>") and r["question"].count("<image>") == 1 for r in rows)
    assert rows[0]["id"] == "geoqa/train/0"
    assert json.loads(rows[0]["meta"])["source_solution"] == "<answer>145°</answer>"


def test_geoqa_unclosed_answer_tag_is_rejected(tmp_path: Path) -> None:
    root = tmp_path / "g"
    root.mkdir()
    features = datasets.Features({"image": datasets.Image(), "problem": datasets.Value("string"),
                                  "solution": datasets.Value("string")})
    datasets.Dataset.from_dict({"image": [hf_image(png((1, 1, 1)))] * 2, "problem": ["p1", "p2"],
                                "solution": ["<answer>3</answer>", "<answer>3"]},
                               features=features).to_parquet(str(root / "train.parquet"))
    result = prepare("geoqa", tmp_path / "out", path=str(root), progress=False)
    assert (result.n_problems, result.n_rejects) == (1, 1)
    assert read_jsonl(result.rejects_path)[0]["field"] == "solution"


def test_geoqa_choice_port(tmp_path: Path) -> None:
    src = write_geoqa_choices(tmp_path / "geoqa_mc")
    prepare("geoqa", tmp_path / "out", path=str(src), progress=False)
    rows = read_rows(tmp_path / "out")
    assert [(r["answer"], r["answer_type"]) for r in rows] == [("D", "choice"), ("B", "choice")]
    assert rows[0]["choices"] == ["30°", "60°", "90°", "120°"]


def test_tqa_release_layout(tmp_path: Path) -> None:
    root = write_tqa(tmp_path / "tqa")
    result = prepare("tqa", tmp_path / "out", path=str(root), progress=False)
    assert (result.n_problems, result.n_rejects) == (4, 1)
    rows = by_id(tmp_path / "out")
    dq = rows["tqa/train/DQ_000011"]
    assert dq["question"] == "<image>\nWhich organism is a producer?"
    assert dq["choices"] == ["hawk", "grass", "snake", "mouse"]  # ordered by the printed labels a., b., ...
    assert (dq["answer"], dq["answer_type"]) == ("B", "choice")
    assert len(dq["images"]) == 1
    assert rows["tqa/train/DQ_000020"]["answer"] == "A"  # correctAnswer given as the option's text
    ndq = rows["tqa/train/NDQ_000100"]
    assert ndq["images"] == [] and "<image>" not in ndq["question"]
    assert (ndq["choices"], ndq["answer"]) == (["true", "false"], "A")
    assert json.loads(ndq["meta"])["kind"] == "text"
    rejects = read_jsonl(result.rejects_path)
    assert [r["native_id"] for r in rejects] == ["DQ_000012"]
    assert "missing.png" in rejects[0]["reason"]


def test_tqa_json_file_and_diagram_only(tmp_path: Path) -> None:
    root = write_tqa(tmp_path / "tqa")
    json_file = root / "train" / "tqa_v1_train.json"
    result = prepare("tqa", tmp_path / "out", path=str(json_file), diagram_only=True, progress=False)
    assert result.n_problems == 2
    assert all(len(r["images"]) == 1 for r in read_rows(tmp_path / "out"))


def test_generic_jsonl_with_mapping(tmp_path: Path) -> None:
    path = write_generic_jsonl(tmp_path / "mine")
    result = prepare("generic", tmp_path / "out", path=str(path), progress=False,
                     question="prompt_text", answer="gold", image="img", choices="opts", id="qid")
    assert (result.n_problems, result.n_rejects) == (3, 1)
    rows = by_id(tmp_path / "out")
    assert set(rows) == {"mine/train/q1", "mine/train/q2", "mine/train/q4"}
    assert rows["mine/train/q1"]["question"] == "<image>\nHow many sides does the shape have?"
    assert (rows["mine/train/q1"]["answer"], rows["mine/train/q1"]["answer_type"]) == ("4", "number")
    assert (rows["mine/train/q2"]["answer"], rows["mine/train/q2"]["choices"]) == ("B", ["Red", "Green", "Blue"])
    assert rows["mine/train/q4"]["images"] == [] and rows["mine/train/q4"]["answer_type"] == "number"
    assert json.loads(rows["mine/train/q1"]["meta"])["difficulty"] == "easy"
    assert read_jsonl(result.rejects_path)[0]["native_id"] == "q3"


def test_generic_parquet_and_json_without_mapping(tmp_path: Path) -> None:
    root = tmp_path / "g"
    root.mkdir()
    features = datasets.Features({"question": datasets.Value("string"), "answer": datasets.Value("string"),
                                  "images": datasets.List(datasets.Image())})
    datasets.Dataset.from_dict({"question": ["<image>What is 2+3?", "<image><image>Compare them."],
                                "answer": ["5", "the left one"],
                                "images": [[hf_image(png((1, 1, 1)))], [hf_image(png((2, 2, 2))), hf_image(png((3, 3, 3)))]]},
                               features=features).to_parquet(str(root / "set.parquet"))
    prepare("generic", tmp_path / "p", path=str(root / "set.parquet"), progress=False)
    rows = read_rows(tmp_path / "p")
    assert [r["id"] for r in rows] == ["set/train/0", "set/train/1"]
    assert [r["answer_type"] for r in rows] == ["number", "text"]
    assert [len(r["images"]) for r in rows] == [1, 2]
    (root / "list.json").write_text(json.dumps([{"problem": "Is 7 prime?", "answer": "yes", "answer_type": "text"}]))
    prepare("generic", tmp_path / "j", path=str(root / "list.json"), progress=False)
    (row,) = read_rows(tmp_path / "j")
    assert (row["question"], row["answer"], row["answer_type"], row["images"]) == ("Is 7 prime?", "yes", "text", [])


def test_generic_bad_mapping_names_the_columns(tmp_path: Path) -> None:
    from vrd.errors import VrdError

    path = write_generic_jsonl(tmp_path / "mine")
    with pytest.raises(VrdError, match="no column 'nope'.*prompt_text"):
        prepare("generic", tmp_path / "out", path=str(path), question="nope", answer="gold", progress=False)
    with pytest.raises(VrdError, match="--map question=COLUMN"):
        prepare("generic", tmp_path / "out", path=str(path), answer="gold", progress=False)


def test_limit_counts_problems(tmp_path: Path) -> None:
    src = write_geometry3k(tmp_path / "geo3k")
    result = prepare("geometry3k", tmp_path / "out", path=str(src), limit=2, progress=False)
    assert result.n_problems == 2
    assert [r["id"] for r in read_rows(tmp_path / "out")] == ["geometry3k/train/2101", "geometry3k/train/2102"]


def test_cli_prepare_reports_rejects_and_keeps_the_rest(tmp_path: Path) -> None:
    from vrd.cli.main import app

    path = write_generic_jsonl(tmp_path / "mine")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["data", "prepare", "generic", "--path", str(path), "--out", str(out),
                                      "--map", "question=prompt_text", "--map", "answer=gold",
                                      "--map", "image=img", "--map", "choices=opts", "--map", "id=qid"])
    assert result.exit_code == 0, result.output
    assert "wrote 3 problems" in result.output
    assert "1 record(s) rejected" in result.output
    assert len(read_jsonl(out / "rejects.jsonl")) == 1
    assert len(read_rows(out)) == 3


def test_cli_prepare_bad_map_and_bad_path(tmp_path: Path) -> None:
    from vrd.cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["data", "prepare", "generic", "--out", str(tmp_path / "o"), "--path",
                                 str(tmp_path), "--map", "question"])
    assert result.exit_code == 2 and "FIELD=COLUMN" in result.output
    result = runner.invoke(app, ["data", "prepare", "tqa", "--out", str(tmp_path / "o"), "--path",
                                 str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "nowhere" in result.output
    result = runner.invoke(app, ["data", "prepare", "geoqa", "--out", str(tmp_path / "o"), "--path",
                                 str(tmp_path), "--map", "question=x"])
    assert result.exit_code == 2 and "does not take option" in result.output


def test_duplicate_ids_are_rejected_not_written_twice(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join(json.dumps({"id": i, "question": f"q{n}", "answer": "1"})
                              for n, i in enumerate(["a", "b", "a"])) + "\n")
    result = prepare("generic", tmp_path / "out", path=str(path), progress=False)
    assert (result.n_problems, result.n_rejects) == (2, 1)
    assert [r["id"] for r in read_rows(tmp_path / "out")] == ["dup/train/a", "dup/train/b"]
    (reject,) = read_jsonl(result.rejects_path)
    assert reject["field"] == "id" and "duplicate" in reject["reason"]


def test_tqa_needs_a_path() -> None:
    from vrd.errors import VrdError

    with pytest.raises(VrdError, match="needs --path"):
        prepare("tqa", "/tmp/never-written-tqa", progress=False)
