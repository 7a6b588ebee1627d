"""Adversarial sweep: hostile files, replies, templates, configs and credentials at every command.

Each probe states the contract it checks: a one-line error naming file/row/field with exit 2, or the
row set aside and counted; never a traceback, a hang, a crash of the process or unbounded memory.
Grading of hostile replies is held to the verifier's hard time bound, measured here.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vrd.cli.main import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback from {args}: {type(result.exception).__name__}: {result.exception}")
    return result.exit_code, " ".join(result.output.split())


def _refused(args: list[str], *needles: str) -> str:
    code, out = _run(args)
    assert code == 2, (args, code, out)
    assert "error:" in out and "Traceback" not in out, out
    for needle in needles:
        assert needle in out, (needle, out)
    return out


def _png(size: tuple[int, int] = (8, 8)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _bomb() -> bytes:
    """A small valid PNG whose header claims 30000 x 30000 pixels."""
    data = bytearray(_png())
    data[16:24] = struct.pack(">II", 30000, 30000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


# --------------------------------------------------------------------------------------------
# vrd verify: JSONL of rows to grade


GOOD = '{"answer": "12", "response": "<think>4*3</think> \\\\boxed{12}"}\n'
VERIFY_BAD: dict[str, tuple[bytes, str]] = {
    "truncated line": ((GOOD + '{"answer": "1').encode(), "line 2: invalid JSON"),
    "JSON array": (b'[{"answer": "1", "response": "1"}]', "line 1: expected a JSON object, got list"),
    "scalar line": (b"5\n", "expected a JSON object, got int"),
    "answer list": (b'{"answer": [1, 2], "response": "1"}\n', "field 'answer' must be a string or a number, got list"),
    "answer dict": (b'{"answer": {"a": 1}, "response": "1"}\n', "field 'answer' must be a string or a number"),
    "answer null": (b'{"answer": null, "response": "1"}\n', "missing field 'answer'"),
    "answer NaN": (b'{"answer": NaN, "response": "1"}\n', "field 'answer' must be a finite number"),
    "answer Infinity": (b'{"answer": Infinity, "response": "1"}\n', "must be a finite number"),
    "response list": (b'{"answer": "1", "response": ["1"]}\n', "field 'response' must be a string"),
    "response number": (b'{"answer": "1", "response": 1}\n', "field 'response' must be a string"),
    "choices string": (b'{"answer": "A", "response": "A", "choices": "abc"}\n', "field 'choices' must be a list"),
    "choices of dicts": (b'{"answer": "A", "response": "A", "choices": [{"a": 1}, null]}\n', "field 'choices'"),
    "answer_type list": (b'{"answer": "A", "response": "A", "answer_type": ["x"]}\n', "field 'answer_type'"),
    "template unknown": (b'{"answer": "A", "response": "A", "template": "nope"}\n', "line 1: field 'template': unknown template 'nope'"),
    "template number": (b'{"answer": "A", "response": "A", "template": 5}\n', "field 'template'"),
    "empty file": (b"", "holds no rows"),
    "blank lines only": (b"\n\n  \n", "holds no rows"),
    "deeply nested": (('{"answer": "1", "response": "1", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n").encode(),
                      "line 1: JSON nested too deeply"),
    "not UTF-8": (GOOD.encode() + b'{"answer": "\xff\xfe", "response": "1"}\n', "line 2: not UTF-8 text"),
    "UTF-16": (GOOD.encode("utf-16"), "line 1: not UTF-8 text"),
    "NUL bytes": (b"\x00" * 64, "line 1: invalid JSON"),
    "5000-digit integer": (b'{"answer": ' + b"9" * 5000 + b', "response": "1"}\n', "line 1: JSON value not readable"),
}


@pytest.mark.parametrize("name", list(VERIFY_BAD))
def test_verify_refuses_bad_rows_naming_file_and_line(name: str, tmp_path: Path) -> None:
    data, needle = VERIFY_BAD[name]
    src = tmp_path / "in.jsonl"
    src.write_bytes(data)
    _refused(["verify", src, "--out", tmp_path / "out.jsonl"], str(src), needle)
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("name", ["bom", "duplicate ids", "numeric answer"])
def test_verify_reads_harmless_oddities(name: str, tmp_path: Path) -> None:
    data = {"bom": b"\xef\xbb\xbf" + GOOD.encode(),
            "duplicate ids": ('{"id": "a", ' + GOOD[1:]).encode() * 2,
            "numeric answer": b'{"answer": 12, "response": "\\\\boxed{12}"}\n'}[name]
    src = tmp_path / "in.jsonl"
    src.write_bytes(data)
    code, out = _run(["verify", src, "--out", tmp_path / "out.jsonl"])
    assert code == 0, out
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert rows and all(r["correct"] for r in rows)


def test_verify_keeps_memory_bounded_on_a_50mb_line(tmp_path: Path) -> None:
    """One 50 MB reply: graded (not correct), in seconds, without a copy per character."""
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"answer": "12", "response": "7" * 50_000_000}) + "\n")
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from vrd.cli.verify import verify_file\n"
        "t = time.monotonic()\n"
        "counts = verify_file(Path(sys.argv[1]), Path(sys.argv[2]), timeout=2.0)\n"
        "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0].split()[1]\n"
        "print(counts['rows'], counts['correct'], time.monotonic() - t, int(hwm) // 1024)\n")
    # VmHWM is this process's own peak: getrusage's ru_maxrss survives fork and exec, so it would
    # report pytest's own size (about 1.8 GB after the training tests) instead of verify's.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code, str(src), str(tmp_path / "out.jsonl")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows, correct, seconds, peak_mb = proc.stdout.split()
    assert (rows, correct) == ("1", "0")
    assert float(seconds) < 30
    assert int(peak_mb) < 1200, f"peak RSS {peak_mb} MB for a 50 MB line"


# --------------------------------------------------------------------------------------------
# vrd data prepare / vrd data inspect: a local JSONL read by the generic source


OK_ROW = {"id": "a", "question": "<image> What is x?", "answer": "12", "image": "img.png"}


def _jl(*rows: dict[str, Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


# name -> (file bytes, what happens: "refused" + message, or "rejected" + field + reason)
PREPARE_CASES: dict[str, tuple[bytes, str, str]] = {
    "truncated line": (_jl(OK_ROW) + b'{"id": "b", "question": "q", "answ', "refused",
                       "line 2: invalid JSON"),
    "empty file": (b"", "refused", "is empty (0 bytes)"),
    "not UTF-8": (_jl(OK_ROW) + b'{"id": "b", "question": "\xff\xfe", "answer": "1"}\n', "refused",
                  "line 2: not UTF-8 text"),
    "deeply nested": (_jl(OK_ROW)[:-2] + b', "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}\n", "refused",
                      "line 1: JSON nested more than 200 levels deep"),
    "answer list": (_jl({**OK_ROW, "answer": [1, 2]}), "rejected", "answer: must be a string or a number, got list"),
    "answer dict": (_jl({**OK_ROW, "answer": {"x": 1}}), "rejected", "answer: must be a string or a number, got dict"),
    "answer null": (_jl({**OK_ROW, "answer": None}, {**OK_ROW, "id": "b"}), "rejected", "answer: is missing"),
    "answer NaN": (b'{"id": "a", "question": "<image> q", "answer": NaN, "image": "img.png"}\n', "rejected",
                   "answer: must be a finite number"),
    "answer Infinity": (b'{"id": "a", "question": "<image> q", "answer": -Infinity, "image": "img.png"}\n',
                        "rejected", "answer: must be a finite number"),
    "question number": (_jl({**OK_ROW, "question": 5}), "rejected", "question: must be text, got int"),
    "choices string": (_jl({**OK_ROW, "choices": "A, B", "answer": "A"}), "rejected", "choices: is a string"),
    "choices with null": (_jl({**OK_ROW, "choices": ["1", "2", None], "answer": "A"}), "rejected",
                          "choices: options must be strings or numbers, got NoneType"),
    "image int": (_jl({**OK_ROW, "image": 5}), "rejected", "cannot read an image of type int"),
    "duplicate ids": (_jl(OK_ROW, OK_ROW), "rejected", "id: duplicate id"),
    "image traversal": (_jl({**OK_ROW, "image": "../outside.png"}), "rejected", "is outside the data folder"),
    "image deep traversal": (_jl({**OK_ROW, "image": "../../../../../../etc/passwd"}), "rejected",
                             "is outside the data folder"),
    "image absolute": (_jl({**OK_ROW, "image": "/etc/passwd"}), "rejected", "/etc/passwd is outside the data folder"),
    "image symlink out": (_jl({**OK_ROW, "image": "link.png"}), "rejected", "is a symlink to"),
    "image symlink to /dev/zero": (_jl({**OK_ROW, "image": "zero.png"}), "rejected", "is a symlink to /dev/zero"),
    "image fifo": (_jl({**OK_ROW, "image": "fifo.png"}), "rejected", "is not a regular file"),
    "image missing": (_jl({**OK_ROW, "image": "nope.png"}), "rejected", "nope.png"),
    "image directory": (_jl({**OK_ROW, "image": "adir"}), "rejected", "is a directory"),
    "image zero bytes": (_jl({**OK_ROW, "image": "empty.png"}), "rejected", "not an image PIL can read"),
    "image bomb": (_jl({**OK_ROW, "image": "bomb.png"}), "rejected", "pixel limit"),
    "image is EPS (Ghostscript)": (_jl({**OK_ROW, "image": "fig.eps"}), "rejected", "not an image PIL can read"),
    "question of 300k characters": (_jl({**OK_ROW, "question": "<image> " + "x" * 300_000}), "rejected",
                                    "question: is 300,008 characters long"),
}


def _data_dir(tmp_path: Path, data: bytes) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    (d / "img.png").write_bytes(_png())
    (tmp_path / "outside.png").write_bytes(_png())
    os.symlink(tmp_path / "outside.png", d / "link.png")
    os.symlink("/dev/zero", d / "zero.png")
    os.mkfifo(d / "fifo.png")
    (d / "adir").mkdir()
    (d / "empty.png").write_bytes(b"")
    (d / "bomb.png").write_bytes(_bomb())
    (d / "fig.eps").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n%%EndComments\nshowpage\n%%EOF\n")
    (d / "train.jsonl").write_bytes(data)
    return d


@pytest.mark.parametrize("name", list(PREPARE_CASES))
def test_prepare_and_inspect_refuse_or_set_aside(name: str, tmp_path: Path) -> None:
    data, outcome, needle = PREPARE_CASES[name]
    d = _data_dir(tmp_path, data)
    out = tmp_path / "out"
    args = ["data", "prepare", "generic", "--path", d / "train.jsonl", "--out", out]
    if outcome == "refused":
        _refused(args, "train.jsonl", needle)
        _refused(["data", "inspect", d], needle)
        assert not (out / "manifest.json").exists()
        return
    code, text = _run(args)
    assert code == 0, text
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert rejects, text
    assert any(needle in f"{r['field']}: {r['reason']}" for r in rejects), rejects
    assert "rejected" in text
    code, text = _run(["data", "inspect", d])
    assert code == 0 and "reject" in text, text


def test_image_paths_inside_the_data_folder_and_hub_cache_links_are_read(tmp_path: Path) -> None:
    """The guard does not refuse the published layouts: relative paths below the data folder, and a
    hub cache snapshot whose files are symlinks into the repo's blobs/ folder."""
    repo = tmp_path / "datasets--o--n"
    snap = repo / "snapshots" / "abc123"
    (snap / "images").mkdir(parents=True)
    (repo / "blobs").mkdir()
    (repo / "blobs" / "f00d").write_bytes(_png())
    os.symlink("../../../blobs/f00d", snap / "images" / "1.png")
    (snap / "images" / "2.png").write_bytes(_png())
    (snap / "train.jsonl").write_bytes(_jl({**OK_ROW, "image": "images/1.png"},
                                           {**OK_ROW, "id": "b", "image": "images/./sub/../2.png"}))
    (snap / "images" / "sub").mkdir()
    code, text = _run(["data", "prepare", "generic", "--path", snap / "train.jsonl", "--out", tmp_path / "o"])
    assert code == 0 and "0 records rejected" in text, text


