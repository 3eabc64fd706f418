"""The L-BFGS engine (the default of solve) against scipy's references."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import scipy.optimize

import reparamopt as ro
from reparamopt.engines import LBFGS, get_engine
from reparamopt.exceptions import InvalidArgumentError


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
        pairs.append((s, H @ s))
    g = rng.standard_normal(n)
    s, y = pairs[-1]
    gamma = (s @ y) / (y @ y)
    root = np.sqrt(gamma)
    S = np.array([p[0] for p in pairs]) / root
    Y = np.array([p[1] for p in pairs]) * root
    expected = -root * LbfgsInvHessProduct(S, Y).matvec(root * g)
    np.testing.assert_allclose(_direction(pairs, g), expected, rtol=1e-10, atol=1e-12)
