"""Benchmark of reparamopt.nnls against its peers, in one process and one run.

For each problem family the script times ``reparamopt.nnls`` ("auto", and on the
Gaussian families each method) beside scipy.optimize.nnls (Lawson-Hanson, looped over
right-hand sides), and on the Gaussian families scikit-learn's Lasso(positive=True)
with a tiny alpha, accelerated projected gradient (FISTA with restart) and, for sparse
A, scipy.optimize.lsq_linear(method="trf", lsmr). Each time is the median of repeated
runs (at least `--repeats`, more for fast solvers, up to half a second of runs). It
reports the relative KKT residual, whether the objective reaches scipy's (within
1e-9 relative, floor 1e-12 ||b||^2: the NNLS objective is unique even where x is not),
and the ratio of each solver's time to that of "auto". A peer that is not installed
(scikit-learn) is listed as skipped.

reparamopt is asked for KKT <= 1e-10; the peers for 1e-8 where they have a knob.
With --quick every solver run is stopped after 1 s of wall-clock time (``--time-cap``):
such a run is marked capped (no KKT, not reached) in the printed table and the CSV, and
its time is where it was stopped (later than the cap when the run was inside one long
compiled call, such as a LAPACK factorization, which no signal interrupts). The CSV also holds the
peak traced memory of "auto"
on the FFT family (``peak_memory_mib``).

Families (sizes of the full run; --quick runs smaller ones):

Gaussian (the paper's generator, A ~ N(0, 1/m)):
  1. square, n = m in {500, 1000, 2000, 4000}, dense x* (b = A x*);
  2. wide sparse, m = n/4, s = n/40, n in {2000, 8000};
  3. tall noisy, m = 4n, n = 1000, 30% zeros in x*, noise 1e-2;
  4. batched, n = 300, m = 600, 500 right-hand sides (30% zeros, noise 1e-2);
  5. sparse A, 50000 x 5000, density 1e-3 (30% zeros, noise 1e-2);
  6. matrix-free subsampled FFT, n = 10000, m = 8810, s = 50 (peak memory reported).

Ill-conditioned (reparamopt.datasets; auto against scipy):
  7. spectral unmixing: peak libraries 2000 x 400 and 4000 x 1000 (cond ~1e17);
  8. Gaussian-blur deconvolution, Toeplitz, n in {200, 500, 1000, 2000};
  9. Hilbert (n = 12) and Vandermonde (200 x 20), cond 1e14 - 1e16;
 10. nearly duplicated columns, 400 x 200 + 50 copies at 1e-10;
 11. weighted monotone regression on increments, n in {300, 1000}, weights over 8 decades;
 12. column scales over 12 decades, 1000 x 500;
 13. rank-deficient tall, 2000 x 500 of rank 100;
 14. sparse ill-conditioned, 5000 x 1000, density 1e-2, scales over 12 decades;
 15. NMF subproblems: fixed W of 20 and 50 overlapping bumps, 500 right-hand sides;
 16. SVD-built, 600 x 400, singular values from 1 to 1e-12.

Scale (:mod:`reparamopt.benchmarks.nnls_scale`; scipy, coordinate descent, FISTA):
 17. small: 40 x 150, 300 x 25 scaled, breast-cancer and diabetes data in raw units;
 18. wide coherent: 64 x 1700 digit images, 200 x 2000 smooth bumps;
 19. sparse at scale: 20000 x 2000 (density 0.005), 10^5 x 10^4 (10^-3);
 20. 2-D deconvolution, 64 x 64 image, 7 x 7 blur (sparse 4096 x 4096, and the same
     as a matrix-free Convolution), 256 x 256 image as a Convolution (65,536 unknowns);
 21. many right-hand sides: NMF counts 3000 x 40 (500 columns), 1797 digits on 64 x 24.
With ``--first-call``: import plus a first 40 x 150 call in fresh interpreters.

Usage::

    python -m reparamopt.benchmarks.nnls --quick            # small sizes
    python -m reparamopt.benchmarks.nnls --families 7 8 --csv out.csv
"""

import argparse
import csv
import importlib
import sys
import tracemalloc
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

import reparamopt as ro
from reparamopt import datasets
from reparamopt._utils.extras import missing
from reparamopt.baselines import accelerated_projected_gradient
from reparamopt.flagships.nnls import METHODS
from reparamopt.models.operators import SubsampledFFT

from ._harness import Progress, timed
from .nnls_scale import SCALE, print_first_call, scale_families

