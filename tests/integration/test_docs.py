"""The documentation: it builds with warnings as errors, and its code runs.

The build executes the tutorials through sphinx-gallery on small problems
(``REPARAMOPT_QUICK=1``), about 3 to 4 minutes on two cores.
"""

import ast
import doctest
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests import REPO_ROOT

DOCS = REPO_ROOT / "docs"
TUTORIALS = DOCS.parent / "tutorials"

pytestmark = pytest.mark.skipif(not (DOCS / "conf.py").is_file(), reason="no docs/ in this tree")


def code_blocks(page):
    """The ``.. code-block:: python`` blocks of an rst page, dedented, in order."""
    blocks = []
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("   ")):
                body.append(lines[i])
                i += 1
            blocks.append(textwrap.dedent("\n".join(body)).strip("\n"))
        else:
            i += 1
    return blocks


def build_docs(out):
    env = dict(os.environ, REPARAMOPT_QUICK="1", MPLBACKEND="Agg",
               REPARAMOPT_OUTPUT=str(out / "tutorial_output"))
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
        env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"sphinx-build -W failed:\n{done.stderr[-6000:]}"
    return out / "html"


def test_docs_build(tmp_path):
    """One test, so that parallel workers never build into the source folder at once."""
    for module in ("sphinx", "sphinx_gallery", "pydata_sphinx_theme", "matplotlib"):
        pytest.importorskip(module)
    built = build_docs(tmp_path)

    for page in ("index", "getting_started", "concepts", "adding_a_map", "flagships", "cli",
                 "benchmarks", "cluster", "api", "auto_tutorials/index"):
        assert (built / f"{page}.html").is_file(), page

    # Formulas render offline: MathJax is loaded from the build folder, never from a URL.
    page = (built / "getting_started.html").read_text(encoding="utf-8")
    sources = re.findall(r'<script[^>]*src="([^"]*(?:mathjax|MathJax)[^"]*)"', page)
    assert sources and not any(re.match(r"(https?:)?//", src) for src in sources), sources
    assert (built / "_static" / "mathjax" / "tex-chtml.js").is_file()

    # A quick build says that its tutorials ran on reduced sizes.
    assert "REPARAMOPT_QUICK=1" in (built / "auto_tutorials" / "index.html").read_text(encoding="utf-8")

    # The API reference comes from the docstrings, and its pages carry the names users
    # call (reparamopt.nnls), not the modules that define them.
    generated = built / "api" / "generated"
    page = (generated / "reparamopt.nnls.html").read_text(encoding="utf-8")
    assert "init_scale" in page and "polish" in page
    for name in ("nnls", "sparse_recovery", "NMF", "solve", "Problem", "NonNegative", "compat.nnls"):
        page = (generated / f"reparamopt.{name}.html").read_text(encoding="utf-8")
        assert re.search(rf"<title>reparamopt\.{re.escape(name)}\s", page), name
    assert not list(generated.glob("reparamopt.flagships.*.nnls.html"))
    assert not (generated / "reparamopt.flagships.nmf.NMF.html").exists()
    assert (generated / "reparamopt.plotting.html").is_file()
    # Cross-references land on those pages, by the public name (flagships.rst) or by the
    # defining module's path (concepts.rst, docstrings).
    links = {page: (built / f"{page}.html").read_text(encoding="utf-8") for page in ("flagships", "concepts")}
    assert 'href="api/generated/reparamopt.nnls.html#reparamopt.nnls"' in links["flagships"]
    assert 'href="api/generated/reparamopt.NMF.html#reparamopt.NMF"' in links["flagships"]
    assert 'href="api/generated/reparamopt.Problem.html#reparamopt.Problem"' in links["concepts"]

    # Narrative pages have navigation: every page in the primary sidebar, the page's own
    # sections under "On this page".
    page = (built / "getting_started.html").read_text(encoding="utf-8")
    sidebar = page[page.index('id="pst-primary-sidebar"'):page.index('id="main-content"')]
    assert 'href="concepts.html"' in sidebar and 'href="api.html"' in sidebar
    toc = page[page.index('id="pst-page-toc-nav"'):]
    assert 'href="#the-demo"' in toc and 'href="#installation"' in toc
    # The front page says which function fits which data.
    page = (built / "index.html").read_text(encoding="utf-8")
    assert "Which function for my data" in page
    for name in ("nnls", "sparse_recovery", "NMF", "solve"):
        assert f'href="api/generated/reparamopt.{name}.html#reparamopt.{name}"' in page, name

    # The registry graph and tables are drawn from the registry as the package ships it
    # (read in a fresh interpreter: other tests of this process register sets of their
    # own, which the docs build never sees).
    nodes = subprocess.run(
        [sys.executable, "-c", "from reparamopt import registry; "
         "print('\\n'.join(map(str, registry.graph().nodes)))"],
        capture_output=True, text=True, check=True).stdout.split()
    page = (built / "concepts.html").read_text(encoding="utf-8")
    assert re.search(r'<img [^>]*src="[^"]*concepts-1\.png"', page)
    assert nodes
    for node in nodes:
        assert f"<span class=\"pre\">{node}</span>" in page, node
    assert (built / "_images" / "concepts-1.png").stat().st_size > 10_000

    # Every tutorial is in the gallery, executed, with its figure.
    for script in sorted(TUTORIALS.glob("plot_*.py")):
        page = (built / "auto_tutorials" / f"{script.stem}.html").read_text(encoding="utf-8")
        assert f"sphx_glr_{script.stem}_001.png" in page, script.name

    # The command-line reference is the parser's own help.
    page = (built / "cli.html").read_text(encoding="utf-8")
    for command in ("demo", "solve", "nmf", "bench", "reproduce"):
        assert f"usage: reparamopt {command}" in page


