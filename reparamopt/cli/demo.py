"""``reparamopt demo``: what the library is for, beside the reference solvers, on embedded
or generated data (no download): the implicit l1 bias of small initializations, an
ill-conditioned spectral unmixing solved as exactly as scipy solves it, many right-hand
sides in one call, and NMF beside scikit-learn's (when scikit-learn is installed).

Every time is the median of :data:`REPEATS` calls on this machine; every KKT residual is
measured on the returned point by the same independent check,
:func:`reparamopt.finish.check`, whichever solver produced it.
"""

import os
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.optimize

from .._utils.extras import require
from ..finish.kkt import check
from .common import (
    CommandError,
    _first_line,
    _flagship,
    _format_table,
    _residual_norm,
)
from .io import _output_path

REPEATS = 3
BIAS_SCALES = (1e-1, 1e-2, 1e-3, 1e-4)
BIAS_SHOWN = 1e-3  # the init_scale of the table rows
BIAS_METHODS = (("flow", {"method": "flow", "polish": False, "time_limit": 20.0}),
                ("default (the flow's limit)", {}),
                ("gd", {"method": "gd", "polish": False}),
                ("accelerated", {"method": "accelerated", "polish": False}),
                ("default, power=3", {"power": 3}))
SPECTRA = 100  # right-hand sides of the batched section
NMF_RANK, NMF_ITERATIONS = 16, 100
NMF_CURVE = (10, 30)  # scikit-learn's max_iter on its curve, before NMF_ITERATIONS


def _paper_problem(rng, m, n, s):
    """The paper's generator: A with N(0, 1/m) entries, x* >= 0 s-sparse with
    ||x*||_2 = 1, b = A x*."""
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x_true = np.zeros(n)
    support = rng.choice(n, size=s, replace=False)
    x_true[support] = np.abs(rng.standard_normal(s))
    x_true /= np.linalg.norm(x_true)
    return A, A @ x_true, x_true


