"""The general framework on twelve realistic problems, against scipy and cvxpy, in one run.

Each problem is declared as a user would from the docs (an autograd objective and
constraint sets; two through maps the user registers) and solved by ``ro.solve`` with
its default settings. The peers get the same autograd objective and gradient:

* scipy.optimize.minimize with L-BFGS-B (bounds) on orthant and box problems, SLSQP
  (bounds and equality constraints) on simplex and coupled problems, L-BFGS-B without
  bounds on the free parametrizations (sphere, correlation) of the same problem;
* a specialised solver where one exists (scikit-learn's isotonic regression, the
  sort-based simplex projection, the leading eigenvector by ``eigh``);
* cvxpy with Clarabel on the convex ones (a benchmark-only dependency, skipped when
  absent).

``scipy-tight`` is L-BFGS-B again with ``ftol=1e-15, gtol=1e-10``, run until rounding
stops it: the accuracy reparamopt's default ``tol`` reaches, where L-BFGS-B's defaults
stop 1e-10 to 1e-8 (relative) short of the best objective.

Columns: time in seconds, reparamopt's time over the solver's (``ratio``), the objective
gap to the best objective of the run
(``f - f_best``, relative to ``max(|f_best|, 1)``), the constraint violation and the
status of reparamopt's result. ``--size small`` runs reduced sizes (the test suite uses
them); ``--problems`` selects problems by name.

Usage::

    python benchmarks/bench_problems.py
    python benchmarks/bench_problems.py --problems logistic poisson --repeat 3
"""

import argparse
import time
import warnings

import autograd.numpy as anp
import numpy as np
from autograd import value_and_grad

import reparamopt as ro

# -- user-registered maps ----------------------------------------------------------------
from reparamopt.maps import ConstraintSet, Map  # noqa: E402


class IncreasingSet(ConstraintSet):
    """x_1 <= x_2 <= ... <= x_n (no bound)."""

    name = "increasing_free"

    def project(self, x):
        from sklearn.isotonic import isotonic_regression

        return isotonic_regression(np.asarray(x, dtype=float))


class OffsetCumsumSquares(Map):
    """x = u_0 + cumsum([0, u_1^2, ..., u_{n-1}^2])."""

    source = "real"
    target = "increasing_free"

    def forward(self, u):
        return u[0] + anp.concatenate([anp.zeros(1), anp.cumsum(u[1:] ** 2)])

    def inverse(self, x):
        x = np.asarray(x, dtype=float)
        return np.concatenate([x[:1], np.sqrt(np.maximum(np.diff(x), 0.0))])

    def latent_diagonal(self, u, grad_x, curvature):
        """For the L-BFGS engine: ``||J e_j||^2 c + |d^2 (g.x) / du_j^2|``. Column j >= 1
        of the Jacobian is ``2 u_j`` on rows j..n-1, column 0 is ones; the second
        derivative of ``g.x`` in ``u_j`` is ``2 sum_{i >= j} g_i``."""
        u, g = np.asarray(u, dtype=float), np.asarray(grad_x, dtype=float)
        n = u.size
        tail = np.cumsum(g[::-1])[::-1]  # sum_{i >= j} g_i
        rows = n - np.arange(n)  # rows j..n-1
        out = 4.0 * u * u * rows * curvature + 2.0 * np.abs(tail)
        out[0] = n * curvature
        return out


class CorrelationSet(ConstraintSet):
    """Correlation matrices of rank at most `rank`: ``C = Y Y^T``, unit rows ``Y_i``."""

    name = "correlation"

    def __init__(self, shape, rank=3):
        super().__init__(shape)
        self.rank = int(rank)

    def factor(self, x):
        """Y with unit rows and ``Y Y^T`` the rank-`rank` part of `x`."""
        w, v = np.linalg.eigh((np.asarray(x, dtype=float) + np.asarray(x, dtype=float).T) / 2)
        y = v[:, -self.rank:] * np.sqrt(np.maximum(w[-self.rank:], 1e-300))
        return y / np.linalg.norm(y, axis=1, keepdims=True)

    def project(self, x):
        # a feasible point near x, not the exact projection (none in closed form)
        y = self.factor(x)
        return y @ y.T

    def optimality(self, x, grad):
        # the gradient on the manifold: the part of G Y that moves the rows of Y along
        # their unit spheres (zero exactly at stationary points of the factored problem)
        y = self.factor(x)
        gy = ((np.asarray(grad, dtype=float) + np.asarray(grad, dtype=float).T) / 2) @ y
        return gy - np.sum(gy * y, axis=1, keepdims=True) * y


