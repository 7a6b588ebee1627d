"""Real published rows in their published layouts: hub snapshots, authors' repos, the hub cache, save_to_disk.

Rows come from `real_rows.py` (copied from the public repositories named there); where no
repository ships rows (MMBench, whose data is only on the hub and OpenCompass's servers), rows are
made up in the card's schema and say so. Each test is a layout a user actually downloads.
"""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path

import datasets
import pytest
from eval_fixtures import MATHVISTA_FEATURES, _hub_parquet, png
from real_rows import HALLUSIONBENCH, MATHVISTA_TESTMINI

from vrd.errors import VrdError
from vrd.eval.data import load_benchmark
from vrd.schema import load_image, validate_row
from vrd.sources.registry import get_source


def bench_rows(name: str, path: Path | None, split: str | None = None, **options) -> tuple[dict, list, object]:
    spec = name if split is None else f"{name}:{split}"
    bench = load_benchmark(spec, paths={spec: str(path)} if path else None, options=options)
    for i, row in enumerate(bench.problems):
        validate_row(row, "problems", index=i)
        for image in row["images"]:
            load_image(image)
    return {json.loads(r["meta"])["native_id"]: r for r in bench.problems}, bench.rejects, bench


def meta(row: dict) -> dict:
    return json.loads(row["meta"])


def write_mathvista_hub(root: Path) -> Path:
    """`hf download AI4Math/MathVista`: data/testmini-*.parquet (card: AI4Math/MathVista README dataset_info)."""
    rows = [{**r, "decoded_image": {"bytes": png((30 * i, 60, 90)), "path": None},
             "query": f"Question: {r['question']}"} for i, r in enumerate(MATHVISTA_TESTMINI.values())]
    _hub_parquet(rows, MATHVISTA_FEATURES, root / "data" / "testmini-00000-of-00001-725687bf7a18d64b.parquet")
    (root / "annot_testmini.json").write_text(json.dumps(MATHVISTA_TESTMINI))
    return root


def check_mathvista(rows: dict) -> None:
    assert sorted(rows, key=int) == ["1", "2", "3", "7", "9", "10"]
    # multi_choice answers are the option text: '145°' -> C, 'quarter' (not 'quarter to') -> B,
    # '8' among ['15', '13', '11', '8'] -> D (text, not an index), 'E' among letter options -> E
    assert [(rows[p]["answer"], rows[p]["answer_type"]) for p in ("3", "7", "9", "10")] == \
        [("C", "choice"), ("B", "choice"), ("D", "choice"), ("E", "choice")]
    assert rows["3"]["choices"] == ["135°", "140°", "145°", "150°"]
    # free_form: precision 1 (an int in the JSON, a float in the parquet) asks for one decimal place
    assert (rows["1"]["answer"], rows["1"]["answer_type"]) == ("1.2", "number")
    assert rows["1"]["question"].endswith("Answer with a number with 1 decimal place.")
    assert rows["1"]["question"].count("<image>") == 1 and "\r\n" in rows["1"]["question"]
    assert (rows["2"]["answer"], meta(rows["2"])["unit"]) == ("1000", "g")
    assert meta(rows["9"])["source"] == "GeoQA+" and meta(rows["9"])["answer_text"] == "8"


def test_mathvista_real_rows_hub_snapshot(tmp_path: Path) -> None:
    root = write_mathvista_hub(tmp_path / "MathVista")
    rows, rejects, bench = bench_rows("mathvista", root)
    check_mathvista(rows)
    assert rejects == [] and bench.origin == f"mathvista ({root}, split testmini)"


def test_mathvista_real_rows_authors_json(tmp_path: Path) -> None:
    """lupantech/MathVista data/testmini.json: an object keyed by pid, images/<pid>.jpg beside it."""
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    for i, r in enumerate(MATHVISTA_TESTMINI.values()):
        (root / r["image"]).write_bytes(png((10, 20 * i, 40)))
    (root / "testmini.json").write_text(json.dumps(MATHVISTA_TESTMINI, ensure_ascii=False, indent=4))
    rows, rejects, _ = bench_rows("mathvista", root)
    check_mathvista(rows)
    assert rejects == []


# -- HallusionBench ------------------------------------------------------------------------------