# --------------------------------------------------------------------------------------------
# Parquet inputs of distill, curate, export, shift-report, train sft/rl, eval


def _mutate(src: Path, dst: Path, how: str, split: str | None = None) -> Path:
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    shutil.copytree(src, dst)
    shard = sorted(p for p in dst.rglob("*.parquet") if split is None or p.parent.name == split)[0]
    table = pq.read_table(shard)

    def put(column: str, values: pa.Array) -> pa.Table:
        return table.set_column(table.column_names.index(column), pa.field(column, values.type), values)

    n = table.num_rows
    if how == "garbage":
        shard.write_bytes(b"PAR1 not parquet")
    elif how == "zero bytes":
        shard.write_bytes(b"")
    elif how == "folder named .parquet":
        shard.unlink()
        shard.mkdir()
    else:
        table = {
            "answer as int": lambda: put("answer", pa.array(range(n), pa.int64())),
            "images as ints": lambda: put("images", pa.array([[1]] * n)),
            "choices as string": lambda: put("choices", pa.array(["A"] * n)),
            "question missing": lambda: table.drop(["question"]),
            "meta nested deep": lambda: put("meta", pa.array(["[" * 50_000 + "]" * 50_000] * n)),
            "no rows": lambda: table.slice(0, 0),
        }[how]()
        pq.write_table(table, shard)
    return dst


