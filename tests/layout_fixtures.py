"""Downloads as users hold them: release trees and whole hub snapshots, written into tmp dirs.

Each writer reproduces one published layout (folder names, file names, column names and types);
row contents come from `real_rows.py` (copied from the public repositories) where a repository
ships rows, and are made up in the published schema otherwise. Images are tiny generated PNGs.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import datasets
from eval_fixtures import MATHVISTA_FEATURES, WEMATH_FEATURES, _hub_parquet, png
from real_rows import (
    GEOMETRY3K_DATA,
    MATHV_TESTMINI,
    MATHVERSE_TEXT_ONLY,
    MATHVISTA_TESTMINI,
    R1V_GEOQA_TEST,
    WEMATH_TESTMINI,
)


def write_intergps(root: Path) -> Path:
    """InterGPS's data/geometry3k after unzip_data.sh: {train,val,test}/<id>/data.json + img_diagram.png.

    train/11 has int `rough_value`s and train/15 floats; train/12 lost its diagram (one reject).
    val/2101 and test/2401 carry real rows 16 and 19 under ids of those splits.
    """
    layout = {"train": [("11", "11"), ("15", "15"), ("12", "11")], "val": [("2101", "16")],
              "test": [("2401", "19")]}
    for split, folders in layout.items():
        for folder, real in folders:
            d = root / split / folder
            d.mkdir(parents=True)
            data = {**GEOMETRY3K_DATA[real], "id": int(folder), "data_type": split}
            (d / "data.json").write_text(json.dumps(data, indent=2))
            if folder != "12":
                (d / "img_diagram.png").write_bytes(png((int(folder) % 200, 90, 30)))
                (d / "img_diagram_point.png").write_bytes(png((0, 0, 0)))
    return root


GEOQA_PORT_FEATURES = datasets.Features({
    "id": datasets.Value("int64"),
    "subject": datasets.Value("string"),
    "choices": datasets.List(datasets.Value("string")),
    "label": datasets.Value("int64"),
    "formal_point": datasets.List(datasets.Value("string")),
    "answer": datasets.Value("string"),
    "comment": datasets.Value("string"),
    "original_split": datasets.Value("string"),
    "image": datasets.Image(),
})

# Columns and types: hz2475/geoQA README dataset_info (https://huggingface.co/datasets/hz2475/geoQA: id int64,
# subject, choices seq, label int64, formal_point seq, answer, comment, original_split, image; one `train` split
# of 5,010 rows, data/train-*). Public GeoQA loaders read the same fields from GeoQA3/json/<id>.json (`subject`,
# `choices`, `label`). No repository commits rows of the port, so these are MADE UP in that schema: the
# question is `subject`, `label` the 0-based option index (id 2's label 7 is out of range on purpose).
GEOQA_PORT_ROWS = [
    {"id": 0, "subject": "如图，AB是⊙O的直径，点C在⊙O上，若∠A＝40°，则∠B的度数为()",
     "choices": ["80°", "60°", "50°", "40°"], "label": 2, "formal_point": ["圆周角"], "answer": "50",
     "comment": "", "original_split": "train"},
    {"id": 1, "subject": "如图，在△ABC中，DE∥BC，AD＝2，DB＝1，AE＝4，则EC的长为()",
     "choices": ["1", "2", "3", "4"], "label": 1, "formal_point": ["平行线分线段成比例"], "answer": "2",
     "comment": "", "original_split": "test"},
    {"id": 2, "subject": "如图，∠1＝50°，则∠2的度数为()", "choices": ["50°", "130°", "40°", "140°"], "label": 7,
     "formal_point": ["对顶角"], "answer": "130", "comment": "", "original_split": "val"},
]


def write_geoqa_port(root: Path) -> Path:
    """The choice-style hub port with the original field names: data/train-00000-of-00001.parquet."""
    rows = [{**r, "image": {"bytes": png((r["id"] * 60, 40, 40)), "path": None}} for r in GEOQA_PORT_ROWS]
    return _hub_parquet(rows, GEOQA_PORT_FEATURES, root / "data" / "train-00000-of-00001.parquet").parent.parent


# cais/mmlu README dataset_info: question, subject, choices seq, answer class_label A-D; configs `all` and one
# per subject, files all/{test,validation,dev,auxiliary_train}-*.parquet.
MMLU_FEATURES = datasets.Features({
    "question": datasets.Value("string"),
    "subject": datasets.Value("string"),
    "choices": datasets.List(datasets.Value("string")),
    "answer": datasets.ClassLabel(names=["A", "B", "C", "D"]),
})
# Real rows (abstract_algebra test / dev, anatomy test); the auxiliary_train rows have an empty subject.
MMLU_TEST = [
    {"question": "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.",
     "subject": "abstract_algebra", "choices": ["0", "4", "2", "6"], "answer": 1},
    {"question": "A patient suffers a broken nose, you would record this injury as involving which bone?",
     "subject": "anatomy", "choices": ["Vomer", "Nasal", "Maxilla", "Mandible"], "answer": 1},
]
MMLU_DEV = [
    {"question": "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.", "subject": "abstract_algebra",
     "choices": ["0", "1", "2", "3"], "answer": 1},
]
MMLU_VALIDATION = [
    {"question": "Statement 1 | Every element of a group generates a cyclic subgroup of the group. Statement 2 | "
                 "The symmetric group S_10 has 10 elements.", "subject": "abstract_algebra",
     "choices": ["True, True", "False, False", "True, False", "False, True"], "answer": 2},
]
MMLU_AUX = [{"question": f"Auxiliary question {i}?", "subject": "", "choices": ["a", "b", "c", "d"], "answer": i % 4}
            for i in range(5)]


def write_mmlu_hub(root: Path) -> Path:
    """A snapshot of cais/mmlu: all/{test,validation,dev,auxiliary_train}-*.parquet and a folder per subject."""
    for split, rows in (("test", MMLU_TEST), ("validation", MMLU_VALIDATION), ("dev", MMLU_DEV),
                        ("auxiliary_train", MMLU_AUX)):
        _hub_parquet(rows, MMLU_FEATURES, root / "all" / f"{split}-00000-of-00001.parquet")
    _hub_parquet(MMLU_TEST[:1], MMLU_FEATURES, root / "abstract_algebra" / "test-00000-of-00001.parquet")
    _hub_parquet(MMLU_AUX, MMLU_FEATURES, root / "auxiliary_train" / "train-00000-of-00001.parquet")
    return root


def write_mmlu_csv(root: Path) -> Path:
    """The original release (data.tar): data/{test,val,dev}/<subject>_<split>.csv without a header row."""
    letters = "ABCD"
    for split, rows in (("test", MMLU_TEST), ("val", MMLU_VALIDATION), ("dev", MMLU_DEV)):
        for row in rows:
            f = root / "data" / split / f"{row['subject']}_{split}.csv"
            f.parent.mkdir(parents=True, exist_ok=True)
            with open(f, "a", encoding="utf-8", newline="") as fh:
                csv.writer(fh).writerow([row["question"], *row["choices"], letters[row["answer"]]])
    return root


def write_mathvista_snapshot(root: Path) -> Path:
    """`hf download AI4Math/MathVista`: annot_testmini.json, source.json, data/{testmini,test}-*.parquet.

    Layout and columns: the AI4Math/MathVista card (dataset_info, configs data/testmini-*, data/test-*).
    testmini rows are real (lupantech/MathVista data/testmini.json, see real_rows.py); the test rows
    are the same rows with the answer withheld, as the hub's test split has it.
    """
    real = list(MATHVISTA_TESTMINI.values())
    rows = [{**r, "decoded_image": {"bytes": png((40 * i, 90, 200)), "path": None},
             "query": f"Question: {r['question']}"} for i, r in enumerate(real)]
    _hub_parquet(rows, MATHVISTA_FEATURES, root / "data" / "testmini-00000-of-00001-725687bf7a18d64b.parquet")
    test = [{**r, "answer": "", "pid": str(1000 + i)} for i, r in enumerate(rows)]
    _hub_parquet(test, MATHVISTA_FEATURES, root / "data" / "test-00000-of-00002-6b81bd7f7e2065e6.parquet")
    (root / "annot_testmini.json").write_text(json.dumps(MATHVISTA_TESTMINI))
    (root / "source.json").write_text(json.dumps({"1": "GeoQA+"}))
    (root / "README.md").write_text("---\nconfigs: ...\n---\n")
    return root


MATHVERSE_FEATURES = datasets.Features({
    "sample_index": datasets.Value("string"),
    "problem_index": datasets.Value("string"),
    "problem_version": datasets.Value("string"),
    "question": datasets.Value("string"),
    "image": datasets.Image(),
    "answer": datasets.Value("string"),
    "question_type": datasets.Value("string"),
    "metadata": {k: datasets.Value("string") for k in ("split", "source", "subject", "subfield")},
    "query_wo": datasets.Value("string"),
    "query_cot": datasets.Value("string"),
    "question_for_eval": datasets.Value("string"),
})


def write_mathverse_snapshot(root: Path) -> Path:
    """`hf download AI4Math/MathVerse`: testmini.json + testmini.parquet, testmini_text_only.json + .parquet.

    Tree of https://huggingface.co/datasets/AI4Math/MathVerse (images.zip left out): those four files at the root.

    The vision rows reuse the real text-only rows (samples 1, 339, 429, 440) as Text Dominant
    versions with a picture; the text-only files hold the real rows unchanged.
    """
    root.mkdir(parents=True, exist_ok=True)
    vision = [{**r, "problem_version": "Text Dominant", "image": f"images_version_1-4/image_{r['sample_index']}.png",
               "question_for_eval": r["question"]} for r in MATHVERSE_TEXT_ONLY]
    (root / "testmini.json").write_text(json.dumps(vision))
    rows = [{**r, "image": {"bytes": png((200, 30 * i, 30)), "path": None}} for i, r in enumerate(vision)]
    _hub_parquet(rows, MATHVERSE_FEATURES, root / "testmini.parquet")
    text_only = [{**r, "question_for_eval": r["question"]} for r in MATHVERSE_TEXT_ONLY]
    (root / "testmini_text_only.json").write_text(json.dumps(text_only))
    _hub_parquet([{**r, "image": None} for r in text_only], MATHVERSE_FEATURES, root / "testmini_text_only.parquet")
    return root


def write_wemath_snapshot(root: Path) -> Path:
    """`hf download We-Math/We-Math`: testmini.json (image paths) beside data/testmini-*.parquet (images inside).

    Tree of https://huggingface.co/datasets/We-Math/We-Math: data/testmini-00000-of-00001-adbfe22dcd3558e6.parquet,
    testmini.json, testmini.zip (the images), knowledge_structure_nodes.json.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "testmini.json").write_text(json.dumps(WEMATH_TESTMINI, ensure_ascii=False))
    rows = [{**r, "image_path": {"bytes": png((90, 10 * i, 10)), "path": r["image_path"]}}
            for i, r in enumerate(WEMATH_TESTMINI)]
    _hub_parquet(rows, WEMATH_FEATURES, root / "data" / "testmini-00000-of-00001-adbfe22dcd3558e6.parquet")
    (root / "knowledge_structure_nodes.json").write_text(json.dumps([{"id": 1, "name": "Measurement"}]))
    return root


