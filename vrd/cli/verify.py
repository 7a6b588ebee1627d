"""CLI: `vrd verify IN.jsonl --out OUT.jsonl` grades model responses against gold answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vrd.cli.common import console, user_errors
from vrd.errors import VrdError


def _check_row(row: dict[str, Any], path: Path, line: int, templates: set[str]) -> None:
    """The fields grading reads, by type: a list or dict as `answer` would be graded as its repr."""
    import math

    from vrd.contract import ANSWER_TYPES
    from vrd.schema import SchemaError
    from vrd.verify.answer_types import normalize_type

    def bad(field: str, why: str) -> SchemaError:
        return SchemaError(f"line {line}: field '{field}' {why}", path=path)

    for field in ("answer", "response"):
        if field not in row or (field == "answer" and row[field] is None):
            raise SchemaError(f"line {line}: missing field '{field}'", path=path)
    answer = row["answer"]
    if isinstance(answer, bool) or not isinstance(answer, (str, int, float)):
        raise bad("answer", f"must be a string or a number, got {type(answer).__name__}")
    if isinstance(answer, float) and not math.isfinite(answer):
        raise bad("answer", f"must be a finite number, got {answer}")
    if row["response"] is not None and not isinstance(row["response"], str):
        raise bad("response", f"must be a string (the model's reply), got {type(row['response']).__name__}")
    answer_type = row.get("answer_type")
    if answer_type is not None and (not isinstance(answer_type, str) or normalize_type(answer_type) is None):
        raise bad("answer_type", f"must be one of {', '.join(ANSWER_TYPES)} (or a known alias), got {answer_type!r}")
    choices = row.get("choices")
    if choices is not None and not (isinstance(choices, list) and all(isinstance(c, (str, int, float))
                                                                       and not isinstance(c, bool) for c in choices)):
        got = type(choices).__name__ if not isinstance(choices, list) else "a list holding other values"
        raise bad("choices", f"must be a list of strings, got {got}")
    template = row.get("template")
    if template is not None and (not isinstance(template, str) or template not in templates):
        from vrd.prompts import get_template

        try:
            get_template(str(template))
        except VrdError as exc:
            raise SchemaError(f"line {line}: field 'template': {exc}", path=path) from None
        templates.add(template)


def verify_file(
    in_path: Path, out_path: Path, *, template: str = "math", workers: int | None = None, timeout: float = 5.0,
    reward: str | None = None,
) -> dict[str, float]:
    """Verify every row of a JSONL file and write the rows back with `pred`, `correct`, `format_ok`
    (and `reward` when a reward is named)."""
    from vrd.errors import ConfigError, MissingInputError
    from vrd.schema import SchemaError, iter_jsonl, write_jsonl
    from vrd.verify import verify_batch

    if not in_path.exists():
        raise MissingInputError(f"{in_path}: no such file")
    if in_path.is_dir():
        raise ConfigError(f"{in_path}: is a directory; give a JSONL file of rows to verify")
    if not in_path.is_file():
        raise ConfigError(f"{in_path}: not a regular file (a pipe or device); give a JSONL file of rows to verify")
    if out_path.is_dir():
        raise ConfigError(f"{out_path}: --out is a directory; give the JSONL file to write")
    rows = []
    known_templates: set[str] = set()
    for line, row in iter_jsonl(in_path):
        _check_row(row, in_path, line, known_templates)
        rows.append(row)
    if not rows:
        raise SchemaError("holds no rows (expected one JSON object per line)", path=in_path)
    results = verify_batch(rows, workers=workers, timeout=timeout, template=template)
    for row, result in zip(rows, results, strict=True):
        row.update(result.to_dict())
    total_reward = 0.0
    if reward is not None:
        from vrd.verify.reward import score_batch

        scores = score_batch(rows, reward=reward, template=template, workers=workers, timeout=timeout)
        for row, score in zip(rows, scores, strict=True):
            row["reward"] = score.reward
            total_reward += score.reward
    write_jsonl(rows, out_path)
    return {
        "reward": total_reward,
        "rows": len(rows),
        "correct": sum(r.correct for r in results),
        "format_ok": sum(r.format_ok for r in results),
        "timed_out": sum(r.timed_out for r in results),
    }


def register(app: typer.Typer) -> None:
    """Add `vrd verify` to the app."""
    from vrd.config import command_options
    from vrd.verify.config import VerifyConfig

    @app.command("verify")
    @command_options(VerifyConfig)
    def verify(
        config: VerifyConfig,
        in_path: Path = typer.Argument(..., metavar="IN.jsonl", help="Rows with answer, response, optional choices, answer_type."),
        out: Path = typer.Option(..., "--out", "-o", help="Where to write the rows with pred, correct, format_ok."),
    ) -> None:
        """Grade responses against gold answers; print how many are correct and well formatted."""
        with user_errors():
            counts = verify_file(in_path, out, template=config.template, workers=config.workers or None,
                                 timeout=config.timeout, reward=config.reward)
        n = counts["rows"]
        pct = (lambda k: f"{100 * counts[k] / n:.1f}%") if n else (lambda k: "-")
        console.print(
            f"rows {n} · correct {counts['correct']} ({pct('correct')}) · "
            f"format ok {counts['format_ok']} ({pct('format_ok')}) · timed out {counts['timed_out']}"
            + (f" · mean reward ({config.reward}) {counts['reward'] / n:.3f}" if config.reward is not None and n else "")
        )
        console.print(f"wrote {out}")