MUTATIONS = {  # name -> what the message says
    "garbage": "is not a readable Parquet file", "zero bytes": "is not a readable Parquet file",
    "folder named .parquet": "is not a file", "answer as int": "column 'answer': has type int64, expected string",
    "images as ints": "column 'images': has type list<element: int64>, expected list of image",
    "choices as string": "column 'choices'", "question missing": "'question'",
    "meta nested deep": "column 'meta': is JSON nested too deeply", "no rows": "",
}
BAD_JSON = {"syntax": "{not json", "deep": "[" * 5000 + "]" * 5000, "5000 digits": '{"a": ' + "9" * 5000 + "}"}


@pytest.mark.parametrize("name", list(BAD_JSON))
def test_meta_checks_and_json_files_give_one_reason(name: str, tmp_path: Path) -> None:
    """A JSON file (parse_json raises), a row's meta (validate_row) and a responses shard's meta
    (curate's frames check) fail through one function, so they give the same reason."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vrd.curate.frames import _check_meta
    from vrd.schema import SchemaError, parse_json, validate_row

    text = BAD_JSON[name]
    with pytest.raises(SchemaError) as as_file:
        parse_json(text, path=tmp_path / "f.json", where="line 3: ")
    reason = as_file.value.reason
    assert str(as_file.value) == f"{tmp_path / 'f.json'}: {reason}" and reason.startswith("line 3: ")
    row = {"id": "a", "question": "q", "answer": "1", "images": [], "choices": [], "answer_type": "number",
           "source": "s", "split": "test", "meta": text}
    with pytest.raises(SchemaError) as as_row:
        validate_row(row, "problems", index=4)
    assert as_row.value.reason == "is " + reason.removeprefix("line 3: ") and as_row.value.column == "meta"
    shard = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"meta": [None, "{}", text]}), shard)
    with pytest.raises(SchemaError) as as_shard:
        _check_meta(shard)
    assert as_shard.value.reason == as_row.value.reason and as_shard.value.row == 2


EMPTY_OK = {"export"}  # an empty split is exported as an empty file (a split whose rows were all set aside)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> dict[str, Path]:
    from train_fixtures import curate_output, response

    from vrd.schema import write_dataset
    from vrd.sources.prepare import synth

    root = tmp_path_factory.mktemp("hostile-inputs")
    synth(4, 0, root / "problems")
    write_dataset([response(i) for i in range(4)], root / "responses", kind="responses", producer="distill")
    curate_output(root / "curated", n_sft=2, n_rl=2, n_val=1)
    return {"problems": root / "problems", "responses": root / "responses", "curated": root / "curated",
            "model": tiny_model_dir}


def _command(cmd: str, src: Path, out: Path, model: Path) -> list[Any]:
    return {
        "distill": ["distill", "--teacher", model, "--backend", "hf", "--data", src, "--out", out, "--samples", "1"],
        "curate": ["curate", src, "--out", out],
        "export": ["export", src, "--format", "trl", "--out", out],
        "shift-report": ["shift-report", src, "--base-model", model, "--out", out, "--device", "cpu"],
        "train sft": ["train", "sft", "--model", model, "--data", src, "--out", out, "--max-steps", "1"],
        "train rl": ["train", "rl", "--model", model, "--data", src, "--out", out, "--max-steps", "1"],
        "eval": ["eval", "--model", model, "--backend", "hf", "--benchmarks", "mathvista", "--path",
                 f"mathvista={src}", "--out", out, "--limit", "2"],
    }[cmd]


READS = {"distill": ("problems", None), "curate": ("responses", None), "export": ("curated", "rl"),
         "shift-report": ("responses", None), "train sft": ("curated", "sft"), "train rl": ("curated", "rl"),
         "eval": ("problems", None)}


@pytest.mark.parametrize("how", list(MUTATIONS))
@pytest.mark.parametrize("cmd", list(READS))
def test_parquet_inputs_are_refused_in_one_line(cmd: str, how: str, inputs: dict[str, Path], tmp_path: Path) -> None:
    kind, split = READS[cmd]
    src = _mutate(inputs[kind], tmp_path / "in", how, split)
    args = _command(cmd, src, tmp_path / "out", inputs["model"])
    if how == "no rows" and cmd in EMPTY_OK:
        code, out = _run(args)
        assert code == 0, out
        return
    needle = MUTATIONS[how]
    if cmd.startswith("train"):  # the trainers read exports too, so they say which layouts they looked for
        needle = {"question missing": "cannot build", "folder named .parquet": f"has no '{split}' split"}.get(how, needle)
    _refused(args, needle)


# --------------------------------------------------------------------------------------------
# User prompt templates render in a bounded, immutable sandbox


TEMPLATE_ATTACKS = {
    "class mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "cycler globals": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "lipsum globals": "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "self globals": "{{ self.__init__.__globals__ }}",
    "attr filter": "{{ (question|attr('__class__')).__mro__ }}",
    "str.format": "{{ '{0.__class__}'.format(question) }}",
    "mutate a value": "{{ choices.append(1) }}",
    "include a file": "{% include '/etc/passwd' %}",
    "extends a file": "{% extends '/etc/passwd' %}",
    "import a file": "{% import 'x.j2' as x %}",
    "division by zero": "{{ 1 / 0 }}",
    "huge power": "{{ 9 ** 99999999 }}",
    "huge string": "{{ 'x' * 10**9 }}",
    "huge list": "{{ [1] * 10**9 }}",
    "huge %-width": "{{ '%999999999d' % 1 }}",
    "huge range": "{% for i in range(10**9) %}{% endfor %}",
    "deep nesting": "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
    "syntax error": "{{ question ",
}


@pytest.mark.parametrize("name", list(TEMPLATE_ATTACKS))
def test_user_templates_cannot_escape_or_exhaust(name: str, tmp_path: Path) -> None:
    from vrd.errors import VrdError
    from vrd.prompts import render_prompt

    path = tmp_path / "t.jinja"
    path.write_text("Solve: {{ question }} " + TEMPLATE_ATTACKS[name] + " Put the answer in \\boxed{}.")
    start = time.monotonic()
    with pytest.raises(VrdError, match=f"template {path}"):
        render_prompt({"question": "What is x?", "choices": ["1", "2"]}, str(path))
    assert time.monotonic() - start < 2.0


def test_user_template_data_is_not_template_source(tmp_path: Path) -> None:
    """Template syntax inside a question is text, not code."""
    from vrd.prompts import render_prompt

    path = tmp_path / "t.jinja"
    path.write_text("Q: {{ question }} \\boxed{}")
    text = render_prompt({"question": "{{ 7*7 }} {% for x in range(3) %}y{% endfor %} <script>", "choices": []},
                         str(path))
    assert text == "Q: {{ 7*7 }} {% for x in range(3) %}y{% endfor %} <script> \\boxed{}"


# Templates that run long or build huge values: each is stopped by the per-render work budget
# or a size check (not by a signal, so in any thread), with the reason in one line. CPU time is
# measured rather than wall time so a loaded machine cannot fail the bound.
LONG_QUESTION = "What is x? " * 2000
WORK = "steps of work|s of CPU time"  # the step budget, or the CPU-time backstop on a slow machine
TOO_LARGE = "too large for a prompt"
TEMPLATE_WORK_ATTACKS = {
    "nested range loops": ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", WORK),
    "loops over the question": ("{% for x in question %}{% for y in question %}{% endfor %}{% endfor %}", WORK),
    "output in nested loops": ("{% for a in range(99999) %}{% for b in range(99999) %}{{ question }}{% endfor %}"
                               "{% endfor %}", WORK),
    "set block of copies": ("{% set s %}{% for i in range(100000) %}{{ question }}{% endfor %}{% endset %}{{ s }}",
                            WORK),
    "macro calling itself twice": ("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
                                   "{{ f(60) }}", WORK),
    "caller recursion": ("{% macro m() %}{{ caller() }}{{ caller() }}{% endmacro %}{% macro f(n) %}{% call m() %}"
                         "{{ f(n - 1) if n }}{% endcall %}{% endmacro %}{{ f(25) }}", WORK),
    "recursive loop": ("{% for x in range(100000) recursive %}{% if x == 99999 %}{{ loop(range(100000)) }}{% endif %}"
                       "{% endfor %}", WORK),
    "loop.cycle": ("{% for a in range(99999) %}{% for b in range(99999) %}{{ loop.cycle('a', 'b') }}{% endfor %}"
                   "{% endfor %}", WORK),
    "range inside map": ("{% for i in range(99999) %}{{ range(99999)|map('string')|list|length }}{% endfor %}", WORK),
    "select in a loop": ("{% for i in range(99999) %}{{ range(99999)|select('odd')|list|length }}{% endfor %}", WORK),
    "sort in a loop": ("{% for i in range(99999) %}{{ (range(99999)|list|sort)[0] }}{% endfor %}", WORK),
    "slice into a billion": ("{{ [1]|slice(10**9)|list|length }}", TOO_LARGE),
    "slices of a long list": ("{% for i in range(99) %}{{ range(99999)|slice(99999)|list|length }}{% endfor %}", WORK),
    "namespace string doubling": ("{% set ns = namespace(s='x') %}{% for i in range(99) %}{% set ns.s = ns.s ~ ns.s %}"
                                  "{% endfor %}{{ ns.s|length }}", TOO_LARGE),
    "macro string doubling": ("{% macro f(s, n) %}{{ f(s + s, n - 1) if n else s|length }}{% endmacro %}"
                              "{{ f('x', 80) }}", TOO_LARGE),
    "join on a big range": ("{{ range(100000)|join(question) }}", TOO_LARGE),
    "join of repeats": ("{{ question.join([question] * 99) }}", TOO_LARGE),
    "nested repeat": ("{{ [[question] * 1000] * 1000 }}", TOO_LARGE),
    "namespace repeated": ("{% set ns = namespace(a=question) %}{{ [ns] * 100000 }}", TOO_LARGE),
    "dict view repeated": ("{% set d = {'a': question} %}{{ ([d.items()] * 100000)|join }}", TOO_LARGE),
    "namespace printed in a loop": ("{% set ns = namespace(a=question) %}{% for i in range(99999) %}{{ ns }}"
                                    "{% endfor %}", WORK),
    "list literal tower": ("{% set a = [question, question, question, question, question, question] %}"
                           "{% set b = [a, a, a, a, a, a] %}{% set c = [b, b, b, b, b, b] %}{{ c == c }}", TOO_LARGE),
    "str.center": ("{{ 'x'.center(10**10) }}", TOO_LARGE),
    "center filter": ("{{ 'x'|center(10**10) }}", TOO_LARGE),
    "str.replace with empty": ("{{ question.replace('', question) }}", TOO_LARGE),
    "replace filter": ("{{ question|replace(' ', question) }}", TOO_LARGE),
    "indent filter": ("{{ question|indent(10**9) }}", TOO_LARGE),
    "wordwrap with the question": ("{{ question|wordwrap(1, wrapstring=question) }}", TOO_LARGE),
    "str.translate": ("{{ question.translate({32: question}) }}", TOO_LARGE),
    "expandtabs": ("{{ ('\t' * 999).expandtabs(10**6) }}", TOO_LARGE),
    "format filter width": ("{{ '%(a)999999999d'|format(a=1) }}", TOO_LARGE),
    "integer squared in a loop": ("{% set ns = namespace(x=2**2000) %}{% for i in range(64) %}"
                                  "{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x % 10 }}", TOO_LARGE),
    "%-precision": ("{{ '%.999999999d' % 1 }}", TOO_LARGE),
    "str.format width": ("{{ '{:999999999}'.format(1) }}", TOO_LARGE),
    "str.format computed width": ("{{ '{:{}}'.format(1, 10**9) }}", TOO_LARGE),
    "batch fill": ("{{ [1]|batch(10**9, 'x')|list|length }}", TOO_LARGE),
    "tojson indent": ("{{ [1]|tojson(indent=10**9) }}", TOO_LARGE),
    "lipsum": ("{{ lipsum(10**6) }}", TOO_LARGE),
    "sum of lists": ("{{ ([[1] * 99] * 999)|sum(start=[]) }}", TOO_LARGE),
}


@pytest.mark.parametrize("name", list(TEMPLATE_WORK_ATTACKS))
def test_user_templates_are_bounded_in_work(name: str, tmp_path: Path) -> None:
    from vrd.prompts import TemplateError, render_prompt

    source, reason = TEMPLATE_WORK_ATTACKS[name]
    path = tmp_path / "t.jinja"
    path.write_text("Solve: {{ question[:9] }} " + source + " Put the answer in \\boxed{}.")
    start = time.thread_time()
    with pytest.raises(TemplateError) as err:
        render_prompt({"question": LONG_QUESTION, "choices": ["1", "2"]}, str(path))
    assert time.thread_time() - start < 2.0
    message = str(err.value)
    assert message.startswith(f"template {path}: ") and re.search(reason, message) and "\n" not in message, message


def test_template_work_bound_holds_in_a_worker_thread(tmp_path: Path) -> None:
    """Prompts render in worker threads and Ray actors too: the bound needs no signal."""
    from concurrent.futures import ThreadPoolExecutor

    from vrd.prompts import TemplateError, render_prompt

    path = tmp_path / "t.jinja"
    path.write_text(TEMPLATE_WORK_ATTACKS["nested range loops"][0] + "{{ question }}")
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(render_prompt, {"question": "q"}, str(path)) for _ in range(2)]
        for future in futures:
            with pytest.raises(TemplateError, match=WORK):  # noqa: PT012
                future.result()


def test_template_cpu_backstop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work the step count undervalues still stops on this thread's CPU time (checked every few
    thousand steps); with no CPU time allowed, the second check stops the render."""
    from vrd import template_sandbox
    from vrd.prompts import TemplateError, render_prompt

    monkeypatch.setattr(template_sandbox, "MAX_CPU_SECONDS", 0.0)
    path = tmp_path / "t.jinja"
    path.write_text(TEMPLATE_WORK_ATTACKS["nested range loops"][0])
    with pytest.raises(TemplateError, match="s of CPU time"):
        render_prompt({"question": "q"}, str(path))


