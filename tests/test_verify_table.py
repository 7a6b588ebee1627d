"""The verifier's case table: what real VLMs write, and what the verifier must make of it.

Responses imitate Qwen2.5-VL reasoning (`<think>` then `\\boxed{}`), R1-V (`<think>` +
`<answer>`), chatty multiple-choice replies and raw LaTeX. Hostile rows must come back
"incorrect" within their bound.
"""

from __future__ import annotations

import time

import pytest

from vrd.verify import check_format, extract_answer, grade, prewarm, verify_response


@pytest.fixture(autouse=True, scope="module")
def _warm_workers() -> None:
    prewarm(2)

GEO = "The two marked angles are alternate interior angles because AB is parallel to CD."
TRI = "The angles of a triangle sum to 180°, so the third angle is 180° - 50° - 60° = 70°."
PYT = "By the Pythagorean theorem, $c = \\sqrt{6^2 + 8^2} = \\sqrt{100} = 10$."
RECT = "The rectangle is 4 cm by 6 cm, so its area is $4 \\times 6 = 24$ square centimeters."
ARC = "The inscribed angle is half the central angle: $\\frac{1}{2} \\cdot 100^\\circ = 50^\\circ$."
OPTS4 = ["10", "12", "14", "16"]
ANGLES = ["30°", "45°", "60°", "70°"]
WORDS = ["parallel", "perpendicular", "intersecting", "skew"]


def qwen(think: str, final: str) -> str:
    return f"<think>\n{think}\n</think>\n\n{final}"


def r1v(think: str, answer: str) -> str:
    return f"<think>\n{think}\n</think>\n<answer>{answer}</answer>"


# (response, choices, answer_type, expected pred)
EXTRACT = [
    (qwen(TRI, "The third angle is $\\boxed{70^\\circ}$."), None, None, "70^\\circ"),
    (qwen(PYT, "Therefore, the hypotenuse is \\boxed{10}."), None, None, "10"),
    (qwen(RECT, "**Final Answer**\n\\[\n\\boxed{24}\n\\]"), None, None, "24"),
    (qwen("First \\boxed{5} was wrong; recheck.", "So the answer is \\boxed{7}."), None, None, "7"),
    (qwen(ARC, "\\boxed{\\frac{\\sqrt{3}}{2}}"), None, None, "\\frac{\\sqrt{3}}{2}"),
    (qwen("nested", "\\boxed{\\frac{1}{\\sqrt{2}}}"), None, None, "\\frac{1}{\\sqrt{2}}"),
    (qwen("a set", "\\boxed{\\{1, 2\\}}"), None, None, "\\{1, 2\\}"),
    (qwen("fbox", "\\fbox{42}"), None, None, "42"),
    (qwen("no braces", "\\boxed 5"), None, None, "5"),
    (qwen("text inside", "\\boxed{\\text{parallel}}"), None, None, "parallel"),
    (qwen("I first guessed \\boxed{5}, then checked again.", "Answer: 7"), None, None, "7"),
    (qwen("truncated at the end", "The answer is \\boxed{12} ... wait \\boxed{1"), None, None, "12"),
    (r1v(GEO, "60"), None, None, "60"),
    (r1v(GEO, " 60° "), None, None, "60°"),
    (r1v(PYT, "$10$"), None, None, "10"),
    (r1v(PYT, "\\boxed{10}"), None, None, "10"),
    (r1v(TRI, "D"), ANGLES, None, "D"),
    (r1v(TRI, "(D) 70°"), ANGLES, None, "D"),
    (r1v(TRI, "70°"), ANGLES, None, "D"),
    (r1v(TRI, "70"), ANGLES, None, "D"),
    ("<think>reasoning</think><answer>cut off mid", None, None, "cut off mid"),
    ("The area is 24. Answer: 24", None, None, "24"),
    ("Final answer: 3/4", None, None, "3/4"),
    ("So the answer is 12 cm.", None, None, "12 cm"),
    ("Thus the answer is $\\frac{3}{4}$.", None, None, "\\frac{3}{4}"),
    ("The answer is 3.5 because the midpoint halves it.", None, None, "3.5"),
    ("**Answer:** 45%", None, None, "45%"),
    ("Answer：15", None, None, "15"),
    ("After checking, the final answer is 1,234.", None, None, "1,234"),
    ("12", None, None, "12"),
    ("B", OPTS4, None, "B"),
    ("(C)", OPTS4, None, "C"),
    ("The correct option is (B).", OPTS4, None, "B"),
    ("The answer is B.", OPTS4, None, "B"),
    ("The answer is (b).", OPTS4, None, "B"),
    ("**B**", OPTS4, None, "B"),
    ("Looking at the figure, the best match is **C**.", OPTS4, None, "C"),
    ("B) 12", OPTS4, None, "B"),
    ("B. 12", OPTS4, None, "B"),
    ("I would pick option B since it matches.", OPTS4, None, "B"),
    ("Choice D is correct.", OPTS4, None, "D"),
    ("Answer: C", OPTS4, None, "C"),
    ("answer: c", OPTS4, None, "C"),
    ("The answer is 14.", OPTS4, None, "C"),
    ("The answer is 16", OPTS4, None, "D"),
    (qwen(GEO, "\\boxed{B}"), OPTS4, None, "B"),
    (qwen(GEO, "\\boxed{\\text{B}}"), OPTS4, None, "B"),
    (qwen(GEO, "\\boxed{(B)}"), OPTS4, None, "B"),
    (qwen(GEO, "\\boxed{B. 12}"), OPTS4, None, "B"),
    (qwen(GEO, "\\boxed{12}"), OPTS4, None, "B"),
    (qwen(GEO, "\\boxed{perpendicular}"), WORDS, None, "B"),
    (qwen(GEO, "The lines are \\boxed{\\text{Parallel}}."), WORDS, None, "A"),
    (qwen("(A) 10 is too small and (D) 16 is too big.", "So (B) it is."), OPTS4, None, "B"),
    (qwen(GEO, "\\boxed{E}"), OPTS4, None, "E"),  # not an option: kept as written, graded wrong
    (qwen(GEO, "\\boxed{B}"), None, "choice", "B"),
    ("(B)", None, "choice", "B"),
    ("I pick option C.", None, "multi_choice", "C"),
    ("", None, None, None),
    ("<think>I am not sure, let me think more about the figure and the marked angles.</think>", None, None, None),
    ("I cannot determine the answer from the image provided, sorry.", None, None, None),
    (qwen(GEO, "I cannot tell which option is right."), OPTS4, None, None),
]