class LowRankCorrelation(Map):
    """C = D^-1/2 V V^T D^-1/2 with D = diag(V V^T): a latent V of shape (n, rank)."""

    source = "real"
    target = "correlation"

    def __init__(self, shape, rank=3):
        super().__init__(shape)
        self.rank = int(rank)

    @property
    def latent_shape(self):
        return (self.shape[0], self.rank)

    def forward(self, v):
        rows = v / anp.sqrt(anp.sum(v ** 2, axis=1, keepdims=True))
        return anp.dot(rows, rows.T)

    def inverse(self, x):
        w, vec = np.linalg.eigh(np.asarray(x, dtype=float))
        return vec[:, -self.rank:] * np.sqrt(np.maximum(w[-self.rank:], 1e-12))


def register_user_maps():
    """Register the suite's two constraints the registry lacks, as a user would."""
    from reparamopt.maps.registry import set_names

    if "increasing_free" not in set_names():
        ro.register_set("increasing_free", IncreasingSet, description="x_1 <= ... <= x_n")
        ro.register_map("real", "increasing_free", OffsetCumsumSquares)
        ro.register_set("correlation", CorrelationSet, description="unit-diagonal PSD matrices")
        ro.register_map("real", "correlation", LowRankCorrelation)


# -- the problems ------------------------------------------------------------------------


class Case:
    """One problem: the reparamopt declaration and what the peers need.

    ``f(x)`` takes the variables as keyword arguments; ``flat``/``unflat`` convert to
    the stacked vector the scipy peers see; ``bounds`` and ``constraints`` are scipy's;
    ``violation(x)`` measures feasibility; ``special`` and ``cvx`` are peers or None.
    """

    def __init__(self, name, kind, f, variables, start, bounds=None, constraints=(),
                 violation=None, special=None, cvx=None, scipy_method=None):
        self.name, self.kind, self.f, self.variables = name, kind, f, variables
        self.shapes = {k: np.shape(v) for k, v in start.items()}
        self.start = self.flat(start)
        self.bounds, self.constraints = bounds, list(constraints)
        self.violation = violation or (lambda x: 0.0)
        self.special, self.cvx = special, cvx
        # "none": no scipy peer (SLSQP's dense matrices do not fit for n = 1e6)
        self.scipy_method = scipy_method or ("L-BFGS-B" if kind in ("orthant", "box") else "SLSQP")

    def flat(self, x):
        return np.concatenate([np.ravel(x[k]) for k in self.shapes])

    def unflat(self, z):
        out, i = {}, 0
        for k, shape in self.shapes.items():
            size = int(np.prod(shape))
            out[k] = z[i:i + size].reshape(shape)
            i += size
        return out

    def value(self, x):
        return float(self.f(**x))

    def problem(self):
        return ro.Problem(self.f, **self.variables)


def _simplex_violation(x, axis=None):
    return float(max(np.max(-np.minimum(x, 0)), np.max(np.abs(np.sum(x, axis=axis) - 1))))


