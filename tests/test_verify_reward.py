"""The `easyr1` reward is EasyR1's math / r1v reward exactly, and the registry drives it.

EASYR1 rows are (response, gold, template, accuracy, format). The expected reward is EasyR1's
`overall`: 0.9·accuracy + 0.1·format for the math family, 0.5·accuracy + 0.5·format for r1v
(EasyR1's `r1v.py` default). The expected columns were produced by running EasyR1's own
`examples/reward_function/math.py` and `r1v.py` (commit b44b311, with mathruler 0.1.0) on this
table: all 111 rows agree. mathruler is not a vrd dependency (its grader runs sympy's `parse_expr`,
i.e. `eval`, on model text), so CI checks vrd against the recorded values.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vrd.prompts import get_template, render_prompt
from vrd.trainers.rewards import Grader, reward_functions, vrd_reward
from vrd.verify import check_format, verify_batch
from vrd.verify.formats import easyr1_math_format, easyr1_r1v_format
from vrd.verify.reward import easyr1_answer, last_boxed_easyr1, score_batch

T = "<think>\nThe triangle's angles sum to 180, so x = 180 - 50 - 60 = 70.\n</think>\n"
EASYR1 = [
    # --- math family: last \boxed{} graded, format <think>.*</think>.*\boxed{.*}.* after whitespace clean-up
    ("The answer is 5.", "5", "math", 0, 0),
    ("<think></think>\\boxed{5}", "5", "math", 1, 1),
    (T + "So x is \\boxed{70}.", "70", "math", 1, 1),
    (T + "So x is \\boxed{70^\\circ}.", "70", "math", 1, 1),
    (T + "So x is \\boxed{71}.", "70", "math", 0, 1),
    ("\\boxed{70}", "70", "math", 1, 0),
    ("I think \\boxed{70} is right.", "70", "math", 1, 0),
    (T + "The answer is 70.", "70", "math", 0, 0),
    (" < think > reasoning < / think > \\boxed{70}", "70", "math", 1, 1),
    ("<think>a</think>\\boxed{8} then later \\boxed{70}", "70", "math", 1, 1),
    ("<think>a</think>\\boxed{70} then later \\boxed{8}", "70", "math", 0, 1),
    ("<think>a</think>The answer: \\boxed{\\frac{1}{2}}", "0.5", "math", 1, 1),
    ("<think>a</think>\\boxed{\\frac{1}{2}}", "\\frac{1}{2}", "math", 1, 1),
    ("<think>a</think>\\boxed{2\\sqrt{3}}", "2\\sqrt{3}", "math", 1, 1),
    ("<think>a</think>\\boxed{2\\sqrt{3}}", "\\sqrt{3}", "math", 0, 1),
    ("<think>a</think>\\boxed{12", "12", "math", 0, 0),
    ("Intro <think>a</think>\\boxed{12}", "12", "math", 1, 0),
    ("<think>a</think><think>b</think>\\boxed{12}", "12", "math", 1, 1),
    ("<think>a \\boxed{12}</think> so that is it", "12", "math", 1, 0),
    ("<think>a</think>\\boxed{}", "12", "math", 0, 1),
    ("<think>a</think>\\boxed{B}", "B", "math", 1, 1),
    ("<think>a</think>\\boxed{C}", "B", "math", 0, 1),
    ("<think>a</think>\\boxed{\\text{B}}", "B", "math", 1, 1),
    ("<think>a</think>\\boxed{25\\%}", "25%", "math", 1, 1),
    ("<think>a</think>\\boxed{1,000}", "1000", "math", 1, 1),
    ("", "5", "math", 0, 0),
    # --- r1v family: <think>.*?</think>\s*<answer>.*?</answer> on the raw text, answer from the first one-line tag
    ("<think>a</think><answer>70</answer>", "70", "r1v", 1, 1),
    ("<think>a</think>\n\n<answer> 70 </answer>", "70", "r1v", 1, 1),
    ("<think>a</think><answer>71</answer>", "70", "r1v", 0, 1),
    ("<think>a</think> x <answer>70</answer>", "70", "r1v", 1, 0),
    ("<answer>70</answer>", "70", "r1v", 1, 0),
    ("70", "70", "r1v", 1, 0),
    ("<think>a</think><answer>70</answer>\n", "70", "r1v", 1, 0),
    ("<think>a</think><answer>7\n0</answer>", "70", "r1v", 0, 1),
    ("<think>a</think><answer></answer>", "70", "r1v", 0, 1),
    ("<think>a</think><answer>\\frac{1}{2}</answer>", "0.5", "r1v", 1, 1),
    ("<think>b</think><answer>8</answer><answer>70</answer>", "70", "r1v", 0, 1),
    # --- adversarial replies (boxed variants, <think> missing / nested / spaced, mathruler's normalization,
    # tuples, units, its "None" for a missing box, the r1v fallback to the whole reply). Expected values
    # recorded from EasyR1's own math.py / r1v.py (b44b311) with mathruler 0.1.0 and pylatexenc 2.11 in a
    # scratch venv (/tmp/peers/reward_compare.py): before vrd.verify.easyr1_grade, vrd disagreed on 7 of them.
    ('<think>a</think>\\boxed{\\boxed{70}}', '70', 'math', 1, 1),
    ('<think>a</think>\\boxed {70}', '70', 'math', 0, 0),
    ('<think>a</think>\\boxed{70}}', '70', 'math', 1, 1),
    ('<think>a</think>\\boxed{{70}}', '70', 'math', 1, 1),
    ('<think>a</think>\\fbox{70}', '70', 'math', 0, 0),
    ('<think>a</think>$\\boxed{70}$', '70', 'math', 1, 1),
    ('<think>a</think>\\boxed{x = 70}', '70', 'math', 1, 1),
    ('<think>a</think>\\boxed{70^{\\circ}}', '70', 'math', 1, 1),
    ('<think>a</think>\\boxed{70\\text{ degrees}}', '70', 'math', 1, 1),
    ('<think>a</think>\\boxed{70.0}', '70', 'math', 1, 1),
    ('<think>a</think>\\boxed{\\dfrac{1}{2}}', '\\frac{1}{2}', 'math', 1, 1),
    ('<think>a</think>\\boxed{1/2}', '\\frac{1}{2}', 'math', 1, 1),
    ('<think>a</think>\\boxed{0.5}', '\\frac{1}{2}', 'math', 1, 1),
    ('<think>a</think>\\boxed{\\sqrt{12}}', '2\\sqrt{3}', 'math', 1, 1),
    ('<think>a</think>\\boxed{(B)}', 'B', 'math', 1, 1),
    ('<think>a</think>\\boxed{B. 70}', 'B', 'math', 0, 1),
    ('<think>a</think>\\boxed{\\textbf{B}}', 'B', 'math', 1, 1),
    ('<think>a</think>\\boxed{b}', 'B', 'math', 1, 1),
    ('<think>a</think>\\boxed{\\pi}', '\\pi', 'math', 1, 1),
    ('<think>a</think>\\boxed{5\\pi}', '5\\pi', 'math', 1, 1),
    ('<think>a</think>\\boxed{3, 4}', '3,4', 'math', 1, 1),
    ('<think>a</think>\\boxed{\\{3,4\\}}', '3,4', 'math', 1, 1),
    ('<think>a</think>\\boxed{-70}', '70', 'math', 0, 1),
    ('<think>a</think>\\boxed{70 cm}', '70', 'math', 1, 1),
    ('<think>a</think>\\boxed{\\$70}', '70', 'math', 1, 1),
    ('<think>a</think>\\boxed{7e1}', '70', 'math', 1, 1),
    ('<think>a</think>\\boxed{None}', 'None', 'math', 1, 1),
    ('no box at all', 'None', 'math', 1, 0),
    ('<think>a</think>no box', 'None', 'math', 1, 0),
    ('<think>a</think>\\boxed{x^2+1}', '1+x^2', 'math', 1, 1),
    ('<think>a</think>\\boxed{\\frac12}', '\\frac{1}{2}', 'math', 1, 1),
    ('<think>a</think>\\boxed{2:3}', '2:3', 'math', 1, 1),
    ('<think>a</think>\\boxed{70\\%}', '0.7', 'math', 0, 1),
    ('<think>a<think>b</think>c</think>\\boxed{70}', '70', 'math', 1, 1),
    ('</think>\\boxed{70}', '70', 'math', 1, 0),
    ('<think>\\boxed{70}', '70', 'math', 1, 0),
    ('<THINK>a</THINK>\\boxed{70}', '70', 'math', 1, 0),
    ('<think >a</ think >\\boxed{70}', '70', 'math', 1, 1),
    ('<\nthink\n>a<\n/\nthink\n>\n\\boxed{70}\n', '70', 'math', 1, 1),
    ('\t<think>a</think>\t\\boxed{ 70 }\t', '70', 'math', 1, 1),
    ('<think>a</think>\\boxed{7 0}', '70', 'math', 1, 1),
    ('<think>a</think>\\boxed{a < b}', 'a<b', 'math', 1, 1),
    ('<think>a</think>\\boxed{1 / 2}', '1/2', 'math', 1, 1),
    ('<think>a</think><answer>\\boxed{70}</answer>', '70', 'r1v', 1, 1),
    ('<think>a</think> <answer>B</answer>', 'B', 'r1v', 1, 1),
    ('<think>a</think><answer>(B)</answer>', 'B', 'r1v', 1, 1),
    ('<think>a<think>b</think></think><answer>70</answer>', '70', 'r1v', 1, 1),
    ('<think>a</think><answer>70</answer> trailing', '70', 'r1v', 1, 0),
    ('<think>a</think>\n<answer>\n70\n</answer>', '70', 'r1v', 0, 1),
    ('<answer>70</answer><think>a</think>', '70', 'r1v', 1, 0),
    ('<think>a</think><answer>None</answer>', 'None', 'r1v', 1, 1),
    ('<think>a</think><answer>70</answer>', ' 70 ', 'r1v', 1, 1),
    ('<think>a</think>\\boxed{\\frac{\\sqrt{3}}{2}}', '\\frac{1}{2}\\sqrt{3}', 'math', 1, 1),
    ('<think>a</think>\\boxed{(1, 2)}', '(1,2)', 'math', 1, 1),
    ('<think>a</think>\\boxed{(2,1)}', '(1,2)', 'math', 0, 1),
    ('<think>a</think>\\boxed{[0, 1)}', '[0,1)', 'math', 1, 1),
    ('<think>a</think>\\boxed{10^3}', '1000', 'math', 0, 1),
    ('<think>a</think>\\boxed{10^{3}}', '1000', 'math', 0, 1),
    ('<think>a</think>\\boxed{0.333}', '\\frac{1}{3}', 'math', 0, 1),
    ('<think>a</think>\\boxed{2\\pi r}', '2 \\pi r', 'math', 1, 1),
    ('<think>a</think>\\boxed{\\frac{2}{4}}', '\\frac{1}{2}', 'math', 0, 1),
    ('<think>a</think>\\boxed{4/8}', '1/2', 'math', 0, 1),
    ('<think>a</think>\\boxed{1.5}', '\\frac{3}{2}', 'math', 1, 1),
    ('<think>a</think>\\boxed{3\\sqrt{2}}', '\\sqrt{18}', 'math', 1, 1),
    ('<think>a</think>\\boxed{x+y+z}', 'z+y+x', 'math', 0, 1),
    ('<think>a</think>\\boxed{70 degrees}', '70', 'math', 1, 1),
    ('<think>a</think>\\boxed{5 \\text{ cm}}', '5', 'math', 1, 1),
    ('<think>a</think>\\boxed{\\infty}', '\\infty', 'math', 1, 1),
    ('<think>a</think>\\boxed{3 or 4}', '3,4', 'math', 1, 1),
    ('<think>a</think>\\boxed{1,000,000}', '1000000', 'math', 1, 1),
    ('<think>a</think>\\boxed{2 million}', '2000000', 'math', 0, 1),
    ('<think>a</think>\\boxed{-\\frac{1}{2}}', '-0.5', 'math', 1, 1),
    ('<think>a</think>\\boxed{\\frac{-1}{2}}', '-\\frac{1}{2}', 'math', 1, 1),
    ('<think>a</think>\\boxed{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}', '1', 'math', 1, 1),
]
WEIGHT = {"math": 0.1, "r1v": 0.5}
TEMPLATE = {"math": "easyr1-math", "r1v": "easyr1-r1v"}


def test_table_size() -> None:
    assert len(EASYR1) >= 100


@pytest.fixture(scope="module")
def scored() -> list:
    items = [{"response": r, "answer": g, "template": TEMPLATE[f]} for r, g, f, _, _ in EASYR1]
    return score_batch(items, reward="easyr1")


@pytest.mark.parametrize("i", range(len(EASYR1)))
def test_easyr1_reward_is_easyr1s(scored: list, i: int) -> None:
    response, gold, family, accuracy, fmt = EASYR1[i]
    got = scored[i]
    assert (got.accuracy, got.format) == (accuracy, fmt), (response, gold, got.pred)
    w = WEIGHT[family]
    assert got.reward == pytest.approx((1 - w) * accuracy + w * fmt)


def test_bare_sentence_gets_zero_and_empty_think_gets_one(scored: list) -> None:
    assert scored[0].reward == 0.0 and scored[1].reward == 1.0


def test_math_and_r1v_templates_map_to_the_easyr1_families() -> None:
    assert get_template("math").easyr1 == "math" and get_template("easyr1-math").easyr1 == "math"
    assert get_template("r1v").easyr1 == "r1v" and get_template("easyr1-r1v").easyr1 == "r1v"
    assert score_batch([{"response": EASYR1[27][0], "answer": "70"}], template="r1v")[0].reward == 1.0


def test_format_scans_agree_with_easyr1_regexes() -> None:
    """The linear scans decide exactly what EasyR1's regexes decide (on a few hundred variations)."""
    import itertools
    import re

    from vrd.verify.formats import easyr1_normalize

    math_re = re.compile(r"<think>.*</think>.*\\boxed\{.*\}.*", re.DOTALL)
    r1v_re = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)
    parts = ["<think>", "</think>", "<answer>", "</answer>", "\\boxed{", "}", " ", "\n", "x"]
    for n in range(1, 5):
        for combo in itertools.product(parts, repeat=n):
            s = "".join(combo)
            assert easyr1_math_format(s) == bool(math_re.fullmatch(easyr1_normalize(s))), s
            assert easyr1_r1v_format(s) == bool(r1v_re.fullmatch(s)), s