def _run(code, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("page", ["index.rst", "getting_started.rst", "concepts.rst", "adding_a_map.rst",
                                  "flagships.rst"])
def test_page_code_runs(tmp_path, page):
    blocks = [b for b in code_blocks(page) if not b.startswith(">>>")]
    assert blocks
    _run("\n\n".join(blocks), tmp_path)  # the page's own imports, nothing added


def test_concepts_doctests():
    blocks = [b for b in code_blocks("concepts.rst") if b.startswith(">>>")]
    assert blocks
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for block in blocks:
        runner.run(parser.get_doctest(block, {}, "concepts", "concepts.rst", 0))
    assert runner.summarize(verbose=False).failed == 0


def test_add_a_map_example_prints_the_projection(tmp_path):
    block = code_blocks("adding_a_map.rst")[0]
    out = _run(block, tmp_path)
    assert out.split() == "[0.05 0.05 0.9 0.9 0.9 2. ]".split()


def conf_nodes():
    return ast.parse((DOCS / "conf.py").read_text(encoding="utf-8")).body


def conf_value(name):
    """A literal assigned at the top level of conf.py, read without running conf.py (which
    stages the tutorials and writes generated pages)."""
    for node in conf_nodes():
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


class _App:
    """Just enough of a Sphinx application for an extension's ``setup``."""

    def __init__(self, **config):
        self.config = type("Config", (), config)()
        self.handlers = []

    def connect(self, event, handler, priority=500):
        self.handlers.append((event, handler))


def test_math_renders_offline():
    extensions = conf_value("extensions")
    assert "sphinx.ext.mathjax" in extensions
    assert conf_value("mathjax_path") is None  # set by the offline extension, not to a URL
    offline = pytest.importorskip("sphinx-mathjax-offline")
    assert "sphinx-mathjax-offline" in extensions
    app = _App()
    offline.setup(app)
    path = app.config.mathjax_path
    assert not re.match(r"(https?:)?//", path), path
    # the file the pages load, shipped in the package and copied into _static/
    assert (Path(offline.__file__).parent / "static" / path).is_file()


def _conf_functions(*names, **namespace):
    """Functions (and constants) of conf.py, compiled on their own."""
    keep = [node for node in conf_nodes()
            if getattr(node, "name", None) in names
            or (isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in names)]
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(DOCS / "conf.py"), "exec"), namespace)
    return namespace


def test_internal_paths_resolve_to_public_names():
    import reparamopt

    conf = _conf_functions("_exported", "_EXPORTED", "_public_name", reparamopt=reparamopt)
    public = conf["_public_name"]
    assert public("reparamopt.flagships.nnls.nnls") == "reparamopt.nnls"
    assert public("reparamopt.flagships.nmf.NMF") == "reparamopt.NMF"
    assert public("reparamopt.declare.problem.Problem.optimality") == "reparamopt.Problem.optimality"
    assert public("reparamopt.maps.registry.resolve") == "reparamopt.resolve"
    for internal in ("reparamopt.flagships.sparse.SparseSettings", "scipy.optimize.nnls",
                     "reparamopt.no.such.thing"):
        assert public(internal) is None, internal