def write_hallusion_repo(root: Path) -> Path:
    """`git clone tianyi-lab/HallusionBench` + hallusion_bench.zip unzipped beside HallusionBench.json.

    The repo also holds older versions and a result sample with the same fields, and the leaderboard.
    """
    root.mkdir(parents=True)
    (root / "HallusionBench.json").write_text(json.dumps(HALLUSIONBENCH))
    (root / "HallusionBench_v00.json").write_text(json.dumps(HALLUSIONBENCH[:2]))
    (root / "HallusionBench_result_sample.json").write_text(json.dumps(
        [{**r, "model_prediction": "yes"} for r in HALLUSIONBENCH]))
    (root / "leaderboard.json").write_text(json.dumps({"GPT-4V": {"aAcc": 67.58}}))
    for r in HALLUSIONBENCH:
        if r["filename"]:
            image = root / "hallusion_bench" / r["filename"]
            image.parent.mkdir(parents=True, exist_ok=True)
            image.write_bytes(png((200, 10, 10)))
    return root


def test_hallusionbench_authors_repo_reads_only_the_benchmark_json(tmp_path: Path) -> None:
    root = write_hallusion_repo(tmp_path / "HallusionBench")
    rows, rejects, bench = bench_rows("hallusionbench", root)
    assert sorted(rows) == ["VD_illusion_0_0_0", "VD_illusion_0_0_1", "VD_illusion_0_1_0", "VS_chart_0_1_0"]
    assert rejects == []
    first = rows["VD_illusion_0_0_0"]
    assert (first["answer"], first["choices"]) == ("A", ["Yes", "No"])  # gt_answer "1"
    assert rows["VD_illusion_0_0_1"]["answer"] == "B"
    assert all(len(r["images"]) == 1 and r["question"].count("<image>") == 1 for r in rows.values())
    assert meta(rows["VD_illusion_0_1_0"])["visual_input"] == "2"
    text, _, _ = bench_rows("hallusionbench", root, "non_image")
    assert sorted(text) == ["VS_chart_0_0_0", "VS_chart_0_0_1"]
    assert all(r["images"] == [] and "<image>" not in r["question"] for r in text.values())
    with pytest.raises(VrdError, match="splits are image, non_image"):
        bench_rows("hallusionbench", root, "test")


def test_hallusionbench_older_json_with_prefixed_filenames(tmp_path: Path) -> None:
    """Earlier HallusionBench.json revisions wrote `./hallusion_bench/VD/...`; both resolve."""
    root = write_hallusion_repo(tmp_path / "HallusionBench")
    older = [{**r, "filename": r["filename"].replace("./", "./hallusion_bench/", 1) if r["filename"] else None}
             for r in HALLUSIONBENCH]
    (root / "HallusionBench.json").write_text(json.dumps(older))
    rows, rejects, _ = bench_rows("hallusionbench", root)
    assert len(rows) == 4 and rejects == []


# -- MMBench ---------------------------------------------------------------------------------------

# lmms-lab/MMBench README dataset_info: configs cc (test), cn and en (dev, test), files <config>/<split>-*.parquet;
# en's `index` is a string there. One real cn row (real_rows.MMBENCH_CN_DEV_241); the others are made up in
# that schema (no public repository commits MMBench's data).
MMBENCH_FEATURES = datasets.Features({
    "index": datasets.Value("string"), "question": datasets.Value("string"), "hint": datasets.Value("string"),
    "answer": datasets.Value("string"), "A": datasets.Value("string"), "B": datasets.Value("string"),
    "C": datasets.Value("string"), "D": datasets.Value("string"), "category": datasets.Value("string"),
    "image": datasets.Image(), "source": datasets.Value("string"), "L2-category": datasets.Value("string"),
    "comment": datasets.Value("string"), "split": datasets.Value("string"),
})


def _mmbench(index: str, question: str, lang: str) -> dict:
    return {"index": index, "question": question, "hint": None, "answer": "B", "A": "1", "B": "2", "C": None,
            "D": None, "category": "counting", "image": {"bytes": png((0, 90, 0)), "path": None},
            "source": "made-up", "L2-category": "fine-grained perception", "comment": None, "split": "dev"}


def write_mmbench_hub(root: Path) -> Path:
    _hub_parquet([_mmbench("241", "How many circles are there?", "en")], MMBENCH_FEATURES,
                 root / "en" / "dev-00000-of-00001.parquet")
    from real_rows import MMBENCH_CN_DEV_241

    real = {**MMBENCH_CN_DEV_241, "index": "241", "image": {"bytes": png((0, 0, 90)), "path": None}}
    _hub_parquet([real, _mmbench("242", "图中有几个方块？", "cn")], MMBENCH_FEATURES,
                 root / "cn" / "dev-00000-of-00001.parquet")
    _hub_parquet([_mmbench("7", "图中有几个圆？", "cc")], MMBENCH_FEATURES, root / "cc" / "test-00000-of-00001.parquet")
    return root