def test_easyr1_extraction_is_mathrulers() -> None:
    assert last_boxed_easyr1("a \\boxed{1} b \\boxed{\\frac{2}{3}} c") == "\\frac{2}{3}"
    assert last_boxed_easyr1("\\boxed{ 7 }") == "7"
    assert last_boxed_easyr1("\\boxed{7") is None and last_boxed_easyr1("no box") is None
    assert easyr1_answer("<think>x</think><answer> 5 </answer>", "r1v") == "5"
    assert easyr1_answer("just 5", "r1v") == "just 5"


def test_easyr1_is_the_trainer_default_and_vrd_is_selectable() -> None:
    funcs, weights = reward_functions("math")
    assert funcs[0].grader.reward == "easyr1" and weights == pytest.approx([0.9, 0.1])
    assert reward_functions("r1v")[1] == pytest.approx([0.5, 0.5])
    assert reward_functions("r1v", 0.1)[1] == pytest.approx([0.9, 0.1])
    cols = {"prompts": ["q"] * 2, "completions": ["The answer is 5.", "<think></think>\\boxed{5}"],
            "answer": ["5", "5"]}
    assert vrd_reward(**cols) == pytest.approx([0.0, 1.0])
    assert vrd_reward(**cols, reward="vrd") == pytest.approx([0.9, 0.9])  # vrd: phrase read; think must be non-empty
    with pytest.raises(KeyError, match="unknown reward"):
        Grader("math", "easyR1")