def test_hostile_template_at_the_cli_is_one_line(tmp_path: Path) -> None:
    """`vrd export --template` with a template that would run for ever: exit 2, one line, quickly."""
    from train_fixtures import curate_output

    src = curate_output(tmp_path / "curated", n_sft=1, n_rl=1, n_val=1)
    template = tmp_path / "t.jinja"
    template.write_text(TEMPLATE_WORK_ATTACKS["nested range loops"][0] + "{{ question }} \\boxed{}")
    start = time.thread_time()
    out = _refused(["export", src, "--format", "trl", "--out", tmp_path / "out", "--template", template],
                   "t.jinja", "steps of work")
    assert time.thread_time() - start < 5.0 and len(out.split("error:")) == 2, out


LEGIT_TEMPLATE = """\
{%- macro opt(letter, text) -%}({{ letter }}) {{ text | trim }}{%- endmacro -%}
{%- macro box(body) -%}[{{ body }}{{ caller() if caller is defined }}]{%- endmacro -%}
{% set ns = namespace(n=0) %}
{{ question | replace('x', 'y') }} ({{ question | length }} chars, {{ question.split() | length }} words)
{% for letter, text in lettered if text != 'skip' %}
{{ loop.index }}/{{ loop.length }} {{ opt(letter, text) }}{{ ',' if not loop.last }}{% set ns.n = ns.n + 1 %}
{% else %}
no options
{% endfor %}
{{ ns.n }} {{ choices | map('upper') | join('|') }} {{ range(3) | list }} {{ {'a': 1, 'b': (2, 3)} | dictsort }}
{% for item in [[1, [2, 3]], [4]] recursive %}<{{ item if item is number else loop(item) }}>{% endfor %}
{% call box('b') %}c{% endcall %} {{ '%s=%d' % ('k', 3) }} {{ '{}:{:>4}'.format('w', 7) }} {{ 'ab' * 3 }}
{{ lipsum(1, False, 5, 9) | wordcount > 4 }} {% for c in question %}{{ c if c in 'aeiou' }}{% endfor %}
{{ [3, 1, 2] | sort | reverse | list }} {{ question | truncate(12) }} {{ (question ~ '!') | center(60) | trim }}
{% set block %}{% for i in range(50) %}{{ i }}{% endfor %}{% endset %}{{ block | length }} \\boxed{}
"""