# (pred, gold, answer_type, choices, expected)
GRADE = [
    ("B", "B", None, OPTS4, True),
    ("C", "B", None, OPTS4, False),
    ("(B)", "B", None, None, True),
    ("b", "B", "choice", None, True),
    ("B. 12", "B", None, OPTS4, True),
    ("12", "B", None, OPTS4, True),
    ("14", "B", None, OPTS4, False),
    ("B", "12", None, OPTS4, True),  # a gold given as the option's text
    ("E", "B", None, OPTS4, False),
    ("70", "D", None, ANGLES, True),
    ("B", "(B)", None, None, True),
    ("12", "12", None, None, True),
    ("12.0", "12", None, None, True),
    ("12.00001", "12", None, None, False),
    ("12.01", "12", None, None, False),
    ("13", "12", None, None, False),
    ("12 cm", "12", None, None, True),
    ("12\\text{ cm}", "12", None, None, True),
    ("12 \\mathrm{cm}^2", "12", None, None, True),
    ("24 square units", "24", None, None, True),
    ("30°", "30", None, None, True),
    ("30^\\circ", "30", None, None, True),
    ("30^{\\circ}", "30°", None, None, True),
    ("35^\\circ", "30", None, None, False),
    ("45\\%", "45", None, None, True),
    ("45%", "0.45", None, None, True),
    ("0.45", "45\\%", None, None, True),
    ("55%", "45%", None, None, False),
    ("1,234", "1234", None, None, True),
    ("1{,}234", "1234", None, None, True),
    ("1234", "1,234", None, None, True),
    ("1,235", "1234", None, None, False),
    ("3/4", "0.75", None, None, True),
    ("\\frac{3}{4}", "0.75", None, None, True),
    ("\\dfrac34", "3/4", None, None, True),
    ("0.75", "\\frac{3}{4}", None, None, True),
    ("-\\frac{1}{2}", "-0.5", None, None, True),
    ("\\frac{1}{2}", "-0.5", None, None, False),
    ("x = 5", "5", None, None, True),
    ("AB = 7.5", "7.5", None, None, True),
    ("−3", "-3", None, None, True),
    ("1.7321", "1.73", None, None, True),  # a gold with 2+ places is taken as rounded (vrd's one extension)
    ("0.54", "0.5", None, None, False),
    ("2.5e3", "2500", None, None, True),
    ("$12$", "12", None, None, True),
    ("twelve", "12", None, None, False),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{3}}{2}", None, None, True),
    ("\\frac{\\sqrt 3}{2}", "\\frac{\\sqrt{3}}{2}", None, None, True),
    ("\\sqrt{3}/2", "\\frac{\\sqrt{3}}{2}", None, None, True),
    ("0.866", "\\frac{\\sqrt{3}}{2}", None, None, True),
    ("0.5", "\\frac{\\sqrt{3}}{2}", None, None, False),
    ("2\\sqrt{3}", "\\sqrt{12}", None, None, True),
    ("\\sqrt{12}", "2\\sqrt{3}", None, None, True),
    ("3\\sqrt{2}", "2\\sqrt{3}", None, None, False),
    ("5\\sqrt{2}", "\\sqrt{50}", None, None, True),
    ("1.73", "\\sqrt{3}", None, None, True),
    ("1.8", "\\sqrt{3}", None, None, False),
    ("2\\pi", "2\\pi", None, None, True),
    ("6.2832", "2\\pi", None, None, True),
    ("3.14", "\\pi", None, None, True),
    ("\\frac{\\pi}{2}", "\\frac{1}{2}\\pi", None, None, True),
    ("\\frac{\\pi}{3}", "\\frac{\\pi}{6}", None, None, False),
    ("\\pi r^2", "\\pi r^2", None, None, True),
    ("r^2\\pi", "\\pi r^2", None, None, True),
    ("x^2 + 2x + 1", "(x+1)^2", None, None, True),
    ("x^2 + 2x", "(x+1)^2", None, None, False),
    ("\\frac{a+b}{2}", "\\frac{b+a}{2}", None, None, True),
    ("\\frac{4\\sqrt{3}}{3}", "\\frac{4}{\\sqrt{3}}", None, None, True),
    ("\\{1, 2\\}", "\\{2, 1\\}", None, None, True),
    ("(1, 2)", "(1, 2)", None, None, True),
    ("x = 3", "3", "expression", None, True),
    ("60^\\circ", "60", "expression", None, True),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", "expression", None, True),
    ("\\$12", "12", None, None, True),
    ("parallel", "parallel", None, None, True),
    ("Parallel.", "parallel", None, None, True),
    ("\\text{parallel}", "parallel", None, None, True),
    ("the triangle is isosceles", "isosceles", None, None, False),
    ("perpendicular", "parallel", None, None, False),
    ("isosceles", "Isosceles", "text", None, True),
    ("Yes", "yes", None, None, True),
    ("No", "yes", None, None, False),
    (None, "12", None, None, False),
    ("", "12", None, None, False),
    ("   ", "B", None, OPTS4, False),
    ("12", "12", "integer", None, True),
    ("12.5", "12.5", "float", None, True),
    ("B", "B", "multi_choice", OPTS4, True),
    ("12", "12", "free_form", None, True),
]

