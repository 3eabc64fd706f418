"""Every engine on problems with a reference solution.

Tolerances: discrete engines stop at an x-space optimality of 1e-10 and must match the
reference to 1e-7 (the residual bounds the error through the problems' conditioning,
which is below 1e3 here); flows stop at 1e-6 and must match to 1e-4 (explicit integrators stall at a level set
by their error tolerances on the stiff modes).
"""

import autograd.numpy as anp
import numpy as np
import pytest
from scipy.optimize import lsq_linear, nnls

import reparamopt as ro
from reparamopt.engines import (
    AcceleratedFlow,
    AcceleratedGradientDescent,
    GradientDescent,
    GradientFlow,
)
from reparamopt.maps import project_simplex

DISCRETE = [
    GradientDescent(),
    GradientDescent(step_size="bb-short"),
    AcceleratedGradientDescent(),
    AcceleratedGradientDescent(restart="speed"),
]
FLOWS = [GradientFlow(), AcceleratedFlow(), GradientFlow(method="Radau")]
ENGINES = [(e, 1e-10, 1e-7, 20000) for e in DISCRETE] + [(e, 1e-6, 1e-4, 20000) for e in FLOWS]
IDS = [repr(e).split("(")[0] + str(i) for i, (e, *_) in enumerate(ENGINES)]
# Armijo backtracking is monotone plain GD: slow on the ill-conditioned latent problems
# of NNLS and boxes (hence not the default), tested on the well-conditioned ones.
WELL_CONDITIONED = ENGINES + [(GradientDescent(step_size="armijo"), 1e-10, 1e-7, 20000)]
WC_IDS = IDS + ["GradientDescent-armijo"]


def _check(problem, reference, engine, tol, atol, max_iter, key=None, **kwargs):
    # `tol` of these cases is absolute: the unscaled residual, solve's `atol`
    res = ro.solve(problem, engine=engine, tol=0, atol=tol, max_iter=max_iter, **kwargs)
    assert res.success, res.message
    assert problem.optimality(res.u) <= tol
    x = res.x if key is None else res.x[key]
    np.testing.assert_allclose(x, reference, atol=atol)
    return res


@pytest.mark.parametrize("engine,tol,atol,max_iter", WELL_CONDITIONED, ids=WC_IDS)
def test_strongly_convex_quadratic(engine, tol, atol, max_iter, rng):
    M = rng.standard_normal((8, 8))
    Q = M @ M.T + np.eye(8)
    c = rng.standard_normal(8)
    problem = ro.Problem(lambda x: 0.5 * anp.dot(x - c, anp.dot(Q, x - c)), x=ro.Real(8))
    _check(problem, c, engine, tol, atol, max_iter)


@pytest.mark.parametrize("engine,tol,atol,max_iter", ENGINES, ids=IDS)
def test_nnls_against_scipy(engine, tol, atol, max_iter, rng):
    A = rng.standard_normal((30, 10))
    b = rng.standard_normal(30)
    x_ref, _ = nnls(A, b)
    assert 0 < np.count_nonzero(x_ref) < 10  # both active and inactive constraints
    problem = ro.Problem(lambda x: 0.5 * anp.sum((anp.dot(A, x) - b) ** 2), x=ro.NonNegative(10))
    res = _check(problem, x_ref, engine, tol, atol, max_iter, init_scale=1.0)
    assert np.all(res.x >= 0)


@pytest.mark.parametrize("engine,tol,atol,max_iter", WELL_CONDITIONED, ids=WC_IDS)
def test_simplex_projection(engine, tol, atol, max_iter, rng):
    y = rng.standard_normal(12)
    problem = ro.Problem(lambda w: 0.5 * anp.sum((w - y) ** 2), w=ro.Simplex(12))
    res = _check(problem, project_simplex(y), engine, tol, atol, max_iter)
    assert abs(res.x.sum() - 1) < 1e-12