def test_bounded_sandbox_renders_what_jinja_renders(tmp_path: Path) -> None:
    """The budget changes no output: a template using loops, macros, call blocks, recursive loops,
    filters, tests and formatting renders exactly as in Jinja's own sandbox."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from vrd.prompts import render_prompt

    path = tmp_path / "t.jinja"
    path.write_text(LEGIT_TEMPLATE)
    plain = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, autoescape=False,
                                          undefined=jinja2.StrictUndefined).from_string(LEGIT_TEMPLATE)
    for problem in ({"question": "What is x + 2?", "choices": ["1", "skip", "3 "]}, {"question": "x" * 50_000}):
        choices = problem.get("choices", [])
        expected = plain.render(question=problem["question"], choices=choices, answer_type="text", source="",
                                lettered=[("ABC"[i], c) for i, c in enumerate(choices)]).strip()
        assert render_prompt(problem, str(path)) == expected


# --------------------------------------------------------------------------------------------
# --config YAML files


YAML_CASES = {
    "python object": ('!!python/object/apply:os.system ["touch {pwned}"]\n', "not valid YAML"),
    "python object value": ('timeout: !!python/object/apply:os.system ["touch {pwned}"]\n', "not valid YAML"),
    "python name": ("timeout: !!python/name:os.system\n", "not valid YAML"),
    "unknown key": ("timout: 3\n", "unknown setting 'timout'"),
    "wrong type": ("timeout: [1, 2]\n", "setting 'timeout' expects float"),
    "top-level list": ("- 1\n- 2\n", "the top level must be a mapping"),
    "not UTF-8": (b"template: \xff\xfe\n", "not UTF-8 text"),
    "deep nesting": ("timeout: " + "[" * 3_000 + "]" * 3_000 + "\n", "YAML nested too deeply"),
    "alias bomb": ("engine_options: {" + ", ".join(
        ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]"
                                                     for i in range(1, 30)]) + ", bomb: *a29}\n",
                   "aliases are expanded"),
}


@pytest.mark.parametrize("name", list(YAML_CASES))
def test_config_files_are_read_safely(name: str, tmp_path: Path) -> None:
    text, needle = YAML_CASES[name]
    pwned = tmp_path / "PWNED"
    cfg = tmp_path / "c.yaml"
    if isinstance(text, bytes):
        cfg.write_bytes(text)
    else:
        cfg.write_text(text.replace("{pwned}", str(pwned)))
    src = tmp_path / "in.jsonl"
    src.write_text(GOOD)
    command = ["verify", src, "--out", tmp_path / "o.jsonl"] if name != "alias bomb" else \
        ["distill", "--teacher", "m", "--data", "synth", "--out", tmp_path / "d"]
    start = time.monotonic()
    _refused([*command, "--config", cfg], str(cfg), needle)
    assert time.monotonic() - start < 10
    assert not pwned.exists()


# --------------------------------------------------------------------------------------------
# Plots: user text ($ in a run or dataset name) is drawn literally, not parsed as mathtext


@pytest.mark.parametrize("name", ["a$\\frac{$b", "<script>$x$"])
def test_plot_labels_are_literal(name: str, tmp_path: Path) -> None:
    from vrd.analysis.html import grouped_bars, overlay_histogram
    from vrd.eval.behavior import write_plots

    assert overlay_histogram({name: [1.0, 2.0, 3.0]}, "x", [1.5])
    assert grouped_bars({name: {"wait": 1.0}}, "per 1k")
    comparison = {"runs": [name, "base"],
                  "rows": [{"benchmark": "mean", "slice": "all", "accuracy": [0.5, 0.4], "n": [4, 4]},
                           {"benchmark": "b", "slice": "base pass=L1", "accuracy": [0.5, 0.25], "n": [4, 4]}],
                  "behavior": [{"metric": "mean tokens", "benchmark": "all", "values": [10.0, 12.0]},
                               {"metric": "p95 tokens", "benchmark": "all", "values": [20.0, 22.0]}]}
    written = write_plots(comparison, tmp_path / "plots")
    assert sorted(p.name for p in written) == ["accuracy_by_level.png", "accuracy_vs_length.png",
                                               "length_by_method.png"]


# --------------------------------------------------------------------------------------------
# Credentials: never in output, errors, manifests, logs or result files


ENV_KEY = "sk-live-ENVSECRET0123456789"
URL_PASSWORD = "PWSECRET9876"
QUERY_KEY = "QUERYSECRET55"
ODD_KEY = "zz-odd-shape-KEYVALUE-42"  # no known key shape: only knowing the value masks it


@pytest.fixture
def echo_server() -> Any:
    """An OpenAI-compatible URL that refuses every request and echoes the credentials it was sent,
    as a misconfigured proxy does."""
    import threading
    from http.server import BaseHTTPRequestHandler

    from http_fixtures import QuietServer

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = f"invalid credentials {self.headers.get('Authorization')} for {self.path}".encode()
            self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            self.do_POST()

        def log_message(self, *args: Any) -> None:
            pass

    server = QuietServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _assert_no_secret(out: str, *folders: Path) -> None:
    for secret in (ENV_KEY, URL_PASSWORD, QUERY_KEY, ODD_KEY):
        assert secret not in out, (secret, out)
        for folder in folders:
            for f in folder.rglob("*") if folder.exists() else []:
                if f.is_file():
                    assert secret.encode() not in f.read_bytes(), (secret, f)


@pytest.mark.parametrize("key", [ENV_KEY, ODD_KEY])
def test_distill_against_a_server_that_echoes_keys(key: str, echo_server: int, synth_problems_dir: Path,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", key)
    url = f"http://user:{URL_PASSWORD}@127.0.0.1:{echo_server}/v1?api_key={QUERY_KEY}"
    out = tmp_path / "d"
    result = runner.invoke(app, ["distill", "--teacher", "m", "--backend", "openai", "--base-url", url,
                                 "--engine-option", "max_retries=0", "--data", str(synth_problems_dir),
                                 "--limit", "1", "--out", str(out)])
    text = result.output + (str(result.exception) if result.exception else "")
    assert result.exit_code in (1, 2), text
    assert "401" in text or "nothing was produced" in text, text
    _assert_no_secret(text, out)


def test_judge_errors_do_not_repeat_its_url_password(echo_server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from vrd.cli.common import format_user_error
    from vrd.errors import VrdError
    from vrd.eval.judge import Judge

    monkeypatch.setenv("VRD_JUDGE_API_KEY", ODD_KEY)
    for port in (echo_server, 9):  # a refusal that echoes, and a connection refused
        judge = Judge(url=f"http://user:{URL_PASSWORD}@127.0.0.1:{port}/v1?api_key={QUERY_KEY}", model="j",
                      max_retries=0)
        with pytest.raises(VrdError) as info:
            judge.extract("q", "r")
        _assert_no_secret(format_user_error(info.value) + str(info.value) + json.dumps(judge.describe()))


def test_tracebacks_and_errors_printed_by_the_cli_are_redacted(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A bug's traceback (say, an httpx error repeating the URL) goes through the same redaction."""
    from vrd.cli.common import format_user_error, redacting_excepthook
    from vrd.errors import VrdError

    monkeypatch.setenv("OPENAI_API_KEY", ODD_KEY)
    try:
        raise RuntimeError(f"GET http://u:{URL_PASSWORD}@h/v1?api_key={QUERY_KEY} failed; Authorization: {ODD_KEY}")
    except RuntimeError as exc:
        redacting_excepthook(type(exc), exc, exc.__traceback__)
    printed = capsys.readouterr().err
    assert "RuntimeError" in printed and "Traceback" in printed
    _assert_no_secret(printed)
    _assert_no_secret(format_user_error(VrdError(f"server said: bad key {ODD_KEY} for https://a:{URL_PASSWORD}@x")))