# (response, template, expected)
FORMAT = [
    (qwen(TRI, "The answer is \\boxed{70}."), "math", True),
    (qwen(TRI, "\\boxed{70}"), "math", True),
    ("  <think>x</think>\\boxed{70}  ", "math", True),
    (qwen(TRI, "The answer is 70."), "math", False),
    ("\\boxed{70}", "math", False),
    ("<think>\\boxed{70}</think>", "math", False),
    ("<think></think>\\boxed{70}", "math", False),
    ("<think>a</think><think>b</think>\\boxed{70}", "math", False),
    ("Sure! <think>a</think>\\boxed{70}", "math", False),
    (qwen(TRI, "\\boxed{}"), "math", False),
    (qwen(TRI, "\\boxed{70"), "math", False),
    ("<think>a", "math", False),
    (r1v(TRI, "70"), "r1v", True),
    ("<think>a</think><answer>70</answer>", "r1v", True),
    ("  <think> a </think>\n\n<answer> 70 </answer>\n", "r1v", True),
    (r1v(TRI, "\\boxed{70}"), "r1v", True),
    ("<think>a</think>The answer:<answer>70</answer>", "r1v", False),
    ("<think>a</think><answer>70</answer> Hope this helps!", "r1v", False),
    ("<answer>70</answer>", "r1v", False),
    ("<think>a</think><answer></answer>", "r1v", False),
    ("<think>a</think><answer>70</answer><answer>71</answer>", "r1v", False),
    ("<think>a</think><answer>70", "r1v", False),
    (qwen(TRI, "\\boxed{70}"), "r1v", False),
    (r1v(TRI, "70"), "math", False),
    ("", "math", False),
    ("", "r1v", False),
]

