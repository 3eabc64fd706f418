"""Benchmark of reparamopt.nnls against its peers, in one process and one run.

For each problem family the script times ``reparamopt.nnls`` ("auto" and each method)
beside scipy.optimize.nnls (Lawson-Hanson), scikit-learn's Lasso(positive=True) with a
tiny alpha, accelerated projected gradient (FISTA with restart) and, for sparse A,
scipy.optimize.lsq_linear(method="trf", lsmr). It reports the median time over several
runs, the final relative KKT residual, ||x - x_ref|| (x_ref: scipy's solution where it
runs, else reparamopt's "auto"; wide problems have many minimizers, so there this
distance is not an error) and the ratio of each solver's time to "auto".

reparamopt is asked for KKT <= 1e-10; the peers for 1e-8 where they have a knob. A
peer whose final KKT is above 1e-8 is marked "no" in the ``reached`` column.

Families:
  1. square, n = m in {500, 1000, 2000, 4000}, dense x* (b = A x*);
  2. wide sparse, m = n/4, s = n/40, n in {2000, 8000};
  3. tall noisy, m = 4n, n = 1000, 30% zeros in x*, noise 1e-2;
  4. batched, n = 300, m = 600, 500 right-hand sides (30% zeros, noise 1e-2);
  5. sparse A, 50000 x 5000, density 1e-3 (30% zeros, noise 1e-2);
  6. matrix-free subsampled FFT, n = 10000, m = 8810, s = 50 (peak memory reported).

Usage::

    python benchmarks/bench_nnls.py --quick                 # small sizes, 1 run
    python benchmarks/bench_nnls.py --families 1 3 --repeats 3 --csv out.csv
"""

import argparse
import csv
import sys
import time
import tracemalloc
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse as sp

import reparamopt as ro
from reparamopt.baselines import accelerated_projected_gradient
from reparamopt.nnls import METHODS
from reparamopt.operators import SubsampledFFT

PEER_TOL = 1e-8


def gaussian_problem(m, n, rng, s=None, zeros=0.0, noise=0.0, k=None):
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    shape = (n,) if k is None else (n, k)
    x = np.abs(rng.standard_normal(shape))
    if s is not None:
        x[rng.permutation(n)[s:]] = 0.0
    if zeros:
        x[rng.random(shape) < zeros] = 0.0
    x /= np.linalg.norm(x, axis=0)
    b = A @ x + noise * rng.standard_normal((m,) + shape[1:])
    return A, b


def kkt(A, b, x):
    g = A.T @ (A @ x - b) if not hasattr(A, "rmatvec") or isinstance(A, np.ndarray) or sp.issparse(A) \
        else A.rmatvec(A.matvec(x) - b)
    p = np.where(x > 0, g, np.minimum(g, 0.0))
    atb = A.T @ b if not hasattr(A, "rmatvec") or isinstance(A, np.ndarray) or sp.issparse(A) \
        else A.rmatvec(b)
    return float(np.max(np.linalg.norm(p, axis=0) / np.maximum(np.linalg.norm(atb, axis=0), 1e-300)))


# --- solvers: each returns x ---------------------------------------------------------

def solve_reparamopt(method):
    def run(A, b):
        return ro.nnls(A, b, method=method).x
    run.name = f"reparamopt-{method}"
    return run


def solve_scipy(A, b):
    if b.ndim == 1:
        return scipy.optimize.nnls(A, b)[0]
    return np.column_stack([scipy.optimize.nnls(A, b[:, j])[0] for j in range(b.shape[1])])


solve_scipy.name = "scipy-nnls"


def solve_lasso(A, b):
    from sklearn.linear_model import Lasso
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Lasso's objective is (1 / 2m) ||Ax - b||^2 + alpha ||x||_1: alpha tiny keeps
        # the l1 term below the KKT tolerance
        model = Lasso(alpha=1e-12, positive=True, fit_intercept=False, tol=1e-14,
                      max_iter=20000, selection="cyclic")
        model.fit(A, b)
    return model.coef_.T if b.ndim == 2 else model.coef_


solve_lasso.name = "sklearn-lasso"


def solve_apg(A, b):
    return accelerated_projected_gradient(A, b, tol=PEER_TOL, max_iter=20000).x


solve_apg.name = "apg"


def solve_lsq_linear(A, b):
    res = scipy.optimize.lsq_linear(A, b, bounds=(0, np.inf), method="trf", lsq_solver="lsmr",
                                    tol=1e-12, lsmr_tol="auto", max_iter=500)
    return res.x


solve_lsq_linear.name = "lsq_linear-trf"


