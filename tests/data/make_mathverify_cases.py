"""Rebuild `mathverify_cases.jsonl` from a checkout of huggingface/Math-Verify (its `tests/`).

    python tests/data/make_mathverify_cases.py PATH/TO/Math-Verify/tests > tests/data/mathverify_cases.jsonl

Every `@pytest.mark.parametrize` row with a gold, a prediction and an asserted verdict is kept,
with its origin (file, test, line) and the math-verify settings its test calls `compare_strings`
with, and `mathverify_default`: the verdict of math-verify's default `parse` + `verify` (0.9.0).
`note` marks a case whose asserted verdict needs a non-default math-verify setting: default
`parse` + `verify` reaches the other verdict while the test's own settings reach the asserted one.
Not run in CI (CI has no network); the JSONL it wrote is committed.
"""

from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path


def _rows(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        settings: dict = {}
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "compare_strings":
                settings = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords
                            if not isinstance(kw.value, ast.Name)}
        for dec in fn.decorator_list:
            if not (isinstance(dec, ast.Call) and getattr(dec.func, "attr", "") == "parametrize"):
                continue
            names = [n.strip() for n in ast.literal_eval(dec.args[0]).split(",")]
            if "gold" not in names or "pred" not in names:
                continue
            for elt in dec.args[1].elts:
                # one test builds its gold with an f-string of math.sqrt; evaluate just that
                row = eval(compile(ast.Expression(elt), str(path), "eval"), {"math": math})  # noqa: S307 - trusted test source
                case = dict(zip(names, row, strict=True))
                local = dict(settings)
                for key in ("strict", "allow_set_relation_comp", "precision"):
                    if key in case:
                        local[key] = case.pop(key)
                expected = case.pop("expected", case.pop("result", None))
                yield {"origin": f"{path.name}::{fn.name}:{elt.lineno}", "gold": case["gold"], "pred": case["pred"],
                       "expected": bool(expected), "settings": local}


def _verdict(gold: str, pred: str, settings: dict | None) -> bool:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    if settings is None:  # math-verify's defaults
        return bool(verify(parse(gold), parse(pred)))
    targets = []
    for kind in settings.get("match_types", ["latex", "expr"]):
        targets.append(LatexExtractionConfig(boxed_match_priority=0) if kind == "latex" else ExprExtractionConfig())
    return bool(verify(parse(gold, targets), parse(pred, targets), float_rounding=settings.get("precision", 6),
                       strict=settings.get("strict", True),
                       allow_set_relation_comp=settings.get("allow_set_relation_comp", False)))


def main(tests_dir: str) -> None:
    cases = [c for f in sorted(Path(tests_dir).glob("test_*.py")) for c in _rows(f)]
    # test_precision's one string case (not parametrized)
    cases.append({"origin": "test_all.py::test_precision:552", "gold": "$\\frac{1}{3}$", "pred": "0.3333$",
                  "expected": True, "settings": {"match_types": ["latex", "expr"], "precision": 4}})
    for c in cases:
        default, own = _verdict(c["gold"], c["pred"], None), _verdict(c["gold"], c["pred"], c["settings"])
        c["mathverify_default"] = default
        c["note"] = ""
        if default != c["expected"] and own == c["expected"]:
            changed = {k: v for k, v in c["settings"].items() if k != "match_types"}
            c["note"] = f"needs non-default math-verify settings {changed or c['settings']}"
        print(json.dumps(c, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
