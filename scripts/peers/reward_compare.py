"""EasyR1's own reward functions (examples/reward_function/{math,r1v}.py at b44b311, mathruler 0.1.0)
vs vrd's `easyr1` reward, on tests/test_verify_reward.py's table plus adversarial replies.
Run: EASYR1_SRC=/path/to/EasyR1 PYTHONPATH=. $PEERS_VENVS/mr/bin/python scripts/peers/reward_compare.py"""
import importlib.util
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))

def load(name):
    spec = importlib.util.spec_from_file_location(f"easyr1_{name}", f"{os.environ['EASYR1_SRC']}/examples/reward_function/{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

MATH, R1V = load("math"), load("r1v")
from test_verify_reward import EASYR1  # noqa: E402

EASYR1 = EASYR1[:37]  # the original table; ADV below are the rows added to it
from vrd.verify.reward import score_batch  # noqa: E402

T = "<think>\nx = 70\n</think>\n"
ADV = [
    # boxed variants
    ("<think>a</think>\\boxed{\\boxed{70}}", "70", "math"),
    ("<think>a</think>\\boxed {70}", "70", "math"),
    ("<think>a</think>\\boxed{70}}", "70", "math"),
    ("<think>a</think>\\boxed{{70}}", "70", "math"),
    ("<think>a</think>\\fbox{70}", "70", "math"),
    ("<think>a</think>$\\boxed{70}$", "70", "math"),
    ("<think>a</think>\\boxed{x = 70}", "70", "math"),
    ("<think>a</think>\\boxed{70^{\\circ}}", "70", "math"),
    ("<think>a</think>\\boxed{70\\text{ degrees}}", "70", "math"),
    ("<think>a</think>\\boxed{70.0}", "70", "math"),
    ("<think>a</think>\\boxed{\\dfrac{1}{2}}", "\\frac{1}{2}", "math"),
    ("<think>a</think>\\boxed{1/2}", "\\frac{1}{2}", "math"),
    ("<think>a</think>\\boxed{0.5}", "\\frac{1}{2}", "math"),
    ("<think>a</think>\\boxed{\\sqrt{12}}", "2\\sqrt{3}", "math"),
    ("<think>a</think>\\boxed{(B)}", "B", "math"),
    ("<think>a</think>\\boxed{B. 70}", "B", "math"),
    ("<think>a</think>\\boxed{\\textbf{B}}", "B", "math"),
    ("<think>a</think>\\boxed{b}", "B", "math"),
    ("<think>a</think>\\boxed{\\pi}", "\\pi", "math"),
    ("<think>a</think>\\boxed{5\\pi}", "5\\pi", "math"),
    ("<think>a</think>\\boxed{3, 4}", "3,4", "math"),
    ("<think>a</think>\\boxed{\\{3,4\\}}", "3,4", "math"),
    ("<think>a</think>\\boxed{-70}", "70", "math"),
    ("<think>a</think>\\boxed{70 cm}", "70", "math"),
    ("<think>a</think>\\boxed{\\$70}", "70", "math"),
    ("<think>a</think>\\boxed{7e1}", "70", "math"),
    ("<think>a</think>\\boxed{None}", "None", "math"),
    ("no box at all", "None", "math"),
    ("<think>a</think>no box", "None", "math"),
    ("<think>a</think>\\boxed{x^2+1}", "1+x^2", "math"),
    ("<think>a</think>\\boxed{\\frac12}", "\\frac{1}{2}", "math"),
    ("<think>a</think>\\boxed{2:3}", "2:3", "math"),
    ("<think>a</think>\\boxed{70\\%}", "0.7", "math"),
    # <think> tags missing, nested, whitespace
    ("<think>a<think>b</think>c</think>\\boxed{70}", "70", "math"),
    ("</think>\\boxed{70}", "70", "math"),
    ("<think>\\boxed{70}", "70", "math"),
    ("<THINK>a</THINK>\\boxed{70}", "70", "math"),
    ("<think >a</ think >\\boxed{70}", "70", "math"),
    ("<\nthink\n>a<\n/\nthink\n>\n\\boxed{70}\n", "70", "math"),
    ("\t<think>a</think>\t\\boxed{ 70 }\t", "70", "math"),
    ("<think>a</think>\\boxed{7 0}", "70", "math"),
    ("<think>a</think>\\boxed{a < b}", "a<b", "math"),
    ("<think>a</think>\\boxed{1 / 2}", "1/2", "math"),
    # r1v
    ("<think>a</think><answer>\\boxed{70}</answer>", "70", "r1v"),
    ("<think>a</think> <answer>B</answer>", "B", "r1v"),
    ("<think>a</think><answer>(B)</answer>", "B", "r1v"),
    ("<think>a<think>b</think></think><answer>70</answer>", "70", "r1v"),
    ("<think>a</think><answer>70</answer> trailing", "70", "r1v"),
    ("<think>a</think>\n<answer>\n70\n</answer>", "70", "r1v"),
    ("<answer>70</answer><think>a</think>", "70", "r1v"),
    ("<think>a</think><answer>None</answer>", "None", "r1v"),
    ("<think>a</think><answer>70</answer>", " 70 ", "r1v"),
    # the residual (sympy) step
    ("<think>a</think>\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{1}{2}\\sqrt{3}", "math"),
    ("<think>a</think>\\boxed{(1, 2)}", "(1,2)", "math"),
    ("<think>a</think>\\boxed{(2,1)}", "(1,2)", "math"),
    ("<think>a</think>\\boxed{[0, 1)}", "[0,1)", "math"),
    ("<think>a</think>\\boxed{10^3}", "1000", "math"),
    ("<think>a</think>\\boxed{10^{3}}", "1000", "math"),
    ("<think>a</think>\\boxed{0.333}", "\\frac{1}{3}", "math"),
    ("<think>a</think>\\boxed{2\\pi r}", "2 \\pi r", "math"),
    ("<think>a</think>\\boxed{\\frac{2}{4}}", "\\frac{1}{2}", "math"),
    ("<think>a</think>\\boxed{4/8}", "1/2", "math"),
    ("<think>a</think>\\boxed{1.5}", "\\frac{3}{2}", "math"),
    ("<think>a</think>\\boxed{3\\sqrt{2}}", "\\sqrt{18}", "math"),
    ("<think>a</think>\\boxed{x+y+z}", "z+y+x", "math"),
    ("<think>a</think>\\boxed{70 degrees}", "70", "math"),
    ("<think>a</think>\\boxed{5 \\text{ cm}}", "5", "math"),
    ("<think>a</think>\\boxed{\\infty}", "\\infty", "math"),
    ("<think>a</think>\\boxed{3 or 4}", "3,4", "math"),
    ("<think>a</think>\\boxed{1,000,000}", "1000000", "math"),
    ("<think>a</think>\\boxed{2 million}", "2000000", "math"),
    ("<think>a</think>\\boxed{-\\frac{1}{2}}", "-0.5", "math"),
    ("<think>a</think>\\boxed{\\frac{-1}{2}}", "-\\frac{1}{2}", "math"),
    ("<think>a</think>\\boxed{" + "{" * 40 + "1" + "}" * 40 + "}", "1", "math"),
]
TEMPLATE = {"math": "easyr1-math", "r1v": "easyr1-r1v"}

def real(resp, gold, fam):
    if fam == "math":
        s = MATH.compute_score([{"response": resp, "ground_truth": gold}])[0]
    else:
        s = R1V.compute_score({"response": resp, "ground_truth": gold})
    return s["accuracy"], s["format"], s["overall"]

rows = [(r, g, f) for r, g, f, _, _ in EASYR1] + ADV
ours = score_batch([{"response": r, "answer": g, "template": TEMPLATE[f]} for r, g, f in rows], reward="easyr1")
dis = []
for (r, g, f), o in zip(rows, ours, strict=True):
    a, fm, ov = real(r, g, f)
    if (a, fm) != (o.accuracy, o.format) or abs(ov - o.reward) > 1e-9:
        dis.append({"response": r, "gold": g, "family": f, "easyr1": [a, fm], "vrd": [o.accuracy, o.format], "pred": o.pred})
print(f"table {len(EASYR1)} + adversarial {len(ADV)} = {len(rows)} rows; agree {len(rows) - len(dis)}/{len(rows)}")
for d in dis:
    print(json.dumps(d))
if "--emit" in sys.argv:
    for r, g, f in ADV:
        a, fm, _ = real(r, g, f)
        print(f"    ({r!r}, {g!r}, {f!r}, {int(a)}, {int(fm)}),")
