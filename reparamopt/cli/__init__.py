"""The ``reparamopt`` command line.

Commands:

- ``reparamopt demo``: the paper's small problems solved by reparamopt and scipy side by
  side, a table and a convergence plot;
- ``reparamopt solve A b``: NNLS (or sparse recovery) from files;
- ``reparamopt nmf X -k 10``: non-negative matrix factorization of a file;
- ``reparamopt bench [nnls|nmf]``: the benchmark suites, as tables, CSV and a plot;
- ``reparamopt reproduce [figure]``: the paper's figures, regenerated from the tutorials.

Errors in the input (unreadable or mismatched files, bad options) end the command with a
one-line message and a non-zero exit status; set ``REPARAMOPT_DEBUG=1`` to see the
traceback instead.
"""

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.io
import scipy.optimize
import scipy.sparse as sp

from .. import __version__
from .._utils.validation import as_float_array
from ..exceptions import ReparamoptError

__all__ = ["main", "build_parser", "load_array", "CommandError"]

PROG = "reparamopt"
READABLE = (".npy", ".npz", ".mtx", ".csv")
EXIT_ERROR = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A user-facing failure of a command, reported as one line."""


# -- files ----------------------------------------------------------------------------
def _first_line(exc):
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _load_npz(path):
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.keys())
        if "format" in keys and "shape" in keys:
            return sp.load_npz(path)
        if len(keys) != 1:
            raise CommandError(
                f"cannot read {path}: a .npz file must hold a scipy.sparse matrix "
                f"(scipy.sparse.save_npz) or a single array; it holds {keys}")
        return archive[keys[0]]


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _load_csv(path):
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
    # One header line of column names is allowed.
    header = any(not _is_number(field) for field in first.split(",") if field.strip())
    return np.loadtxt(path, delimiter=",", ndmin=2, skiprows=int(header))


def load_array(path, name="A"):
    """Read a matrix or vector from .npy, .npz (scipy.sparse or one array), .mtx or .csv.

    Parameters
    ----------
    path : str or Path
        The file; its extension selects the reader.
    name : str, default "A"
        What the file holds, for error messages.

    Returns
    -------
    ndarray or scipy.sparse.csr_array
        float64 values, checked to be real and finite.

    Raises
    ------
    CommandError
        The file is missing, has an unknown extension, cannot be parsed or holds
        non-numeric, complex or non-finite values.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> np.savetxt(os.path.join(folder, "b.csv"), [1.0, 2.0], delimiter=",")
    >>> load_array(os.path.join(folder, "b.csv"), "b").ravel()
    array([1., 2.])
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise CommandError(
            f"cannot read {name} from {path}: unknown file type {suffix or '(none)'!r}; "
            f"use one of {', '.join(READABLE)}")
    if not path.is_file():
        raise CommandError(f"cannot read {name}: no such file {path}")
    try:
        if suffix == ".npy":
            data = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            data = _load_npz(path)
        elif suffix == ".mtx":
            data = scipy.io.mmread(path)
        else:
            data = _load_csv(path)
    except CommandError:
        raise
    except Exception as exc:  # every parser has its own exception types
        raise CommandError(f"cannot read {name} from {path}: {_first_line(exc)}") from None
    if sp.issparse(data):
        data = sp.csr_array(data)
    try:
        return as_float_array(data, name, allow_sparse=True)
    except ReparamoptError as exc:
        raise CommandError(f"{path}: {exc}") from None


def load_matrix(path, name="A"):
    """A 2-D array or sparse matrix from `path` (see :func:`load_array`)."""
    data = load_array(path, name)
    if data.ndim != 2:
        raise CommandError(f"{name} in {path} must be a matrix; got shape {data.shape}")
    return data


def load_vector(path, name="b"):
    """A 1-D array from `path`; a single row or column is flattened."""
    data = load_array(path, name)
    if sp.issparse(data):
        data = data.toarray()
    if data.ndim == 2 and 1 in data.shape:
        data = data.ravel()
    if data.ndim != 1:
        raise CommandError(f"{name} in {path} must be a vector; got shape {data.shape}")
    return data


