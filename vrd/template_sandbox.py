"""The Jinja sandbox user prompt templates render in: bounded in work as well as in reach.

Jinja's sandbox keeps a template away from Python internals but lets it run for ever
(`{% for a in range(99999) %}{% for b in range(99999) %}`, a macro that calls itself twice, a
string doubled in a loop) or build a value that fills memory in one C call
(`'x'.center(10**10)`, `[question]*99999|join`). Prompts are rendered per problem in whatever
thread or process runs the stage (the local loop, a Ray actor, `datasets.map`), so the bound
cannot be a signal. Instead each render carries a step budget (a ContextVar, so concurrent
renders in threads keep their own) that the compiled template spends on every loop iteration,
call, filter and test, and on the size of every value it outputs or builds; a CPU-time check
every few thousand steps backs it up. Operations that would allocate a huge value in a single
call are refused before they run. Spending the budget raises `SecurityError`, which
`vrd.prompts.render_prompt` reports as a one-line `TemplateError`.
"""

from __future__ import annotations

import functools
import re
import string
import time
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from contextvars import ContextVar
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, _PassArg

# A prompt is a few KB; these leave room for a long question and a generous template.
MAX_STEPS = 1_000_000  # loop iterations + calls + filters/tests + (characters built or written) / CHARS_PER_STEP
CHARS_PER_STEP = 16
# Steps are sized to about 0.1-0.5 us of CPU each, so MAX_STEPS is well under a second:
NODES_PER_STEP = 4  # a statement list spends 1 + its node count / 4 + its text / 16 each time it runs
STEPS_PER_BINOP = 4  # `+`, `*`, `%`, `**` (checked in Python)
STEPS_PER_ATTRIBUTE = 8  # `x.y` / `x[y]`: the sandbox vets every attribute it hands out
STEPS_PER_LAZY_ITEM = 4  # an item a lazy filter result (map, select, batch, slice) yields
STEPS_PER_CALL = 16  # a method, global or `loop.cycle` call through the sandbox
STEPS_PER_MACRO = 32  # a macro or `caller()` call: Jinja builds arguments, a frame and a buffer
STEPS_PER_FILTER = 8  # a filter or test, plus one step per item of its input (sort, select, map)
MAX_VALUE = 1_000_000  # characters (or nested items) in any one value a template builds, and in the prompt
MAX_CPU_SECONDS = 2.0  # this thread's CPU time for one render: a backstop for work the steps undercount
_CPU_CHECK_EVERY = 4096  # steps between CPU-time checks (thread_time is a system call, ~1 us)
MAX_POWER_BITS = 4096  # bits of an integer `**` or `*` may produce
MAX_REPEAT = 100_000  # characters (or nested items) a `*` may produce


class _Budget:
    """What one render may still spend. The CPU-time backstop starts at the first check, so an
    ordinary render (a few dozen steps) never reads a clock; CPU time rather than wall time, so a
    loaded machine or a GIL held by another thread does not fail a template that does little."""

    __slots__ = ("left", "check_at", "cpu_deadline")

    def __init__(self) -> None:
        self.left = MAX_STEPS
        self.check_at = MAX_STEPS - _CPU_CHECK_EVERY
        self.cpu_deadline = 0.0

    def spend(self, steps: int = 1) -> None:
        self.left -= steps
        if self.left < self.check_at:
            if self.left < 0:
                raise SecurityError(f"the template did more than {MAX_STEPS:,} steps of work (loop iterations, "
                                    "calls, filters, characters built); a prompt needs far fewer")
            now = time.thread_time()
            if not self.cpu_deadline:
                self.cpu_deadline = now + MAX_CPU_SECONDS
            elif now >= self.cpu_deadline:
                raise SecurityError(f"the template ran for more than {MAX_CPU_SECONDS:g} s of CPU time")
            self.check_at = self.left - _CPU_CHECK_EVERY


_BUDGET: ContextVar[_Budget] = ContextVar("vrd_template_budget")


_SCALARS = frozenset({int, float, bool, type(None)})
# What can hold other values and prints them: containers, `namespace()`, and dict views.
_NESTING = (list, tuple, set, frozenset, dict, Namespace, KeysView, ValuesView, ItemsView)


