"""Benchmark of reparamopt.lsq against its peers, in one process and one run.

For each family the script times :func:`reparamopt.lsq` beside
``scipy.optimize.lsq_linear`` (methods "bvls" and "trf", ``tol=1e-12``), cvxpy with
Clarabel where it is installed (skipped otherwise), and for the sum-to-one family the
augmented-NNLS reformulation (a row of ones weighted by ``1e3 ||A||_2``, solved by
scipy.optimize.nnls, then divided by its sum). Each time is the median of `--repeats`
runs, with BLAS on one thread (threadpoolctl). It reports the KKT residual measured here
(the natural residual of the box, or of the simplex with the multiplier fitted from the
solution, relative to ``||A^T b||``), the objective's excess over the best solver's
(relative), and each peer's time over reparamopt's. Peers that loop over right-hand
sides run on the first `--peer-columns` of them; their times are scaled to all.

Families (full sizes; --quick: smaller):

1. fully constrained unmixing: 300 bands, 200 smooth overlapping spectra (cond ~1e17),
   10^4 pixels (x >= 0, sum x = 1);
2. bounded LS, Gaussian 2000 x 500, bounds [-1, 1] (well conditioned);
3. bounded LS, 2000 x 500 with singular values from 1 to 1e-10 and to 1e-12;
4. sparse bounded LS, 20000 x 1000, density 5e-3, bounds [-1, 1] (none active) and
   [-0.05, 0.05] (most active);
5. ridge: Gaussian 1000 x 500, l2 = 1, bounds [0, 1] (peers on the matrix augmented by
   ``sqrt(l2) I``).

Usage::

    python -m reparamopt.benchmarks.lsq --quick
"""

import argparse
import statistics
import sys
import time
import warnings

import numpy as np
import scipy.optimize as so
import scipy.sparse as sp

import reparamopt as ro
from reparamopt.benchmarks._harness import Progress
from reparamopt.datasets import make_svd, make_unmixing
from reparamopt.exceptions import ConvergenceWarning

__all__ = ["main"]

# Solver runs of each family (reparamopt and its peers, per problem of the family).
_STEPS = {1: 3, 2: 4, 3: 8, 4: 8, 5: 4}


def kkt(A, B, X, lower, upper, total=None, l2=0.0):
    """The largest relative KKT residual over the columns, written from the optimality
    conditions: ``||x - clip(x - g - mu)||`` over ``||A^T b||``."""
    X, B = X.reshape(X.shape[0], -1), B.reshape(B.shape[0], -1)
    G = A.T @ (A @ X - B) + l2 * X
    if total is not None:
        inside = (X > lower[:, None]) & (X < upper[:, None])
        mu = -np.sum(G * inside, axis=0) / np.maximum(inside.sum(axis=0), 1)
        G = G + mu
    R = X - np.clip(X - G, lower[:, None], upper[:, None])
    return float(np.max(np.linalg.norm(R, axis=0) / np.linalg.norm(A.T @ B, axis=0)))


def objective(A, B, X, l2=0.0):
    R = A @ X.reshape(X.shape[0], -1) - B.reshape(B.shape[0], -1)
    return 0.5 * np.sum(R * R, axis=0) + 0.5 * l2 * np.sum(X.reshape(X.shape[0], -1) ** 2, axis=0)


def _timed(function, repeats):
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def _looped(solve, B, columns):
    """A one-column solver over the first `columns` right-hand sides: ``(X, fraction)``."""
    k = min(columns, B.shape[1])
    return np.column_stack([solve(B[:, j]) for j in range(k)]), k / B.shape[1]


def _cvxpy(A, b, lower, upper, total):
    import cvxpy as cp

    x = cp.Variable(A.shape[1])
    cons = [x >= lower, x <= upper] if np.all(np.isfinite(upper)) else [x >= lower]
    if total is not None:
        cons.append(cp.sum(x) == total)
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b)), cons).solve(solver="CLARABEL")
    return np.asarray(x.value)


def peers(A, B, lower, upper, total, columns):
    """The peer solvers of a family: name -> function returning ``(X, fraction)``."""
    dense = A.toarray() if sp.issparse(A) else A
    out = {}
    if total is None:
        out["lsq_linear bvls"] = lambda: _looped(lambda b: so.lsq_linear(
            dense, b, (lower, upper), method="bvls", tol=1e-12).x, B, columns)
        out["lsq_linear trf"] = lambda: _looped(lambda b: so.lsq_linear(
            A, b, (lower, upper), method="trf", tol=1e-12, lsmr_tol="auto").x, B, columns)
    else:
        w = 1e3 * np.linalg.norm(dense, 2)
        aug = np.vstack([dense, w * np.ones(dense.shape[1])])

        def augmented(b):
            x = so.nnls(aug, np.append(b, w * total))[0]
            return x * (total / x.sum())

        out["augmented nnls"] = lambda: _looped(augmented, B, columns)
    try:
        import cvxpy  # noqa: F401
        out["cvxpy clarabel"] = lambda: _looped(lambda b: _cvxpy(dense, b, lower, upper, total),
                                                B, columns)
    except ImportError:
        out["cvxpy clarabel"] = None
    return out