PEER_TOL = 1e-8
GAUSSIAN = (1, 2, 3, 4, 5, 6)
MEMORY_FAMILY = 6  # the matrix-free FFT: its peak memory is reported
# seconds a solver run may take in --quick before it is stopped and marked capped
QUICK_TIME_CAP = 1.0
DENSE_PEER_MAX = 20_000_000  # entries of a sparse A that scipy gets densified (the 64 x 64 blur: 1.7e7)
LASSO_MAX_ITER, LASSO_CHUNK = 20000, 500  # coordinate-descent sweeps: all, per fit


def kkt(A, b, x):
    g = A.T @ (A @ x - b)
    p = np.where(x > 0, g, np.minimum(g, 0.0))
    atb = A.T @ b
    return float(np.max(np.linalg.norm(p, axis=0) / np.maximum(np.linalg.norm(atb, axis=0), 1e-300)))


def objective(A, b, x):
    r = A @ x - b
    return 0.5 * np.sum(r * r, axis=0)


# --- solvers: each returns x ---------------------------------------------------------

def solve_reparamopt(method):
    def run(A, b):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ro.nnls(A, b, method=method).x
    run.name = f"reparamopt-{method}"
    return run


def solve_scipy(A, b):
    A = A.toarray() if sp.issparse(A) else A
    maxiter = 50 * A.shape[1] + 10
    if b.ndim == 1:
        return scipy.optimize.nnls(A, b, maxiter=maxiter)[0]
    return np.column_stack([scipy.optimize.nnls(A, b[:, j], maxiter=maxiter)[0]
                            for j in range(b.shape[1])])


solve_scipy.name = "scipy-nnls"


