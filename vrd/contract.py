"""The data contract's vocabulary, defined once and imported everywhere.

Sources write these values, templates render them, verifiers and exporters read them back; a
second copy of any of them would let the writers and readers drift apart. The module imports
nothing, so the verifier's worker processes and `vrd --help` can use it for free.
"""

from __future__ import annotations

# Option letters of a multiple-choice question, in order: the answer of a `choice` row is one.
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Where an image goes in a question: one mark per entry of `images`, in order.
IMAGE_MARK = "<image>"

# The values of `answer_type`; they choose the grader.
ANSWER_TYPES: tuple[str, ...] = ("choice", "number", "expression", "text")