def _weight(value: Any, limit: int = MAX_VALUE) -> int:
    """Characters plus items in a value, nested ones counted once per reference (so
    `[[question] * 999] * 99` weighs what printing it would cost), stopping just past `limit`.
    Flat lists of numbers or of strings are measured at C speed: a prompt renders thousands of
    times and `range(99999)|list` is a legitimate value."""
    if isinstance(value, (str, bytes, range)):
        return len(value)
    if not isinstance(value, _NESTING):
        return 0
    memo: dict[int, int] = {}
    alive: list[Any] = []  # every object memoised by id stays alive until the walk ends

    def walk(v: Any) -> int:
        if isinstance(v, (str, bytes, range)):
            return len(v)
        if not isinstance(v, _NESTING):
            return 0
        key = id(v)
        known = memo.get(key)
        if known is not None:
            return known
        alive.append(v)
        memo[key] = limit + 1  # a container reaching itself (not buildable here, but cheap to guard)
        if isinstance(v, Namespace):  # prints its attributes, like a dict
            v = object.__getattribute__(v, "_Namespace__attrs")
        elif isinstance(v, (KeysView, ValuesView, ItemsView)):  # `d.items()` prints the whole dict
            v = list(v)
        total = len(v)
        if total <= limit:
            items = [*v.keys(), *v.values()] if isinstance(v, dict) else v
            alive.append(items)
            kinds = set(map(type, items))
            if kinds <= _SCALARS:
                pass
            elif kinds <= {str} or kinds <= {bytes}:
                total += sum(map(len, items))
            else:
                for item in items:
                    total += walk(item)
                    if total > limit:
                        break
        memo[key] = total
        return total

    return walk(value)


def _refuse_if_over(size: int, what: str, limit: int = MAX_VALUE) -> None:
    if size > limit:
        raise SecurityError(f"{what} would be {size:,} characters or items, too large for a prompt")