@pytest.mark.parametrize("engine,tol,atol,max_iter", ENGINES, ids=IDS)
def test_box_least_squares_against_lsq_linear(engine, tol, atol, max_iter, rng):
    A = rng.standard_normal((25, 6))
    b = 3 * rng.standard_normal(25)
    lower, upper = -0.5 * np.ones(6), 0.5 * np.ones(6)
    ref = lsq_linear(A, b, bounds=(lower, upper), tol=1e-14, method="bvls").x
    assert np.any(np.isclose(np.abs(ref), 0.5)) and np.any(np.abs(ref) < 0.49)
    problem = ro.Problem(lambda x: 0.5 * anp.sum((anp.dot(A, x) - b) ** 2),
                         x=ro.Box(lower, upper))
    _check(problem, ref, engine, tol, atol, max_iter)


@pytest.mark.parametrize("engine,tol,atol,max_iter", WELL_CONDITIONED, ids=WC_IDS)
def test_two_variables(engine, tol, atol, max_iter, rng):
    a = rng.standard_normal(5)
    c = rng.standard_normal(4)

    def f(x, w):
        return anp.sum((x - a) ** 2) + anp.sum((w - c) ** 2)

    problem = ro.Problem(f, x=ro.NonNegative(5), w=ro.Simplex(4))
    res = ro.solve(problem, engine=engine, tol=tol, max_iter=max_iter)
    assert res.success, res.message
    np.testing.assert_allclose(res.x["x"], np.maximum(a, 0), atol=atol)
    np.testing.assert_allclose(res.x["w"], project_simplex(c), atol=atol)


def test_coupled_two_variables_against_scipy(rng):
    """min ||A x + B w - b||^2 with x >= 0, w on the simplex, vs SLSQP at high accuracy."""
    from scipy.optimize import minimize

    A = rng.standard_normal((20, 4))
    B = rng.standard_normal((20, 3))
    b = rng.standard_normal(20)

    def f(x, w):
        return 0.5 * anp.sum((anp.dot(A, x) + anp.dot(B, w) - b) ** 2)

    problem = ro.Problem(f, x=ro.NonNegative(4), w=ro.Simplex(3))
    res = ro.solve(problem, tol=1e-11, max_iter=20000)
    assert res.success
    ref = minimize(lambda z: f(z[:4], z[4:]), np.full(7, 0.3), method="SLSQP",
                   bounds=[(0, None)] * 7,
                   constraints=({"type": "eq", "fun": lambda z: z[4:].sum() - 1},),
                   options={"ftol": 1e-15, "maxiter": 1000})
    assert res.fun <= ref.fun + 1e-9
    np.testing.assert_allclose(np.concatenate([res.x["x"], res.x["w"]]), ref.x, atol=1e-5)


def test_flows_agree_with_discrete_engines(rng):
    A = rng.standard_normal((15, 6))
    b = rng.standard_normal(15)
    problem = ro.Problem(lambda x: 0.5 * anp.sum((anp.dot(A, x) - b) ** 2), x=ro.NonNegative(6))
    results = [ro.solve(problem, engine=e, tol=1e-9, max_iter=20000).x
               for e in ("gd", "accelerated", "flow", "accelerated-flow")]
    for x in results[1:]:
        np.testing.assert_allclose(x, results[0], atol=1e-6)


def test_gradient_flow_never_increases_the_objective():
    """LSODA's long stiff steps near an equilibrium once diverged here (f reached 1e110);
    the flow must reject such steps."""
    rng = np.random.default_rng(0)
    n, m, s = 60, 30, 3
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    perm = rng.permutation(n)
    x_plus = np.zeros(n)
    x_plus[perm[:s]] = np.abs(rng.standard_normal(s))
    x_plus /= np.linalg.norm(x_plus)
    negative = np.zeros(n)
    negative[perm[s:2 * s]] = np.abs(rng.standard_normal(s))
    b = A @ (x_plus - 0.25 * negative / negative.sum())

    def value_and_grad(x):
        r = A @ x - b
        return 0.5 * r @ r, A.T @ r

    problem = ro.Problem(value_and_grad=value_and_grad, x=ro.NonNegative(n))
    res = ro.solve(problem, engine="flow", init_scale=1e-4, max_iter=2600, tol=1e-8, history=True)
    f = np.asarray(res.history["fun"])
    assert res.status != -1 and np.all(np.isfinite(f))
    assert np.all(np.diff(f) <= 1e-8 * f[:-1])
    assert res.fun < 1.01 * 0.5 * nnls(A, b)[1] ** 2
