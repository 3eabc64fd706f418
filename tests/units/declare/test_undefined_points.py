"""Points where the objective or a user's map is undefined: never a reason to lose a
converged result, and a clear error where the run cannot start."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import scipy.optimize

import reparamopt as ro
from reparamopt.maps import ConstraintSet, Map
from reparamopt.maps.registry import Registry


class PSDSet(ConstraintSet):
    """Symmetric positive semidefinite matrices (0 included)."""

    name = "psd"

    def project(self, x):
        w, v = np.linalg.eigh((np.asarray(x, dtype=float) + np.transpose(x)) / 2)
        return (v * np.maximum(w, 0.0)) @ v.T


class Cholesky(Map):
    """X = L L^T with L the lower triangle of u; the inverse is a Cholesky factor, which
    does not exist at a singular X such as 0."""

    source, target = "real", "psd"

    def forward(self, u):
        lower = anp.tril(u)
        return anp.dot(lower, lower.T)

    def inverse(self, x):
        return np.linalg.cholesky(np.asarray(x, dtype=float))


def psd_registry():
    registry = Registry.default().copy()
    registry.register_set("psd", PSDSet)
    registry.register_map("real", "psd", Cholesky)
    return registry


def test_minus_logdet_undefined_at_zero_keeps_the_converged_result():
    # f(x) = -log det(diag(x) + x x^T / 10) + c.x over x >= 0: the matrix is singular at
    # the comparison point x = 0 (its gradient raises LinAlgError there)
    c = np.array([1.0, 2.0, 0.5, 3.0])

    def f(x):
        return -anp.log(anp.linalg.det(anp.diag(x) + 0.1 * anp.outer(x, x))) + anp.dot(c, x)

    res = ro.solve(ro.Problem(f, x=ro.NonNegative(4)), tol=1e-10)
    ref = scipy.optimize.minimize(autograd.value_and_grad(f), np.ones(4), jac=True,
                                  method="L-BFGS-B", bounds=[(1e-12, None)] * 4,
                                  options={"ftol": 1e-15, "gtol": 1e-12})
    assert res.success and "fallback" not in res
    assert res.fun == pytest.approx(ref.fun, rel=1e-10)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-6)


def test_a_map_whose_inverse_fails_at_zero_keeps_the_converged_result():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((4, 4))
    target = F @ F.T + 0.5 * np.eye(4)   # positive definite: the solution itself
    problem = ro.Problem(lambda X: anp.sum((X - target) ** 2), X=("psd", (4, 4)),
                         registry=psd_registry())
    res = ro.solve(problem, tol=1e-10)
    assert res.success and "fallback" not in res
    np.testing.assert_allclose(res.x, target, atol=1e-6 * np.abs(target).max())


def test_zero_is_still_returned_where_it_is_better_and_defined():
    # the comparison with x = 0 is kept where it is defined: a run stopped after one
    # iteration, worse than 0, returns 0
    problem = ro.Problem(lambda x: anp.sum((x + 1.0) ** 2) , x=ro.NonNegative(3))
    with pytest.warns(ro.exceptions.ConvergenceWarning):
        res = ro.solve(problem, engine="gd", max_iter=1)
    assert res.fallback == "x = 0" and np.all(res.x == 0)