# --------------------------------------------------------------------------------------------
# Grading hostile replies: every path within the hard time bound, nothing evaluated


BOUND = 1.0  # the per-item time limit these probes run under
SLACK = 3.0  # a busy 2-core machine, and a worker respawned after a kill (3.73 s seen for a 4 MB reply at load 8)
HOSTILE_REPLIES = {
    "10**10**10": "10**10**10",
    "9^9^9^9": "9^9^9^9",
    "9^{9^{9^{9}}}": "9^{9^{9^{9}}}",
    "\\frac nested 10k deep": "\\frac{" * 10_000 + "1" + "}{2}" * 10_000,
    "1 MB of digits": "9" * 1_000_000,
    "1 MB decimal": "1." + "9" * 1_000_000,
    "factorial(100000)": "factorial(100000)",
    "100000!": "100000!",
    "huge \\sqrt": "\\sqrt{" + "9" * 5_000 + "}",
    "nested \\sqrt": "\\sqrt{" * 5_000 + "2" + "}" * 5_000,
    "2^{100000000}": "2^{100000000}",
    "1e999999999": "1e999999999",
    "\\sum to 10^12": "\\sum_{i=1}^{10^{12}} i",
    "\\int of x^(10^9)": "\\int_0^1 x^{10^{9}} dx",
    "huge matrix": "\\begin{pmatrix}" + "1&" * 10_000 + "1\\end{pmatrix}",
    "huge fraction": "\\frac{" + "9" * 5_000 + "}{" + "7" * 5_000 + "}",
    "__import__": "__import__('os').system('touch {pwned}')",
    "eval text": "eval(\"open('{pwned}', 'w')\")",
    "\\input{/etc/passwd}": "\\input{/etc/passwd}",
    "unicode tricks": "\u0661\u0662 \uff11\uff12 \u202e21\u202c \uff58\u00b2 \u2212\u221e",
    "200k open braces": "{" * 200_000,
    "100k boxes": "\\boxed{" * 100_000,
    "4 MB of '1 '": "1 " * 2_000_000 + "/2",
    "100k element tuple": "(" + ",".join(["1"] * 100_000) + ")",
}
GRADING_PATHS = ("verify_batch", "verify_response", "reward easyr1", "reward easyr1 r1v", "reward vrd",
                 "trainer reward", "hostile gold easyr1", "hostile gold vrd")
