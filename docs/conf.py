"""Sphinx configuration of the reparamopt documentation.

Build: ``sphinx-build -W docs docs/_build/html``. The tutorials (``../tutorials``) run at
build time through sphinx-gallery; ``REPARAMOPT_QUICK=1`` runs them on small problems,
and ``-D plot_gallery=0`` builds the pages without running them. Formulas render offline:
MathJax comes from the sphinx-mathjax-offline package and is copied into the build.
"""

import csv
import os
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("REPARAMOPT_OUTPUT", str(HERE / "_build" / "tutorial_output"))
QUICK = os.environ.get("REPARAMOPT_QUICK") == "1"

import reparamopt  # noqa: E402

project = "reparamopt"
author = "reparamopt developers"
copyright = "reparamopt developers"
release = reparamopt.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax from the build folder, not from a CDN
    "sphinx.ext.viewcode",
    "matplotlib.sphinxext.plot_directive",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "_tutorials_src", "_generated", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]
nitpicky = False
default_role = "obj"

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    # scikit-learn's generated metadata-routing methods document scikit-learn, not us.
    "exclude-members": "set_fit_request, set_transform_request, set_inverse_transform_request, "
                       "set_score_request, get_metadata_routing",
}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autoclass_content = "class"

napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = False

plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]

html_theme = "pydata_sphinx_theme"
html_title = f"reparamopt {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    # "On this page": the sections of the page, two levels open
    "secondary_sidebar_items": ["page-toc"],
    "show_toc_level": 2,
}
# The theme's "sidebar-nav-bs" lists the pages below the current top-level page, which
# is nothing on the narrative pages; this one lists every page (_templates/).
html_sidebars = {"**": ["sidebar-site-nav"]}
html_show_sourcelink = False


# -- tutorials -------------------------------------------------------------------------
TUTORIALS = ROOT / "tutorials"
STAGED = HERE / "_tutorials_src"

GALLERY_HEADER = """\
Tutorials
=========

Each tutorial reproduces one of the paper's experiments with reparamopt and compares
it with a reference (Lawson-Hanson, linear programming, ...). They are plain scripts
shipped with the package (``tutorials/`` (installed as ``reparamopt.tutorials``)): run one with ``python -m
reparamopt.tutorials.plot_rates``, or all of them with ``reparamopt reproduce``;
``REPARAMOPT_QUICK=1`` selects small problems and ``REPARAMOPT_OUTPUT`` the folder of
their tables and figures.
"""
if QUICK:
    GALLERY_HEADER += """
.. note::

   This build ran the tutorials on reduced sizes (``REPARAMOPT_QUICK=1``): their
   figures and tables show the method at work, not the paper's numbers. Build without
   ``REPARAMOPT_QUICK`` for the full sizes.
"""


def _stage_tutorials():
    """Copy the tutorial scripts next to a gallery header, for sphinx-gallery.

    Files are only rewritten when their content changes, so that sphinx-gallery's
    checksums keep unchanged tutorials from running again.
    """
    STAGED.mkdir(exist_ok=True)
    wanted = {"GALLERY_HEADER.rst": GALLERY_HEADER}
    for script in sorted(TUTORIALS.glob("plot_*.py")):
        wanted[script.name] = script.read_text(encoding="utf-8")
    for path in STAGED.iterdir():
        if path.name not in wanted:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    for name, text in wanted.items():
        path = STAGED / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def _gallery_for_this_mode():
    """Drop the executed gallery when the last build ran in the other mode (quick or
    full): sphinx-gallery reuses results by script checksum and would keep them."""
    gallery = HERE / "auto_tutorials"
    mode = "quick" if QUICK else "full"
    marker = gallery / ".reparamopt-mode"
    if gallery.exists() and (not marker.exists() or marker.read_text() != mode):
        shutil.rmtree(gallery)
    gallery.mkdir(exist_ok=True)
    marker.write_text(mode)


_stage_tutorials()
_gallery_for_this_mode()

sphinx_gallery_conf = {
    "examples_dirs": [str(STAGED)],
    "gallery_dirs": ["auto_tutorials"],
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "show_memory": False,
}


# -- pages generated from the live package -------------------------------------------
GENERATED = HERE / "_generated"