def solve_lasso(A, b):
    from sklearn.linear_model import Lasso
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Lasso's objective is (1 / 2m) ||Ax - b||^2 + alpha ||x||_1: alpha tiny keeps
        # the l1 term below the KKT tolerance. Fitted in chunks of LASSO_CHUNK sweeps (a
        # warm start continues the same cyclic sweeps), so that a time cap can stop it
        # between chunks: one fit runs in compiled code that no signal interrupts.
        model = Lasso(alpha=1e-12, positive=True, fit_intercept=False, tol=1e-14,
                      max_iter=LASSO_CHUNK, selection="cyclic", warm_start=True)
        for _ in range(LASSO_MAX_ITER // LASSO_CHUNK):
            model.fit(A, b)
            if np.max(model.n_iter_) < LASSO_CHUNK:  # converged within this chunk
                break
    return model.coef_.T if b.ndim == 2 else model.coef_


solve_lasso.name = "sklearn-lasso"
solve_lasso.imports = "sklearn.linear_model"  # imported before any timing


def solve_apg(A, b):
    return accelerated_projected_gradient(A, b, tol=PEER_TOL, max_iter=20000).x


solve_apg.name = "apg"


def solve_lsq_linear(A, b):
    res = scipy.optimize.lsq_linear(A, b, bounds=(0, np.inf), method="trf", lsq_solver="lsmr",
                                    tol=1e-12, lsmr_tol="auto", max_iter=500)
    return res.x


solve_lsq_linear.name = "lsq_linear-trf"


# --- families --------------------------------------------------------------------------

def gaussian_families(quick, rng):
    out = {}
    sizes = [200, 500] if quick else [500, 1000, 2000, 4000]
    out[1] = [(f"square n={n}", *datasets.make_gaussian(n, n, random_state=rng)[:2]) for n in sizes]
    wide = [2000] if quick else [2000, 8000]
    out[2] = [(f"wide {n // 4}x{n}", *datasets.make_gaussian(n // 4, n, support=n // 40,
                                                            random_state=rng)[:2]) for n in wide]
    n3 = 300 if quick else 1000
    out[3] = [(f"tall {4 * n3}x{n3}", *datasets.make_gaussian(4 * n3, n3, zeros=0.3, noise=1e-2,
                                                             random_state=rng)[:2])]
    k4 = 100 if quick else 500
    out[4] = [(f"batched 600x300 k={k4}",
               *datasets.make_gaussian(600, 300, zeros=0.3, noise=1e-2, k=k4, random_state=rng)[:2])]
    m5, n5 = (5000, 500) if quick else (50000, 5000)
    A5 = sp.random(m5, n5, density=1e-3 if not quick else 5e-3, random_state=1, format="csr")
    x5 = np.abs(rng.standard_normal(n5)) * (rng.random(n5) > 0.3)
    out[5] = [(f"sparse {m5}x{n5}", A5, A5 @ x5 + 1e-2 * rng.standard_normal(m5))]
    n6, m6, s6 = (2000, 1762, 10) if quick else (10000, 8810, 50)
    A6 = SubsampledFFT(n6, m6, random_state=2)
    x6 = np.zeros(n6)
    x6[rng.permutation(n6)[:s6]] = np.abs(rng.standard_normal(s6))
    out[6] = [(f"fft n={n6} m={m6}", A6, A6 @ (x6 / np.linalg.norm(x6)))]
    return out


def ill_conditioned_families(quick):
    d = datasets
    out = {}
    out[7] = [("peaks 2000x400", *d.make_peak_library()[:2])] + ([] if quick else [
        ("peaks 4000x1000", *d.make_peak_library(4000, 1000, active=40)[:2])])
    blur = [200, 500] if quick else [200, 500, 1000, 2000]
    out[8] = [(f"blur n={n}", *d.make_blur(n, sigma=2.0 + n / 250, random_state=n)[:2])
              for n in blur]
    out[9] = [("hilbert 12", *d.make_hilbert(12)[:2]),
              ("vandermonde 200x20", *d.make_vandermonde(200, 20)[:2])]
    out[10] = [("near-duplicates 400x250", *d.make_near_duplicates(400, 200, duplicates=50)[:2])]
    mono = [300] if quick else [300, 1000]
    out[11] = [(f"monotone n={n}", *d.make_monotone(n, decades=8)[:2]) for n in mono]
    out[12] = [("scaled 1000x500", *d.make_scaled_columns(1000, 500)[:2])]
    out[13] = [("rank-deficient 2000x500", *d.make_rank_deficient(2000, 500, rank=100)[:2])]
    m14, n14 = (2000, 400) if quick else (5000, 1000)
    out[14] = [(f"sparse ill {m14}x{n14}", *d.make_sparse(m14, n14, density=0.01, decades=12)[:2])]
    out[15] = [(f"nmf sub 500x{r} k=500", *d.make_nmf_subproblem(500, r, 500, width=1.0 / r)[:2])
               for r in (20, 50)]
    out[16] = [("svd 600x400 cond 1e12", *d.make_svd(600, 400, cond=1e12)[:2])]
    return out


def families(quick):
    rng = np.random.default_rng(0)
    return {**gaussian_families(quick, rng), **ill_conditioned_families(quick),
            **scale_families(quick, rng)}


def peers_for(family, A, b):
    if family in SCALE:
        return _scale_peers(family, A)
    if family not in GAUSSIAN:
        return [solve_scipy]
    dense = isinstance(A, np.ndarray)
    peers = []
    if dense:
        peers.append(solve_scipy)
        # coordinate descent on square Gaussian problems (cond ~ n) needs minutes
        if family != 1 or A.shape[1] <= 500:
            peers.append(solve_lasso)
    peers.append(solve_apg)
    if sp.issparse(A):
        peers.append(solve_lsq_linear)
    return peers


def _scale_peers(family, A):
    """scipy where the dense matrix is small enough, coordinate descent, FISTA (FISTA
    alone for an operator: scipy on its dense matrix is the row of the sparse form)."""
    if isinstance(A, LinearOperator):
        return [solve_apg]
    m, n = A.shape
    peers = [solve_scipy] if m * n <= DENSE_PEER_MAX else []
    if family != 21:  # scikit-learn fits many targets one by one (minutes here)
        peers.append(solve_lasso)
    if family not in (17, 21):  # FISTA is no peer of exact small or batched solves
        peers.append(solve_apg)
    return peers


def time_solver(solver, A, b, repeats, budget, cap=None):
    """``(time, x, runs, capped)``: the median time over at least `repeats` runs, and
    more (up to 7) while they fit in half a second (single runs of millisecond solves are
    noise). A first run stopped by the `cap` (seconds) gives its time, x None and capped
    True; a later repeat stopped by it is dropped."""
    times, x = [], None
    while True:
        seconds, value, capped = timed(solver, A, b, cap=cap)
        if capped:
            if not times:
                return seconds, None, 1, True
            break
        times.append(seconds)
        x = value
        if times[-1] > budget or len(times) >= max(repeats, 7):
            break
        if len(times) >= repeats and sum(times) > 0.5:
            break
    return float(np.median(times)), x, len(times), False


def peak_memory(solver, A, b):
    tracemalloc.start()
    solver(A, b)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def _time_cap(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0; got {text!r}")
    return value


def _parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run")
    parser.add_argument("--families", type=int, nargs="*", default=list(range(1, 22)),
                        choices=range(1, 22), metavar="FAMILY", help="families to run (1 to 21)")
    parser.add_argument("--first-call", action="store_true",
                        help="also time import plus first call in fresh interpreters")
    parser.add_argument("--repeats", type=int, default=None, help="least runs per solver (median)")
    parser.add_argument("--methods", nargs="*", default=None,
                        help="reparamopt methods besides auto on the Gaussian families "
                             "(default: all)")
    parser.add_argument("--budget", type=float, default=30.0,
                        help="stop repeating a solver after one run longer than this (s)")
    parser.add_argument("--time-cap", type=_time_cap, default=None,
                        help="stop any solver run after this many seconds; the table marks it "
                             f"capped (default: {QUICK_TIME_CAP:g} with --quick, else none; 0: none)")
    parser.add_argument("--csv", default="bench_nnls.csv")
    return parser


def _plan(args):
    """``(family, name, A, b, solvers)`` for every problem asked for."""
    extra = [m for m in (args.methods if args.methods is not None else METHODS) if m != "auto"]
    all_families = families(args.quick)
    plan = []
    for family in args.families:
        for name, A, b in all_families[family]:
            methods = ["auto"] + (extra if family in GAUSSIAN else [])
            solvers = [solve_reparamopt(m) for m in methods] + peers_for(family, A, b)
            plan.append((family, name, A, b, solvers))
    return _installed_peers(plan)


def _installed_peers(plan):
    """`plan` without the peers whose optional module is not installed, each printed as
    skipped; the modules of the others are imported here, so that no time includes an
    import."""
    absent = {}
    for module in sorted({getattr(s, "imports", None) for *_, solvers in plan for s in solvers} - {None}):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            absent[module] = exc
    for solver in {s for *_, solvers in plan for s in solvers if getattr(s, "imports", None) in absent}:
        print(f"skipped: {missing(absent[solver.imports], solver.name)}", flush=True)
    return [(*problem, [s for s in solvers if getattr(s, "imports", None) not in absent])
            for *problem, solvers in plan]


def _reference(A, b, results):
    """The objective every solver is judged against (scipy's, else the first finished
    solver's), or None for matrix-free data (judged by their KKT residual)."""
    finished = [x for _, _, x, _, _ in results if x is not None]
    ref = next((x for s, _, x, _, _ in results if s == "scipy-nnls" and x is not None),
               finished[0] if finished else None)
    if ref is None or not (isinstance(A, np.ndarray) or sp.issparse(A)):
        return None
    return objective(A, b, ref)


def _rows(family, name, A, b, results, memory, cap):
    """The table rows of one problem, printed as they are made."""
    f_ref = _reference(A, b, results)
    bb = np.sum(b * b, axis=0)
    t_auto = results[0][1]
    rows = []
    for solver_name, t, x, runs, capped in results:
        k = np.nan if capped else kkt(A, b, x)
        if capped:
            reached = False
        elif f_ref is not None:
            reached = bool(np.all(objective(A, b, x) <= f_ref * (1 + 1e-9) + 1e-12 * bb))
        else:
            reached = k <= PEER_TOL
        peak = memory.get(solver_name)
        row = dict(family=family, problem=name, solver=solver_name, time=t, runs=runs,
                   kkt=k, reached=reached, ratio=t / t_auto, capped=capped,
                   peak_memory_mib=np.nan if peak is None else peak / 2**20)
        rows.append(row)
        note = f"capped at {cap:g} s" if capped else ""
        print(f"{name:28s} {solver_name:28s} {t:9.4f} {'-' if capped else f'{k:9.1e}':>9s} "
              f"{'-' if capped else 'yes' if reached else 'no':>7s} {row['ratio']:8.2f}  {note}".rstrip(),
              flush=True)
        if peak is not None:
            m, n = A.shape
            print(f"{name:28s} peak traced memory of {solver_name}: {peak / 2**20:.1f} MiB "
                  f"= {peak / (8 * (m + n)):.1f} x 8(m+n) bytes", flush=True)
    return rows


def main(argv=None):
    args = _parser().parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    cap = args.time_cap if args.time_cap is not None else (QUICK_TIME_CAP if args.quick else None)
    plan = _plan(args)
    progress = Progress(sum(len(solvers) + (family == MEMORY_FAMILY) for family, *_, solvers in plan),
                        "solver runs")
    if args.first_call:
        print_first_call()
    rows = []
    print(f"{'problem':28s} {'solver':28s} {'time[s]':>9s} {'KKT':>9s} {'reached':>7s} "
          f"{'t/t_auto':>8s}  note")
    for family, name, A, b, solvers in plan:
        results = []
        for solver in solvers:
            results.append((solver.name, *time_solver(solver, A, b, repeats, args.budget, cap)))
            progress.step(f"{name} {solver.name}")
        memory = {}
        if family == MEMORY_FAMILY:
            memory[results[0][0]] = peak_memory(solve_reparamopt("auto"), A, b)
            progress.step(f"{name} peak memory")
        rows += _rows(family, name, A, b, results, memory, cap)
    with open(args.csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
