"""``reparamopt demo``: the paper's problems, reparamopt beside scipy, a table and a plot."""

import time
from pathlib import Path

import numpy as np
import scipy.io
import scipy.optimize

from ..finish.kkt import check
from .common import (
    CommandError,
    _first_line,
    _flagship,
    _format_table,
    _residual_norm,
)
from .io import _output_path


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
    return [label, f"{elapsed:.3f}", f"{_residual_norm(A, x, b):.1e}", f"{check(A, b, x, 0.0)[0]:.1e}",
            f"{np.sum(np.abs(x)):.4f}", str(support), f"{np.linalg.norm(x - x_true):.1e}"]


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


DEMO_HEADER = ["solver", "time (s)", "||Ax-b||", "KKT", "||x||_1", "nnz", "||x-x*||"]
DEMO_SCALES = (1e-1, 1e-3, 1e-6)


BIAS_SCALES = (1e-1, 1e-2, 1e-3, 1e-4)
BIAS_METHODS = (("flow", {"method": "flow", "polish": False, "time_limit": 20.0}),
                ("default (the flow's limit)", {}),
                ("gd", {"method": "gd", "polish": False}),
                ("accelerated", {"method": "accelerated", "polish": False}))


def _demo_implicit_bias(rng, solver, name):
    m, n, s = 10, 50, 3
    A, b, x_true = _paper_problem(rng, m, n, s)
    (x_lh, _), t_lh = _timed(scipy.optimize.nnls, A, b)
    rows = [_summary("scipy.optimize.nnls (Lawson-Hanson)", A, b, x_lh, t_lh, x_true)]
    from ..baselines import min_l1_nnls
    from ..flagships.sparse import sparse_recovery

    bp, t_bp = _timed(min_l1_nnls, A, b)
    rows.append(_summary("min-l1 NNLS solution (linprog)", A, b, bp.x, t_bp, x_true))
    curves = {}
    for label, options in BIAS_METHODS:
        l1 = []
        for scale in BIAS_SCALES:
            res, elapsed = _timed(sparse_recovery, A, b, init_scale=scale, tol=1e-10, **options)
            l1.append(res.l1)
            if scale == 1e-3:
                rows.append(_summary(f"sparse_recovery {label}, init_scale=1e-3", A, b, res.x,
                                     elapsed, x_true))
        curves[label] = l1
    print(f"1. Implicit bias: m = {m}, n = {n}, s = {s}; A has N(0, 1/m) entries, b = A x* with "
          f"x* >= 0, {s}-sparse.")
    print("   NNLS has infinitely many solutions here. Lawson-Hanson returns a vertex of the "
          "solution set;\n   from a small init_scale the gradient flow approaches its "
          "minimum-l1 point; large steps\n   (gd, accelerated) land above it.\n")
    print(_format_table(DEMO_HEADER, rows))
    return {"kind": "bias", "title": f"implicit bias (m={m}, n={n}, s={s})", "curves": curves,
            "lp": bp.l1, "lawson_hanson": float(np.sum(x_lh))}


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
    return (f"NNLS {size} x {size}", curves, t_lh, check(A, b, x_lh, 0.0)[0])


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
    from ..plotting import pyplot

    plt = pyplot()
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), layout="constrained")
    for ax, panel in zip(np.atleast_1d(axes), panels):
        if isinstance(panel, dict):
            _bias_panel(ax, panel)
            continue
        title, curves, t_lh, kkt_lh = panel
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


def _bias_panel(ax, panel):
    """||x||_1 against init_scale per method, the LP minimum as a line, Lawson-Hanson
    as a point."""
    for label, l1 in panel["curves"].items():
        ax.semilogx(BIAS_SCALES, l1, "o-", label=label)
    ax.axhline(panel["lp"], color="black", lw=1, ls="--", label="LP minimum l1")
    ax.semilogx([2 * max(BIAS_SCALES)], [panel["lawson_hanson"]], "s", color="black",
                label="Lawson-Hanson (scipy)")
    ax.invert_xaxis()
    ax.set_xlabel("init_scale alpha (u0 = alpha 1)")
    ax.set_ylabel("||x||_1")
    ax.set_title(panel["title"])
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
