"""The package's import graph: layers that only look down, and no import cycle.

Every ``import`` of a reparamopt module by another (at module level or inside a
function) is an edge. A module may import its own layer or those below it; the layers,
from the bottom, are listed in ``LAYERS`` and in docs/concepts.rst.
"""

import ast

import networkx as nx
import pytest

from tests import REPO_ROOT

ROOT = REPO_ROOT / "reparamopt"

LAYERS = [
    {"_utils", "exceptions", "result"},
    {"maps", "datasets"},
    {"declare", "engines"},
    {"finish", "models", "solvers"},
    {"flagships", "baselines", "backends"},
    {"dask", "plotting", "cli", "compat", "benchmarks", "__init__", "__main__"},
]


def layer_of(module):
    top = module.split(".")[1] if "." in module else "__init__"
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"{module} belongs to no layer")


def module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path):
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("reparamopt"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield sub if (ROOT.parent / (sub.replace(".", "/") + ".py")).exists() or \
                    (ROOT.parent / sub.replace(".", "/")).is_dir() else target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("reparamopt"):
                    yield alias.name


def graph():
    g = nx.DiGraph()
    for path in ROOT.rglob("*.py"):
        source = module_name(path)
        g.add_node(source)
        for target in imports(path):
            if target != source and target != "reparamopt":
                g.add_edge(source, target)
    return g


def test_every_import_looks_down():
    upward = [(a, b) for a, b in graph().edges if layer_of(a) < layer_of(b)]
    assert not upward, upward


def test_no_import_cycle():
    g = graph()
    # a package's __init__ re-exporting its own modules is not a cycle of the layers
    g.remove_edges_from([(a, b) for a, b in list(g.edges) if b.startswith(a + ".")])
    cycles = list(nx.simple_cycles(g))
    assert not cycles, cycles[:5]


def string_imports(path):
    """Calls such as ``import_module("reparamopt.x")`` or ``import_module(".x", ...)``:
    imports of the package that the graph above cannot see."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        if name not in ("import_module", "__import__") or not node.args:
            continue
        first = node.args[0]
        text = ast.unparse(first)
        literal = isinstance(first, (ast.Constant, ast.JoinedStr))
        if literal and (text.strip("\'\"f").startswith((".", "reparamopt"))):
            yield f"{path.relative_to(ROOT.parent)}:{node.lineno}: {text}"


def test_no_string_import_of_the_package():
    found = [hit for path in sorted(ROOT.rglob("*.py")) for hit in string_imports(path)]
    assert not found, found


def test_the_string_import_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from importlib import import_module\nimport_module('reparamopt.dask')\n"
                   "import_module(f'.{name}', __name__)\nimport_module('numpy')\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        hits = list(string_imports(bad))
    finally:
        ROOT = saved
    assert len(hits) == 2, hits


def test_earlier_module_paths_are_gone():
    """Nothing was released under the old flat layout: no alias serves it."""
    import importlib

    import reparamopt

    for old in ("reparamopt.operators", "reparamopt.constraints", "reparamopt.problem",
                "reparamopt.sparse", "reparamopt.nmf"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(old)
    # the lazy attribute stays: ro.operators is the operators module
    assert reparamopt.operators.SubsampledFFT is importlib.import_module(
        "reparamopt.models.operators").SubsampledFFT


def code_lines(path):
    """``(module lines, {function: lines of code})`` of a source file: a function's
    lines without its docstring, comments and blank lines (nested functions count in
    their enclosing one too)."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    functions = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions[f"{node.name}:{node.lineno}"] = sum(
                1 for i in range(node.lineno, node.end_lineno + 1)
                if i not in docstrings and lines[i - 1].strip()
                and not lines[i - 1].strip().startswith("#"))
    return len(lines), functions


MAX_FUNCTION_LINES, MAX_MODULE_LINES = 60, 600


def test_functions_fit_on_a_screen_and_modules_stay_small():
    too_long = []
    for path in sorted(ROOT.rglob("*.py")):
        total, functions = code_lines(path)
        where = path.relative_to(ROOT.parent)
        if total > MAX_MODULE_LINES:
            too_long.append(f"{where}: {total} lines")
        too_long += [f"{where}:{name} {count} lines of code"
                     for name, count in functions.items() if count > MAX_FUNCTION_LINES]
    assert not too_long, too_long


def test_the_size_check_counts_code_only(tmp_path):
    body = "\n".join(f"    x{i} = {i}  # step" for i in range(61))
    path = tmp_path / "big.py"
    path.write_text(f'def f():\n    """Doc.\n\n    More doc.\n    """\n    # a comment\n\n{body}\n'
                    "\n\ndef g():\n    return 1\n")
    total, functions = code_lines(path)
    assert functions == {"f:1": 62, "g:71": 2}


def test_public_class_names_are_unique():
    """Two classes of one name in two modules (two ``Problem``, two ``Plan``) make a
    reader guess which one a name means: public and semi-public classes are unique."""
    seen = {}
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                seen.setdefault(node.name, []).append(str(path.relative_to(ROOT.parent)))
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not clashes, clashes
