"""The package's shape: one home for the contract's vocabulary, no import cycles, a fast `vrd.schema`."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def _modules() -> dict[str, Path]:
    mods = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """vrd modules `name` imports anywhere (functions included, `if TYPE_CHECKING` excluded), with the
    packages each import runs on the way; not `name`'s own packages."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and child.level == 0 and (child.module or "").startswith("vrd"):
                for alias in child.names:
                    full = f"{child.module}.{alias.name}"
                    found.add(full if full in known else child.module)
            elif isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("vrd"))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    with_packages = {".".join(m.split(".")[:i]) for m in found for i in range(2, m.count(".") + 2)}
    return {m for m in with_packages if m in known and m != name and not name.startswith(m + ".")}


def test_no_import_cycles() -> None:
    # Imports inside functions count: a cycle that only works because one side imports late is
    # still two modules that cannot be understood (or imported first) on their own.
    known = _modules()
    graph = {name: _imports(name, path, known) for name, path in known.items()}
    cycles = [c for c in _strongly_connected(graph) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


# Imports third-party libraries once, then forks a child per vrd module: each child imports its
# module as the first vrd import of the process, as a fresh interpreter would, at fork cost.
FORK_DRIVER = r"""
import importlib, os, sys, traceback
for heavy in ("numpy", "pyarrow", "pyarrow.parquet", "polars", "PIL.Image", "yaml", "jinja2", "typer", "rich",
              "httpx", "datasets", "torch", "transformers", "trl", "peft"):
    try:
        importlib.import_module(heavy)
    except Exception:
        pass
assert not any(m == "vrd" or m.startswith("vrd.") for m in sys.modules)
failed, running = [], {}
names = list(sys.argv[1:])
while names or running:
    while names and len(running) < max(2, os.cpu_count() or 1):
        name = names.pop(0)
        pid = os.fork()
        if pid == 0:
            try:
                importlib.import_module(name)
            except BaseException:
                traceback.print_exc()
                os._exit(1)
            os._exit(0)
        running[pid] = name
    pid, status = os.wait()
    if status != 0:
        failed.append(running[pid])
    del running[pid]
print("FAILED:" + ",".join(failed))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_every_module_imports_alone() -> None:
    names = sorted(name for name in _modules() if not name.endswith("__main__"))
    proc = subprocess.run([sys.executable, "-c", FORK_DRIVER, *names], capture_output=True, text=True,
                          timeout=300, cwd=PACKAGE.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "FAILED:\n" in proc.stdout or proc.stdout.strip() == "FAILED:", proc.stdout + proc.stderr[-3000:]


SCHEMA_IMPORT = """
import sys, time
cpu, wall = time.process_time(), time.perf_counter()
import vrd.schema
print(time.process_time() - cpu, time.perf_counter() - wall)
print(",".join(m for m in ("datasets", "pyarrow", "torch", "transformers", "polars") if m in sys.modules))
"""


def test_schema_imports_fast_and_light() -> None:
    proc = subprocess.run([sys.executable, "-c", SCHEMA_IMPORT], capture_output=True, text=True, timeout=120,
                          cwd=PACKAGE.parent, check=True)
    times, heavy = proc.stdout.splitlines()
    cpu, wall = map(float, times.split())
    assert heavy == "", f"import vrd.schema pulled in {heavy}"
    # CPU time is what the import costs; wall time also counts other processes on a busy machine.
    assert cpu < 0.5, f"import vrd.schema took {cpu:.2f} s of CPU ({wall:.2f} s wall)"


def test_registries_name_classes_lazily() -> None:
    from vrd.curate.exporters import EXPORTERS
    from vrd.engines import ENGINES
    from vrd.registry import load_entry
    from vrd.sources.registry import BENCHMARKS, SOURCES

    for registry in (SOURCES, ENGINES, EXPORTERS):
        for name, entry in registry.items():
            assert isinstance(entry, str) and ":" in entry, f"{name}: {entry!r} is imported eagerly"
            assert isinstance(load_entry(entry), type)
    assert set(BENCHMARKS) <= set(SOURCES)


def test_lazy_exports_are_not_shadowed_by_submodules() -> None:
    """Importing submodule `pkg.x` sets attribute `x` on the package, so a lazily exported function
    named like a submodule would turn into that module once anything imported it."""
    root = Path(vrd.__file__).parent
    clashes = []
    for init in root.rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        exported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if (isinstance(key, ast.Constant) and isinstance(value, ast.Constant)
                            and isinstance(value.value, str) and value.value.startswith("vrd.")
                            and ":" not in value.value):
                        exported.add(key.value)
        subs = {p.stem for p in init.parent.glob("*.py")} | {p.name for p in init.parent.iterdir() if p.is_dir()}
        clashes += [f"{init.parent.relative_to(root.parent)}.{name}" for name in sorted(exported & subs)]
    assert not clashes, f"lazy exports named like a submodule: {clashes}"
