"""A randomized check of ``ro.solve`` with its defaults against scipy, on quadratics.

Each case is ``f(x) = x^T Q x / 2 - c^T x`` over an orthant, a box [-1, 2]^n or the
simplex, n in 2..40, Q with a condition number up to 1e10 and scales over six decades.
The reference is L-BFGS-B (bounds) or SLSQP (simplex, its point projected onto the
simplex) at tight tolerances. A case is wrong when ``solve`` reports success with an
objective gap above ``--gap`` (default 1e-6) of ``f(start) - f_ref``, or ends worse than
its start or than x = 0. The wrong cases are printed as found.

Usage::

    python benchmarks/sweep_solve.py --seed 7 --cases 60
"""

import argparse
import time
import warnings

import autograd.numpy as anp
import numpy as np
import scipy.optimize as so

import reparamopt as ro
from reparamopt.maps.sets import SimplexSet


def case(rng):
    n = int(rng.integers(2, 40))
    cond = 10.0 ** rng.uniform(0, 10)
    basis, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigenvalues = np.logspace(0, np.log10(cond), n) * 10.0 ** rng.uniform(-3, 3)
    Q = (basis * eigenvalues) @ basis.T
    Q = (Q + Q.T) / 2
    c = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3)
    kind = str(rng.choice(["orthant", "box", "simplex"]))
    return n, cond, Q, c, kind


def reference(Q, c, kind, n):
    def fg(z):
        return 0.5 * z @ Q @ z - c @ z, Q @ z - c

    if kind == "simplex":
        sum_one = {"type": "eq", "fun": lambda z: z.sum() - 1, "jac": lambda z: np.ones(n)}
        res = so.minimize(fg, np.full(n, 1.0 / n), jac=True, method="SLSQP", bounds=[(0, None)] * n,
                          constraints=[sum_one], options={"ftol": 1e-15, "maxiter": 2000})
        return SimplexSet((n,)).project(res.x)
    low, high = (0.0, None) if kind == "orthant" else (-1.0, 2.0)
    res = so.minimize(fg, np.zeros(n), jac=True, method="L-BFGS-B", bounds=[(low, high)] * n,
                      options={"ftol": 1e-16, "gtol": 1e-14, "maxiter": 20000, "maxfun": 40000})
    return np.clip(res.x, low, high)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", type=int, default=120)
    parser.add_argument("--gap", type=float, default=1e-6)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    wrong, statuses, start = 0, {}, time.perf_counter()
    for k in range(args.cases):
        n, cond, Q, c, kind = case(rng)
        spec = {"orthant": ro.NonNegative(n), "box": ro.Box(-1.0, 2.0, shape=n),
                "simplex": ro.Simplex(n)}[kind]
        problem = ro.Problem(lambda x: 0.5 * anp.dot(x, anp.dot(Q, x)) - anp.dot(c, x), x=spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = ro.solve(problem)

        def f(z):
            return float(0.5 * z @ Q @ z - c @ z)

        f_start = f(problem.to_feasible(problem.init(None)))
        f_ref, f_ours = f(reference(Q, c, kind, n)), f(res.x)
        floor = min(f_start, f(np.zeros(n)) if kind != "simplex" else np.inf)
        gap = (f_ours - f_ref) / max(abs(f_start - f_ref), 1e-300)
        statuses[(kind, res.status)] = statuses.get((kind, res.status), 0) + 1
        if (res.success and gap > args.gap) or f_ours > floor + 1e-12 * abs(floor):
            wrong += 1
            print(f"WRONG case {k}: {kind} n={n} cond={cond:.1e} status={res.status} "
                  f"nit={res.nit} gap={gap:.1e} optimality={res.optimality:.1e}", flush=True)
    print(f"{wrong} wrong of {args.cases}; (set, status): count {statuses}; "
          f"{time.perf_counter() - start:.0f} s")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