def test_stale_api_pages_are_dropped(tmp_path):
    """A page generated for a name api.rst no longer lists (reparamopt.flagships.nnls.nnls
    before the public names) would break the -W build of an existing checkout."""
    stubs = tmp_path / "api" / "generated"
    stubs.mkdir(parents=True)
    (tmp_path / "api.rst").write_text((DOCS / "api.rst").read_text(encoding="utf-8"), encoding="utf-8")
    for name in ("reparamopt.nnls.rst", "reparamopt.maps.registry.rst", "reparamopt.flagships.nnls.nnls.rst"):
        (stubs / name).write_text("stub\n")
    conf = _conf_functions("_autosummary_entries", "_drop_stale_api_stubs", HERE=tmp_path, API_STUBS=stubs)
    assert {"nnls", "NMF", "Problem", "compat.nnls", "maps.registry"} <= set(
        conf["_autosummary_entries"](tmp_path / "api.rst"))
    conf["_drop_stale_api_stubs"]()
    assert sorted(p.name for p in stubs.iterdir()) == ["reparamopt.maps.registry.rst", "reparamopt.nnls.rst"]


@pytest.mark.parametrize("quick,plot_gallery,announced", [
    (False, "True", True), (False, "0", False), (True, "True", False)])
def test_full_build_is_announced(capsys, quick, plot_gallery, announced):
    conf = _conf_functions("FULL_BUILD_NOTICE", "_announce_full_build", QUICK=quick, sys=sys)
    conf["_announce_full_build"](_App(plot_gallery=plot_gallery))
    err = capsys.readouterr().err
    assert ("REPARAMOPT_QUICK=1 sphinx-build" in err) == announced
    if announced:
        assert "hour" in err


def test_quick_figures_say_so():
    for script in sorted(TUTORIALS.glob("plot_*.py")):
        text = script.read_text(encoding="utf-8")
        assert 'os.environ.get("REPARAMOPT_QUICK") == "1"' in text, script.name
        assert re.search(r'if QUICK:.*\n\s+fig\.suptitle\(f"REPARAMOPT_QUICK=1: ', text), script.name


_IMPORT = re.compile(r"^\s*(?:>>>\s*)?(?:from\s+(reparamopt[\w.]*)\s+import\s+([\w\s,()]+)"
                     r"|import\s+(reparamopt[\w.]*))", re.MULTILINE)


def private_imports(text):
    """``reparamopt._x`` modules (at any depth) and ``_names`` imported in `text`."""
    found = []
    for module, names, plain in _IMPORT.findall(text):
        path = (module or plain).split(".")
        found += [m for m in path if m.startswith("_")]
        found += [n for n in re.split(r"[\s,()]+", names) if n.startswith("_") and not n.startswith("__")]
    return found


def test_private_imports_are_found():
    assert private_imports("from reparamopt._lp import basis_pursuit\n>>> import reparamopt.x._y\n"
                           "from reparamopt.baselines import (_hidden,\n    basis_pursuit)") == \
        ["_lp", "_y", "_hidden"]
    assert private_imports("from reparamopt.baselines import basis_pursuit\nimport reparamopt as ro") == []


def test_tutorials_and_docs_import_only_public_modules():
    skipped = {"_build", "_generated", "_tutorials_src", "auto_tutorials"}
    files = sorted(TUTORIALS.glob("*.py")) + [
        path for path in sorted(DOCS.rglob("*")) if path.suffix in (".py", ".rst")
        and not skipped & set(path.relative_to(DOCS).parts)]
    assert len(files) > 10
    for path in files:
        assert private_imports(path.read_text(encoding="utf-8")) == [], path


def test_install_docs_list_every_extra():
    tomllib = pytest.importorskip("tomllib")
    with open(DOCS.parent / "pyproject.toml", "rb") as handle:
        extras = tomllib.load(handle)["project"]["optional-dependencies"]
    for page in (DOCS.parent / "README.md", DOCS / "getting_started.rst"):
        text = page.read_text(encoding="utf-8")
        missing = [extra for extra in extras if f"[{extra}]" not in text]
        assert not missing, f"{page.name} does not list the extras {missing}"