def _timed(function, *args, repeats=REPEATS, **kwargs):
    """The value of the last call and the median wall-clock time of `repeats` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        value = function(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return value, float(np.median(times))


def _support_size(x):
    return int(np.sum(x > 1e-6 * max(float(np.max(x)), np.finfo(float).tiny)))


def _machine():
    """The CPUs and the load the times were measured under."""
    cpus = os.cpu_count() or 1
    try:
        load = f", load average {os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):  # not measured on this platform
        load = ""
    return f"{cpus} CPU{'s' if cpus > 1 else ''}{load}"


# -- 1. implicit bias ------------------------------------------------------------------
BIAS_HEADER = ["solver", "median time (s)", "||Ax-b||", "KKT", "||x||_1", "nnz", "||x-x*||"]


def _bias_row(label, A, b, x, elapsed, x_true):
    return [label, f"{elapsed:.4f}", f"{_residual_norm(A, x, b):.1e}",
            f"{check(A, b, x, 0.0)[0]:.1e}", f"{np.sum(np.abs(x)):.4f}", str(_support_size(x)),
            f"{np.linalg.norm(x - x_true):.1e}"]


def _demo_implicit_bias(rng):
    from ..baselines import min_l1_nnls

    sparse_recovery = _flagship("sparse_recovery")
    m, n, s = 10, 50, 3
    A, b, x_true = _paper_problem(rng, m, n, s)
    (x_lh, _), t_lh = _timed(scipy.optimize.nnls, A, b)
    bp, t_bp = _timed(min_l1_nnls, A, b)
    rows = [_bias_row("scipy.optimize.nnls (Lawson-Hanson)", A, b, x_lh, t_lh, x_true),
            _bias_row("minimum-l1 NNLS solution (linprog)", A, b, bp.x, t_bp, x_true)]
    curves = {}
    for label, options in BIAS_METHODS:
        curves[label] = []
        for scale in BIAS_SCALES:
            res, elapsed = _timed(sparse_recovery, A, b, init_scale=scale, tol=1e-10,
                                  repeats=REPEATS if scale == BIAS_SHOWN else 1, **options)
            curves[label].append(res.l1)
            if scale == BIAS_SHOWN:
                rows.append(_bias_row(f"sparse_recovery {label}, init_scale={scale:g}", A, b,
                                      res.x, elapsed, x_true))
    print(f"1. Implicit bias (the paper's experiment): m = {m}, n = {n}, A with N(0, 1/m) "
          f"entries, b = A x*,\n   x* >= 0 with {s} non-zeros. NNLS has infinitely many "
          "solutions here; each solver picks one.\n   Lawson-Hanson returns a vertex of the "
          "solution set. From u0 = init_scale * 1 the gradient\n   flow on x = u*u approaches "
          "the solution of minimum l1 norm as init_scale -> 0 (power=3: faster);\n   the "
          "default computes the flow's limit directly; large steps (gd, accelerated) land "
          "above it.\n")
    print(_format_table(BIAS_HEADER, rows))
    return {"kind": "bias", "title": f"implicit bias: m = {m}, n = {n}, {s}-sparse x*",
            "curves": curves, "lp": bp.l1, "lawson_hanson": float(np.sum(x_lh))}


# -- 2. an ill-conditioned problem -------------------------------------------------------
UNMIXING_HEADER = ["solver", "median time (s)", "1/2||Ax-b||^2", "KKT", "nnz", "max|x-x_scipy|"]
UNMIXING_METHODS = (("reparamopt.nnls, default (auto)", {}),
                    ('reparamopt.nnls, method="bb"', {"method": "bb"}),
                    ('reparamopt.nnls, method="accelerated"', {"method": "accelerated"}))


def _unmixing_row(label, A, b, x, elapsed, x_scipy):
    objective = 0.5 * _residual_norm(A, x, b) ** 2
    return [label, f"{elapsed:.4f}", f"{objective:.10e}", f"{check(A, b, x, 0.0)[0]:.1e}",
            str(_support_size(x)), f"{np.max(np.abs(x - x_scipy)):.1e}"]


def _traced(solver, A, b, **options):
    """A run with its history recorded; the final point's KKT residual (by `check`) is
    appended at the run's end."""
    start = time.perf_counter()
    result = solver(A, b, history=True, **options)
    elapsed = time.perf_counter() - start
    history = result.history or {}
    trace = {key: list(history.get(key, [])) for key in ("time", "optimality")}
    trace["time"].append(elapsed)
    trace["optimality"].append(check(A, b, result.x, 0.0)[0])
    return trace


def _demo_unmixing(size, seed):
    from ..datasets import make_peak_library

    nnls = _flagship("nnls")
    A, b, _ = make_peak_library(5 * size, size, random_state=seed)
    (x_scipy, _), t_scipy = _timed(scipy.optimize.nnls, A, b)
    rows = [_unmixing_row("scipy.optimize.nnls (Lawson-Hanson)", A, b, x_scipy, t_scipy, x_scipy)]
    ends = {"scipy.optimize.nnls": (t_scipy, check(A, b, x_scipy, 0.0)[0])}
    traces = {}
    for label, options in UNMIXING_METHODS:
        result, elapsed = _timed(nnls, A, b, **options)
        rows.append(_unmixing_row(label, A, b, result.x, elapsed, x_scipy))
        if options:
            traces[label.split(", ")[1]] = _traced(nnls, A, b, **options)
        else:
            ends["reparamopt.nnls (auto)"] = (elapsed, check(A, b, result.x, 0.0)[0])
    print(f"\n2. Spectral unmixing, ill-conditioned: a library of {size} overlapping Gaussian "
          f"peaks on {5 * size} channels\n   (reparamopt.datasets.make_peak_library, cond(A) = "
          f"{np.linalg.cond(A):.0e}), one noisy spectrum b. The default\n   starts from the "
          "least-squares solution and finishes with an active set; bb and accelerated\n   "
          "iterate on x = u*u until the support shows, then finish exactly on it. Same "
          "answer as scipy:\n   compare the objectives and the KKT residuals.\n")
    print(_format_table(UNMIXING_HEADER, rows))
    return {"kind": "convergence", "title": f"spectral unmixing {5 * size} x {size}",
            "traces": traces, "ends": ends}