def test_mmbench_hub_snapshot_reads_one_language_folder(tmp_path: Path) -> None:
    root = write_mmbench_hub(tmp_path / "MMBench")
    rows, rejects, bench = bench_rows("mmbench", root)
    assert list(rows) == ["241"] and rows["241"]["question"].endswith("How many circles are there?")
    assert (rows["241"]["answer"], rows["241"]["choices"]) == ("B", ["1", "2"])
    cn, _, _ = bench_rows("mmbench", root, config="cn")
    assert sorted(cn) == ["241", "242"]
    # the real cn row 241: the hint (a passage) before the question, two options, answer B
    assert cn["241"]["question"].startswith("<image>\n下面的文章描述了一个实验。")
    assert cn["241"]["question"].endswith("图：滑雪板下坡。\n麦德琳和塔克的实验能最好回答哪个问题？")
    assert (cn["241"]["answer"], len(cn["241"]["choices"])) == ("B", 2)
    assert meta(cn["241"])["subset"] == "attribute_reasoning"
    cc, _, _ = bench_rows("mmbench", root, "test", config="cc")
    assert list(cc) == ["7"]
    with pytest.raises(VrdError, match="no 'jp/' folder"):
        bench_rows("mmbench", root, config="jp")


def test_mmbench_tsv_prefers_the_plain_release_over_v11(tmp_path: Path) -> None:
    """VLMEvalKit downloads MMBench_DEV_EN.tsv and MMBench_DEV_EN_V11.tsv into one folder."""
    header = ["index", "question", "hint", "A", "B", "C", "D", "answer", "category", "image", "source",
              "l2-category", "comment", "split"]
    img = base64.b64encode(png((5, 5, 5))).decode()
    for name, qs in (("MMBench_DEV_EN.tsv", ["v1 a", "v1 b"]), ("MMBench_DEV_EN_V11.tsv", ["v11 a"]),
                     ("MMBench_TEST_EN.tsv", ["test a"]), ("MMBench_DEV_CN.tsv", ["cn a"])):
        with open(tmp_path / name, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, delimiter="\t")
            w.writerow(header)
            for i, q in enumerate(qs):
                w.writerow([str(i), q, "", "x", "y", "", "", "A", "c", img, "s", "l2", "", "dev"])
    rows, _, _ = bench_rows("mmbench", tmp_path)
    assert [r["question"].split("\n")[-1] for r in rows.values()] == ["v1 a", "v1 b"]
    cn, _, _ = bench_rows("mmbench", tmp_path, config="cn")
    assert [r["question"].split("\n")[-1] for r in cn.values()] == ["cn a"]
    (tmp_path / "MMBench_DEV_EN.tsv").unlink()
    v11, _, _ = bench_rows("mmbench", tmp_path)
    assert [r["question"].split("\n")[-1] for r in v11.values()] == ["v11 a"]


# -- the hub cache and save_to_disk -----------------------------------------------------------------