def run(name, A, B, lower, upper, args, progress, total=None, l2=0.0):
    """Time reparamopt.lsq and the peers on one family; print its table."""
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    dense = A.toarray() if sp.issparse(A) else A
    rows = []
    t, res = _timed(lambda: ro.lsq(A, B, bounds=(lower, upper), sum_to=total, l2=l2),
                    args.repeats)
    progress.step(f"{name} reparamopt")
    X = res.x.reshape(dense.shape[1], -1)
    rows.append(("reparamopt.lsq", t, X, 1.0))
    AA, BB = dense, B
    if l2 > 0:  # the peers solve the ridge as least squares of the augmented matrix
        AA = np.vstack([dense, np.sqrt(l2) * np.eye(dense.shape[1])])
        BB = np.concatenate([B, np.zeros((dense.shape[1],) + B.shape[1:])])
    BB = BB.reshape(BB.shape[0], -1)
    for peer, function in peers(sp.csr_array(AA) if sp.issparse(A) else AA, BB, lower, upper,
                                total, args.peer_columns).items():
        progress.step(f"{name} {peer}")
        if function is None:
            rows.append((peer, None, None, None))
            continue
        t, (Xp, fraction) = _timed(function, 1 if args.quick else args.repeats)
        rows.append((peer, t / fraction, Xp, fraction))
    _print(name, rows, dense, B, lower, upper, total, l2)


def _print(name, rows, A, B, lower, upper, total, l2):
    ours = rows[0][1]
    B2 = B.reshape(B.shape[0], -1)
    values = {row[0]: objective(A, B2[:, :row[2].shape[1]], row[2], l2)
              for row in rows if row[2] is not None}
    k_min = min(v.size for v in values.values())
    best = np.min([v[:k_min] for v in values.values()], axis=0)
    print(f"\n{name}")
    print("| solver | time (s) | KKT | objective excess | time / reparamopt's |")
    print("| --- | --- | --- | --- | --- |")
    for peer, t, X, _ in rows:
        if X is None:
            print(f"| {peer} | skipped (not installed) | | | |")
            continue
        k = X.shape[1]
        res_kkt = kkt(A, B2[:, :k], X, lower, upper, total, l2)
        excess = float(np.max((values[peer][:k_min] - best) / np.maximum(np.abs(best), 1e-300)))
        print(f"| {peer} | {t:.3g} | {res_kkt:.1e} | {excess:.1e} | {t / ours:.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one run each")
    parser.add_argument("--repeats", type=int, default=None, help="runs per timing (median)")
    parser.add_argument("--peer-columns", type=int, default=200,
                        help="right-hand sides the looping peers solve (times scaled to all)")
    parser.add_argument("--families", type=int, nargs="+", default=[1, 2, 3, 4, 5],
                        choices=sorted(_STEPS))
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(1)
    except ImportError:
        limits = None
    progress = Progress(sum(_STEPS[family] for family in args.families), "solver runs")
    q = args.quick
    for family in args.families:
        _family(family, q, args, progress)
    del limits
    return 0


def _family(family, quick, args, progress):
    if family == 1:
        k = 1000 if quick else 10000
        A, B, _ = make_unmixing(300, 200, k, random_state=0)
        n = A.shape[1]
        run(f"unmixing 300 x 200, {k} pixels (cond {np.linalg.cond(A):.0e})", A, B,
            np.zeros(n), np.full(n, np.inf), args, progress, total=1.0)
    elif family == 2:
        m, n = (500, 200) if quick else (2000, 500)
        rng = np.random.default_rng(1)
        A, b = rng.standard_normal((m, n)) / np.sqrt(m), rng.standard_normal(m)
        run(f"bounded {m} x {n}, Gaussian", A, b, -np.ones(n), np.ones(n), args, progress)
    elif family == 3:
        m, n = (500, 200) if quick else (2000, 500)
        for cond in (1e10, 1e12):
            A, b, _ = make_svd(m, n, cond=cond, random_state=2)
            run(f"bounded {m} x {n}, cond {cond:.0e}", A, b, -np.ones(n), np.ones(n), args,
                progress)
    elif family == 4:
        m, n = (5000, 500) if quick else (20000, 1000)
        rng = np.random.default_rng(3)
        A = sp.random_array((m, n), density=5e-3, rng=rng, format="csr")
        b = rng.standard_normal(m)
        # bounds [-1, 1] leave the solution inside (an unconstrained least squares);
        # [-0.05, 0.05] hold most of it at a bound
        for width in (1.0, 0.05):
            run(f"sparse bounded {m} x {n}, density 5e-3, bounds [-{width:g}, {width:g}]", A,
                b, -width * np.ones(n), width * np.ones(n), args, progress)
    elif family == 5:
        m, n = (400, 200) if quick else (1000, 500)
        rng = np.random.default_rng(4)
        A, b = rng.standard_normal((m, n)) / np.sqrt(m), rng.standard_normal(m)
        run(f"ridge {m} x {n}, l2 = 1, bounds [0, 1]", A, b, np.zeros(n), np.ones(n), args,
            progress, l2=1.0)


if __name__ == "__main__":
    sys.exit(main())