def _output_path(path, allowed, what):
    path = Path(path)
    if path.suffix.lower() not in allowed:
        raise CommandError(
            f"cannot write {what} to {path}: use one of the extensions {', '.join(allowed)}")
    if path.is_dir():
        raise CommandError(f"cannot write {what} to {path}: it is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot write {what} to {path}: {_first_line(exc)}") from None
    return path


def save_array(path, value):
    """Write `value` to .npy, or as text to .csv / .txt."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npy":
            np.save(path, value)
        else:
            np.savetxt(path, np.atleast_1d(value), delimiter="," if path.suffix.lower() == ".csv" else " ",
                       fmt="%.17g")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {_first_line(exc)}") from None


# -- shared helpers -------------------------------------------------------------------
def _flagship(name):
    """A flagship solver of the package, or a clear error if this installation lacks it."""
    import reparamopt

    try:
        return getattr(reparamopt, name)
    except (ImportError, AttributeError) as exc:  # an optional extra is missing
        raise CommandError(f"`reparamopt.{name}` is not available: {_first_line(exc)}") from None


def _residual_norm(A, x, b):
    return float(np.linalg.norm(A @ x - b))


def kkt_residual(A, b, x):
    """The optimality ``reparamopt.nnls`` reports, for any solver's x >= 0
    (:func:`reparamopt.finish.kkt.check`): it vanishes exactly at NNLS solutions, so it
    compares solvers fairly.

    Examples
    --------
    >>> A = np.eye(2)
    >>> kkt_residual(A, np.array([1.0, -1.0]), np.array([1.0, 0.0]))
    0.0
    """
    from ..finish.kkt import check

    return check(A, b, np.asarray(x, dtype=float), 0.0)[0]


def _format_table(header, rows):
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    text = ["  ".join(c.ljust(w) for c, w in zip(cells[0], widths)), line]
    text += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in cells[1:]]
    return "\n".join(text)


def _locate(folder):
    """A folder of the source tree (benchmarks/, tutorials/) next to the package."""
    env = os.environ.get(f"REPARAMOPT_{folder.upper()}")
    candidates = [Path(env)] if env else []
    candidates += [Path(__file__).resolve().parent.parent / folder, Path.cwd() / folder]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise CommandError(
        f"cannot find the {folder}/ folder; it ships with the source tree of reparamopt "
        f"(run from a checkout, or set REPARAMOPT_{folder.upper()} to its path)")


# -- demo -----------------------------------------------------------------------------
def _paper_problem(rng, m, n, s=None):
    """The paper's generator: A with N(0, 1/m) entries, x* >= 0 with ||x*||_2 = 1, b = A x*."""
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x_true = np.zeros(n)
    support = rng.choice(n, size=n if s is None else s, replace=False)
    x_true[support] = np.abs(rng.standard_normal(support.size))
    x_true /= np.linalg.norm(x_true)
    return A, A @ x_true, x_true


def _traced(solver, *args, **kwargs):
    """Run `solver` with its history recorded; the final (polished) point is appended."""
    start = time.perf_counter()
    result = solver(*args, history=True, **kwargs)
    elapsed = time.perf_counter() - start
    trace = {key: list(result.history.get(key, [])) if result.history else []
             for key in ("time", "fun", "optimality")}
    trace["time"].append(elapsed)
    trace["fun"].append(float(result.fun))
    trace["optimality"].append(float(result.optimality))
    return result, elapsed, trace


def _summary(label, A, b, x, elapsed, x_true):
    support = int(np.sum(x > 1e-6 * max(float(np.max(x)), np.finfo(float).tiny)))
    return [label, f"{elapsed:.3f}", f"{_residual_norm(A, x, b):.1e}", f"{kkt_residual(A, b, x):.1e}",
            f"{np.sum(np.abs(x)):.4f}", str(support), f"{np.linalg.norm(x - x_true):.1e}"]


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


