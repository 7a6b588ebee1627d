"""HallusionBench and MMBench as eval sources, from files in their published layouts."""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

from PIL import Image

from vrd.eval.data import load_benchmark
from vrd.schema import load_image, validate_row


def _png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (24, 24), color).save(buf, format="PNG")
    return buf.getvalue()


def _rows(name: str, folder: Path) -> dict[str, dict]:
    bench = load_benchmark(name, paths={name: str(folder)})
    for i, row in enumerate(bench.problems):
        validate_row(row, "problems", index=i)
    return {json.loads(r["meta"])["native_id"]: r for r in bench.problems}, bench


def test_hallusionbench_hub_parquet_yes_no_and_text_only(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def rec(cat, sub, set_id, fig, q, visual, gt, image):
        return {"category": cat, "subcategory": sub, "visual_input": visual, "set_id": set_id, "figure_id": fig,
                "sample_note": "note", "question_id": q, "question": f"Is the line in figure {fig} longer?",
                "gt_answer_details": "Yes, it is." if gt == "1" else "No, it is not.", "gt_answer": gt,
                "filename": f"./hallusion_bench/{cat}/{sub}/{set_id}_{fig}.png" if image else None,
                "image": {"bytes": _png((0, 0, 0)), "path": None} if image else None}

    records = [rec("VD", "illusion", "0", "0", "0", "1", "1", True), rec("VD", "illusion", "0", "1", "0", "2", "0", True),
               rec("VS", "chart", "3", "0", "1", "0", "0", False), rec("VS", "chart", "3", "1", "1", "1", "7", True)]
    (tmp_path / "data").mkdir()
    pq.write_table(pa.Table.from_pylist(records), tmp_path / "data" / "image-00000-of-00001.parquet")
    rows, bench = _rows("hallusionbench", tmp_path)
    assert sorted(rows) == ["VD_illusion_0_0_0", "VD_illusion_0_1_0", "VS_chart_3_0_1"]
    yes, no, text_only = rows["VD_illusion_0_0_0"], rows["VD_illusion_0_1_0"], rows["VS_chart_3_0_1"]
    assert (yes["answer"], yes["choices"], yes["answer_type"]) == ("A", ["Yes", "No"], "choice")
    assert no["answer"] == "B" and json.loads(no["meta"])["answer_text"] == "No"
    assert load_image(yes["images"][0]).size == (24, 24) and yes["question"].count("<image>") == 1
    assert text_only["images"] == [] and "<image>" not in text_only["question"]
    assert json.loads(text_only["meta"])["subset"] == "VS"
    assert len(bench.rejects) == 1 and "gt_answer" in str(bench.rejects[0])


def test_mmbench_authors_tsv_with_base64_images_and_hints(tmp_path: Path) -> None:
    img = base64.b64encode(_png((200, 0, 0))).decode()
    header = ["index", "question", "hint", "A", "B", "C", "D", "answer", "category", "image", "source",
              "l2-category", "comment", "split"]
    rows = [
        ["0", "What color is the square?", "", "red", "blue", "green", "", "A", "color", img, "x", "attribute", "", "dev"],
        ["1", "Which is heavier?", "A feather and a brick.", "feather", "brick", "", "", "B", "physics", img, "y",
         "reasoning", "", "dev"],
        ["2", "Pick one.", "", "only", "", "", "", "A", "misc", img, "z", "misc", "", "dev"],
    ]
    with open(tmp_path / "MMBench_DEV_EN.tsv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter="\t")
        w.writerow(header)
        w.writerows(rows)
    got, bench = _rows("mmbench", tmp_path)
    assert sorted(got) == ["0", "1"]
    assert (got["0"]["answer"], got["0"]["choices"]) == ("A", ["red", "blue", "green"])
    assert got["1"]["question"].startswith("<image>") or got["1"]["question"].count("<image>") == 1
    assert "A feather and a brick.\nWhich is heavier?" in got["1"]["question"]
    assert load_image(got["0"]["images"][0]).getpixel((1, 1)) == (200, 0, 0)
    assert json.loads(got["1"]["meta"])["subset"] == "reasoning" and json.loads(got["1"]["meta"])["answer_text"] == "brick"
    assert len(bench.rejects) == 1 and "at least two" in str(bench.rejects[0])