_WORST: dict[str, float] = {}


@pytest.fixture(scope="module")
def _workers() -> None:
    from vrd.verify import pool

    pool.prewarm(2)  # the bound is about items, not about importing sympy


@pytest.mark.parametrize("name", list(HOSTILE_REPLIES))
def test_hostile_replies_are_graded_within_the_bound(name: str, _workers: None, tmp_path: Path) -> None:
    from vrd.trainers.rewards import reward_functions
    from vrd.verify import verify_batch, verify_response
    from vrd.verify.grading import DEFAULT_TIMEOUT
    from vrd.verify.reward import score_batch

    pwned = tmp_path / "PWNED"
    text = HOSTILE_REPLIES[name].replace("{pwned}", str(pwned))
    for i, path in enumerate(GRADING_PATHS):
        gold = f"{len(name)}{i}7"  # a gold of its own per path: no answer comes from the cache
        reply = f"<think>x</think> \\boxed{{{text}}}"
        start = time.monotonic()
        if path == "verify_batch":
            results = verify_batch([{"response": reply, "answer": gold}, {"response": text, "answer": gold + "1"}],
                                   timeout=BOUND)
            assert not any(r.correct for r in results)
        elif path == "verify_response":
            assert not verify_response(reply, gold, timeout=BOUND).correct
        elif path == "reward easyr1":
            assert score_batch([{"response": reply, "answer": gold}], reward="easyr1", timeout=BOUND)[0].accuracy == 0
        elif path == "reward easyr1 r1v":
            r1v = f"<think>x</think><answer>{text}</answer>"
            assert score_batch([{"response": r1v, "answer": gold}], reward="easyr1", template="r1v",
                               timeout=BOUND)[0].accuracy == 0
        elif path == "reward vrd":
            assert score_batch([{"response": reply, "answer": gold}], reward="vrd", timeout=BOUND)[0].accuracy == 0
        elif path == "trainer reward":
            (accuracy, _fmt), _weights = reward_functions("math")
            assert accuracy([["p"]], [reply], answer=[gold]) == [0.0]
        elif path == "hostile gold easyr1":  # the dataset is the hostile side: the gold itself
            score_batch([{"response": "\\boxed{12}", "answer": text}], reward="easyr1", timeout=BOUND)
        else:
            verify_batch([{"response": "\\boxed{12}", "answer": text}], timeout=BOUND)
        seconds = time.monotonic() - start
        _WORST[f"{name} / {path}"] = seconds
        limit = (DEFAULT_TIMEOUT if path == "trainer reward" else BOUND) + SLACK  # the trainer uses the default
        assert seconds < limit, (name, path, seconds)
    assert not pwned.exists(), "model text was executed"


def test_the_bound_stops_the_work(_workers: None) -> None:
    """A reply math-verify cannot finish is answered "timed out" at the bound, and no worker goes on
    computing it afterwards (the worker is killed, not abandoned)."""
    from vrd.verify import verify_batch

    start = time.monotonic()
    results = verify_batch([{"response": "\\boxed{9^{9^{9^{9}}}}", "answer": str(k)} for k in range(3)],
                           timeout=BOUND, workers=2)
    elapsed = time.monotonic() - start
    assert all(r.timed_out and not r.correct for r in results)
    assert elapsed < 2 * BOUND + 2 * SLACK  # two workers: the third item waits for one slot
    time.sleep(0.3)
    busy = _busy_workers(0.7)
    assert busy == [], f"verifier workers still computing after the bound: {busy}"
    worst = max(_WORST.values(), default=0.0)
    print(f"worst-case grading time over {len(_WORST)} hostile probes: {worst:.2f} s "
          f"({max(_WORST, key=_WORST.get) if _WORST else '-'}); bound {BOUND} s")