DEMO_HEADER = ["solver", "time (s)", "||Ax-b||", "KKT", "||x||_1", "nnz", "||x-x*||"]
DEMO_SCALES = (1e-1, 1e-3, 1e-6)


def _demo_implicit_bias(rng, solver, name):
    m, n, s = 10, 50, 3
    A, b, x_true = _paper_problem(rng, m, n, s)
    (x_lh, _), t_lh = _timed(scipy.optimize.nnls, A, b)
    rows = [_summary("scipy.optimize.nnls (Lawson-Hanson)", A, b, x_lh, t_lh, x_true)]
    curves = []
    for scale in DEMO_SCALES:
        # No exact polish: it would jump to a vertex and lose the implicit bias.
        res, elapsed, trace = _traced(solver, A, b, init_scale=scale, polish=False, tol=1e-10)
        rows.append(_summary(f"{name}, init_scale={scale:g}", A, b, res.x, elapsed, x_true))
        curves.append((f"{name}, init_scale={scale:g}", trace))
    from ..baselines import min_l1_nnls

    bp, t_bp = _timed(min_l1_nnls, A, b)
    x_bp = bp.x
    rows.append(_summary("min-l1 NNLS solution (linprog)", A, b, x_bp, t_bp, x_true))
    print(f"1. Implicit bias: m = {m}, n = {n}, s = {s}; A has N(0, 1/m) entries, b = A x* with "
          f"x* >= 0, {s}-sparse.")
    print("   NNLS has infinitely many solutions here. Lawson-Hanson returns a vertex of the "
          "solution set;\n   from a small init_scale the reparametrized dynamics approach its "
          "minimum-l1 point.\n")
    print(_format_table(DEMO_HEADER, rows))
    return (f"implicit bias (m={m}, n={n}, s={s})", curves, t_lh, kkt_residual(A, b, x_lh))


def _demo_square(rng, solver, name, size):
    A, b, x_true = _paper_problem(rng, size, size)
    (x_lh, _), t_lh = _timed(scipy.optimize.nnls, A, b)
    rows = [_summary("scipy.optimize.nnls (Lawson-Hanson)", A, b, x_lh, t_lh, x_true)]
    curves = []
    for label, options in [(f"{name} (auto)", {}), (f'{name}, method="bb"', {"method": "bb"})]:
        res, elapsed, trace = _traced(solver, A, b, tol=1e-10, **options)
        rows.append(_summary(label, A, b, res.x, elapsed, x_true))
        curves.append((f"{label}, {res.nit} it", trace))
    print(f"\n2. NNLS {size} x {size}: A has N(0, 1/m) entries, b = A x* with x* >= 0 dense.")
    print("   The automatic method checks the least-squares solution first (non-negative here); "
          "the\n   iterative methods identify the support, then finish exactly on it.\n")
    print(_format_table(DEMO_HEADER, rows))
    return (f"NNLS {size} x {size}", curves, t_lh, kkt_residual(A, b, x_lh))


def _cmd_demo(args):
    output = None if args.no_plot else _output_path(args.output, (".png",), "the plot")
    if args.size < 1:
        raise CommandError(f"`--size` must be a positive integer; got {args.size}")
    rng = np.random.default_rng(args.seed)
    solver, name = _flagship("nnls"), "reparamopt.nnls"
    panels = [_demo_implicit_bias(rng, solver, name), _demo_square(rng, solver, name, args.size)]
    print("\nKKT: relative KKT residual (0 at a solution); nnz: entries above 1e-6 max(x); "
          "x*: the planted solution.")
    if output is None:
        return 0
    try:
        path = _demo_plot(panels, output)
    except ImportError as exc:
        print(f"\nno plot: {_first_line(exc)}")
        return 0
    print(f"\nconvergence plot written to {path}")
    return 0


