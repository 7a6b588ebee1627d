"""`vrd curate` end to end: exact kept/dropped sets, outputs, report, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import curate_fixtures as S
import polars as pl
import pytest
from typer.testing import CliRunner

from vrd.curate.config import CurateConfig
from vrd.curate.pipeline import curate
from vrd.schema import read_dataset, read_manifest

PLANTED_DUPS = {S.EXACT, S.NEAR, S.REWORDED}
CONTAMINATED = {S.NGRAM_HIT, S.IMAGE_HIT}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("curate-pipeline")
    return {"root": root, "responses": S.write_responses(root / "responses"),
            "bench": S.write_benchmark(root / "bench")}


def _all_output_ids(out: Path, names: list[str]) -> dict[str, set[str]]:
    return {n: set(read_dataset(out / n)["id"]) for n in names}


def test_full_pipeline_drops_exactly_the_planted_cases(data: dict[str, Path]) -> None:
    out = data["root"] / "out-full"
    cfg = CurateConfig(decontaminate_path=(str(data["bench"]),), split="sft=4,rl=rest,val=2", seed=1)
    report = curate(data["responses"], out, cfg)
    expected = S.all_ids() - PLANTED_DUPS - CONTAMINATED - {S.UNSOLVED}
    got = _all_output_ids(out, ["sft", "rl", "val"])
    assert got["sft"] | got["rl"] | got["val"] == expected
    assert not (got["sft"] & got["rl"]) and not (got["sft"] & got["val"]) and not (got["rl"] & got["val"])
    assert (len(got["sft"]), len(got["val"]), len(got["rl"])) == (4, 2, len(expected) - 6)
    steps = {s.step: s for s in report.steps}
    assert steps["correctness"].dropped == {"incorrect": sum(1 for r in S.responses() if not r["correct"])}
    assert steps["decontaminate"].problems_in - steps["decontaminate"].problems_out == 2
    for method, dropped in (("exact", S.EXACT), ("near", S.NEAR), ("image", S.REWORDED)):
        assert steps[f"dedup {method}"].dropped == {f"{method} duplicate": 1}
        assert [d["dropped"] for d in report.duplicates if d["method"] == method] == [dropped]
    assert {(h["id"], h["kind"]) for h in report.contamination} == {(S.NGRAM_HIT, "ngram"), (S.IMAGE_HIT, "image")}
    assert sum(report.splits[n]["problems"] for n in report.splits) == len(expected)
    assert sum(report.splits["rl"]["by_source"].values()) == report.splits["rl"]["problems"]


def test_outputs_are_vrd_datasets_with_difficulty(data: dict[str, Path]) -> None:
    out = data["root"] / "out-kinds"
    curate(data["responses"], out, CurateConfig(split="sft=5,rl=rest", select="longest"))
    sft, rl = read_dataset(out / "sft"), read_dataset(out / "rl")
    assert read_manifest(out / "sft")["kind"] == "responses" and read_manifest(out / "rl")["kind"] == "problems"
    assert sft.num_rows == 5 and len(set(sft["id"])) == 5  # one response per problem
    assert all(sft["correct"]) and {"difficulty", "difficulty_pass_rate", "response"} <= set(sft.column_names)
    assert "response" not in rl.column_names and {"difficulty", "pass_rate", "answer"} <= set(rl.column_names)
    assert len(set(rl["id"])) == rl.num_rows
    # longest: each SFT row is the longest correct response of its problem.
    src = pl.DataFrame(S.responses()).filter(pl.col("correct"))
    longest = dict(src.group_by("id").agg(pl.col("n_tokens").max()).iter_rows())
    assert all(n == longest[i] for i, n in zip(sft["id"], sft["n_tokens"], strict=True))
    # images kept intact (decoded by datasets), difficulty from the pass rate.
    row = next(r for r in rl if r["images"])
    assert row["images"][0].size == (64, 64)
    rates = {r["id"]: r["pass_rate"] for r in S.responses()}
    for r in rl:
        assert r["pass_rate"] == pytest.approx(rates[r["id"]])
        assert r["difficulty"] == {1 / 3: "L3", 2 / 3: "L2", 1.0: "L1"}[min(
            (1 / 3, 2 / 3, 1.0), key=lambda e: abs(e - r["pass_rate"]))]
    report = json.loads((out / "curation.json").read_text())
    assert report["config"]["select"] == "longest" and report["splits"]["sft"]["kind"] == "responses"


def test_rollouts_and_pass_rate_filter(data: dict[str, Path]) -> None:
    from vrd.schema import write_dataset

    # Base-model rollouts: only p00..p05 present; p00 and p01 solved 1 of 4, the rest 4 of 4.
    keep = [S.pid(k) for k in ("p00", "p01", "p02", "p03", "p04", "p05")]
    rows = []
    for r in S.responses(k=4):
        if r["id"] in keep:
            solved = 1 if r["id"] in keep[:2] else 4
            rows.append({**r, "correct": r["sample"] < solved, "n_correct_r1": solved, "pass_rate_r1": solved / 4})
    write_dataset(rows, data["root"] / "rollouts", kind="responses")
    out = data["root"] / "out-roll"
    report = curate(data["responses"], out, CurateConfig(rollouts=str(data["root"] / "rollouts"),
                                                         pass_rate=(0.0, 0.5), dedup=(), split="rl=rest"))
    rl = read_dataset(out / "rl")
    assert set(rl["id"]) == set(keep[:2])
    assert set(rl["difficulty"]) == {"L4"} and set(rl["pass_rate"]) == {0.25}
    steps = {s.step: s for s in report.steps}
    assert steps["difficulty"].dropped == {"not in rollouts": len(S.all_ids()) - 6}
    assert report.pass_rate_from.startswith("rollouts")


def test_split_larger_than_available_is_an_error(data: dict[str, Path]) -> None:
    from vrd.errors import VrdError

    with pytest.raises(VrdError, match=r"only \d+ are available"):
        curate(data["responses"], data["root"] / "out-big", CurateConfig(split="sft=1000"), write=False)


def test_cli_curate_and_export(data: dict[str, Path]) -> None:
    from vrd.cli.main import app

    out = data["root"] / "out-cli"
    cfg = data["root"] / "curate.yaml"
    cfg.write_text("select: first\ndedup: exact,near\nsplit: sft=3,rl=rest\n")
    runner = CliRunner()
    result = runner.invoke(app, ["curate", str(data["responses"]), "--out", str(out), "--config", str(cfg),
                                 "--select", "shortest", "--require-format", "--decontaminate-path",
                                 str(data["bench"])])
    assert result.exit_code == 0, result.output
    assert "curation steps" in result.output and "dedup near" in result.output
    report = json.loads((out / "curation.json").read_text())
    assert report["config"]["select"] == "shortest" and report["config"]["dedup"] == ["exact", "near"]
    assert report["config"]["require_format"] is True
    assert [s["step"] for s in report["steps"]] == ["load", "images", "difficulty", "correctness", "length", "decontaminate",
                                                    "dedup exact", "dedup near", "select", "split"]
    # require_format dropped correct-but-badly-formatted rows.
    assert "format check failed" in report["steps"][3]["dropped"]

    bad = runner.invoke(app, ["curate", str(data["responses"]), "--out", str(data["root"] / "x"),
                              "--split", "sft=999"])
    assert bad.exit_code == 2 and "available" in bad.output

    exp = data["root"] / "exp-cli"
    result = runner.invoke(app, ["export", str(out), "--format", "llamafactory", "--out", str(exp)])
    assert result.exit_code == 0, result.output
    assert json.loads((exp / "dataset_info.json").read_text()).keys() == {"vrd_sft", "vrd_rl"}
    bad = runner.invoke(app, ["export", str(out), "--format", "axolotl", "--out", str(exp)])
    assert bad.exit_code == 2 and "unknown export format" in bad.output
