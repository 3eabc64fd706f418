"""The L-BFGS engine (the default of solve) against scipy's references."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import scipy.optimize

import reparamopt as ro
from reparamopt.engines import LBFGS, get_engine
from reparamopt.exceptions import InvalidArgumentError
from reparamopt.maps import Map


def test_nonnegative_least_squares_matches_scipy_nnls():
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((60, 20)), rng.standard_normal(60)
    problem = ro.Problem(lambda x: 0.5 * anp.sum((A @ x - b) ** 2), x=ro.NonNegative(20))
    res = ro.solve(problem, tol=1e-9, max_iter=5000)
    assert res.engine == "LBFGS" and res.success, res.message
    np.testing.assert_allclose(res.x, scipy.optimize.nnls(A, b)[0], atol=1e-6)


def test_simplex_least_squares_matches_slsqp():
    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((50, 12)), rng.standard_normal(50)
    f = lambda w: anp.sum((A @ w - b) ** 2)  # noqa: E731
    res = ro.solve(ro.Problem(f, w=ro.Simplex(12)), tol=1e-10, max_iter=5000)
    ref = scipy.optimize.minimize(f, np.full(12, 1 / 12), method="SLSQP", bounds=[(0, 1)] * 12,
                                  constraints={"type": "eq", "fun": lambda w: w.sum() - 1},
                                  options={"ftol": 1e-14, "maxiter": 1000})
    assert res.success
    assert res.fun <= ref.fun + 1e-8 * abs(ref.fun)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-4)


def test_box_logistic_matches_lbfgsb():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 10))
    y = (rng.random(300) < 1 / (1 + np.exp(-X @ rng.uniform(-2, 2, 10)))).astype(float)

    def loss(w):
        z = X @ w
        return anp.sum(anp.logaddexp(0, z) - y * z) / 300

    res = ro.solve(ro.Problem(loss, w=ro.Box(lower=-0.5, upper=0.5, shape=10)), tol=1e-9,
                   max_iter=5000)
    ref = scipy.optimize.minimize(autograd.value_and_grad(loss), np.zeros(10), jac=True,
                                  method="L-BFGS-B", bounds=[(-0.5, 0.5)] * 10,
                                  options={"ftol": 1e-15, "gtol": 1e-12})
    assert res.success
    assert res.fun == pytest.approx(ref.fun, rel=1e-8)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-4)


def test_fewer_evaluations_than_first_order_engines():
    rng = np.random.default_rng(4)
    A, b = rng.standard_normal((80, 30)), rng.standard_normal(80)
    problem = ro.Problem(lambda x: 0.5 * anp.sum((A @ x - b) ** 2), x=ro.NonNegative(30))
    runs = {e: ro.solve(problem, engine=e, tol=1e-8, max_iter=20000) for e in ("lbfgs", "gd")}
    assert all(r.success for r in runs.values())
    assert runs["lbfgs"].nit < runs["gd"].nit


def test_lbfgs_is_registered_and_validates():
    assert isinstance(get_engine("lbfgs"), LBFGS)
    assert isinstance(get_engine("quasi-newton", memory=3), LBFGS)
    with pytest.raises(InvalidArgumentError, match="memory"):
        LBFGS(memory=0)


def test_lbfgs_never_increases_the_objective_beyond_rounding():
    rng = np.random.default_rng(3)
    A, b = rng.standard_normal((30, 10)), rng.standard_normal(30)
    problem = ro.Problem(lambda x: anp.sum((A @ x - b) ** 2), x=ro.NonNegative(10))
    res = ro.solve(problem, engine="lbfgs", history=True, max_iter=200)
    fun = np.asarray(res.history["fun"])
    assert np.all(np.diff(fun) <= 1e-13 * np.abs(fun[:-1]))


def test_two_loop_direction_matches_scipys_inverse_hessian_product():
    # scipy's product has H0 = I; with H0 = gamma I it is the product in u / sqrt(gamma)
    from scipy.optimize import LbfgsInvHessProduct

    from reparamopt.engines.lbfgs import _direction

    rng = np.random.default_rng(4)
    n, m = 30, 6
    M = rng.standard_normal((n, n))
    H = M @ M.T + n * np.eye(n)
    pairs = []
    for _ in range(m):
        s = rng.standard_normal(n)
        pairs.append((s, H @ s, 1.0 / (s @ H @ s)))
    g = rng.standard_normal(n)
    s, y, _ = pairs[-1]
    gamma = (s @ y) / (y @ y)
    root = np.sqrt(gamma)
    S = np.array([p[0] for p in pairs]) / root
    Y = np.array([p[1] for p in pairs]) * root
    expected = -root * LbfgsInvHessProduct(S, Y).matvec(root * g)
    np.testing.assert_allclose(_direction(pairs, g), expected, rtol=1e-10, atol=1e-12)
    # a diagonal initial matrix D: the product in z = D^(-1/2) u
    d = rng.uniform(0.01, 100.0, n)
    S = np.array([p[0] for p in pairs]) / np.sqrt(d)
    Y = np.array([p[1] for p in pairs]) * np.sqrt(d)
    expected = -np.sqrt(d) * LbfgsInvHessProduct(S, Y).matvec(np.sqrt(d) * g)
    np.testing.assert_allclose(_direction(pairs, g, d), expected, rtol=1e-10, atol=1e-12)


def _poisson(scale=1.0, seed=5, m=300, n=20):
    rng = np.random.default_rng(seed)
    A = np.abs(rng.standard_normal((m, n))) * 0.1
    x_true = np.where(rng.random(n) < 0.4, rng.uniform(0, 2, n), 0.0)
    y = rng.poisson(np.exp(A @ x_true)).astype(float)

    def f(x):
        z = anp.dot(A, x)
        return scale * anp.sum(anp.exp(z) - y * z)

    return f, n


def test_the_maps_diagonal_cuts_iterations_and_agrees_with_lbfgsb():
    # non-negative Poisson regression, about half the entries on the bound
    f, n = _poisson()
    ref = scipy.optimize.minimize(autograd.value_and_grad(f), np.ones(n), jac=True,
                                  method="L-BFGS-B", bounds=[(0, None)] * n,
                                  options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000})
    runs = {d: ro.solve(ro.Problem(f, x=ro.NonNegative(n)), engine=LBFGS(diagonal=d))
            for d in (True, False)}
    for res in runs.values():
        assert res.success, res.message
        assert res.fun <= ref.fun + 1e-12 * abs(ref.fun)
        np.testing.assert_allclose(res.x, ref.x, atol=1e-5)
    assert runs[True].nit < 0.8 * runs[False].nit
    assert np.sum(ref.x < 1e-8) >= n // 3  # the bound matters


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_the_iterations_do_not_depend_on_the_scale_of_f(scale):
    f, n = _poisson()
    g, _ = _poisson(scale)
    base = ro.solve(ro.Problem(f, x=ro.NonNegative(n)))
    scaled = ro.solve(ro.Problem(g, x=ro.NonNegative(n)))
    assert base.success and scaled.success
    assert abs(base.nit - scaled.nit) <= 2
    np.testing.assert_allclose(scaled.x, base.x, atol=1e-5)


def test_box_entries_reach_both_bounds_with_the_diagonal():
    # a separable quadratic whose minimizer lies outside the box on both sides
    rng = np.random.default_rng(6)
    c = rng.uniform(-3, 3, 40)
    h = 10.0 ** rng.uniform(-2, 2, 40)
    problem = ro.Problem(lambda x: anp.sum(h * (x - c) ** 2), x=ro.Box(-1.0, 1.0, shape=40))
    res = ro.solve(problem, tol=1e-10)
    assert res.success
    np.testing.assert_allclose(res.x, np.clip(c, -1, 1), atol=1e-7)


def test_diagonal_and_curvature_settings_are_checked():
    from reparamopt.exceptions import InvalidTypeError

    with pytest.raises(InvalidTypeError, match="diagonal"):
        LBFGS(diagonal="yes")
    with pytest.raises(InvalidArgumentError, match="curvature"):
        LBFGS(curvature=-1.0)
    f, n = _poisson()
    given = ro.solve(ro.Problem(f, x=ro.NonNegative(n)), engine=LBFGS(curvature=1e3))
    assert given.success


def test_maps_without_a_diagonal_keep_the_scalar_scaling():
    # the sphere's normalization gives no diagonal: same iterates as diagonal=False
    rng = np.random.default_rng(7)
    G = rng.standard_normal((20, 20))
    M = G + G.T
    problem = ro.Problem(lambda x: -anp.dot(x, anp.dot(M, x)), x=ro.Sphere(20))
    a = ro.solve(problem, engine=LBFGS())
    b = ro.solve(problem, engine=LBFGS(diagonal=False))
    assert a.success and a.nit == b.nit
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_allclose(-a.fun, np.linalg.eigvalsh(M)[-1], rtol=1e-9)


def test_the_simplex_diagonal_cuts_iterations_and_agrees_with_slsqp():
    rng = np.random.default_rng(7)
    A, b = rng.standard_normal((60, 25)), rng.standard_normal(60)
    f = lambda w: anp.sum((anp.dot(A, w) - b) ** 2)  # noqa: E731
    problem = ro.Problem(f, w=ro.Simplex(25))
    runs = {d: ro.solve(problem, engine=LBFGS(diagonal=d)) for d in (True, False)}
    ref = scipy.optimize.minimize(f, np.full(25, 1 / 25), method="SLSQP", bounds=[(0, 1)] * 25,
                                  constraints={"type": "eq", "fun": lambda w: w.sum() - 1},
                                  options={"ftol": 1e-15, "maxiter": 1000})
    for res in runs.values():
        assert res.success
        assert res.fun <= ref.fun + 1e-9 * abs(ref.fun)
        np.testing.assert_allclose(res.x, ref.x, atol=1e-5)
    assert runs[True].nit < 0.7 * runs[False].nit


@pytest.mark.parametrize("width", [1e-6, 1e-3])
def test_a_box_far_narrower_than_the_gradient_step_converges(width):
    # the probe step of the stopping measure saturates at the bounds: its curvature is
    # the last change above rounding, not a fallback 1e20 times too large (which froze
    # the L-BFGS diagonal)
    from reparamopt.flagships.solve import _RelativeResidual

    rng = np.random.default_rng(3)
    A = rng.standard_normal((60, 30))
    b = A @ (rng.uniform(-1, 3, 30) * 1e5)

    def f(x):
        return 0.5 * anp.sum((anp.dot(A, x) - b) ** 2)

    problem = ro.Problem(f, x=ro.Box(-width, width, shape=30))
    measure = _RelativeResidual.of(problem, None, 1e-8, 0.0)
    assert measure.probed and measure.curvature <= 1.01 * np.linalg.norm(A, 2) ** 2
    res = ro.solve(problem)
    assert res.success and res.nit < 200
    ref = scipy.optimize.minimize(autograd.value_and_grad(f), np.zeros(30), jac=True,
                                  method="L-BFGS-B", bounds=[(-width, width)] * 30,
                                  options={"ftol": 1e-16, "gtol": 1e-14})
    assert res.fun <= ref.fun + 1e-12 * abs(ref.fun)


def _scaled_case(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 25))
    A = rng.standard_normal((n + int(rng.integers(0, 25)), n)) * 10 ** rng.uniform(-4, 4)
    scale = 10 ** rng.uniform(-8, 8)
    b = A @ (rng.standard_normal(n) * scale) * 10 ** rng.uniform(-2, 2)
    low = -scale * 10 ** rng.uniform(-3, 1)
    high = low + scale * 10 ** rng.uniform(-3, 1)
    kind = ("orthant", "box", "lower", "upper")[seed % 4]
    spec, bounds = {"orthant": (ro.NonNegative(n), (0.0, None)),
                    "box": (ro.Box(low, high, shape=n), (low, high)),
                    "lower": (ro.Constraint("lower", shape=n, lower=low), (low, None)),
                    "upper": (ro.Constraint("upper", shape=n, upper=high), (None, high))}[kind]
    return A, b, spec, [bounds] * n


@pytest.mark.parametrize("seed", range(16))
def test_defaults_converge_over_decades_of_scale(seed):
    # data, solutions and bounds from 1e-8 to 1e8: the solve defaults reach L-BFGS-B's
    # objective run to full accuracy, relative to the decrease from the start
    A, b, spec, bounds = _scaled_case(seed)

    def f(x):
        return 0.5 * anp.sum((anp.dot(A, x) - b) ** 2)

    problem = ro.Problem(f, x=spec)
    res = ro.solve(problem)
    lo = np.array([-np.inf if a is None else a for a, _ in bounds])
    hi = np.array([np.inf if c is None else c for _, c in bounds])
    ref = scipy.optimize.minimize(autograd.value_and_grad(f), np.clip(0.0, lo, hi), jac=True,
                                  method="L-BFGS-B", bounds=bounds,
                                  options={"ftol": 1e-16, "gtol": 1e-300, "maxiter": 30000,
                                           "maxfun": 60000})
    start = float(f(problem.to_feasible(problem.init())))
    assert res.success, res.message
    assert np.all(res.x >= lo) and np.all(res.x <= hi)
    assert res.fun - ref.fun <= 1e-6 * max(start - ref.fun, 1e-300)


class _NaNPullback(Map):
    """x = u, computed through an eigendecomposition (which raises on NaN input), with a
    latent gradient only near the start u = 0 (NaN beyond 0.1): the x-space measure
    stays finite, so only the engine sees it."""

    default_scale = 0.0

    def forward(self, u):
        return u * anp.linalg.eigh(anp.eye(u.size) + 0.0 * anp.outer(u, u))[0][0]

    def inverse(self, x):
        return np.array(x, dtype=float)

    def pullback(self, u, grad_x):
        return np.where(np.max(np.abs(u)) < 0.1, grad_x, np.nan)


def test_a_non_finite_latent_gradient_ends_with_status_minus_one_and_a_warning():
    target = np.array([2.0, -1.0, 0.5])
    f = lambda x: anp.sum((x - target) ** 2)  # noqa: E731
    problem = ro.Problem(f, x=_NaNPullback((3,)))
    with pytest.warns(ro.exceptions.ConvergenceWarning, match="Non-finite"):
        res = ro.solve(problem)
    assert res.status == -1 and not res.success and res.nit >= 1
    # the point reached, where the gradient is NaN, is finite and better than the start
    assert np.all(np.isfinite(res.x)) and f(res.x) < f(np.zeros(3))