def _demo_plot(panels, path):
    from ..plotting import _pyplot

    plt = _pyplot()
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), layout="constrained")
    for ax, (title, curves, t_lh, kkt_lh) in zip(np.atleast_1d(axes), panels):
        for label, trace in curves:
            ax.loglog(np.maximum(trace["time"], 1e-5), np.maximum(trace["optimality"], 1e-17),
                      "o" if len(trace["time"]) == 1 else "-", label=label)
        ax.loglog([max(t_lh, 1e-5)], [max(kkt_lh, 1e-17)], "s", color="black",
                  label="scipy.optimize.nnls (at its end)")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("time (s)")
        ax.set_ylabel("relative KKT residual")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path).resolve()


# -- solve ----------------------------------------------------------------------------
def _given(args, names):
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _cmd_solve(args):
    output = _output_path(args.output, (".npy", ".csv", ".txt"), "x") if args.output else None
    A = load_matrix(args.A, "A")
    b = load_vector(args.b, "b")
    if A.shape[0] != b.shape[0]:
        raise CommandError(
            f"A and b do not match: A ({args.A}) has {A.shape[0]} rows, b ({args.b}) has "
            f"{b.shape[0]} entries")
    options = _given(args, ("method", "power", "init_scale", "tol", "max_iter"))
    if args.progress:
        options["progress"] = True
    if args.sparse_recovery:
        solver = _flagship("sparse_recovery")
        if args.signed:
            options["nonnegative"] = False
    else:
        if args.signed:
            raise CommandError("--signed applies to --sparse-recovery only")
        solver = _flagship("nnls")
    if args.no_polish:
        options["polish"] = False
    start = time.perf_counter()
    result = solver(A, b, **options)
    elapsed = time.perf_counter() - start
    x = np.asarray(result.x, dtype=float)
    rows = [
        ("problem", f"{'sparse recovery' if args.sparse_recovery else 'NNLS'}, A {A.shape[0]} x "
                    f"{A.shape[1]}{' (sparse)' if sp.issparse(A) else ''}"),
        ("method", str(result.get("method", options.get("method", "auto")))),
        ("status", f"{result.status} ({result.message})"),
        ("rnorm", f"{_residual_norm(A, x, b):.10e}"),
        ("optimality", f"{float(result.optimality):.3e}"),
        ("iterations", str(result.nit)),
        ("time", f"{elapsed:.3f} s"),
        ("nonzeros", f"{int(np.count_nonzero(x))} of {x.size}"),
    ]
    if output is not None:
        save_array(output, x)
        rows.append(("x written to", str(output)))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)} : {value}")
    return 0


# -- nmf ------------------------------------------------------------------------------
def _cmd_nmf(args):
    fmt = args.format
    prefix = args.output or Path(args.X).with_suffix("").name
    paths = {name: _output_path(f"{prefix}_{name}.{fmt}", (f".{fmt}",), name) for name in ("W", "H")}
    X = load_matrix(args.X, "X")
    NMF = _flagship("NMF")
    options = _given(args, ("solver", "init", "max_iter", "tol", "power", "beta_loss"))
    if args.k < 1:
        raise CommandError(f"`-k` must be a positive integer; got {args.k}")
    model = NMF(n_components=args.k, random_state=args.seed, progress=args.progress, **options)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        W = model.fit_transform(X)
    elapsed = time.perf_counter() - start
    for warning in {str(w.message).splitlines()[0] for w in caught}:
        print(f"warning: {warning}", file=sys.stderr)
    H = model.components_
    save_array(paths["W"], W)
    save_array(paths["H"], H)
    norm = float(sp.linalg.norm(X)) if sp.issparse(X) else float(np.linalg.norm(X))
    err = float(model.reconstruction_err_)
    rows = [
        ("X", f"{X.shape[0]} x {X.shape[1]}{' (sparse)' if sp.issparse(X) else ''}"),
        ("rank k", str(model.n_components_)),
        ("solver", str(getattr(model, "solver_", args.solver))),
        ("reconstruction error", f"{err:.6e} (relative {err / max(norm, 1e-300):.3e})"),
        ("iterations", str(model.n_iter_)),
        ("time", f"{elapsed:.3f} s"),
        ("W written to", f"{paths['W']} ({W.shape[0]} x {W.shape[1]})"),
        ("H written to", f"{paths['H']} ({H.shape[0]} x {H.shape[1]})"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)} : {value}")
    return 0


