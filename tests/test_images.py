"""Corrupt images and decompression bombs are set aside and counted by every stage, never a traceback."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from train_fixtures import figure, problem, response
from typer.testing import CliRunner

from vrd.cli.main import app
from vrd.images import ImageError, decode_image, image_problem
from vrd.schema import write_dataset

runner = CliRunner()


def _png(im) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A valid small PNG whose header claims width x height (a decompression bomb's shape)."""
    data = bytearray(_png(figure(0, (8, 8))))
    ihdr = 8  # after the signature: length(4) type(4) data(13) crc(4)
    data[ihdr + 8:ihdr + 16] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4:ihdr + 21])) & 0xFFFFFFFF
    data[ihdr + 21:ihdr + 25] = struct.pack(">I", crc)
    return bytes(data)


CORRUPT = _png(figure(1))[:60]  # a truncated PNG: header fine, pixels missing


def _bad_rows(make):
    rows = [make(i) for i in range(6)]
    rows[1]["images"] = [{"bytes": CORRUPT, "path": None}]
    rows[4]["images"] = [{"bytes": bomb(), "path": None}]
    return rows, {rows[1]["id"], rows[4]["id"]}


def test_the_guard_rejects_corrupt_images_and_bombs() -> None:
    with pytest.raises(ImageError, match="over the pixel limit"):
        decode_image(bomb())  # PIL's own hard limit
    with pytest.raises(ImageError, match="8000x8000 pixels is over the 50,000,000-pixel limit"):
        decode_image(bomb(8000, 8000))  # below where PIL even warns
    with pytest.raises(ImageError, match="undecodable|not an image"):
        decode_image(CORRUPT)
    with pytest.raises(ImageError):
        decode_image(b"not an image at all")
    assert decode_image(_png(figure(2))).size == (56, 56)
    assert image_problem([_png(figure(2)), bomb()]).startswith("image 1: ")


@pytest.fixture(scope="module")
def bad_curate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """A curate-shaped folder whose sft, rl and val splits each hold one corrupt image and one bomb."""
    root = tmp_path_factory.mktemp("badimg") / "cur"
    sft, bad = _bad_rows(response)
    write_dataset(sft, root / "sft", kind="responses")
    rl, _ = _bad_rows(problem)
    write_dataset(rl, root / "rl", kind="problems")
    write_dataset(rl, root / "val", kind="problems")
    return root, bad


def test_curate_sets_bad_images_aside(bad_curate: tuple[Path, set[str]], tmp_path: Path) -> None:
    root, bad = bad_curate
    out = tmp_path / "cur"
    result = runner.invoke(app, ["curate", str(root / "sft"), "--out", str(out), "--split", "sft=rest",
                                 "--dedup", "none"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "curation.json").read_text())
    step = next(s for s in report["steps"] if s["step"] == "images")
    assert step["dropped"] == {"undecodable image": 1, "image over the pixel limit": 1}
    from vrd.schema import read_rows

    assert {r["id"] for r in read_rows(out / "sft")}.isdisjoint(bad)


@pytest.mark.parametrize("fmt", ["trl", "easyr1", "llamafactory", "hf"])
def test_export_sets_bad_images_aside(fmt: str, bad_curate: tuple[Path, set[str]], tmp_path: Path) -> None:
    root, bad = bad_curate
    out = tmp_path / fmt
    result = runner.invoke(app, ["export", str(root), "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    mark = json.loads((out / (".vrd-export.parquet" if fmt == "easyr1" else ".vrd-export.json")).read_text())
    for split in (["rl", "val"] if fmt == "easyr1" else ["sft", "rl", "val"]):
        assert {r["id"] for r in mark["set_aside"][split]} == bad, split
    assert "set aside 2" in result.output
    if fmt == "trl":
        import datasets

        ds = datasets.load_dataset("parquet", data_files=str(out / "sft.parquet"), split="train")
        assert len(ds) == 4 and bad.isdisjoint(ds["id"])
        assert all(im.size == (56, 56) for row in ds["images"] for im in row)  # every exported image decodes


def test_train_loaders_set_bad_images_aside(bad_curate: tuple[Path, set[str]], caplog) -> None:
    from vrd.trainers.data import load_rl_dataset, load_sft_dataset

    root, bad = bad_curate
    sft = load_sft_dataset(root, "sft")
    assert len(sft) == 4
    assert "set aside 2 of 6 row(s) whose images cannot be decoded" in caplog.text
    rl = load_rl_dataset(root, "rl", image_size=56)
    assert len(rl) == 4 and bad.isdisjoint(rl["id"])


def test_eval_sets_bad_images_aside(bad_curate: tuple[Path, set[str]]) -> None:
    from vrd.eval.data import load_benchmarks

    root, bad = bad_curate
    (bench,) = load_benchmarks(["mine"], paths={"mine": str(root / "val")})
    assert len(bench.problems) == 4
    assert {r.native_id for r in bench.rejects} == bad
    assert any("pixel limit" in r.reason for r in bench.rejects)