# (response, answer, choices, template, correct, format_ok)
END_TO_END = [
    (qwen(TRI, "So the third angle is $\\boxed{70^\\circ}$."), "70", None, "math", True, True),
    (qwen(PYT, "The hypotenuse is \\boxed{10}"), "10", None, "math", True, True),
    (qwen(PYT, "The hypotenuse is \\boxed{14}"), "10", None, "math", False, True),
    (qwen(RECT, "The area is \\boxed{24\\text{ cm}^2}."), "24", None, "math", True, True),
    (qwen(ARC, "\\boxed{50}"), "50", None, "math", True, True),
    (qwen(GEO, "\\boxed{B}"), "B", OPTS4, "math", True, True),
    (qwen(GEO, "\\boxed{12}"), "B", OPTS4, "math", True, True),
    (qwen(GEO, "\\boxed{C}"), "B", OPTS4, "math", False, True),
    (r1v(GEO, "B"), "B", OPTS4, "r1v", True, True),
    (r1v(GEO, "(B) 12"), "B", OPTS4, "r1v", True, True),
    (r1v(PYT, "10"), "10", None, "r1v", True, True),
    (r1v(PYT, "2\\sqrt{25}"), "10", None, "r1v", True, True),
    (r1v(PYT, "\\sqrt{100}"), "10", None, "r1v", True, True),
    ("The answer is 10.", "10", None, "math", True, False),
    ("<think>\\sqrt{3} approx 1.732</think>\n\\boxed{2\\sqrt{3}}", "\\sqrt{12}", None, "math", True, True),
    (qwen("area", "\\boxed{\\frac{25\\pi}{4}}"), "\\frac{25}{4}\\pi", None, "math", True, True),
    (qwen("area", "\\boxed{19.635}"), "\\frac{25}{4}\\pi", None, "math", True, True),
    (qwen("ratio", "\\boxed{\\frac{1}{3}}"), "\\frac{1}{2}", None, "math", False, True),
    (qwen("lines", "\\boxed{\\text{perpendicular}}"), "perpendicular", None, "math", True, True),
    (qwen("lines", "\\boxed{perpendicular}"), "B", WORDS, "math", True, True),
]

_HUGE = "\\boxed{9^{9^{9^{9}}}}"
# (response, answer, timeout): each must be graded incorrect within timeout + start-up slack.
HOSTILE = [
    (qwen("tower", _HUGE), "1", 1.0),
    (qwen("tower", "\\boxed{10^{10^{10^{10}}}}"), "10", 1.0),
    (qwen("factorial", "\\boxed{(10^{10^{6}})!}"), "1", 1.0),
    (qwen("deep", "\\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}"), "1", 1.0),
    (qwen("deep fracs", "\\boxed{" + "\\frac{1}{" * 300 + "2" + "}" * 300 + "}"), "2", 1.0),
    ("\\boxed{" * 100_000, "1", 1.0),
    ("{" * 1_000_000, "1", 1.0),
    ("<think>" + "a" * 1_000_000 + "</think>\\boxed{2}", "1", 1.0),
    ("Answer: " * 120_000, "1", 1.0),
    ("the answer is " + " " * 500_000 + "!", "1", 1.0),
    ("<answer>" * 100_000 + "</answer>" * 3, "1", 1.0),
    ("(B) " * 250_000, "C", 1.0),
    ("\\boxed{" + "1" * 100_000 + "}", "1", 1.0),
    ("\\boxed{__import__('os').system('touch /tmp/vrd_pwned')}", "1", 1.0),
    ("\\boxed{\\text{" + "x" * 5000 + "}}", "x", 1.0),
    ("\\boxed{" + "x^" * 2000 + "2}", "2", 1.0),
    ("\\boxed{1" + "+1" * 400 + "}", "2", 1.0),
]


@pytest.mark.parametrize(("response", "choices", "answer_type", "expected"), EXTRACT)
def test_extract(response: str, choices: list[str] | None, answer_type: str | None, expected: str | None) -> None:
    assert extract_answer(response, choices, answer_type) == expected


@pytest.mark.parametrize(("pred", "gold", "answer_type", "choices", "expected"), GRADE)
def test_grade(pred: str | None, gold: str, answer_type: str | None, choices: list[str] | None, expected: bool) -> None:
    assert grade(pred, gold, answer_type, choices) is expected


@pytest.mark.parametrize(("response", "template", "expected"), FORMAT)
def test_format(response: str, template: str, expected: bool) -> None:
    assert check_format(response, template) is expected


@pytest.mark.parametrize(("response", "answer", "choices", "template", "correct", "format_ok"), END_TO_END)
def test_verify_response(response: str, answer: str, choices: list[str] | None, template: str, correct: bool,
                         format_ok: bool) -> None:
    result = verify_response(response, answer, choices=choices, template=template)
    assert (result.correct, result.format_ok, result.timed_out) == (correct, format_ok, False)


@pytest.mark.parametrize(("response", "answer", "timeout"), HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_hostile(response: str, answer: str, timeout: float) -> None:
    start = time.monotonic()
    result = verify_response(response, answer, timeout=timeout)
    elapsed = time.monotonic() - start
    assert result.correct is False
    assert elapsed < timeout + 3.0  # the bound plus a worker's start-up on a busy machine


def test_table_size() -> None:
    assert len(EXTRACT) + len(GRADE) + len(FORMAT) + len(END_TO_END) + len(HOSTILE) >= 150