# -- bench ----------------------------------------------------------------------------
SUITES = ("nnls", "nmf")


def _bench_path(name):
    path = _locate("benchmarks") / f"bench_{name}.py"
    if not path.is_file():
        raise CommandError(f"the {name} benchmark suite is missing: no file {path}")
    return path


# Each suite runs in a fresh interpreter: timings are not disturbed by what an earlier
# suite left behind (thread pools, caches, memory), and a suite cannot change this
# process (warning filters, working folder, sys.exit).
_BENCH_RUNNER = r"""
import importlib.util, sys
path, argv = sys.argv[1], sys.argv[2:]
spec = importlib.util.spec_from_file_location("bench_suite", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
if not callable(getattr(module, "main", None)):
    sys.exit(f"{path} has no main(argv) function")
status = module.main(argv)
sys.exit(status if isinstance(status, int) else 0)
"""


def parse_tables(text):
    """Markdown tables in `text`: a list of ``(title, header, rows)``.

    The title is the first line of the text between the previous table and this one.

    Examples
    --------
    >>> parse_tables("case A\\n| solver | time |\\n| --- | --- |\\n| x | 1.5 |\\n")
    [('case A', ['solver', 'time'], [['x', '1.5']])]
    """
    tables, title, block, fresh = [], "", [], True

    def flush():
        if len(block) >= 2:
            rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in block]
            body = [r for r in rows[1:] if not all(set(c) <= set("-: ") for c in r)]
            tables.append((title, rows[0], body))

    for line in text.splitlines():
        if line.strip().startswith("|"):
            block.append(line)
            continue
        if block:
            flush()
            block, fresh = [], True
        if line.strip() and fresh:
            title, fresh = line.strip(), False
    flush()
    return tables


def _number(text):
    match = re.match(r"^\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)", text)
    return float(match.group(1)) if match else np.nan


def _tables_to_csv(suite, tables, folder):
    """Write the printed markdown tables as one CSV (a ``case`` column holds each title)."""
    header = ["case"] + tables[0][1]
    path = folder / f"{suite}.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for title, columns, rows in tables:
            if ["case"] + columns != header:  # a table of another shape: keep it apart
                writer.writerow(["case"] + columns)
            for row in rows:
                writer.writerow([title, *row])
    return path


def _read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _bench_plot(suite, rows, path):
    """Bar charts of the timings in `rows` (dicts), one panel per case or problem."""
    from ..plotting import _pyplot

    plt = _pyplot()
    columns = list(rows[0]) if rows else []
    group = next((c for c in ("case", "problem") if c in columns), None)
    label = "solver" if "solver" in columns else next((c for c in columns if c != group), None)
    value = next((c for c in columns if "time" in c.lower()), None)
    if value is None or label is None:
        raise CommandError(f"the {suite} benchmark results have no time column to plot")
    panels = {}
    for row in rows:
        panels.setdefault(row.get(group, "") if group else "", []).append((row[label], row[value]))
    height = sum(0.28 * len(items) + 0.9 for items in panels.values())
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, max(height, 2.5)), layout="constrained",
                             squeeze=False)
    for ax, (title, items) in zip(axes[:, 0], panels.items()):
        y = np.arange(len(items))
        values = np.array([_number(v or "") for _, v in items])
        ax.barh(y, np.nan_to_num(values, nan=0.0), color="#457b9d")
        for yi, number, (_, cell) in zip(y, values, items):
            if np.isnan(number):
                ax.text(0, yi, f" {cell or 'n/a'}", va="center", fontsize=7)
        ax.set_yticks(y, [name for name, _ in items], fontsize=7)
        ax.invert_yaxis()
        positive = values[values > 0]
        if positive.size > 1 and positive.max() > 100 * positive.min():
            ax.set_xscale("log")
        ax.set_xlabel(value)
        ax.set_title(title, fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _run_suite(name, quick, folder):
    """Run one suite with `folder` as working folder (files it writes by a relative path
    land there); returns its printed output and the CSV files it wrote."""
    from .._utils.progress import progress_bar

    before = {p: p.stat().st_mtime for p in folder.glob("*.csv")}
    command = [sys.executable, "-c", _BENCH_RUNNER, str(_bench_path(name))] + (["--quick"] if quick else [])
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    lines = []
    bar = progress_bar({"desc": f"bench {name}", "unit": " lines", "leave": False}, total=None)
    with tempfile.TemporaryFile(mode="w+") as errors:
        try:
            with subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=errors,
                                  text=True) as process:
                for line in process.stdout:
                    lines.append(line)
                    if line.strip():
                        bar.update(1)
        finally:
            bar.close()
        if process.returncode != 0:
            errors.seek(0)
            messages = [line for line in errors.read().splitlines() if line.strip()]
            raise CommandError(f"the {name} benchmark suite failed: "
                               f"{messages[-1] if messages else f'exit status {process.returncode}'}")
    written = [p for p in folder.glob("*.csv") if before.get(p) != p.stat().st_mtime]
    return "".join(lines), sorted(written)