# -- 3. many right-hand sides ------------------------------------------------------------
BATCH_HEADER = ["solver", "median time (s)", "sum of 1/2||Ax-b||^2", "max KKT", "max|X-X_scipy|"]


def _scipy_columns(A, B):
    return np.column_stack([scipy.optimize.nnls(A, B[:, j])[0] for j in range(B.shape[1])])


def _batch_row(label, A, B, X, elapsed, X_scipy):
    objective = 0.5 * np.linalg.norm(A @ X - B) ** 2
    return [label, f"{elapsed:.4f}", f"{objective:.10e}", f"{np.max(check(A, B, X, 0.0)[0]):.1e}",
            f"{np.max(np.abs(X - X_scipy)):.1e}"]


def _demo_batch(size, seed):
    from ..datasets import make_peak_library

    nnls = _flagship("nnls")
    A, B, _ = make_peak_library(5 * size, size, k=SPECTRA, random_state=seed)
    X_scipy, t_scipy = _timed(_scipy_columns, A, B)
    result, t_ours = _timed(nnls, A, B)
    rows = [_batch_row(f"scipy.optimize.nnls, a loop over the {SPECTRA} columns", A, B, X_scipy,
                       t_scipy, X_scipy),
            _batch_row(f"reparamopt.nnls(A, B), one call for all {SPECTRA}", A, B, result.x,
                       t_ours, X_scipy)]
    print(f"\n3. Many right-hand sides: {SPECTRA} spectra of the same library (B is "
          f"{5 * size} x {SPECTRA}). scipy solves one\n   column per call; reparamopt.nnls "
          "takes B whole and shares the work on A between the columns.\n")
    print(_format_table(BATCH_HEADER, rows))
    return {"kind": "batch", "title": f"{SPECTRA} spectra of the same library",
            "times": {"scipy.optimize.nnls\n(loop)": t_scipy, "reparamopt.nnls\n(one call)": t_ours}}


# -- 4. NMF ------------------------------------------------------------------------------
NMF_HEADER = ["estimator", "median time (s)", "iterations", "||X-WH||_F / ||X||_F"]


def _fit(estimator, X):
    W = estimator.fit_transform(X)
    return estimator, np.linalg.norm(X - W @ estimator.components_) / np.linalg.norm(X)


def _nmf_models(seed):
    """scikit-learn's NMF and ours, with the same rank, start and iteration count (tol=0:
    no early stop), or a line saying why they are not available."""
    try:
        require("sklearn.datasets", "the NMF part of the demo")
        decomposition = require("sklearn.decomposition", "the NMF part of the demo")
        NMF = _flagship("NMF")
    except (ImportError, CommandError) as exc:
        return None, _first_line(exc)
    common = {"n_components": NMF_RANK, "init": "nndsvda", "tol": 0.0, "random_state": seed}

    def sklearn_model(max_iter):
        return decomposition.NMF(solver="cd", max_iter=max_iter, **common)

    def our_model(max_iter):
        return NMF(max_iter=max_iter, **common)
    return (sklearn_model, our_model), None