def _busy_workers(window: float) -> list[int]:
    """Verifier worker children that used CPU during `window` seconds."""
    def cpu(pid: int) -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks

    workers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and \
                    b"vrd.verify.worker" in (entry / "cmdline").read_bytes():
                workers.append((int(entry.name), cpu(int(entry.name))))
        except (OSError, ValueError, IndexError):
            continue
    time.sleep(window)
    busy = []
    for pid, before in workers:
        try:
            if cpu(pid) - before > window * os.sysconf("SC_CLK_TCK") * 0.5:
                busy.append(pid)
        except OSError:
            continue
    return busy


def test_training_exports_keep_images_inside_their_folder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A LLaMA-Factory style JSON export read by `vrd train sft`: images that leave the export's
    folder (.., absolute, a link to /dev/zero) are set aside and counted before training starts."""
    from vrd.trainers.data import load_sft_dataset

    d = tmp_path / "export"
    d.mkdir()
    (d / "img.png").write_bytes(_png())
    os.symlink("/dev/zero", d / "zero.png")
    paths = ["img.png", "../../../etc/passwd", "/etc/hostname", "zero.png", "img.png"]
    rows = [{"messages": [{"role": "user", "content": f"<image>Q{i}"}, {"role": "assistant", "content": "A"}],
             "images": [p], "id": str(i)} for i, p in enumerate(paths)]
    (d / "sft.json").write_text(json.dumps(rows))
    with caplog.at_level("WARNING"):
        ds = load_sft_dataset(d / "sft.json")
    assert len(ds) == 2
    assert "set aside 3 of 5" in caplog.text and "outside the data folder" in caplog.text
    (d / "sft.json").write_bytes(b'[{"messages": "\xff"}]')
    with pytest.raises(Exception, match="not UTF-8 text") as info:
        load_sft_dataset(d / "sft.json")
    from vrd.errors import VrdError

    assert isinstance(info.value, VrdError)


# --------------------------------------------------------------------------------------------
# Run folders read back: eval compare's results.json, reward-audit's metrics.jsonl / trainer_state.json


DEEP = "[" * 100_000 + "]" * 100_000
RUN_FILES = {
    "results deep": ("results.json", DEEP, "JSON nested too deeply"),
    "results not UTF-8": ("results.json", b"\xff\xfe{}", "not UTF-8 text"),
    "results benchmarks list": ("results.json", '{"benchmarks": [1, 2]}', "not a vrd eval results file"),
    "results NaN accuracy": ("results.json", '{"benchmarks": {"x": {"accuracy": NaN}}}',
                             "field 'benchmarks.x.accuracy' must be a finite number"),
    "results text accuracy": ("results.json", '{"benchmarks": {"x": {"accuracy": "high", "ci95": 5}}}',
                              "must be a finite number, got 'high'"),
    "results bad interval": ("results.json", '{"benchmarks": {"x": {"accuracy": 0.5, "ci95": [0.1]}}}',
                             "field 'benchmarks.x.ci95' must be [low, high]"),
    "metrics deep line": ("metrics.jsonl", '{"step": 1}\n' + DEEP + '\n{"step": 2}\n', "line 2: invalid JSON"),
    "metrics odd types": ("metrics.jsonl", '{"step": "a", "reward": [1]}\n{"step": NaN, "reward": Infinity}\n',
                          "no train reward logged"),
    "state deep": ("trainer_state.json", '{"log_history": ' + DEEP + "}", "JSON nested too deeply"),
}


@pytest.mark.parametrize("name", list(RUN_FILES))
def test_run_folders_read_back_are_checked(name: str, tmp_path: Path) -> None:
    fname, content, needle = RUN_FILES[name]
    data = content if isinstance(content, bytes) else content.encode()
    runs = []
    for label in ("a", "b"):
        run = tmp_path / label
        run.mkdir()
        (run / fname).write_bytes(data)
        runs.append(run)
    if fname == "results.json":
        _refused(["eval", "compare", *runs, "--plot", tmp_path / "plots"], needle)
    else:
        _refused(["reward-audit", runs[0]], needle)


def test_special_files_as_inputs_do_not_hang(tmp_path: Path) -> None:
    """A FIFO or a directory where a data file is expected: refused at once, never read."""
    fifo = tmp_path / "in.jsonl"
    os.mkfifo(fifo)
    _refused(["verify", fifo, "--out", tmp_path / "o.jsonl"], "not a regular file")
    _refused(["verify", tmp_path, "--out", tmp_path / "o.jsonl"], "is a directory")
    cfg = tmp_path / "c.yaml"
    os.mkfifo(cfg)
    _refused(["verify", tmp_path / "x.jsonl", "--out", tmp_path / "o.jsonl", "--config", cfg], "c.yaml")
    template = tmp_path / "t.jinja"
    os.symlink("/dev/zero", template)
    (tmp_path / "rows.jsonl").write_text(GOOD)
    _refused(["verify", tmp_path / "rows.jsonl", "--out", tmp_path / "o.jsonl", "--template", template], "t.jinja")


@pytest.mark.parametrize("name", ["JSON array", "BOM"])
def test_prepare_reads_harmless_oddities(name: str, tmp_path: Path) -> None:
    """A .jsonl holding one JSON array, or starting with a byte-order mark, is still read row by row."""
    rows = [OK_ROW, {**OK_ROW, "id": "b", "answer": "7"}]
    data = json.dumps(rows).encode() if name == "JSON array" else b"\xef\xbb\xbf" + _jl(*rows)
    d = _data_dir(tmp_path, data)
    code, text = _run(["data", "prepare", "generic", "--path", d / "train.jsonl", "--out", tmp_path / "out"])
    assert code == 0 and "0 records rejected" in text, text
    from vrd.schema import read_rows

    assert sorted(r["answer"] for r in read_rows(tmp_path / "out")) == ["12", "7"]