def _cmd_bench(args):
    if args.suite == "all":
        source = _locate("benchmarks")
        suites = [name for name in SUITES if (source / f"bench_{name}.py").is_file()]
        if not suites:
            raise CommandError(f"no benchmark suite (bench_nnls.py, bench_nmf.py) in {source}")
    else:
        suites = [args.suite]
    for name in suites:
        _bench_path(name)
    folder = Path(args.output).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for name in suites:
        text, written = _run_suite(name, args.quick, folder)
        print(text.rstrip("\n"))
        tables = parse_tables(text)
        if tables:
            table_csv = _tables_to_csv(name, tables, folder)
            written = [table_csv] + [p for p in written if p != table_csv]
        if not written:
            raise CommandError(f"the {name} benchmark printed no table and wrote no CSV file")
        rows = _read_rows(written[0])
        try:
            written.append(_bench_plot(name, rows, folder / f"{name}.png"))
        except ImportError as exc:
            print(f"no plot: {_first_line(exc)}")
        for path in written:
            print(f"written: {path}")
    return 0


# -- reproduce ------------------------------------------------------------------------
_RUNNER = r"""
import os, runpy, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
script, folder = sys.argv[1], sys.argv[2]
sys.argv = [script]
def pictures():
    return {name for name in os.listdir(folder) if name.lower().endswith(".png")}
before = pictures()
runpy.run_path(script, run_name="__main__")
# Figures the script left open and did not save itself are saved as stem_<i>.png.
if pictures() == before:
    stem = os.path.splitext(os.path.basename(script))[0]
    for i, number in enumerate(plt.get_fignums(), start=1):
        plt.figure(number).savefig(os.path.join(folder, f"{stem}_{i}.png"), dpi=100)
"""


def _tutorials():
    folder = _locate("tutorials")
    scripts = sorted(folder.glob("plot_*.py"))
    if not scripts:
        raise CommandError(f"no tutorial scripts (plot_*.py) in {folder}")
    return {path.stem[len("plot_"):]: path for path in scripts}


def _select(available, wanted):
    if not wanted:
        return list(available.items())
    chosen = []
    for name in wanted:
        key = name[len("plot_"):] if name.startswith("plot_") else name
        key = key[:-3] if key.endswith(".py") else key
        matches = [k for k in available if k == key] or [k for k in available if key in k]
        if len(matches) != 1:
            problem = "matches several figures" if matches else "is not a figure"
            raise CommandError(f"{name!r} {problem}; choose from {', '.join(available)}")
        chosen.append((matches[0], available[matches[0]]))
    return chosen


