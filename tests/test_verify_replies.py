"""What the verifier makes of realistic replies, and the defects it must not repeat.

REPLIES are written the way Qwen2.5-VL, R1-style `<think>` models, MathVista-style chart answers,
Chinese geometry solutions and markdown-heavy chat models write: each row is the reply, its
options, its answer type, the answer vrd must extract, the gold, and the verdict.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vrd.prompts import TemplateError, render_prompt
from vrd.verify import extract_answer, fast_grade, grade, prewarm, verify_response
from vrd.verify.normalize import normalize_gold


@pytest.fixture(autouse=True, scope="module")
def _warm_workers() -> None:
    prewarm(2)


Q = "<think>\nThe figure shows triangle ABC with AB = 6 and BC = 8, angle B = 90°.\nBy Pythagoras AC = sqrt(36 + 64) = 10.\n</think>\n\n"
# (reply, choices, answer_type, expected pred, gold, expected correct)
REPLIES = [
    ("Final Answer: The final answer is C. I hope it is correct.", ["1","2","3","4"], None, "C", "C", True),
    ("Final Answer: The final answer is $14{,}916$. I hope it is correct.", None, None, "14{,}916", "14916", True),
    ("**Final Answer:**\n12", None, None, "12", "12", True),
    ("### Final Answer\n12", None, None, "12", "12", True),
    ("### Final Answer\n\\[\n\\boxed{24}\n\\]", None, None, "24", "24", True),
    ("## Step 1: find AC\nAC = 10.\n\n## Final Answer\nThe length of AC is 10.", None, None, "The length of AC is 10", "10", True),
    ("<think>r</think><answer>The answer is C.</answer>", ["1","2","3","4"], None, "C", "C", True),
    ("<think>r</think>\nx = \\boxed{3}, y = \\boxed{4}", None, None, "3, 4", "(3, 4)", True),
    ("<think>r</think>The solutions are \\boxed{2} and \\boxed{-2}.", None, None, "2, -2", "\\{2, -2\\}", True),
    ("First I get \\boxed{8} for the inner part. Then multiply by 3. The answer is 24.", None, None, "24", "24", True),
    ("So $5/7 \\approx 0.71$. The answer is $5/7 \\approx 0.71$.", None, None, "5/7", "\\frac{5}{7}", True),
    ("Answer: B\nThe answer is consistent with 45° from the figure.", ["30°","45°","60°","90°"], None, "B", "B", True),
    ("The hypotenuse works out to 10", None, None, "10", "10", True),
    ("We compute 6 * 8 / 2 = 24 so the area of the triangle is 24 square units", None, None, "24", "24", True),
    ("因为AB∥CD，所以∠1=∠2=40°，故选：C", ["30°","35°","40°","50°"], None, "C", "C", True),
    ("解：由勾股定理得 AC=10。答案：B", ["8","10","12","14"], None, "B", "B", True),
    ("答案是 6√2", None, None, "6√2", "6\\sqrt{2}", True),
    (Q + "The area is \\boxed{25π}.", None, None, "25π", "25\\pi", True),
    (Q + "The answer is 1,5.", None, None, "1,5", "1.5", True),
    (Q + "\\boxed{10}", None, None, "10", "10", True),
    (Q + "Therefore, AC = \\boxed{10}.", None, None, "10", "10", True),
    (Q + "**Final Answer**\n\\[\n\\boxed{10}\n\\]", None, None, "10", "10", True),
    (Q + "The answer is \\boxed{10\\text{ cm}}.", None, None, "10\\text{ cm}", "10", True),
    (Q + "\\boxed{11}", None, None, "11", "10", False),
    (Q + "\\boxed{14917}", None, None, "14917", "14916", False),
    (Q + "\\boxed{(0,9)}", None, None, "(0,9)", "[0,9)", False),
    (Q + "\\boxed{x > 5}", None, None, "x > 5", "x < 5", False),
    (Q + "\\boxed{x \\le 3}", None, None, "x \\le 3", "x \\ge 3", False),
    (Q + "\\boxed{2^3}", None, None, "2^3", "2*3", False),
    (Q + "\\boxed{a\\sqrt{2}}", None, None, "a\\sqrt{2}", "\\sqrt{2}", False),
    (Q + "\\boxed{a^2}", None, None, "a^2", "2", False),
    (Q + "\\boxed{x \\neq 3}", None, None, "x \\neq 3", "x = 3", False),
    (Q + "\\boxed{0}", None, None, "0", "a + 3z = 0", False),
    (Q + "\\boxed{-x \\geq -1}", None, None, "-x \\geq -1", "x \\le 1", True),
    (Q + "\\boxed{y = 2, x = 1}", None, None, "y = 2, x = 1", "x = 1, y = 2", True),
    ("<think>\nLet me check each option.\n</think>\n\nThe correct option is (B).", ["10","12","14","16"], None, "B", "B", True),
    ("<think>\nLooking at the graph, the peak is in 2015.\n</think>\n\n**B**", ["2014","2015","2016","2017"], None, "B", "B", True),
    ("<think>The value is 12.</think>\nAnswer: 12", ["10","12","14","16"], None, "B", "B", True),
    ("Looking at the bar chart, the tallest bar is for Tuesday. So the answer is Tuesday.", None, None, "Tuesday", "Tuesday", True),
    ("<think>count</think><answer>3</answer>", None, None, "3", "3", True),
    ("<think>count</think>\n<answer>\n(C) 60°\n</answer>", ["30°","45°","60°","90°"], None, "C", "C", True),
    ("<think>count the objects carefully: 2 + 1 = 3", None, None, None, "3", False),
    ("The answer is $\\frac{\\sqrt{3}}{2}$.", None, None, "\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{3}}{2}", True),
    ("The answer is 1.73.", None, None, "1.73", "\\sqrt{3}", True),
    ("The perimeter is 2√{15} m.", None, None, "2√{15}", "2\\sqrt{15}", True),
]


def test_table_size() -> None:
    assert len(REPLIES) >= 40


@pytest.mark.parametrize(("reply", "choices", "answer_type", "pred", "gold", "correct"), REPLIES)
def test_reply(reply: str, choices: list[str] | None, answer_type: str | None, pred: str | None, gold: str,
               correct: bool) -> None:
    assert extract_answer(reply, choices, answer_type) == pred
    assert verify_response(reply, gold, choices=choices, answer_type=answer_type).correct is correct


# Pairs graded equal before (text normalisation deciding maths, the `=` split, a 1e-4 tolerance).
NOT_EQUAL = [
    ("[0,9)", "(0,9)"), ("(1,2)", "[1,2]"), ("x<5", "x>5"), ("x \\ge 3", "x \\le 3"), ("x ≥ 3", "x ≤ 3"),
    ("2*3", "2^3"), ("3,4", "3:4"), ("\\sqrt{2}", "a\\sqrt{2}"), ("2", "a^2"), ("(+5)(b+2)", "(a+5)(b+2)"),
    ("x >= 1", "x <= 1"), ("x != 3", "x = 3"), ("0", "a + 3z = 0"), ("14917", "14916"), ("10455", "10456"),
]


@pytest.mark.parametrize(("pred", "gold"), NOT_EQUAL)
def test_defect_pairs_are_not_equal(pred: str, gold: str) -> None:
    assert fast_grade(pred, gold) is not True
    assert grade(pred, gold) is False
    if (pred, gold) != ("0", "a + 3z = 0"):  # graded against a bare gold 0, an equation reads as its right side (math-verify)
        assert grade(gold, pred) is False


@pytest.mark.parametrize(("pred", "gold"), [("-x >= -1", "x <= 1"), ("y = 2, x = 1", "x = 1, y = 2"),
                                            ("x = 12", "12"), ("12,000,023", "12000023"), ("0.5", "\\frac{1}{2}")])
def test_equal_forms(pred: str, gold: str) -> None:
    assert grade(pred, gold) is True


def test_one_answer_type_inference() -> None:
    from vrd.sources.normalize import infer_answer_type as from_sources
    from vrd.verify import infer_answer_type

    inputs = ["A", "(B)", "1/2", "\\frac{3}{4}", "π", "12 cm", "45°", "50%", "1,000", "-2.5", "2\\sqrt{3}", "x+1",
              "yes", "liquid metal", "\\pi", "3.14159", "x = 3", "[0, 1)", "B.", "twelve", "6√2", "9", "10^{3}"]
    for text in inputs:
        assert from_sources(text) == infer_answer_type(text), text
    kinds = {t: infer_answer_type(t) for t in inputs}
    assert kinds["A"] == "choice" and kinds["1/2"] == "number" and kinds["12 cm"] == "number"
    assert kinds["π"] == "expression" and kinds["liquid metal"] == "text"
    verdicts = {grade("3.14159", "π", kind) for kind in (None, "expression", "number", kinds["π"])}
    assert verdicts == {True}


@pytest.mark.parametrize(("gold", "normal"), [
    ("2√{3}", "2\\sqrt{3}"), ("9米", "9"), ("240πcm^{2}", "240\\pi"), ("2√{15}米", "2\\sqrt{15}"),
    ("36π平方厘米", "36\\pi"), ("√3", "\\sqrt{3}"), ("12", "12"), ("parallel", "parallel"), ("x", "x"),
])
def test_normalize_gold(gold: str, normal: str) -> None:
    assert normalize_gold(gold) == normal


def test_geoqa_golds_are_normalised_with_the_original_kept() -> None:
    import json

    from PIL import Image

    from vrd.sources.geoqa import GeoQA

    row = GeoQA().convert({"image": Image.new("RGB", (4, 4)), "problem": "Find AC.",
                           "solution": "<think>r</think><answer>2√{3}</answer>"}, 0)
    meta = json.loads(row["meta"]) if isinstance(row["meta"], str) else row["meta"]
    assert row["answer"] == "2\\sqrt{3}" and meta["source_answer"] == "2√{3}"
    assert verify_response("<think>r</think>\\boxed{2\\sqrt{3}}", row["answer"]).correct


def test_templates_render_in_a_sandbox(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = tmp_path / "evil.jinja"
    hostile.write_text("{{ question }}{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}")
    with pytest.raises(TemplateError, match="evil.jinja"):
        render_prompt({"question": "q"}, str(hostile))
    hostile.write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateError):
        render_prompt({"question": "q"}, str(hostile))
    assert not marker.exists()
    broken = tmp_path / "broken.jinja"
    broken.write_text("{{ question ")
    with pytest.raises(TemplateError, match="broken.jinja: line 1"):
        render_prompt({"question": "q"}, str(broken))
    with pytest.raises(TemplateError, match="does not exist"):
        render_prompt({"question": "q"}, str(tmp_path / "missing.jinja"))


def test_r1v_answer_tag_holds_the_answer_not_a_sentence() -> None:
    from vrd.verify import check_format

    assert check_format("<think>r</think><answer>C</answer>", "r1v")
    assert not check_format("<think>r</think><answer>The answer is C.</answer>", "r1v")
    assert verify_response("<think>r</think><answer>The answer is C.</answer>", "C",
                           choices=["1", "2", "3", "4"]).correct
