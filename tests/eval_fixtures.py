"""Benchmark fixture files for the eval tests, each in its real on-disk format, written into tmp dirs.

Formats follow the hub dataset cards and the loaders of lmms-eval / VLMEvalKit / simple-evals:
column names, column types (HF Image structs, class labels, `null` choices) and file layout
(`data/<split>-00000-of-00001.parquet`, the authors' JSON keyed by id, images beside JSON).

The ROWS here are MADE UP in those schemas, sized for the eval pipeline's tests (grading, resume,
reports), which depend on their answers. Real published rows, read in their published layouts, are
in `real_rows.py` and tested by test_real_layouts.py / test_sources_layouts.py (MathVista, MathVerse,
MATH-V, We-Math, MMLU, HallusionBench). GPQA rows stay made up on purpose: its authors ask that
examples not be reposted in plain text (the dataset is gated, the release zip password-protected).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import datasets
from PIL import Image


def png(color: tuple[int, int, int], size: int = 24) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="PNG")
    return buf.getvalue()


def _hub_parquet(rows: list[dict], features: datasets.Features, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows, features=features).to_parquet(str(path))
    return path


MATHVISTA_FEATURES = datasets.Features({
    "pid": datasets.Value("string"),
    "question": datasets.Value("string"),
    "image": datasets.Value("string"),
    "decoded_image": datasets.Image(),
    "choices": datasets.List(datasets.Value("string")),
    "unit": datasets.Value("string"),
    "precision": datasets.Value("float64"),
    "answer": datasets.Value("string"),
    "question_type": datasets.Value("string"),
    "answer_type": datasets.Value("string"),
    "metadata": {
        "category": datasets.Value("string"), "context": datasets.Value("string"),
        "grade": datasets.Value("string"), "img_height": datasets.Value("int64"),
        "img_width": datasets.Value("int64"), "language": datasets.Value("string"),
        "skills": datasets.List(datasets.Value("string")), "source": datasets.Value("string"),
        "split": datasets.Value("string"), "task": datasets.Value("string"),
    },
    "query": datasets.Value("string"),
})


def _vista_meta(task: str) -> dict:
    return {"category": "math-targeted-vqa", "context": "geometry diagram", "grade": "high school",
            "img_height": 24, "img_width": 24, "language": "english", "skills": ["geometry reasoning"],
            "source": "GeoQA+", "split": "testmini", "task": task}


MATHVISTA_ROWS = [
    # multi_choice: the answer is the option text -> letter C
    {"pid": "1", "question": "Find the measure of angle x.", "image": "images/1.jpg",
     "choices": ["30", "45", "60", "90"], "unit": None, "precision": None, "answer": "60",
     "question_type": "multi_choice", "answer_type": "text", "metadata": _vista_meta("geometry problem solving")},
    # free_form integer
    {"pid": "2", "question": "How many sides does the shape have?", "image": "images/2.jpg", "choices": None,
     "unit": None, "precision": None, "answer": "6", "question_type": "free_form", "answer_type": "integer",
     "metadata": _vista_meta("figure question answering")},
    # free_form float with precision 1
    {"pid": "3", "question": "What is the length of AB?", "image": "images/3.jpg", "choices": None,
     "unit": "cm", "precision": 1.0, "answer": "2.5", "question_type": "free_form", "answer_type": "float",
     "metadata": _vista_meta("geometry problem solving")},
    # multi_choice with text options -> letter B
    {"pid": "4", "question": "Which color is the square?", "image": "images/4.jpg",
     "choices": ["red", "blue", "green"], "unit": None, "precision": None, "answer": "blue",
     "question_type": "multi_choice", "answer_type": "text", "metadata": _vista_meta("figure question answering")},
]


def write_mathvista(root: Path) -> Path:
    """Hub layout of AI4Math/MathVista: data/testmini-*.parquet with `decoded_image` and a path in `image`."""
    rows = []
    for i, r in enumerate(MATHVISTA_ROWS):
        rows.append({**r, "decoded_image": {"bytes": png((40 * i, 90, 200)), "path": None},
                     "query": f"Hint: ...\nQuestion: {r['question']}"})
    _hub_parquet(rows, MATHVISTA_FEATURES, root / "data" / "testmini-00000-of-00001.parquet")
    return root


def write_mathvista_json(root: Path) -> Path:
    """The authors' annot_testmini.json: an object keyed by pid, images as relative paths beside it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    annot = {}
    for i, r in enumerate(MATHVISTA_ROWS):
        (root / r["image"]).write_bytes(png((10, 40 * i, 90)))
        annot[r["pid"]] = {k: v for k, v in r.items() if k != "pid"}
        annot[r["pid"]]["pid"] = r["pid"]
    (root / "annot_testmini.json").write_text(json.dumps(annot))
    return root