def _cmd_reproduce(args):
    available = _tutorials()
    if args.list:
        for name, path in available.items():
            print(f"{name}  ({path.name})")
        return 0
    chosen = _select(available, args.figure)
    folder = Path(args.output).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, REPARAMOPT_OUTPUT=str(folder), MPLBACKEND="Agg")
    if args.quick:
        env["REPARAMOPT_QUICK"] = "1"
    from .._utils.progress import progress_bar

    failures = []
    bar = progress_bar({"desc": "reproduce", "unit": " figures", "leave": False}, total=len(chosen))
    try:
        for name, script in chosen:
            before = set(folder.iterdir())
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", _RUNNER, str(script), str(folder)], env=env,
                                  cwd=folder, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            bar.update(1)
            if done.returncode != 0:
                lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
                failures.append(name)
                bar.write(f"{name}: failed after {elapsed:.1f} s: {lines[-1] if lines else 'no message'}")
                continue
            new = sorted(p.name for p in set(folder.iterdir()) - before)
            bar.write(f"{name}: {elapsed:.1f} s, {len(new)} file(s): {', '.join(new) or '(none)'}")
    finally:
        bar.close()
    print(f"figures in {folder}")
    if failures:
        raise CommandError(f"{len(failures)} of {len(chosen)} figure(s) failed: {', '.join(failures)}")
    return 0