def _checked(value: Any, budget: _Budget) -> Any:
    """A value the template built: refused past MAX_VALUE, and its size spent from the budget."""
    if isinstance(value, (str, bytes)):
        size = len(value)
    elif isinstance(value, (*_NESTING, range)):
        size = _weight(value)
    else:
        return value
    _refuse_if_over(size, "a value")
    budget.spend(size // CHARS_PER_STEP)
    return value


def _metered(iterable: Iterable[Any], steps: int = 1) -> Iterator[Any]:
    budget = _BUDGET.get()
    for item in iterable:
        budget.left -= steps  # _Budget.spend inlined: once per item
        if budget.left < budget.check_at:
            budget.spend(0)
        yield item


_CONTAINERS = (list, tuple, set, frozenset, dict, range)
_SIZED = (str, bytes, range, *_NESTING)


def _result(value: Any, budget: _Budget) -> Any:
    if isinstance(value, _SIZED):
        return _checked(value, budget)
    if isinstance(value, Iterator) and not isinstance(value, LoopContext):
        return _metered(value, STEPS_PER_LAZY_ITEM)  # a lazy filter result (map, select, batch, slice)
    return value


# --- checks before a call that could allocate a huge value at once ------------------------------

def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _replace_size(s: str | bytes, old: Any, new: Any, count: Any = -1) -> int:
    if not isinstance(old, type(s)) or not isinstance(new, type(s)):
        return 0  # the call itself raises TypeError
    hits = s.count(old) if old else len(s) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(s) + hits * max(len(new) - len(old), 0)


def _join_size(sep: Any, items: list[Any]) -> int:
    return sum(_weight(x) for x in items) + len(_text(sep)) * max(len(items) - 1, 0)


def _check_width(width: Any, what: str) -> None:
    if isinstance(width, int):
        _refuse_if_over(width, what)


def _pre_str_method(s: str | bytes, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Arguments for a method of a str (or bytes) after refusing the calls whose result size an
    argument multiplies; `join` gets its items as a list (so a generator is read once)."""
    if name in ("center", "ljust", "rjust", "zfill") and args:
        _check_width(args[0], f"{name}()")
    elif name == "expandtabs":
        tab = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(tab, int):
            _refuse_if_over(len(s) + s.count("\t" if isinstance(s, str) else b"\t") * tab, "expandtabs()")
    elif name == "replace" and len(args) >= 2:
        _refuse_if_over(_replace_size(s, *args[:3]), "replace()")
    elif name == "join" and len(args) == 1:
        items = list(_metered(args[0]))
        _refuse_if_over(_join_size(s, items), "join()")
        return (items,)
    elif name == "translate" and args and isinstance(args[0], (Mapping, list, tuple)):
        table = args[0]
        longest = max((len(v) for v in (table.values() if isinstance(table, Mapping) else table)
                       if isinstance(v, (str, bytes))), default=1)
        _refuse_if_over(len(s) * longest, "translate()")
    return args


_PERCENT_WIDE = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(?:\*|\d{6,})|%(?:\([^)]*\))?[-+ #0]*\d*\.(?:\*|\d{6,})")


def check_percent_format(fmt: str) -> None:
    """`'%999999999d' % 1`, `'%.999999999d' % 1`, `'%*d' % (n, 1)`: widths Python pads to in full."""
    if _PERCENT_WIDE.search(fmt):
        raise SecurityError("a %-format width this large is too large for a prompt")


def check_brace_format(fmt: str) -> None:
    """`'{:999999999}'.format(1)` and `'{:{}}'.format(1, n)`: the same for str.format."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # the call raises the format error itself
    for _, _, spec, _ in fields:
        if spec and ("{" in spec or re.search(r"\d{6,}", spec)):
            raise SecurityError("a str.format width this large (or computed) is too large for a prompt")


def _filter_checks() -> dict[str, Callable[..., None]]:
    """Checks, per Jinja filter, on the arguments that multiply the size of its result."""

    def center(value: Any, width: Any = 80) -> None:
        _check_width(width, "center")

    def indent(s: Any, width: Any = 4, *_: Any, **__: Any) -> None:
        unit = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        _refuse_if_over((_text(s).count("\n") + 1) * unit + len(_text(s)), "indent")

    def join(value: Any, d: Any = "", attribute: Any = None) -> None:
        if isinstance(value, Iterator):
            return  # metered item by item; `_pre_filter` turns it into a list first
        _refuse_if_over(_join_size(d, list(value)), "join")

    def replace(s: Any, old: Any, new: Any, count: Any = None) -> None:
        _refuse_if_over(_replace_size(_text(s), _text(old), _text(new), -1 if count is None else count), "replace")

    def fmt(value: Any, *args: Any, **kwargs: Any) -> None:
        check_percent_format(_text(value))

    def batch(value: Any, linecount: Any, fill_with: Any = None) -> None:
        _check_width(linecount, "batch")

    def slice_(value: Any, slices: Any, fill_with: Any = None) -> None:
        _check_width(slices, "slice")

    def wordwrap(s: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None,
                 *_: Any) -> None:
        text = _text(s)
        if isinstance(wrapstring, str) and isinstance(width, int):
            lines = len(text) // max(width, 1) + text.count("\n") + 1
            _refuse_if_over(len(text) + lines * len(wrapstring), "wordwrap")

    def tojson(value: Any, indent: Any = None) -> None:
        _check_width(indent, "tojson indent")

    def sum_(iterable: Any, attribute: Any = None, start: Any = 0) -> None:
        if isinstance(start, (list, tuple, str)):  # adding sequences copies the running total each time
            _refuse_if_over(len(list(iterable)) * _weight(iterable), "sum", MAX_REPEAT)

    return {"center": center, "indent": indent, "join": join, "replace": replace, "format": fmt,
            "batch": batch, "slice": slice_, "wordwrap": wordwrap, "tojson": tojson, "sum": sum_}


def _bounded_filter(name: str, func: Callable[..., Any], check: Callable[..., None] | None) -> Callable[..., Any]:
    skip = 1 if _PassArg.from_obj(func) is not None else 0

    @functools.wraps(func)  # keeps jinja_pass_arg, so Jinja still passes the context/environment
    def bounded(*args: Any, **kwargs: Any) -> Any:
        budget = _BUDGET.get(None)
        if budget is None:  # Jinja folding a constant at compile time: leave it to the bounded render
            raise nodes.Impossible()
        steps = STEPS_PER_FILTER
        if len(args) > skip:
            value = args[skip]
            if value.__class__ is str:
                size = len(value)
            else:
                if name in ("join", "sum") and isinstance(value, Iterator):
                    value = list(value)  # sized before the check; each item already spent a step
                    args = (*args[:skip], value, *args[skip + 1:])
                size = _weight(value)
                if isinstance(value, _CONTAINERS):
                    steps += len(value)
            if size > MAX_VALUE:
                _refuse_if_over(size, f"the input of filter {name!r}")
            steps += size // CHARS_PER_STEP
            if check is not None:
                try:
                    check(*args[skip:], **kwargs)
                except TypeError:
                    pass  # wrong arguments: the filter itself reports them
        budget.spend(steps)
        result = func(*args, **kwargs)
        if result.__class__ is str:
            size = len(result)
            if size > MAX_VALUE:
                _refuse_if_over(size, "a value")
            budget.spend(size // CHARS_PER_STEP)
            return result
        return _result(result, budget)

    return bounded


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles the budget into the template: each for loop iterates through `_metered`, each
    statement list spends by its size when it runs, and every output, `~` concatenation and
    list/tuple/dict literal is size-checked as it is built."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loop_bodies: set[int] = set()  # for-loop bodies, paid for per item by `metered`

    @staticmethod
    def _cost(body: list[nodes.Node]) -> int:
        """Steps a statement list spends each time it runs: 1 + its nodes / NODES_PER_STEP + its
        text / CHARS_PER_STEP. The expressions, comparisons and template text that no hook sees are
        paid for this way, so a 100 KB loop body cannot run a million times."""
        size = len(body)
        literal = 0
        for node in body:
            for child in node.find_all(nodes.Node):
                size += 1
                if isinstance(child, nodes.TemplateData):
                    literal += len(child.data)
        return 1 + size // NODES_PER_STEP + literal // CHARS_PER_STEP

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        it = node.iter
        if not (isinstance(it, nodes.Call) and isinstance(it.node, nodes.EnvironmentAttribute)
                and it.node.name == "metered"):
            # each item pays for the loop body (and its `if` filter) up front, instead of the body
            # spending on its own; a recursive loop's body still spends itself (`loop(...)` items
            # are metered one step each in BoundedSandbox.call)
            cost = 1 if node.recursive else 1 + self._cost([*node.body, *([node.test] if node.test else [])])
            if not node.recursive:
                self._loop_bodies.add(id(node.body))
            node.iter = nodes.Call(nodes.EnvironmentAttribute("metered"), [it, nodes.Const(cost)], [], None, None,
                                   lineno=it.lineno)
        super().visit_For(node, frame)

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        if isinstance(node.node, nodes.EnvironmentAttribute) and node.node.name == "metered":
            self.write("environment.metered(")  # the loop's own wrapper: no need to pass the sandbox's call
            self.visit(node.args[0], frame)
            self.write(f", {node.args[1].value})")
        else:
            super().visit_Call(node, frame, forward_caller=forward_caller)

    def _wrapped(self, visit: Callable[[Any, Frame], None], node: Any, frame: Frame) -> None:
        self.write("environment.checked(")
        visit(node, frame)
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self._wrapped(super().visit_Concat, node, frame)

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._wrapped(super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._wrapped(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx == "load":
            self._wrapped(super().visit_Tuple, node, frame)
        else:  # an assignment target (`{% for a, b in ... %}`)
            super().visit_Tuple(node, frame)

    def blockvisit(self, body: list[nodes.Node], frame: Frame) -> None:
        # Every statement list (the template, a macro body, a branch) spends by its size each time
        # it runs; a for loop's body is paid for by `metered`, item by item.
        if id(body) not in self._loop_bodies:
            self.writeline(f"environment.spend({self._cost(body)})")
        super().blockvisit(body, frame)

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        super()._output_child_pre(node, frame, finalize)
        self.write("environment.checked(")

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write(")")
        super()._output_child_post(node, frame, finalize)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox (no attribute tricks, no list.append on the problem's values)
    with a per-render work budget and size checks; render only through `render_bounded`.

    `**`, `*`, `%` and `+` are intercepted: the sandbox lets them allocate without bound, and
    intercepting them also stops Jinja folding `{{ 9**9**9 }}` while compiling."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"**", "*", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        checks = _filter_checks()
        self.filters = {name: _bounded_filter(name, f, checks.get(name)) for name, f in self.filters.items()}
        self.tests = {name: _bounded_filter(name, f, None) for name, f in self.tests.items()}
        lipsum = self.globals["lipsum"]

        def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
            _refuse_if_over(n * max if isinstance(n, int) and isinstance(max, int) else 0, "lipsum", MAX_REPEAT)
            return lipsum(n, html, min, max)

        self.globals["lipsum"] = bounded_lipsum

    # called from the compiled template (see _BoundedCodeGenerator)
    def metered(self, iterable: Iterable[Any], steps: int = 1) -> Iterator[Any]:
        return _metered(iterable, steps)

    def checked(self, value: Any) -> Any:
        if value.__class__ is str:  # the common case, inlined: a prompt renders thousands of times
            size = len(value)
            if size >= CHARS_PER_STEP:
                if size > MAX_VALUE:
                    _refuse_if_over(size, "a value")
                budget = _BUDGET.get()
                budget.left -= size // CHARS_PER_STEP
                if budget.left < budget.check_at:
                    budget.spend(0)
            return value
        return _checked(value, _BUDGET.get())

    def spend(self, steps: int) -> None:
        budget = _BUDGET.get()
        budget.left -= steps  # _Budget.spend inlined: once per statement list run
        if budget.left < budget.check_at:
            budget.spend(0)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        """Every call (macros, methods, `loop.cycle`, `range`) spends a step and has its result
        checked; a recursive loop's `loop(children)` is metered like the loop itself."""
        budget = _BUDGET.get()
        if isinstance(__obj, LoopContext) and args:
            args = (_metered(args[0]), *args[1:])
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, (str, bytes)):  # a str method's work grows with the string (count, find, split)
            budget.spend(STEPS_PER_CALL + len(owner) // CHARS_PER_STEP)
            args = _pre_str_method(owner, getattr(__obj, "__name__", ""), args, kwargs)
        else:
            budget.spend(STEPS_PER_MACRO if isinstance(__obj, Macro) else STEPS_PER_CALL)
        return _result(super().call(__context, __obj, *args, **kwargs), budget)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _BUDGET.get().spend(STEPS_PER_ATTRIBUTE)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _BUDGET.get().spend(STEPS_PER_ATTRIBUTE)
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            check_brace_format(value.__self__)
        return wrapped

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = _BUDGET.get()
        budget.spend(STEPS_PER_BINOP)
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and \
                max(abs(left), 2).bit_length() * abs(right) > MAX_POWER_BITS:
            raise SecurityError(f"power {left}**{right} is too large for a prompt")
        if operator == "*" and isinstance(left, int) and isinstance(right, int) and \
                left.bit_length() + right.bit_length() > MAX_POWER_BITS:  # squaring in a loop doubles the digits
            raise SecurityError(f"a product of {left.bit_length()}- and {right.bit_length()}-bit integers is "
                                "too large for a prompt")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int) and n > 1 and \
                        _weight(seq, MAX_REPEAT) * n > MAX_REPEAT:
                    raise SecurityError(f"repeating a {type(seq).__name__} {n} times is too large for a prompt")
        if operator == "%" and isinstance(left, str):
            check_percent_format(left)
        return _checked(super().call_binop(context, operator, left, right), budget)


def render_bounded(template: jinja2.Template, **values: Any) -> str:
    """Render with a fresh budget; the prompt itself is held to MAX_VALUE characters."""
    token = _BUDGET.set(_Budget())
    try:
        text = template.render(**values)
    finally:
        _BUDGET.reset(token)
    _refuse_if_over(len(text), "the prompt")
    return text