def markowitz(rng, n):
    k = max(n // 10, 2)
    F = rng.standard_normal((n, k)) / np.sqrt(k)
    sigma = F @ F.T * 0.04 + np.diag(rng.uniform(0.01, 0.09, n))
    mu = rng.normal(0.05, 0.03, n)

    def f(w):
        return 5.0 * anp.dot(w, anp.dot(sigma, w)) - anp.dot(mu, w)

    def cvx(cp):
        w = cp.Variable(n)
        cp.Problem(cp.Minimize(5.0 * cp.quad_form(w, cp.psd_wrap(sigma)) - mu @ w),
                   [w >= 0, cp.sum(w) == 1]).solve(solver="CLARABEL")
        return {"w": w.value}

    return _simplex_case("markowitz", f, "w", n, cvx=cvx)


def _simplex_case(name, f, variable, n, **peers):
    """A problem over one variable on the n-simplex, started at its centre."""
    return Case(name, "simplex", f, {variable: ro.Simplex(n)}, {variable: np.full(n, 1 / n)},
                bounds=[(0, None)] * n, constraints=[_sum_to_one(n)],
                violation=lambda x: _simplex_violation(x[variable]), **peers)


def _sum_to_one(n, start=0):
    return {"type": "eq", "fun": lambda z: np.sum(z[start:start + n]) - 1.0,
            "jac": lambda z: np.concatenate([np.zeros(start), np.ones(n),
                                             np.zeros(len(z) - start - n)])}


def logistic(rng, m, n):
    A = rng.standard_normal((m, n))
    w_true = rng.uniform(-2, 2, n)
    y = np.where(rng.random(m) < 1 / (1 + np.exp(-A @ w_true / np.sqrt(n) * 3)), 1.0, -1.0)
    A = A * 3 / np.sqrt(n)

    def f(w):
        return anp.sum(anp.logaddexp(0.0, -y * anp.dot(A, w))) / m

    def cvx(cp):
        w = cp.Variable(n)
        cp.Problem(cp.Minimize(cp.sum(cp.logistic(-cp.multiply(y, A @ w))) / m),
                   [w >= -1, w <= 1]).solve(solver="CLARABEL")
        return {"w": w.value}

    return Case("logistic", "box", f, {"w": ro.Box(-1.0, 1.0, shape=n)}, {"w": np.zeros(n)},
                bounds=[(-1, 1)] * n,
                violation=lambda x: float(np.max(np.abs(x["w"])) - 1) if n else 0.0, cvx=cvx)


def poisson(rng, m, n):
    A = np.abs(rng.standard_normal((m, n))) * 0.1
    x_true = np.where(rng.random(n) < 0.3, rng.uniform(0, 2, n), 0.0)
    y = rng.poisson(np.exp(A @ x_true)).astype(float)

    def f(x):
        z = anp.dot(A, x)
        return anp.sum(anp.exp(z) - y * z)

    def cvx(cp):
        x = cp.Variable(n)
        z = A @ x
        cp.Problem(cp.Minimize(cp.sum(cp.exp(z) - cp.multiply(y, z))), [x >= 0]).solve(
            solver="CLARABEL")
        return {"x": x.value}

    return Case("poisson", "orthant", f, {"x": ro.NonNegative(n)}, {"x": np.ones(n)},
                bounds=[(0, None)] * n, violation=lambda x: float(-np.min(x["x"])), cvx=cvx)


def simplex_ls(rng, m, n):
    A = rng.standard_normal((m, n))
    b = A @ rng.dirichlet(np.full(n, 0.3)) + 0.1 * rng.standard_normal(m)

    def f(x):
        return anp.sum((anp.dot(A, x) - b) ** 2)

    def cvx(cp):
        x = cp.Variable(n)
        cp.Problem(cp.Minimize(cp.sum_squares(A @ x - b)), [x >= 0, cp.sum(x) == 1]).solve(
            solver="CLARABEL")
        return {"x": x.value}

    return _simplex_case("simplex-ls", f, "x", n, cvx=cvx)


def eigenvector(rng, n):
    G = rng.standard_normal((n, n))
    M = (G + G.T) / 2

    def f(x):
        return -anp.dot(x, anp.dot(M, x))

    def special():
        return {"x": np.linalg.eigh(M)[1][:, -1]}

    unit = {"type": "eq", "fun": lambda z: z @ z - 1.0, "jac": lambda z: 2 * z}
    return Case("eigenvector", "sphere", f, {"x": ro.Sphere(n)},
                {"x": np.ones(n) / np.sqrt(n)}, constraints=[unit], special=special,
                violation=lambda x: abs(float(np.linalg.norm(x["x"])) - 1))


def coupled(rng, m, n):
    A, B, C = (rng.standard_normal((m, n)) for _ in range(3))
    y = A @ np.abs(rng.standard_normal(n)) + B @ rng.dirichlet(np.ones(n)) \
        + C @ rng.uniform(-1, 1, n) + 0.1 * rng.standard_normal(m)

    def f(a, p, c):
        r = anp.dot(A, a) + anp.dot(B, p) + anp.dot(C, c) - y
        return anp.sum(r ** 2) + 0.1 * anp.sum(a * p)

    def violation(x):
        return max(float(-np.min(x["a"])), _simplex_violation(x["p"]),
                   float(np.max(np.abs(x["c"])) - 1))

    return Case("coupled", "coupled", f,
                {"a": ro.NonNegative(n), "p": ro.Simplex(n), "c": ro.Box(-1.0, 1.0, shape=n)},
                {"a": np.ones(n), "p": np.full(n, 1 / n), "c": np.zeros(n)},
                bounds=[(0, None)] * n + [(0, None)] * n + [(-1, 1)] * n,
                constraints=[_sum_to_one(n, start=n)], violation=violation)


def nmf_huber(rng, m, n, r):
    X = rng.random((m, r)) @ rng.random((r, n)) + 0.01 * rng.random((m, n))
    X[rng.random((m, n)) < 0.02] += 5.0  # outliers, the reason for the Huber loss

    def f(W, H):
        R = X - anp.dot(W, H)
        a = anp.abs(R)
        return anp.sum(anp.where(a <= 0.1, 0.5 * R ** 2, 0.1 * (a - 0.05)))

    start = {"W": rng.random((m, r)), "H": rng.random((r, n))}
    return Case("nmf-huber", "orthant", f, {"W": ro.NonNegative((m, r)), "H": ro.NonNegative((r, n))},
                start, bounds=[(0, None)] * (m * r + r * n),
                violation=lambda x: float(-min(np.min(x["W"]), np.min(x["H"]))))


def markov(rng, k, T):
    P_true = rng.dirichlet(np.full(k, 0.5), size=k)
    X = np.abs(rng.standard_normal((T, k)))
    Y = X @ P_true + 0.05 * rng.standard_normal((T, k))

    def f(P):
        return anp.sum((anp.dot(X, P) - Y) ** 2)

    rows = [{"type": "eq", "fun": (lambda z, i=i: np.sum(z[i * k:(i + 1) * k]) - 1.0),
             "jac": (lambda z, i=i: np.r_[np.zeros(i * k), np.ones(k), np.zeros((k - i - 1) * k)])}
            for i in range(k)]

    def cvx(cp):
        P = cp.Variable((k, k))
        cp.Problem(cp.Minimize(cp.sum_squares(X @ P - Y)), [P >= 0, cp.sum(P, axis=1) == 1]).solve(
            solver="CLARABEL")
        return {"P": P.value}

    return Case("markov", "simplex", f, {"P": ro.Simplex((k, k), axis=1)},
                {"P": np.full((k, k), 1 / k)}, bounds=[(0, None)] * (k * k), constraints=rows,
                violation=lambda x: _simplex_violation(x["P"], axis=1), cvx=cvx)


def topics(rng, v, t):
    T = rng.dirichlet(np.full(v, 0.1), size=t).T  # v x t topic-word distributions
    d = rng.multinomial(5000, T @ rng.dirichlet(np.full(t, 0.5))).astype(float)

    def f(theta):
        return -anp.sum(d * anp.log(anp.dot(T, theta) + 1e-300))

    def cvx(cp):
        theta = cp.Variable(t)
        cp.Problem(cp.Minimize(-d @ cp.log(T @ theta)), [theta >= 0, cp.sum(theta) == 1]).solve(
            solver="CLARABEL")
        return {"theta": theta.value}

    return _simplex_case("topics", f, "theta", t, cvx=cvx)


def isotonic(rng, n):
    register_user_maps()
    grid = np.linspace(0, 1, n)
    y = np.log1p(10 * grid) + 0.3 * rng.standard_normal(n)
    w = rng.uniform(0.5, 2.0, n)

    def f(x):
        return anp.sum(w * (x - y) ** 2)

    def special():
        from sklearn.isotonic import IsotonicRegression

        return {"x": IsotonicRegression().fit_transform(grid, y, sample_weight=w)}

    diff = {"type": "ineq", "fun": np.diff, "jac": lambda z: np.diff(np.eye(len(z)), axis=0)}
    return Case("isotonic", "other", f, {"x": ("increasing_free", (n,))}, {"x": grid.copy()},
                constraints=[diff], special=special,
                violation=lambda x: float(max(-np.min(np.diff(x["x"])), 0.0)))


def correlation(rng, n, rank):
    register_user_maps()
    F = rng.standard_normal((n, rank + 2))
    G = F @ F.T + 0.5 * rng.standard_normal((n, n))
    G = (G + G.T) / 2
    d = np.sqrt(np.abs(np.diag(G)))
    G = G / np.outer(d, d)

    def f(C):
        return anp.sum((C - G) ** 2)

    V0 = np.linalg.eigh(G)[1][:, -rank:]

    def violation(x):
        C = x["C"]
        return float(max(np.max(np.abs(np.diag(C) - 1)), -np.min(np.linalg.eigvalsh(C))))

    return Case("correlation", "other", f, {"C": ro.resolve(("correlation", (n, n)), rank=rank)},
                {"C": _rows_normalized(V0) @ _rows_normalized(V0).T}, violation=violation,
                scipy_method="L-BFGS-B-factored")


def _rows_normalized(v):
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def projection(rng, n):
    y = rng.standard_normal(n)

    def f(x):
        return 0.5 * anp.sum((x - y) ** 2)

    def special():
        return {"x": ro.maps.sets.SimplexSet((n,)).project(y)}

    return _simplex_case("simplex-projection", f, "x", n, special=special,
                         scipy_method="none" if n > 1000 else "SLSQP")


SIZES = {
    "full": dict(markowitz=(500,), logistic=(5000, 200), poisson=(2000, 100),
                 simplex_ls=(200, 30), eigenvector=(300,), coupled=(300, 20),
                 nmf_huber=(60, 50, 4), markov=(12, 400), topics=(2000, 20), isotonic=(1000,),
                 correlation=(60, 3), projection=(10 ** 6,)),
    "small": dict(markowitz=(60,), logistic=(400, 20), poisson=(300, 20), simplex_ls=(60, 12),
                  eigenvector=(40,), coupled=(60, 6), nmf_huber=(20, 15, 3), markov=(5, 80),
                  topics=(300, 6), isotonic=(80,), correlation=(15, 2), projection=(500,)),
}

BUILDERS = {"markowitz": markowitz, "logistic": logistic, "poisson": poisson,
            "simplex-ls": simplex_ls, "eigenvector": eigenvector, "coupled": coupled,
            "nmf-huber": nmf_huber, "markov": markov, "topics": topics, "isotonic": isotonic,
            "correlation": correlation, "simplex-projection": projection}


def build(name, size="full", seed=0):
    """The :class:`Case` `name` at `size` ("full" or "small")."""
    key = name.replace("-", "_").replace("simplex_projection", "projection")
    return BUILDERS[name](np.random.default_rng(seed), *SIZES[size][key])


# -- the solvers -------------------------------------------------------------------------


def run_reparamopt(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        res = ro.solve(case.problem())
        elapsed = time.perf_counter() - start
    x = res.x if isinstance(res.x, dict) else {case.variables and next(iter(case.variables)): res.x}
    return x, elapsed, f"status {res.status}, {res.nit} it"


# L-BFGS-B run until rounding stops it: the accuracy reparamopt's default tol reaches
# (its default factr and pgtol stop 1e-10 to 1e-8 short of the best objective)
TIGHT = {"ftol": 1e-15, "gtol": 1e-10}


def run_scipy(case, tight=False):
    from scipy.optimize import minimize

    method = case.scipy_method
    if method == "none" or (tight and method != "L-BFGS-B"):
        return None
    if method == "L-BFGS-B-factored":
        return _run_factored(case)
    vg = value_and_grad(lambda z: case.f(**case.unflat(z)))
    options = {"maxiter": 20000} if method == "SLSQP" else {"maxiter": 20000, "maxfun": 40000}
    if tight:
        options.update(TIGHT)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = minimize(vg, case.start, jac=True, method=method, bounds=case.bounds,
                       constraints=case.constraints if method == "SLSQP" else (),
                       options=options)
    elapsed = time.perf_counter() - start
    x = case.unflat(res.x)
    if case.bounds is not None:
        for k, (lo, hi) in _bounds_of(case).items():
            x[k] = np.clip(x[k], lo, hi)
    return x, elapsed, f"{method} {'ok' if res.success else 'failed'}, {res.nit} it"


def _bounds_of(case):
    out, i = {}, 0
    b = np.array([(np.nan if lo is None else lo, np.nan if hi is None else hi) for lo, hi in case.bounds])
    for k, shape in case.shapes.items():
        size = int(np.prod(shape))
        lo, hi = b[i:i + size, 0].reshape(shape), b[i:i + size, 1].reshape(shape)
        out[k] = (np.where(np.isnan(lo), -np.inf, lo), np.where(np.isnan(hi), np.inf, hi))
        i += size
    return out


def _run_factored(case):
    """L-BFGS-B, no bounds, on the map's latent variables (the correlation factor)."""
    from scipy.optimize import minimize

    (name, spec), = case.variables.items()
    vg = value_and_grad(lambda v: case.f(**{name: spec.forward(v.reshape(spec.latent_shape))}))
    u0 = spec.inverse(case.unflat(case.start)[name]).ravel()
    start = time.perf_counter()
    res = minimize(vg, u0, jac=True, method="L-BFGS-B", options={"maxiter": 20000})
    elapsed = time.perf_counter() - start
    return {name: spec.forward(res.x.reshape(spec.latent_shape))}, elapsed, f"L-BFGS-B on V, {res.nit} it"


def run_special(case):
    if case.special is None:
        return None
    start = time.perf_counter()
    x = case.special()
    return x, time.perf_counter() - start, "specialised"


def run_cvxpy(case):
    if case.cvx is None:
        return None
    try:
        import cvxpy as cp
    except ImportError:
        return None
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = case.cvx(cp)
    return x, time.perf_counter() - start, "cvxpy/Clarabel"


def median_time(fn, case, repeat):
    outs = [fn(case) for _ in range(repeat)]
    if outs[0] is None:
        return None
    x, _, info = outs[-1]
    return x, float(np.median([o[1] for o in outs])), info


def measure(case, repeat=1):
    """Rows ``(solver, time, f, violation, info)`` for `case`."""
    rows = []
    for label, fn in (("reparamopt", run_reparamopt), ("scipy", run_scipy),
                      ("scipy-tight", lambda c: run_scipy(c, tight=True)),
                      ("special", run_special), ("cvxpy", run_cvxpy)):
        out = median_time(fn, case, repeat)
        if out is not None:
            x, elapsed, info = out
            rows.append((label, elapsed, case.value(x), case.violation(x), info))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="*", default=list(BUILDERS))
    parser.add_argument("--size", default="full", choices=sorted(SIZES))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"{'problem':<20}{'solver':<12}{'time (s)':>10}{'ratio':>8}{'gap':>11}{'violation':>11}  info")
    for name in args.problems:
        case = build(name, args.size, args.seed)
        rows = measure(case, args.repeat)
        best = min(r[2] for r in rows if r[3] <= 1e-9)
        ours = rows[0][1]
        for label, elapsed, f, violation, info in rows:
            gap = (f - best) / max(abs(best), 1.0)
            # reparamopt's time over this solver's
            ratio = ours / elapsed if elapsed > 0 else float("inf")
            print(f"{name:<20}{label:<12}{elapsed:>10.4f}{ratio:>8.2f}{gap:>11.1e}{violation:>11.1e}"
                  f"  {info}", flush=True)


if __name__ == "__main__":
    main()