def _write(name, text):
    GENERATED.mkdir(exist_ok=True)
    path = GENERATED / name
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _table(header, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = "  ".join("=" * w for w in widths)
    body = [line, "  ".join(str(c).ljust(w) for c, w in zip(header, widths)), line]
    body += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(body + [line]) + "\n"


def _registry_tables():
    from reparamopt import registry

    graph = registry.graph()
    sets = []
    for node, data in sorted(graph.nodes(data=True)):
        route = " -> ".join(registry.path(node))
        sets.append((f"``{node}``", data.get("description") or "-", route))
    maps = [(f"``{s}``", f"``{t}``", f":class:`~reparamopt.maps.{d['factory'].__name__}`", f"{d['cost']:g}")
            for s, t, d in sorted(graph.edges(data=True))]
    aliases = sorted(set(registry.set_names()) - set(graph.nodes))
    text = ".. The tables below are generated from the live registry by conf.py.\n\n"
    text += _table(["set", "description", "resolved through"], sets) + "\n"
    text += _table(["from", "to", "map", "cost"], maps) + "\n"
    text += "Aliases: " + ", ".join(f"``{a}``" for a in aliases) + ".\n"
    _write("registry_tables.rst", text)


def _cli_help():
    from reparamopt.cli import build_parser

    parser = build_parser()
    os.environ["COLUMNS"] = "88"
    text = ".. Generated from the argument parser by conf.py.\n\n"
    sections = [("reparamopt", parser)]
    for action in parser._subparsers._group_actions:
        sections += [(f"reparamopt {name}", sub) for name, sub in action.choices.items()]
    for title, sub in sections:
        help_text = sub.format_help().rstrip()
        text += f"{title}\n{'-' * len(title)}\n\n.. code-block:: text\n\n"
        text += "".join(f"    {line}\n" if line else "\n" for line in help_text.splitlines()) + "\n"
    _write("cli_help.rst", text)


BENCH_DATA = HERE / "benchmarks"


def _cell(text):
    try:
        value = float(text)
    except ValueError:
        return text.replace("|", "/") or "-"
    return text if value.is_integer() and "." not in text else f"{value:.4g}"


def _benchmark_tables():
    files = sorted(BENCH_DATA.glob("*.csv"))
    if not files:
        _write("benchmark_tables.rst", "No benchmark results are recorded in this tree yet.\n")
        return
    text = ".. Generated by conf.py from the CSV files in docs/benchmarks/.\n\n"
    for path in files:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            continue
        columns = list(rows[0])
        group = next((c for c in ("case", "problem") if c in columns), columns[0])
        shown = [c for c in columns if c not in (group, "family")]
        cases = list(dict.fromkeys(row[group] for row in rows))
        text += f"{path.stem}\n{'~' * len(path.stem)}\n\n"
        for case in cases:
            text += f".. list-table:: {case}\n   :header-rows: 1\n\n"
            body = [[row[c] for c in shown] for row in rows if row[group] == case]
            for i, row in enumerate([shown] + body):
                cells = row if i == 0 else [_cell(c) for c in row]
                text += "   * - " + "\n     - ".join(cells) + "\n"
            text += "\n"
    _write("benchmark_tables.rst", text)


API_STUBS = HERE / "api" / "generated"


def _autosummary_entries(page):
    """The names listed under the ``.. autosummary::`` directives of an rst page."""
    names, inside = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith(".. autosummary::"):
            inside = True
        elif inside and line.strip() and not line.startswith("   "):
            inside = False
        elif inside and line.strip() and not line.strip().startswith(":"):
            names.append(line.strip())
    return names


def _drop_stale_api_stubs():
    """Remove the pages autosummary generated for names that api.rst no longer lists:
    after a rename they would stay behind as pages outside every toctree (a warning)."""
    if not API_STUBS.is_dir():
        return
    wanted = {f"reparamopt.{name}.rst" for name in _autosummary_entries(HERE / "api.rst")}
    for path in API_STUBS.glob("*.rst"):
        if path.name not in wanted:
            path.unlink()


_registry_tables()
_cli_help()
_benchmark_tables()
_drop_stale_api_stubs()


# -- docstrings ------------------------------------------------------------------------
_FIELD = re.compile(r"^(\s*\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*\s:\s)(.+)$")
_TRAILING_UNDERSCORE = re.compile(r"(\w)_(?=[\s,)\]]|$)")


def _escape_type_underscores(app, what, name, obj, options, lines):
    """Escape names ending in "_" in numpydoc types ("of shape (n_iter_ + 1,)"): in
    reStructuredText a trailing underscore would make them hyperlink references."""
    for i, line in enumerate(lines):
        match = _FIELD.match(line)
        if match:
            lines[i] = match.group(1) + _TRAILING_UNDERSCORE.sub(r"\1\\_", match.group(2))


FULL_BUILD_NOTICE = """
========================================================================================
Full-size documentation build (REPARAMOPT_QUICK is not set): the tutorials run at the
paper's sizes, which takes well over an hour on two cores.
For a build in a few minutes, on reduced sizes:
    REPARAMOPT_QUICK=1 sphinx-build -W docs docs/_build/html
or, without running the tutorials at all: sphinx-build -D plot_gallery=0 docs docs/_build/html
========================================================================================
"""


def _announce_full_build(app):
    runs_tutorials = str(app.config.plot_gallery).lower() not in ("0", "false", "no", "off")
    if not QUICK and runs_tutorials:
        print(FULL_BUILD_NOTICE, file=sys.stderr, flush=True)


# -- cross-references to internal paths --------------------------------------------------
def _exported():
    """{id(object): name} of what ``reparamopt`` exports (its ``__all__``)."""
    if not _EXPORTED:
        _EXPORTED.update({id(getattr(reparamopt, name)): name for name in reparamopt.__all__})
    return _EXPORTED


_EXPORTED = {}


def _public_name(target):
    """``reparamopt.X[.rest]`` for a dotted path to an object that the package exports
    as ``reparamopt.X`` (``reparamopt.declare.problem.Problem.optimality`` ->
    ``reparamopt.Problem.optimality``); None for anything else."""
    import importlib

    parts = target.split(".")
    if parts[0] != "reparamopt":
        return None
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for depth in range(cut, len(parts)):
            obj = getattr(obj, parts[depth], None)
            if obj is None:
                return None
            if id(obj) in _exported():
                return ".".join(["reparamopt", _exported()[id(obj)], *parts[depth + 1:]])
        return None
    return None


def _resolve_internal_path(app, env, node, contnode):
    """Docstrings may name an object by the module that defines it
    (``reparamopt.flagships.nnls.nnls``); the API reference documents it under its
    public name (``reparamopt.nnls``): resolve the one to the other."""
    if node.get("refdomain") != "py":
        return None
    public = _public_name(node.get("reftarget", ""))
    if public is None or public == node.get("reftarget"):
        return None
    return env.get_domain("py").resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                                             public, node, contnode)


def setup(app):
    app.connect("missing-reference", _resolve_internal_path)
    # Before napoleon (priority 500) turns the numpydoc sections into fields.
    app.connect("autodoc-process-docstring", _escape_type_underscores, priority=400)
    # Before sphinx-gallery's own handler, which runs the tutorials.
    app.connect("builder-inited", _announce_full_build, priority=100)
