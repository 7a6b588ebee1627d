"""Hostile paths on the command line, run for real: every input path option given a missing path, a
file where a folder is expected (and the reverse), an empty file and a path with a newline; every
output folder given an existing file. Each must end in exit 2 and one `error:` line naming the path,
before any model loads or anything is written (the inputs are checked first, so the tiny model and
data the other arguments name are never read)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from vrd.cli.main import app

runner = CliRunner()

# {P}: the hostile path; {M}: a tiny model; {S}: synth problems; {R}: responses (a distill output); {t}: a fresh folder.
INPUTS: dict[str, list[str]] = {
    "curate IN": ["curate", "{P}", "--out", "{t}/o"],
    "curate --rollouts": ["curate", "{R}", "--out", "{t}/o", "--rollouts", "{P}"],
    "curate --decontaminate-path": ["curate", "{R}", "--out", "{t}/o", "--decontaminate-path", "{P}"],
    "export IN": ["export", "{P}", "--out", "{t}/o", "--format", "trl"],
    "shift-report DATASET": ["shift-report", "{P}", "--out", "{t}/o", "--base-model", "{M}"],
    "shift-report --base-samples": ["shift-report", "{R}", "--out", "{t}/o", "--base-model", "{M}",
                                    "--base-samples", "{P}"],
    "shift-report --rl-split": ["shift-report", "{R}", "--out", "{t}/o", "--base-model", "{M}",
                                "--base-samples", "{R}", "--rl-split", "{P}"],
    "train sft --data": ["train", "sft", "--model", "{M}", "--data", "{P}", "--out", "{t}/o"],
    "train rl --data": ["train", "rl", "--model", "{M}", "--data", "{P}", "--out", "{t}/o"],
    "train rl --model": ["train", "rl", "--model", "{P}", "--data", "{S}", "--out", "{t}/o"],
    "train rl --eval-data": ["train", "rl", "--model", "{M}", "--data", "{S}", "--out", "{t}/o", "--eval-data", "{P}",
                             "--eval-every", "1"],
    "train rl --resume": ["train", "rl", "--model", "{M}", "--data", "{S}", "--out", "{t}/o", "--resume", "{P}"],
    "train combo --data": ["train", "combo", "--model", "{M}", "--data", "{P}", "--out", "{t}/o"],
    "train combo --sft-data": ["train", "combo", "--model", "{M}", "--data", "{S}", "--sft-data", "{P}",
                               "--out", "{t}/o"],
    "distill --data": ["distill", "--teacher", "{M}", "--data", "{P}", "--out", "{t}/o"],
    "distill --teacher": ["distill", "--teacher", "{P}", "--data", "{S}", "--out", "{t}/o"],
    "distill --source-path": ["distill", "--teacher", "{M}", "--data", "generic", "--source-path", "{P}",
                              "--out", "{t}/o"],
    "reward-audit RUN": ["reward-audit", "{P}"],
    "eval compare RUN": ["eval", "compare", "{P}", "{S}"],
    "eval --model": ["eval", "--model", "{P}", "--benchmarks", "{S}", "--out", "{t}/o"],
    "eval --benchmarks": ["eval", "--model", "{M}", "--benchmarks", "{P}", "--out", "{t}/o"],
    "eval --rollouts": ["eval", "--model", "{M}", "--benchmarks", "{S}", "--out", "{t}/o", "--rollouts", "{P}"],
    "eval --path": ["eval", "--model", "{M}", "--benchmarks", "mathvista", "--out", "{t}/o", "--path",
                    "mathvista={P}"],
    "data inspect PATH": ["data", "inspect", "{P}"],
    "data prepare --path": ["data", "prepare", "generic", "--path", "{P}", "--out", "{t}/o"],
    "merge MODEL": ["merge", "{P}", "{M}", "--out", "{t}/o"],
    "verify IN": ["verify", "{P}", "--out", "{t}/o.jsonl"],
}
# `vrd data inspect FILE` reports what it found in a file it cannot read, then exits 2 on an error
# line: the report is the command's purpose, so only its last line is the error.
REPORTS_FIRST = {("data inspect PATH", "a-file"), ("data inspect PATH", "an-empty-file")}

OUTPUTS: dict[str, list[str]] = {
    "data synth": ["data", "synth", "--n", "2", "--out", "{F}"],
    "data prepare": ["data", "prepare", "synth", "--out", "{F}"],
    "models tiny": ["models", "tiny", "--out", "{F}"],
    "curate": ["curate", "{R}", "--out", "{F}"],
    "export": ["export", "{R}", "--out", "{F}", "--format", "trl"],
    "train sft": ["train", "sft", "--model", "{M}", "--data", "{R}", "--out", "{F}"],
    "train rl": ["train", "rl", "--model", "{M}", "--data", "{S}", "--out", "{F}"],
    "train combo": ["train", "combo", "--model", "{M}", "--data", "{S}", "--out", "{F}"],
    "distill": ["distill", "--teacher", "{M}", "--data", "{S}", "--out", "{F}"],
    "eval": ["eval", "--model", "{M}", "--benchmarks", "{S}", "--out", "{F}"],
    "merge": ["merge", "{M}", "{M}", "--out", "{F}"],
    "shift-report": ["shift-report", "{R}", "--base-model", "{M}", "--out", "{F}"],
    "demo": ["demo", "--out", "{F}"],
}


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, synth_problems_dir: Path) -> dict[str, str]:
    from train_fixtures import response

    from vrd.schema import write_dataset

    root = tmp_path_factory.mktemp("paths")
    responses = root / "responses"
    write_dataset([response(i) for i in range(4)], responses, kind="responses", producer="distill")
    return {"{M}": str(tiny_model_dir), "{S}": str(synth_problems_dir), "{R}": str(responses)}


def _hostile(tmp_path: Path) -> dict[str, Path]:
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("not a dataset\n")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    return {"missing": tmp_path / "missing", "a-file": a_file, "an-empty-file": empty,
            "newline": tmp_path / "new\nline"}


def _refused_naming(args: list[str], path: Path, what: str, *, last_line_only: bool = False) -> None:
    result = runner.invoke(app, args)
    assert isinstance(result.exception, SystemExit | type(None)), f"{what}: {result.exception!r}\n{result.output}"
    assert result.exit_code == 2, f"{what}: exit {result.exit_code}\n{result.output}"
    lines = [line for line in result.output.splitlines() if line.strip()]
    if last_line_only:
        lines = lines[-1:]
    assert len(lines) == 1 and lines[0].startswith("error: "), f"{what}: not one error line\n{result.output}"
    assert " ".join(str(path).split()) in lines[0], f"{what}: the error does not name the path: {lines[0]}"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", sorted(INPUTS))
def test_hostile_input_paths(case: str, places: dict[str, str], tmp_path: Path) -> None:
    for label, path in _hostile(tmp_path).items():
        work = tmp_path / f"run-{label}"
        args = [a.replace("{P}", str(path)).replace("{t}", str(work)) for a in INPUTS[case]]
        args = [places.get(a, a) for a in args]
        _refused_naming(args, path, f"vrd {case} <{label}>", last_line_only=(case, label) in REPORTS_FIRST)
        # the output folder may have been locked (a dot folder) and a resumable run may have recorded its
        # settings (manifest.json, replaced by the corrected rerun), but no data is written
        written = [str(p.relative_to(work)) for p in work.rglob("*") if p.is_file() and p.name != "manifest.json"
                   and not any(part.startswith(".") for part in p.relative_to(work).parts)]
        assert not written and not (work / "o.jsonl").exists(), f"vrd {case} <{label}> wrote {written}"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", sorted(OUTPUTS))
def test_output_folder_that_is_a_file(case: str, places: dict[str, str], tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("keep me\n")
    args = [places.get(a, a).replace("{F}", str(a_file)) for a in OUTPUTS[case]]
    _refused_naming(args, a_file, f"vrd {case} --out <a file>")
    assert a_file.read_text() == "keep me\n"


def test_verify_out_that_is_a_folder(tmp_path: Path) -> None:
    rows = tmp_path / "in.jsonl"
    rows.write_text('{"answer": "1", "response": "1"}\n')
    _refused_naming(["verify", str(rows), "--out", str(tmp_path)], tmp_path, "vrd verify --out <a folder>")


def test_a_run_that_never_sampled_is_replaced_not_refused(tmp_path: Path) -> None:
    """`vrd distill --teacher WRONG` writes its manifest, then fails to load the teacher: the corrected
    rerun must start, not be refused as 'a different run' that needs --new-run."""
    from vrd.distill.config import DistillConfig
    from vrd.distill.store import REJECTS, ConfigMismatchError, ShardStore

    def config(teacher: str) -> DistillConfig:
        cfg = DistillConfig(teacher=teacher, data="d", out=str(tmp_path / "o"))
        cfg.data_id = "dataset:sha256:x"
        return cfg

    ShardStore(tmp_path / "o").open(config("wrong/teacher")).close()
    ShardStore(tmp_path / "o").open(config("right/teacher")).close()
    (tmp_path / "o" / REJECTS).write_text('{"id": "p0", "reason": "engine error"}\n')  # it did some work
    with pytest.raises(ConfigMismatchError):
        ShardStore(tmp_path / "o").open(config("third/teacher"))