# --- families --------------------------------------------------------------------------

def families(quick):
    rng = np.random.default_rng(0)
    out = {}
    sizes = [200, 500] if quick else [200, 500, 1000, 2000, 4000]
    out[1] = [(f"square n={n}", *gaussian_problem(n, n, rng)) for n in sizes]
    wide = [2000] if quick else [2000, 8000]
    out[2] = [(f"wide n={n}", *gaussian_problem(n // 4, n, rng, s=n // 40)) for n in wide]
    n3 = 300 if quick else 1000
    out[3] = [(f"tall {4 * n3}x{n3}", *gaussian_problem(4 * n3, n3, rng, zeros=0.3, noise=1e-2))]
    k4 = 50 if quick else 500
    out[4] = [(f"batched 600x300 k={k4}",
               *gaussian_problem(600, 300, rng, zeros=0.3, noise=1e-2, k=k4))]
    m5, n5 = (10000, 1000) if quick else (50000, 5000)
    A5 = sp.random(m5, n5, density=1e-3 if not quick else 5e-3, random_state=1, format="csr")
    x5 = np.abs(rng.standard_normal(n5)) * (rng.random(n5) > 0.3)
    out[5] = [(f"sparse {m5}x{n5}", A5, A5 @ x5 + 1e-2 * rng.standard_normal(m5))]
    n6, m6, s6 = (2000, 1762, 10) if quick else (10000, 8810, 50)
    A6 = SubsampledFFT(n6, m6, random_state=2)
    x6 = np.zeros(n6)
    x6[rng.permutation(n6)[:s6]] = np.abs(rng.standard_normal(s6))
    out[6] = [(f"fft n={n6} m={m6}", A6, A6 @ (x6 / np.linalg.norm(x6)))]
    return out


def peers_for(family, A, b):
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


def time_solver(solver, A, b, repeats, budget):
    times, x = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        x = solver(A, b)
        times.append(time.perf_counter() - start)
        if times[-1] > budget:
            break
    return float(np.median(times)), x, len(times)


def peak_memory(solver, A, b):
    tracemalloc.start()
    solver(A, b)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run")
    parser.add_argument("--families", type=int, nargs="*", default=[1, 2, 3, 4, 5, 6])
    parser.add_argument("--repeats", type=int, default=None, help="runs per solver (median)")
    parser.add_argument("--methods", nargs="*", default=None,
                        help="reparamopt methods besides auto (default: all)")
    parser.add_argument("--budget", type=float, default=30.0,
                        help="stop repeating a solver after one run longer than this (s)")
    parser.add_argument("--csv", default="bench_nnls.csv")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    methods = ["auto"] + [m for m in (args.methods if args.methods is not None else METHODS)
                          if m != "auto"]
    rows = []
    header = f"{'problem':26s} {'solver':28s} {'time[s]':>9s} {'KKT':>9s} {'reached':>7s} " \
             f"{'|x-xref|':>9s} {'t/t_auto':>8s}"
    print(header)
    all_families = families(args.quick)
    for family in args.families:
        for name, A, b in all_families[family]:
            solvers = [solve_reparamopt(m) for m in methods] + peers_for(family, A, b)
            results = []
            for solver in solvers:
                t, x, runs = time_solver(solver, A, b, repeats, args.budget)
                results.append((solver.name, t, x, runs))
            ref = next((x for s, _, x, _ in results if s == "scipy-nnls"), results[0][2])
            t_auto = results[0][1]
            for solver_name, t, x, runs in results:
                k = kkt(A, b, x)
                row = dict(family=family, problem=name, solver=solver_name, time=t, runs=runs,
                           kkt=k, reached=k <= PEER_TOL, dist=float(np.linalg.norm(x - ref)),
                           ratio=t / t_auto)
                rows.append(row)
                print(f"{name:26s} {solver_name:28s} {t:9.4f} {k:9.1e} "
                      f"{'yes' if row['reached'] else 'no':>7s} {row['dist']:9.1e} "
                      f"{row['ratio']:8.2f}", flush=True)
            if family == 6:
                peak = peak_memory(solve_reparamopt("auto"), A, b)
                m, n = A.shape
                print(f"{name:26s} peak traced memory of auto: {peak / 2**20:.1f} MiB "
                      f"= {peak / (8 * (m + n)):.1f} x 8(m+n) bytes", flush=True)
                rows.append(dict(family=family, problem=name, solver="auto peak memory [bytes]",
                                 time=float(peak), runs=1, kkt=np.nan, reached=True, dist=np.nan,
                                 ratio=peak / (8 * (m + n))))
    with open(args.csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