def _user_template(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mine.jinja"
    path.write_text(text)
    return str(path)


def test_template_path_and_none_work_in_the_reward_and_the_monitor(tmp_path: Path) -> None:
    boxed = _user_template(tmp_path, "{{ question }}\nPut the answer in \\boxed{}.")
    assert get_template(boxed).format == "math" and get_template(boxed).easyr1 == "math"
    reply = "<think>sum</think>\\boxed{70}"
    for template in (boxed, "none"):
        funcs, weights = reward_functions(template)
        cols = {"prompts": ["q"], "completions": [reply], "answer": ["70"]}
        assert funcs[0](**cols) == [1.0] and funcs[1](**cols) == [1.0]
        # the held-out monitor grades with verify_batch under the run's template
        result = verify_batch([{"response": reply, "answer": "70"}], template=template)[0]
        assert result.correct and result.format_ok
    tagged = _user_template(tmp_path, "{{ question }} Answer inside <answer> </answer>.")
    assert get_template(tagged).format == "r1v" and get_template(tagged).answer_tag == "answer"
    assert check_format("<think>a</think><answer>3</answer>", tagged)
    assert not check_format("<think>a</think>\\boxed{3}", tagged)
    assert check_format("anything at all", "none") and not check_format("", "none")


def test_easyr1_templates_use_easyr1s_wording() -> None:
    math = render_prompt({"question": "  What is x?  "}, "easyr1-math")
    assert math == ("What is x? You FIRST think about the reasoning process as an internal monologue and then "
                    "provide the final answer. The reasoning process MUST BE enclosed within <think> </think> tags. "
                    "The final answer MUST BE put in \\boxed{}.")
    r1v = render_prompt({"question": "What is x?", "choices": ["1", "2"]}, "easyr1-r1v")
    assert r1v.startswith("What is x?\n\nOptions:\n(A) 1\n(B) 2\nAnswer with the option's letter. A conversation between User and Assistant.")
    assert r1v.endswith("i.e., <think> reasoning process here </think><answer> answer here </answer>")
    # EasyR1's export (template none + EasyR1's own format prompt) grades the boxed text against the gold
    # letter, so a choice question must ask for the letter: a boxed option value would score 0.
    bare = render_prompt({"question": "What is x?", "choices": ["1", "2"]}, "none")
    assert bare == "What is x?\n\nOptions:\n(A) 1\n(B) 2\nAnswer with the option's letter."
    assert "letter" not in render_prompt({"question": "What is x?"}, "none")


def test_easyr1_scans_match_its_regexes_and_stay_linear() -> None:
    """The whitespace clean-up and the r1v answer search give exactly what EasyR1's regexes give,
    and a megabyte of hostile text costs milliseconds (the regexes themselves are quadratic)."""
    import itertools
    import re
    import time

    from vrd.verify.formats import easyr1_normalize

    spaces, answer = re.compile(r"\s*(<|>|/)\s*"), re.compile(r"<answer>(.*?)</answer>")
    parts = ["<answer>", "</answer>", "\n", " ", "x", "<", "/"]
    for n in range(1, 5):
        for combo in itertools.product(parts, repeat=n):
            s = "".join(combo)
            assert easyr1_normalize(s) == spaces.sub(r"\1", s), s
            m = answer.search(s)
            assert easyr1_answer(s, "r1v") == (m.group(1).strip() if m else s.strip()), s
    start = time.perf_counter()
    for hostile in (" " * 1_000_000 + "x", "<answer>" * 125_000, "<think>" + "\\boxed{" * 100_000):
        easyr1_normalize(hostile)
        easyr1_answer(hostile, "r1v")
        easyr1_answer(hostile, "math")
        easyr1_math_format(hostile)
        easyr1_r1v_format(hostile)
    assert time.perf_counter() - start < 5.0


def test_mathruler_steps_without_eval() -> None:
    """vrd.verify.easyr1_grade reproduces mathruler's grade_answer up to its sympy step."""
    from vrd.verify.easyr1_grade import judge, mathd_normalize, mathruler_normalize, split_elements

    assert mathd_normalize("\\dfrac12") == "\\frac{1}{2}" and mathd_normalize("0.5") == "\\frac{1}{2}"
    assert mathd_normalize("x = 3/4") == "\\frac{3}{4}" and mathd_normalize("\\text{ B }") == "B"
    assert mathruler_normalize("70 degrees") == "70" and mathruler_normalize("\\{3,4\\}") == "3,4"
    assert mathruler_normalize("2 million") == "2*10^6" and mathruler_normalize("1,000") == "1000"
    assert split_elements("(1,2)") == ["1", "2"] and split_elements("1,2") == ["1,2"]
    assert judge("None", "None").decided is True  # mathruler's sentinel for "no box" matches a gold "None"
    assert judge("70", "0.7").decided is False  # integer against non-integer: no symbolic check
    assert judge("\\frac{2}{4}", "\\frac{1}{2}").decided is False  # unreduced fractions must match as written
    assert judge("x^(2)", "x*x").decided is False  # "^(": mathruler does not even try sympy
    assert judge("x^{2}", "x^2").decided is True  # braces dropped by its normalization
    left = judge("3\\sqrt{2}", "\\sqrt{18}")
    assert left.decided is None and left.pairs == [("\\sqrt{18}", "3\\sqrt{2}")]  # left to vrd's grader
    deep = "{" * 40 + "1" + "}" * 40  # pylatexenc would recurse: the text is kept, as mathruler's except does
    assert judge(deep, "1").decided is True