# -- parser ---------------------------------------------------------------------------
class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except the None of options whose default is the solver's own."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def build_parser():
    """The argparse parser of the ``reparamopt`` command.

    Examples
    --------
    >>> args = build_parser().parse_args(["solve", "A.npy", "b.npy", "--tol", "1e-8"])
    >>> args.command, args.tol
    ('solve', 1e-08)
    """
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=_Formatter,
        description="Constrained optimization by reparametrization: NNLS, sparse recovery "
                    "and NMF from the command line.",
        epilog="Run `reparamopt COMMAND --help` for the options of a command.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", formatter_class=_Formatter, help="the paper's small problems, reparamopt beside scipy",
        description="Solve the paper's implicit-bias problem (m=10, n=50, s=3) and a 1000 x 1000 "
                    "NNLS with reparamopt and scipy side by side; print a table and write a "
                    "convergence plot.")
    demo.add_argument("-o", "--output", default="reparamopt-demo.png", help="path of the PNG plot")
    demo.add_argument("--seed", type=int, default=0, help="seed of the random problems")
    demo.add_argument("--size", type=int, default=1000, help="size n of the square n x n NNLS")
    demo.add_argument("--no-plot", action="store_true", help="skip the plot")
    demo.set_defaults(handler=_cmd_demo)

    files = f"Files: {', '.join(READABLE)} (.npz: scipy.sparse.save_npz or one array; .csv: comma-separated)."
    solve = commands.add_parser(
        "solve", formatter_class=_Formatter, help="NNLS or sparse recovery from files",
        description="Solve min ||A x - b|| subject to x >= 0 (or recover a sparse x with "
                    "--sparse-recovery) from A and b stored in files. " + files)
    solve.add_argument("A", help="matrix file")
    solve.add_argument("b", help="right-hand side file (a vector, or one row or column)")
    solve.add_argument("-o", "--output", help="write x to this .npy, .csv or .txt file")
    solve.add_argument("--sparse-recovery", action="store_true",
                       help="use reparamopt.sparse_recovery (small init, implicit l1 bias)")
    solve.add_argument("--signed", action="store_true", help="with --sparse-recovery: x of any sign")
    solve.add_argument("--method", help="NNLS: auto, gd, riemannian-gd, bb, nesterov, mirror-nesterov, "
                                        "flow, accelerated-flow; sparse recovery: auto, flow, gd, "
                                        "accelerated, accelerated-flow (default: auto)")
    solve.add_argument("--power", type=float, help="Hadamard power L >= 2 of x = u**L (default 2)")
    solve.add_argument("--init-scale", type=float,
                       help="scale alpha of the identical initialization u0 = alpha * 1; small "
                            "values bias x to sparse solutions (default: the solver's)")
    solve.add_argument("--tol", type=float, help="tolerance on the relative KKT residual "
                                                 "(default: 1e-10 for NNLS, 1e-8 for sparse recovery)")
    solve.add_argument("--max-iter", type=int, help="iteration limit (default: the solver's)")
    solve.add_argument("--no-polish", action="store_true",
                       help="skip the exact finish on the identified support (the dynamics alone)")
    solve.add_argument("--progress", action="store_true", help="show a progress bar")
    solve.set_defaults(handler=_cmd_solve)

    nmf = commands.add_parser(
        "nmf", formatter_class=_Formatter, help="non-negative matrix factorization of a file",
        description="Factor a non-negative X ~ W H with reparamopt.NMF and write W and H to "
                    "PREFIX_W and PREFIX_H. " + files)
    nmf.add_argument("X", help="data matrix file (non-negative)")
    nmf.add_argument("-k", "--n-components", dest="k", type=int, required=True, help="rank k")
    nmf.add_argument("-o", "--output", metavar="PREFIX",
                     help="prefix of the output files (default: the name of X without extension)")
    nmf.add_argument("--format", choices=("npy", "csv"), default="npy", help="format of W and H")
    nmf.add_argument("--solver", help="NMF solver (default: 'auto')")
    nmf.add_argument("--init", help="initialization (default: the estimator's)")
    nmf.add_argument("--beta-loss", help="beta divergence (default 'frobenius')")
    nmf.add_argument("--power", type=float, help="Hadamard power L >= 2 (default 2)")
    nmf.add_argument("--tol", type=float, help="relative objective decrease tolerance")
    nmf.add_argument("--max-iter", type=int, help="iteration limit")
    nmf.add_argument("--seed", type=int, default=0, help="random seed")
    nmf.add_argument("--progress", action="store_true", help="show a progress bar")
    nmf.set_defaults(handler=_cmd_nmf)

    bench = commands.add_parser(
        "bench", formatter_class=_Formatter, help="run the benchmark suites",
        description="Run the benchmark suites (benchmarks/bench_*.py of the source tree) with a "
                    "progress bar; print their tables and write them as CSV with a PNG plot.")
    bench.add_argument("suite", nargs="?", choices=SUITES + ("all",), default="all", help="suite to run")
    bench.add_argument("--quick", action="store_true", help="smaller problems, fewer repeats")
    bench.add_argument("-o", "--output", default="benchmark-results", help="folder of the CSV and PNG files")
    bench.set_defaults(handler=_cmd_bench)

    reproduce = commands.add_parser(
        "reproduce", formatter_class=_Formatter, help="regenerate the paper's figures",
        description="Run the tutorials (tutorials/plot_*.py of the source tree) that reproduce "
                    "the paper's figures, writing their figures into a folder.")
    reproduce.add_argument("figure", nargs="*", help="figures to make (default: all); see --list")
    reproduce.add_argument("-o", "--output", default="reparamopt-figures", help="folder of the figures")
    reproduce.add_argument("--quick", action="store_true", help="smaller problems (REPARAMOPT_QUICK=1)")
    reproduce.add_argument("--list", action="store_true", help="list the figures and exit")
    reproduce.set_defaults(handler=_cmd_reproduce)
    return parser


def main(argv=None):
    """Run the ``reparamopt`` command line with `argv` (``sys.argv[1:]`` by default).

    Returns
    -------
    int
        The exit status: 0 on success, 1 when a command fails (after a one-line message
        on stderr), 2 for a usage error.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if os.environ.get("REPARAMOPT_DEBUG"):
        return args.handler(args)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (e.g. `reparamopt demo | head`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except (CommandError, ReparamoptError, ValueError, TypeError, OSError, MemoryError) as exc:
        print(f"{PROG} {args.command}: error: {_first_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the command line never shows a traceback
        print(f"{PROG} {args.command}: error: unexpected {type(exc).__name__}: {_first_line(exc)} "
              f"(set REPARAMOPT_DEBUG=1 to see the traceback)", file=sys.stderr)
        return EXIT_ERROR