def _median_run(make, X):
    """Fit a new estimator from `make` REPEATS times: (time, error, estimator) of the fit
    whose time is the median, so that its loss history is one of a typical run."""
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        estimator, error = _fit(make(), X)
        runs.append((time.perf_counter() - start, error, estimator))
    return sorted(runs, key=lambda run: run[0])[len(runs) // 2]


def _nmf_runs(sklearn_model, our_model, X):
    """Both estimators at NMF_ITERATIONS, scikit-learn also at NMF_CURVE (it records no
    history), ours with the loss history of its median run: the error against time."""
    with warnings.catch_warnings():  # tol=0: both report that they did not converge
        warnings.simplefilter("ignore")
        t_sk, sk_error, sk = _median_run(lambda: sklearn_model(NMF_ITERATIONS), X)
        t_ours, our_error, ours = _median_run(lambda: our_model(NMF_ITERATIONS), X)
        sk_curve = [_median_run(lambda it=it: sklearn_model(it), X)[:2] for it in NMF_CURVE]
    scale = np.linalg.norm(X)  # our loss history is 1/2 ||X - WH||_F^2, from the start
    our_curve = [(t, np.sqrt(2 * max(loss, 0.0)) / scale) for t, loss in
                 zip(ours.time_history_[1:], ours.loss_history_[1:])]
    return {"scikit-learn cd": (sk, sk_error, t_sk, sk_curve + [(t_sk, sk_error)]),
            "reparamopt.NMF": (ours, our_error, t_ours, our_curve)}


def _demo_nmf(seed):
    models, why = _nmf_models(seed)
    print("\n4. NMF of the 8 x 8 digit images (sklearn.datasets.load_digits, shipped with "
          "scikit-learn):")
    if models is None:
        print(f"   skipped: {why}")
        return None
    from sklearn.datasets import load_digits

    X = load_digits().data
    runs = _nmf_runs(*models, X)
    (sk, sk_error, t_sk, _), (ours, our_error, t_ours, our_curve) = runs.values()
    rows = [["sklearn.decomposition.NMF(solver='cd')", f"{t_sk:.4f}", str(sk.n_iter_), f"{sk_error:.5f}"],
            ["reparamopt.NMF() (default: exact latent blocks)", f"{t_ours:.4f}", str(ours.n_iter_),
             f"{our_error:.5f}"]]
    reached = next((i for i, (_, error) in enumerate(our_curve) if error <= sk_error), None)
    if reached is not None:
        rows.append(["reparamopt.NMF() when it first reaches scikit-learn's error",
                     f"{our_curve[reached][0]:.4f}", str(reached + 1), f"{our_curve[reached][1]:.5f}"])
    print(f"   X is {X.shape[0]} x {X.shape[1]}, rank {NMF_RANK}, the same NNDSVDa start, "
          f"{NMF_ITERATIONS} iterations each (tol=0).\n   An iteration of ours sweeps each "
          "block several times: it costs more and lowers the error more.\n   The last row "
          "reads the loss history of our median run: when it reaches scikit-learn's error.\n")
    print(_format_table(NMF_HEADER, rows))
    return {"kind": "nmf", "title": f"NMF of the digits, rank {NMF_RANK}",
            "curves": {label: run[3] for label, run in runs.items()}, "iterations": NMF_ITERATIONS,
            "sklearn_iterations": NMF_CURVE + (NMF_ITERATIONS,)}


# -- the command ---------------------------------------------------------------------------
def _cmd_demo(args):
    output = None if args.no_plot else _output_path(args.output, (".png",), "the plot")
    if args.size < 2:
        raise CommandError(f"`--size` must be an integer >= 2; got {args.size}")
    print(f"Times: the median of {REPEATS} calls on this machine ({_machine()} at the start). "
          "KKT: the relative\nKKT residual of the returned x, measured by "
          "reparamopt.finish.check for every solver alike\n(0 at a solution; ~1e-16 is "
          "rounding). nnz: entries above 1e-6 max(x).\n")
    rng = np.random.default_rng(args.seed)
    panels = [_demo_implicit_bias(rng), _demo_unmixing(args.size, args.seed),
              _demo_batch(args.size, args.seed), _demo_nmf(args.seed)]
    panels = [panel for panel in panels if panel is not None]
    if output is None:
        return 0
    try:
        path = _demo_plot(panels, output)
    except ImportError as exc:
        print(f"\nno plot: {_first_line(exc)}")
        return 0
    print(f"\nplot written to {path}")
    return 0


# -- the plot ------------------------------------------------------------------------------
def _demo_plot(panels, path):
    from ..plotting import pyplot

    plt = pyplot()
    columns = 2 if len(panels) > 2 else len(panels)
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.4 * columns, 4.6 * rows),
                             layout="constrained", squeeze=False)
    draw = {"bias": _bias_panel, "convergence": _convergence_panel, "batch": _batch_panel,
            "nmf": _nmf_panel}
    for ax, panel in zip(axes.flat, panels):
        draw[panel["kind"]](ax, panel)
        ax.set_title(panel["title"])
        ax.grid(True, which="major", alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        fig.delaxes(ax)
    fig.suptitle(f"reparamopt demo: times are medians of {REPEATS} calls on {_machine()} "
                 "at the end",
                 fontsize=10)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path).resolve()