def write_mathv_repo(root: Path) -> Path:
    """The MATH-V repository: data/{test,testmini}.jsonl with `image` = images/<id>.jpg at the repo root."""
    (root / "data").mkdir(parents=True)
    (root / "images").mkdir()
    (root / "outputs").mkdir()
    for r in MATHV_TESTMINI:
        (root / r["image"]).write_bytes(png((int(r["id"]), 60, 60)))
    (root / "data" / "testmini.jsonl").write_text("".join(json.dumps(r) + "\n" for r in MATHV_TESTMINI))
    (root / "data" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in MATHV_TESTMINI[:1]))
    (root / "outputs" / "Random-Chance.jsonl").write_text('{"id": "1", "model": "random", "response": "D"}\n')
    return root


def _tqa_question(qid: str, text: str, correct: str, image: str | None = None) -> dict:
    choices = {k: {"idStructural": f"{k}.", "processedText": v, "rawText": v}
               for k, v in zip("abcd", ("evaporation", "condensation", "precipitation", "runoff"), strict=True)}
    q = {"globalID": qid, "beingAsked": {"processedText": text, "rawText": text}, "answerChoices": choices,
         "correctAnswer": {"processedText": correct, "rawText": correct}, "questionType": "Multiple Choice",
         "questionSubType": "Diagram Multiple Choice" if image else "Multiple Choice"}
    if image:
        q["imagePath"] = image
    return q


