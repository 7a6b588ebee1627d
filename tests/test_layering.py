"""The package's shape: one home for the contract's vocabulary, no import cycles, a fast `vrd.schema`."""

from __future__ import annotations

import re
from pathlib import Path

import vrd
from vrd import contract

PACKAGE = Path(vrd.__file__).parent

# The literal spellings a second copy of a contract constant would have.
COPIES = {
    "IMAGE_MARK": re.compile(r"""["']<image>["']"""),
    "LETTERS": re.compile(r"ABCDEFGHIJ"),
    "ANSWER_TYPES": re.compile(r"""["']choice["'],\s*["']number["'],\s*["']expression["']"""),
}


def test_contract_constants_have_one_home() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "contract.py":
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(PACKAGE)}: {name}" for name, pattern in COPIES.items() if pattern.search(text)]
    assert not offenders, f"define these in vrd/contract.py and import them: {offenders}"
    assert contract.IMAGE_MARK == "<image>" and contract.LETTERS[:4] == "ABCD" and len(contract.LETTERS) == 26
    assert contract.ANSWER_TYPES == ("choice", "number", "expression", "text")


def test_modules_reuse_the_contract_objects() -> None:
    from vrd import schema
    from vrd.engines import base as engines_base
    from vrd.sources import normalize
    from vrd.verify import answer_types, choices

    assert schema.ANSWER_TYPES is contract.ANSWER_TYPES is answer_types.ANSWER_TYPES
    assert normalize.IMAGE_MARK is contract.IMAGE_MARK is engines_base.IMAGE_MARK
    assert normalize.LETTERS is contract.LETTERS is choices.LETTERS
