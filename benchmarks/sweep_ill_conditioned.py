"""``ro.solve`` with its defaults on the ill-conditioned NNLS problems of
:mod:`reparamopt.datasets`, declared through the general framework, against L-BFGS-B.

Each problem is ``min ||A x - b||^2 / 2`` over ``x >= 0`` with the closed-form gradient.
It is solved by ``ro.solve`` with the L-BFGS engine, with and without the map's
diagonal (``LBFGS(diagonal=...)``), and by L-BFGS-B at its defaults, all from
``x = 1``. The reference is scipy's ``nnls``. Columns: status, iterations, time, and
the objective gap relative to the start's, ``(f - f*) / (f(1) - f*)`` (``f*`` may be 0
for a consistent system, so the gap relative to ``f*`` says little). This is the
general framework on data the NNLS flagship exists for: ``reparamopt.nnls`` solves
these exactly.

Usage::

    python benchmarks/sweep_ill_conditioned.py
"""

import argparse
import time
import warnings

import numpy as np
import scipy.optimize

import reparamopt as ro
from reparamopt import datasets
from reparamopt.engines import LBFGS

PROBLEMS = {
    "scaled columns (6 decades)": lambda: datasets.make_scaled_columns(80, 30, decades=6),
    "scaled columns (12 decades)": lambda: datasets.make_scaled_columns(120, 60),
    "blur": lambda: datasets.make_blur(60),
    "peak library": lambda: datasets.make_peak_library(300, 60),
    "Hilbert": lambda: datasets.make_hilbert(10),
    "Vandermonde": lambda: datasets.make_vandermonde(100, 12),
    "monotone": lambda: datasets.make_monotone(100),
    "near duplicates": lambda: datasets.make_near_duplicates(100, 40),
    "SVD, cond 1e10": lambda: datasets.make_svd(80, 60),
    "Gaussian": lambda: datasets.make_gaussian(200, 100),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    print(f"{'problem':<30}{'solver':<22}{'status':>7}{'iterations':>11}{'time (s)':>10}{'gap':>10}")
    totals = {}
    for name, make in PROBLEMS.items():
        A, b = make()[:2]
        n = A.shape[1]
        ref = scipy.optimize.nnls(A, b, maxiter=50 * n)[0]

        def f(x, A=A, b=b):
            return 0.5 * float(np.sum((A @ x - b) ** 2))

        def fg(x, A=A, b=b):
            r = A @ x - b
            return 0.5 * float(r @ r), A.T @ r

        f_ref, f_start = f(ref), f(np.ones(n))
        runs = []
        for label, diagonal in (("solve", True), ("solve, diagonal=False", False)):
            problem = ro.Problem(value_and_grad=fg, x=ro.NonNegative(n))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                res = ro.solve(problem, engine=LBFGS(diagonal=diagonal))
                elapsed = time.perf_counter() - start
            runs.append((label, res.status, res.nit, elapsed, f(res.x)))
        start = time.perf_counter()
        res = scipy.optimize.minimize(fg, np.ones(n), jac=True, method="L-BFGS-B",
                                      bounds=[(0, None)] * n)
        runs.append(("L-BFGS-B", int(res.status), res.nit, time.perf_counter() - start,
                     f(np.maximum(res.x, 0))))
        for label, status, nit, elapsed, value in runs:
            gap = (value - f_ref) / max(f_start - f_ref, 1e-300)
            converged = status == (0 if label == "L-BFGS-B" else 1)
            count, seconds = totals.get(label, (0, 0.0))
            totals[label] = (count + converged, seconds + elapsed)
            print(f"{name:<30}{label:<22}{status:>7}{nit:>11}{elapsed:>10.2f}{gap:>10.1e}", flush=True)
    for label, (count, seconds) in totals.items():
        print(f"{label}: converged on {count} of {len(PROBLEMS)}, {seconds:.1f} s in all")


if __name__ == "__main__":
    main()