def write_hub_cache(cache: Path, repo_id: str, writer) -> Path:
    """`hf download --repo-type dataset REPO` into HF_HUB_CACHE: snapshots/<sha>/ of links into blobs/."""
    repo = cache / ("datasets--" + repo_id.replace("/", "--"))
    staging = writer(cache / "staging")
    sha = "0123456789abcdef0123456789abcdef01234567"
    for f in sorted(p for p in staging.rglob("*") if p.is_file()):
        blob = repo / "blobs" / f"{abs(hash(str(f))):x}"
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(f.read_bytes())
        link = repo / "snapshots" / sha / f.relative_to(staging)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("../" * len(f.relative_to(staging).parts) + "../blobs") / blob.name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    return repo / "snapshots" / sha


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No hub: `datasets.load_dataset` of a hub id fails as it does offline; the hub cache is tmp_path/hub."""
    real = datasets.load_dataset

    def load(path, *args, **kw):
        if "/" in str(path) and not Path(str(path)).exists():
            raise ConnectionError(f"Couldn't reach '{path}' on the Hub (LocalEntryNotFoundError)")
        return real(path, *args, **kw)

    monkeypatch.setattr(datasets, "load_dataset", load)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def test_hub_id_offline_reads_the_hub_cache_snapshot(offline: Path) -> None:
    snapshot = write_hub_cache(offline, "AI4Math/MathVista", write_mathvista_hub)
    assert (snapshot / "data").is_dir() and any(p.is_symlink() for p in (snapshot / "data").iterdir())
    rows, rejects, bench = bench_rows("mathvista", None)  # no --path: the hub id, read from the cache
    check_mathvista(rows)
    assert bench.origin.startswith(f"mathvista (AI4Math/MathVista, from the hub cache {snapshot}")
    src = get_source("mathvista")
    assert len([r for r in src.problems()]) == 6
    summary = src.input_summary()
    assert summary["layout"].startswith("hub cache snapshot of AI4Math/MathVista")
    assert summary["files"][0].endswith("testmini-00000-of-00001-725687bf7a18d64b.parquet")


def test_hub_id_missing_offline_says_what_to_download_and_where(offline: Path) -> None:
    with pytest.raises(VrdError) as err:
        bench_rows("mathverse", None)
    text = str(err.value)
    assert "hf download --repo-type dataset AI4Math/MathVerse" in text
    assert str(offline / "datasets--AI4Math--MathVerse") in text and "--path DIR" in text
    with pytest.raises(VrdError, match="hf download --repo-type dataset hiyouga/geometry3k"):
        list(get_source("geometry3k").problems())


def test_save_to_disk_folders(tmp_path: Path) -> None:
    """`load_dataset(...).save_to_disk(DIR)`: a DatasetDict (one folder per split) and a single Dataset."""
    features = datasets.Features({"images": datasets.List(datasets.Image()), "problem": datasets.Value("string"),
                                  "answer": datasets.Value("string")})
    row = {"images": [{"bytes": png((1, 2, 3)), "path": None}], "problem": "<image>Find x.", "answer": "3"}
    dd = datasets.DatasetDict({s: datasets.Dataset.from_list([row] * n, features=features)
                               for s, n in (("train", 2), ("validation", 1), ("test", 3))})
    dd.save_to_disk(str(tmp_path / "g3k"))
    for split, n in (("train", 2), ("validation", 1), ("test", 3)):
        src = get_source("geometry3k", path=str(tmp_path / "g3k"), split=split)
        got = list(src.problems())
        assert len(got) == n and all(r["answer"] == "3" and r["question"] == "<image>Find x." for r in got)
        assert src.input_summary()["layout"] == "datasets save_to_disk folder"
    with pytest.raises(VrdError, match="without split 'dev'"):
        list(get_source("geometry3k", path=str(tmp_path / "g3k"), split="dev").problems())
    write_mathvista_hub(tmp_path / "mv")
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "mv" / "data" / "*.parquet"), split="train")
    ds.save_to_disk(str(tmp_path / "mv_saved"))
    rows, _, _ = bench_rows("mathvista", tmp_path / "mv_saved")
    check_mathvista(rows)


# -- TQA and GeoQA releases ---------------------------------------------------------------------------

def test_tqa_real_lesson_in_the_release_tree(tmp_path: Path) -> None:
    """tqa_train_val_test.zip: train/tqa_v1_train.json (a list of lessons) beside train/question_images/."""
    from real_rows import TQA_LESSON

    (tmp_path / "tqa_train_val_test" / "train").mkdir(parents=True)
    (tmp_path / "tqa_train_val_test" / "train" / "tqa_v1_train.json").write_text(json.dumps([TQA_LESSON]))
    src = get_source("tqa", path=str(tmp_path / "tqa_train_val_test"), split="train")
    rows = {json.loads(r["meta"])["native_id"]: r for r in src.problems()}
    assert sorted(rows) == ["NDQ_000046", "NDQ_000047", "NDQ_000053"]
    assert (rows["NDQ_000046"]["answer"], rows["NDQ_000046"]["choices"][3]) == ("D", "all of the above")
    assert rows["NDQ_000047"]["answer"] == "A" and rows["NDQ_000047"]["question"].startswith("A geologist")
    matching = rows["NDQ_000053"]  # seven options, the answer key 'g'
    assert (matching["answer"], len(matching["choices"]), matching["choices"][6]) == ("G", 7, "meteorology")
    assert all(r["images"] == [] and r["answer_type"] == "choice" for r in rows.values())
    assert meta(matching)["question_subtype"] == "Matching" and meta(matching)["lesson"] == "L_0002"


# GeoQA's data.zip -> GeoQA3/json/<id>.json + GeoQA3/image/<id>.png + {train,dev,test}.pk. The JSON fields
# are the ones hz2475/geoQA (an HF port of these files) lists and public loaders read (`subject`, `choices`,
# `label`, `id`, `formal_point`); the rows are made up in that schema (no repository commits the files).
GEOQA3_ROWS = {
    "0": {"id": 0, "subject": "如图，AB∥CD，直线EF交AB于点E，交CD于点F，EG平分∠BEF，交CD于点G，∠1＝50°，则∠2等于()",
          "choices": ["50°", "60°", "65°", "90°"], "label": 2, "formal_point": ["平行线", "角平分线"], "comment": ""},
    "1": {"id": 1, "subject": "如图，在△ABC中，D、E分别是AB、AC的中点，若DE＝3，则BC的长为()",
          "choices": ["3", "4", "5", "6"], "label": 3, "formal_point": ["三角形中位线"], "comment": ""},
    "2": {"id": 2, "subject": "如图，∠1＝50°，则∠2的度数为()", "choices": ["50°", "130°", "40°", "140°"], "label": 1,
          "formal_point": ["对顶角"], "comment": ""},
}


def test_geoqa3_release_json_and_images(tmp_path: Path) -> None:
    root = tmp_path / "data" / "GeoQA3"
    (root / "json").mkdir(parents=True)
    (root / "image").mkdir()
    for stem, row in GEOQA3_ROWS.items():
        (root / "json" / f"{stem}.json").write_text(json.dumps(row, ensure_ascii=False))
        if stem != "2":  # one problem lost its picture: one reject, named
            (root / "image" / f"{stem}.png").write_bytes(png((int(stem) * 90, 0, 0)))
    for name in ("train.pk", "dev.pk", "test.pk"):
        (root / name).write_bytes(b"\x80\x04N.")  # the split lists: pickles, never loaded
    for where in (tmp_path / "data", root, root / "json"):
        src = get_source("geoqa", path=str(where))
        items = list(src.problems())
        rows = [r for r in items if isinstance(r, dict)]
        rejects = [r for r in items if not isinstance(r, dict)]
        assert [r["id"] for r in rows] == ["geoqa/all/0", "geoqa/all/1"]
        assert [(r["answer"], r["answer_type"]) for r in rows] == [("C", "choice"), ("D", "choice")]
        assert rows[0]["question"].startswith("<image>\n如图") and rows[0]["choices"][2] == "65°"
        assert meta(rows[1])["formal_point"] == ["三角形中位线"]
        assert [(r.native_id, r.field) for r in rejects] == [("2", "image")] and "image/2.png" in rejects[0].reason
        assert src.input_summary()["layout"].startswith("GeoQA3 release")
    with pytest.raises(VrdError, match="carry no split.*--split all.*hz2475/geoQA"):
        list(get_source("geoqa", path=str(root), split="train").problems())
    with pytest.raises(VrdError, match="does not unpickle"):
        list(get_source("geoqa", path=str(root / "train.pk")).problems())


def test_a_missing_file_path_is_not_taken_for_a_hub_id(tmp_path: Path) -> None:
    from vrd.sources.reading import looks_like_hub_id

    assert looks_like_hub_id("AI4Math/MathVista") and looks_like_hub_id("leonardPKU/GEOQA_R1V_Train_8K")
    assert not looks_like_hub_id("data/train.parquet") and not looks_like_hub_id(str(tmp_path / "x"))
    with pytest.raises(VrdError, match="no such file or folder"):
        list(get_source("generic", path="data/missing.jsonl").problems())


def test_val_and_validation_name_one_split_across_releases(tmp_path: Path) -> None:
    """InterGPS says val/, hiyouga/geometry3k says validation: either name reads either layout."""
    from layout_fixtures import write_intergps
    from test_sources_layouts import run

    root = write_intergps(tmp_path / "geometry3k")
    rows, _, _ = run("geometry3k", root, "validation")
    assert [r["answer"] for r in rows] == ["B"]
    features = datasets.Features({"images": datasets.List(datasets.Image()), "problem": datasets.Value("string"),
                                  "answer": datasets.Value("string")})
    row = {"images": [{"bytes": png((1, 2, 3)), "path": None}], "problem": "<image>Find x.", "answer": "3"}
    _hub_parquet([row], features, tmp_path / "hub" / "data" / "validation-00000-of-00001.parquet")
    _hub_parquet([row, row], features, tmp_path / "hub" / "data" / "train-00000-of-00001.parquet")
    rows, _, src = run("geometry3k", tmp_path / "hub", "val")
    assert len(rows) == 1 and src.note == "files named after split 'validation' (asked for 'val')"
    datasets.DatasetDict({"train": datasets.Dataset.from_list([row] * 2, features=features),
                          "validation": datasets.Dataset.from_list([row], features=features)}
                         ).save_to_disk(str(tmp_path / "saved"))
    rows, _, _ = run("geometry3k", tmp_path / "saved", "val")
    assert len(rows) == 1


def test_math500_real_rows_hub_snapshot(tmp_path: Path) -> None:
    """`hf download HuggingFaceH4/MATH-500`: test.jsonl and README.md at the root."""
    from real_rows import MATH500_TEST

    root = tmp_path / "MATH-500"
    root.mkdir()
    (root / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in MATH500_TEST))
    (root / "README.md").write_text("---\nconfigs: ...\n---\n")
    rows, rejects, _ = bench_rows("math500", root)
    assert sorted(rows) == ["test/algebra/2584.json", "test/precalculus/807.json"] and rejects == []
    polar = rows["test/precalculus/807.json"]
    assert polar["answer"] == "\\left( 3, \\frac{\\pi}{2} \\right)" and polar["answer_type"] == "expression"
    assert rows["test/algebra/2584.json"]["answer"] == "\\frac{14}{3}"
    assert (meta(polar)["subset"], meta(polar)["difficulty"]) == ("Precalculus", 2) and polar["images"] == []


def test_a_hub_cache_repo_folder_as_path_reads_its_current_snapshot(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    current = write_hub_cache(cache, "AI4Math/MathVista", write_mathvista_hub)
    older = current.parent / ("f" * 40)  # a second, older snapshot kept beside it
    (older / "data").mkdir(parents=True)
    for f in (current / "data").iterdir():
        (older / "data" / f.name).write_bytes(f.read_bytes())
    rows, _, bench = bench_rows("mathvista", cache / "datasets--AI4Math--MathVista")
    check_mathvista(rows)  # six rows, not twelve
    src = get_source("mathvista", path=str(cache / "datasets--AI4Math--MathVista"))
    list(src.problems())
    assert src.files == [str(current / "data" / "testmini-00000-of-00001-725687bf7a18d64b.parquet")]


def test_datasets_cache_folder_of_a_prepared_download(tmp_path: Path) -> None:
    """~/.cache/huggingface/datasets/<org>___<name>/default/0.0.0/<hash>/: dataset_info.json + <name>-<split>.arrow.

    Not a save_to_disk folder (no state.json): read as one arrow file per split.
    """
    write_mathvista_hub(tmp_path / "mv")
    pq = str(tmp_path / "mv" / "data" / "testmini-00000-of-00001-725687bf7a18d64b.parquet")
    datasets.load_dataset("parquet", data_files={"testmini": pq, "test": pq}, cache_dir=str(tmp_path / "cache"))
    info = sorted((tmp_path / "cache").rglob("dataset_info.json"))
    assert info and not (info[0].parent / "state.json").exists()
    folder = info[0].parent
    assert sorted(f.name for f in folder.glob("*.arrow")) == ["parquet-test.arrow", "parquet-testmini.arrow"]
    rows, _, _ = bench_rows("mathvista", folder)
    check_mathvista(rows)


def test_mathverse_json_with_images_zip_unpacked_in_place(tmp_path: Path) -> None:
    """MathVerse's testmini.json names images_version_1-4/image_N.png; images.zip unpacks them under images/."""
    from real_rows import MATHVERSE_TEXT_ONLY

    root = tmp_path / "MathVerse"
    rows = [{**r, "problem_version": "Text Dominant", "image": f"images_version_1-4/image_{r['sample_index']}.png"}
            for r in MATHVERSE_TEXT_ONLY]
    for r in rows:
        image = root / "images" / r["image"]
        image.parent.mkdir(parents=True, exist_ok=True)
        image.write_bytes(png((5, 50, 5)))
    (root / "testmini.json").write_text(json.dumps(rows))
    got, rejects, _ = bench_rows("mathverse", root)
    assert len(got) == 4 and rejects == [] and all(len(r["images"]) == 1 for r in got.values())