def write_tqa_release(root: Path) -> Path:
    """The TQA release: train/tqa_v1_train.json, val/tqa_v1_val.json, test/tqa_v2_test.json + image folders.

    Field names as in TQA's README (lessons -> questions -> diagramQuestions / nonDiagramQuestions ->
    beingAsked, answerChoices {a: {idStructural, processedText, rawText}}, correctAnswer, imagePath). The
    water-cycle questions are MADE UP in that schema (the diagram questions especially: no public
    repository quotes one); real text questions are in real_rows.TQA_LESSON.
    """
    for split, name in (("train", "tqa_v1_train.json"), ("val", "tqa_v1_val.json"), ("test", "tqa_v2_test.json")):
        d = root / split
        (d / "question_images").mkdir(parents=True)
        image = f"question_images/water_cycle_{split}.png"
        (d / image).write_bytes(png((10, 10, 200)))
        lesson = {"globalID": f"L_{split}", "lessonName": "the water cycle", "questions": {
            "diagramQuestions": {f"DQ_{split}_1": _tqa_question(f"DQ_{split}_1", "Which stage is shown by A?", "b",
                                                                 image)},
            "nonDiagramQuestions": {f"NDQ_{split}_1": _tqa_question(f"NDQ_{split}_1", "Rain is a form of", "c"),
                                    f"NDQ_{split}_2": _tqa_question(f"NDQ_{split}_2", "Water flowing over land is",
                                                                    "d")}}}
        (d / name).write_text(json.dumps([lesson]))
    return root


def write_r1v_geoqa_test(root: Path) -> Path:
    """R1-V's src/eval: prompts/geoqa_test_prompts.jsonl, images under Geo170K/images/test/ (unzipped there)."""
    (root / "prompts").mkdir(parents=True)
    (root / "Geo170K" / "images" / "test").mkdir(parents=True)
    for i, r in enumerate(R1V_GEOQA_TEST):
        (root / r["image_path"]).write_bytes(png((i * 70, 20, 20)))
    f = root / "prompts" / "geoqa_test_prompts.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in R1V_GEOQA_TEST))
    return f