CHOICES_BLOCK = "\nChoices:\nA:30°\nB:40°\nC:60°\nD:80°"
QUERY_COT_MC = ("Please first conduct reasoning, and then answer the question and provide the correct option "
                "letter, e.g., A, B, C, D, at the end.\nQuestion: ")
QUERY_COT_VO = ("According to the question shown in the image, please first conduct reasoning, and then answer "
                "the question and provide the correct option letter, e.g., A, B, C, D, at the end.")


def _verse(i: int, version: str, question: str, answer: str, qtype: str, query_cot: str) -> dict:
    return {"sample_index": str(i), "problem_index": str(1 + (i - 1) // 3), "problem_version": version,
            "question": question, "image": f"images_version_1-4/image_{i}.png", "answer": answer,
            "question_type": qtype, "metadata": {"split": "testmini", "source": "GeoQA", "subject": "Plane Geometry",
                                                 "subfield": "Angle"},
            "query_wo": "Please directly answer the question.\nQuestion: " + question, "query_cot": query_cot,
            "question_for_eval": question}


MATHVERSE_ROWS = [
    _verse(1, "Text Dominant", "AB is parallel to CD, angle 1 = 40°. Find angle BOC." + CHOICES_BLOCK, "B",
           "multi-choice", QUERY_COT_MC + "AB is parallel to CD ..."),
    _verse(2, "Vision Only", "", "B", "multi-choice", QUERY_COT_VO),
    _verse(3, "Vision Intensive", "Find the area of the triangle.", "12", "free-form",
           "Please first conduct reasoning, and then answer the question.\nQuestion: Find the area of the triangle."),
    _verse(4, "Text Lite", "The radius is 2. Find the circumference.", "4\\pi", "free-form",
           "Please first conduct reasoning ...\nQuestion: The radius is 2. Find the circumference."),
]


def write_mathverse(root: Path) -> Path:
    """The authors' testmini.json (a list) with images under images_version_1-4/, plus testmini_text_only.json."""
    (root / "images_version_1-4").mkdir(parents=True, exist_ok=True)
    for i, r in enumerate(MATHVERSE_ROWS):
        (root / r["image"]).write_bytes(png((200, 30 * i, 30)))
    (root / "testmini.json").write_text(json.dumps(MATHVERSE_ROWS))
    text_only = [{**MATHVERSE_ROWS[2], "sample_index": "99", "problem_version": "Text Only", "image": ""}]
    (root / "testmini_text_only.json").write_text(json.dumps(text_only))
    return root


MATHVISION_FEATURES = datasets.Features({
    "id": datasets.Value("string"),
    "question": datasets.Value("string"),
    "options": datasets.List(datasets.Value("string")),
    "image": datasets.Value("string"),
    "decoded_image": datasets.Image(),
    "answer": datasets.Value("string"),
    "solution": datasets.Value("string"),
    "level": datasets.Value("int64"),
    "subject": datasets.Value("string"),
})

MATHVISION_ROWS = [
    {"id": "1", "question": "Which figure completes the pattern?\n<image1>", "options": ["A", "B", "C", "D", "E"],
     "image": "images/1.jpg", "answer": "C", "solution": None, "level": 1, "subject": "combinatorics"},
    {"id": "2", "question": "<image1>\nHow many triangles are there?", "options": [], "image": "images/2.jpg",
     "answer": "7", "solution": "Count them.", "level": 3, "subject": "counting"},
    {"id": "3", "question": "What is the angle at P in degrees? <image1>", "options": [], "image": "images/3.jpg",
     "answer": "36", "solution": None, "level": 5, "subject": "metric geometry - angle"},
    {"id": "4", "question": "<image1> Which number is hidden?", "options": ["2", "4", "6", "8", "10"],
     "image": "images/4.jpg", "answer": "B", "solution": None, "level": 3, "subject": "arithmetic"},
]


def write_mathvision(root: Path, split: str = "test") -> Path:
    """Hub layout of MathLLMs/MathVision: data/<split>-*.parquet."""
    rows = [{**r, "decoded_image": {"bytes": png((20, 20, 50 * i)), "path": None}} for i, r in enumerate(MATHVISION_ROWS)]
    _hub_parquet(rows, MATHVISION_FEATURES, root / "data" / f"{split}-00000-of-00001.parquet")
    return root


WEMATH_FEATURES = datasets.Features({
    "ID": datasets.Value("string"),
    "split": datasets.Value("string"),
    "knowledge concept": datasets.Value("string"),
    "question": datasets.Value("string"),
    "option": datasets.Value("string"),
    "answer": datasets.Value("string"),
    "image_path": datasets.Image(),
    "key": datasets.Value("string"),
    "question number": datasets.Value("int64"),
    "knowledge concept description": datasets.Value("string"),
})

WEMATH_ROWS = [
    {"ID": "2steps_1", "split": "testmini", "knowledge concept": "Area of Circles",
     "question": "What is the area of the circle (  )?", "option": "A. 3.14; B. 6.28; C. 12.56; D. 25.12; E. No correct answer",
     "answer": "C", "key": "2steps_1", "question number": 1, "knowledge concept description": "..."},
    {"ID": "2steps_1", "split": "testmini", "knowledge concept": "Radius",
     "question": "What is the radius (  )?", "option": "A. 1;B. 2;C. 4;D. 8;E. No correct answer",
     "answer": "B", "key": "2steps_2", "question number": 2, "knowledge concept description": "..."},
    {"ID": "2steps_1", "split": "testmini", "knowledge concept": "Area of Circles",
     "question": "The radius is 2; what is the area (  )?", "option": "A. 3.14;B. 12.56;C. 6.28;D. No correct answer",
     "answer": "B", "key": "2steps_multi", "question number": 3, "knowledge concept description": "..."},
    {"ID": "3steps_165", "split": "testmini", "knowledge concept": "Area of Circles",
     "question": "Mary took 80 steps of 0.628 m along a quarter circle; what is the area (  ) m²?(π = 3.14)",
     "option": "A. 200.96;B. 3215.36;C. 6280;D. 32; E. No correct answer", "answer": "B", "key": "3steps_3",
     "question number": 1575, "knowledge concept description": "..."},
]


def write_wemath(root: Path) -> Path:
    """Hub layout of We-Math/We-Math: data/testmini-*.parquet, picture in `image_path` (an HF image)."""
    rows = [{**r, "image_path": {"bytes": png((90, 10 * i, 10)), "path": None}} for i, r in enumerate(WEMATH_ROWS)]
    _hub_parquet(rows, WEMATH_FEATURES, root / "data" / "testmini-00000-of-00001.parquet")
    return root


MATH500_ROWS = [
    {"problem": "What is $1+1$?", "solution": "It is $\\boxed{2}$.", "answer": "2", "subject": "Prealgebra",
     "level": 1, "unique_id": "test/prealgebra/1.json"},
    {"problem": "Simplify $\\frac{2}{4}$.", "solution": "...", "answer": "\\frac{1}{2}", "subject": "Algebra",
     "level": 2, "unique_id": "test/algebra/2.json"},
    {"problem": "Compute $\\sqrt{16}+1$.", "solution": "...", "answer": "5", "subject": "Algebra", "level": 2,
     "unique_id": "test/algebra/3.json"},
    {"problem": "Find the interval where $x^2<1$.", "solution": "...", "answer": "(-1,1)",
     "subject": "Intermediate Algebra", "level": 5, "unique_id": "test/intermediate_algebra/4.json"},
]


def write_math500(root: Path) -> Path:
    """HuggingFaceH4/MATH-500's test.jsonl."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in MATH500_ROWS))
    return root


GPQA_COLUMNS = ["Pre-Revision Question", "Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2",
                "Incorrect Answer 3", "Explanation", "Record ID", "High-level domain", "Subdomain"]
GPQA_ROWS = [
    {"Question": "Which particle mediates the electromagnetic force?", "Correct Answer": "photon",
     "Incorrect Answer 1": "gluon", "Incorrect Answer 2": "W boson", "Incorrect Answer 3": "graviton",
     "Record ID": "recA1", "High-level domain": "Physics", "Subdomain": "Particle physics"},
    {"Question": "What is the product of an SN2 reaction of CH3Br with OH-?", "Correct Answer": "CH3OH",
     "Incorrect Answer 1": "CH4", "Incorrect Answer 2": "CH2Br2", "Incorrect Answer 3": "CH3OCH3",
     "Record ID": "recB2", "High-level domain": "Chemistry", "Subdomain": "Organic Chemistry"},
    {"Question": "Which organelle makes ATP?", "Correct Answer": "mitochondrion",
     "Incorrect Answer 1": "ribosome", "Incorrect Answer 2": "Golgi apparatus", "Incorrect Answer 3": "lysosome",
     "Record ID": "recC3", "High-level domain": "Biology", "Subdomain": "Molecular Biology"},
]


def write_gpqa(root: Path) -> Path:
    """The GPQA release's gpqa_diamond.csv (the hub's gpqa_diamond config has the same columns)."""
    root.mkdir(parents=True, exist_ok=True)
    # the release folder holds every subset side by side; only gpqa_diamond.csv is the benchmark
    for name, rows in (("gpqa_diamond.csv", GPQA_ROWS), ("gpqa_main.csv", GPQA_ROWS * 2)):
        with open(root / name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=GPQA_COLUMNS)
            writer.writeheader()
            for r in rows:
                writer.writerow({c: r.get(c, "x" if c in ("Pre-Revision Question", "Explanation") else "")
                                 for c in GPQA_COLUMNS})
    return root


MMLU_FEATURES = datasets.Features({
    "question": datasets.Value("string"),
    "subject": datasets.Value("string"),
    "choices": datasets.List(datasets.Value("string")),
    "answer": datasets.ClassLabel(names=["A", "B", "C", "D"]),
})

MMLU_ROWS = [
    {"question": "What is 2 + 2?", "subject": "elementary_mathematics", "choices": ["3", "4", "5", "6"], "answer": 1},
    {"question": "What is 3 * 3?", "subject": "elementary_mathematics", "choices": ["9", "6", "12", "3"], "answer": 0},
    {"question": "The capital of France is", "subject": "high_school_geography",
     "choices": ["Berlin", "Madrid", "Rome", "Paris"], "answer": 3},
    {"question": "Water boils at sea level at", "subject": "high_school_physics",
     "choices": ["50 C", "100 C", "150 C", "0 C"], "answer": 1},
]


def write_mmlu(root: Path) -> Path:
    """Hub layout of cais/mmlu: all/test-*.parquet with `answer` as a class label (0-3)."""
    _hub_parquet(MMLU_ROWS, MMLU_FEATURES, root / "all" / "test-00000-of-00001.parquet")
    # the repo also has one folder per subject; `all` already holds them
    _hub_parquet(MMLU_ROWS[:2], MMLU_FEATURES, root / "elementary_mathematics" / "test-00000-of-00001.parquet")
    return root


WRITERS = {
    "mathvista": write_mathvista,
    "mathverse": write_mathverse,
    "mathvision": write_mathvision,
    "wemath": write_wemath,
    "math500": write_math500,
    "gpqa": write_gpqa,
    "mmlu": write_mmlu,
}


def write_all(root: Path) -> dict[str, Path]:
    """Every benchmark's fixture under `root/<name>`; returns name -> folder (for `--path name=DIR`)."""
    return {name: writer(root / name) for name, writer in WRITERS.items()}