def test_inspect_recognises_the_new_layouts(tmp_path: Path) -> None:
    from vrd.sources.inspect import guess_source, inspect_path

    hb = write_hallusion_repo(tmp_path / "HallusionBench")
    assert guess_source(hb)[0] == "hallusionbench" and guess_source(hb / "HallusionBench.json")[0] == "hallusionbench"
    report = inspect_path(str(hb))
    assert [(s.split, s.rows, s.rejects) for s in report.splits] == [("image", 4, 0), ("non_image", 2, 0)]
    mm = write_mmbench_hub(tmp_path / "MMBench")
    assert guess_source(mm)[0] == "mmbench"
    root = tmp_path / "GeoQA3"
    (root / "json").mkdir(parents=True)
    (root / "image").mkdir()
    (root / "json" / "0.json").write_text(json.dumps(GEOQA3_ROWS["0"], ensure_ascii=False))
    (root / "image" / "0.png").write_bytes(png((9, 9, 9)))
    assert guess_source(root)[0] == "geoqa"
    assert [(s.split, s.rows) for s in inspect_path(str(root)).splits] == [("all", 1)]


def test_mathvision_real_rows_hub_snapshot(tmp_path: Path) -> None:
    """`hf download MathLLMs/MathVision`: data/{test,testmini}-*.parquet (card: id, question, options seq,
    image str, decoded_image, answer, solution, level int64, subject), images.zip and assets/ beside them."""
    from eval_fixtures import MATHVISION_FEATURES
    from real_rows import MATHV_TESTMINI

    root = tmp_path / "MathVision"
    rows = [{**r, "decoded_image": {"bytes": png((int(r["id"]), 1, 1)), "path": None}} for r in MATHV_TESTMINI]
    _hub_parquet(rows, MATHVISION_FEATURES, root / "data" / "testmini-00000-of-00001-f8ff70fcb2f29b1d.parquet")
    _hub_parquet(rows[:1], MATHVISION_FEATURES, root / "data" / "test-00000-of-00001-3532b8d3f1b4047a.parquet")
    (root / "assets" / "examples").mkdir(parents=True)
    (root / "assets" / "examples" / "Logic.jpg").write_bytes(png((0, 0, 0)))
    got, rejects, _ = bench_rows("mathvision", root, "testmini")
    assert sorted(got, key=int) == ["4", "33", "34"] and rejects == []
    assert (got["4"]["answer"], got["4"]["answer_type"], got["4"]["choices"]) == ("6", "number", [])
    assert (got["33"]["answer"], got["33"]["choices"]) == ("A", ["A", "B", "C", "D", "E"])
    # seven <imageN> placeholders, one composite picture: the words around them stay
    assert got["33"]["question"].startswith("<image>\n") and "When the ant <image1> walks" in got["33"]["question"]
    assert (meta(got["34"])["subset"], meta(got["34"])["difficulty"]) == ("combinatorial geometry", 1)
    test, _, _ = bench_rows("mathvision", root)
    assert list(test) == ["4"]


def test_tqa_without_a_path_says_where_to_get_it() -> None:
    with pytest.raises(VrdError, match="not on the hub; download tqa_train_val_test.zip"):
        list(get_source("tqa").problems())


def test_a_saved_datasetdict_never_stands_in_for_a_missing_split(tmp_path: Path) -> None:
    """load_dataset("leonardPKU/GEOQA_R1V_Train_8K").save_to_disk(DIR) holds only `train`: asking for
    `test` is an error, not the training rows under another name."""
    features = datasets.Features({"image": datasets.Image(), "problem": datasets.Value("string"),
                                  "solution": datasets.Value("string")})
    row = {"image": {"bytes": png((3, 3, 3)), "path": None}, "problem": "Find angle 2.",
           "solution": "<answer>65°</answer>"}
    datasets.DatasetDict({"train": datasets.Dataset.from_list([row], features=features)}).save_to_disk(
        str(tmp_path / "r1v"))
    train = list(get_source("geoqa", path=str(tmp_path / "r1v")).problems())
    assert [r["answer"] for r in train] == ["65°"]
    with pytest.raises(VrdError, match="without split 'test'; it has train"):
        list(get_source("geoqa", path=str(tmp_path / "r1v"), split="test").problems())