def _bias_panel(ax, panel):
    """||x||_1 above the minimum against init_scale, per method; Lawson-Hanson, which has
    no initialization, as a horizontal line."""
    styles = {"flow": {"marker": "o", "ms": 12, "mfc": "none", "lw": 3, "alpha": 0.5},
              "default (the flow's limit)": {"marker": ".", "ms": 9, "ls": "--", "color": "black"},
              "gd": {"marker": "s", "ms": 5}, "accelerated": {"marker": "^", "ms": 6},
              "default, power=3": {"marker": "D", "ms": 5}}
    floor = 1e-16
    for label, l1 in panel["curves"].items():
        excess = np.maximum(np.asarray(l1) - panel["lp"], floor)
        ax.loglog(BIAS_SCALES, excess, label=label, **styles.get(label, {}))
    ax.axhline(max(panel["lawson_hanson"] - panel["lp"], floor), color="firebrick", ls=":", lw=2,
               label="Lawson-Hanson (scipy; has no init_scale)")
    ax.invert_xaxis()
    ax.set_xlabel("init_scale (u0 = init_scale * 1), smaller to the right")
    ax.set_ylabel("||x||_1 above the minimum-l1 solution's")
    ax.legend(fontsize=8)


def _convergence_panel(ax, panel):
    """KKT residual against time for the iterative methods, the others at their end."""
    for label, trace in panel["traces"].items():
        ax.loglog(np.maximum(trace["time"], 1e-5), np.maximum(trace["optimality"], 1e-17), "-",
                  label=f"reparamopt.nnls {label} (history)")
    for (label, (elapsed, kkt)), marker in zip(panel["ends"].items(), "so"):
        ax.loglog([max(elapsed, 1e-5)], [max(kkt, 1e-17)], marker, ms=9, color="black" if
                  marker == "s" else "tab:green", label=f"{label} (its result, median time)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("relative KKT residual")
    ax.legend(fontsize=8)


def _batch_panel(ax, panel):
    names, times = list(panel["times"]), list(panel["times"].values())
    bars = ax.barh(names, times, color=["0.55", "tab:blue"])
    ax.bar_label(bars, [f" {t:.3g} s" for t in times], fontsize=9)
    ax.set_xlim(0, 1.25 * max(times))
    ax.invert_yaxis()
    ax.set_xlabel("median time (s), the same answers")


def _nmf_panel(ax, panel):
    """The error against the time spent: our loss history along its median run,
    scikit-learn's separate fits as points labelled with their iteration counts (separate
    runs: on a busy machine a shorter fit can take longer); the zoom leaves out the first
    iterations' large errors."""
    ours = panel["curves"]["reparamopt.NMF"]
    ax.plot(*zip(*ours), ".-", color="tab:orange", label="reparamopt.NMF (its loss history)")
    theirs = panel["curves"]["scikit-learn cd"]
    ax.plot(*zip(*theirs), "o", color="tab:blue", label="scikit-learn cd (a fit per point)")
    for (elapsed, error), iterations in zip(theirs, panel["sklearn_iterations"]):
        ax.annotate(f" {iterations} it", (elapsed, error), fontsize=8, color="tab:blue")
    last = min(ours[-1][1], theirs[-1][1])
    first = theirs[0][1]
    ax.set_ylim(last - 0.1 * (first - last), first + 0.3 * (first - last))
    ax.set_xlim(0, 1.1 * max(ours[-1][0], max(elapsed for elapsed, _ in theirs)))
    ax.set_xlabel(f"time (s); ours: {panel['iterations']} iterations")
    ax.set_ylabel("||X - WH||_F / ||X||_F")
    ax.legend(fontsize=8)
