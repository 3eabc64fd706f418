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


class StiefelSet(ConstraintSet):
    """Matrices with orthonormal columns."""

    name = "stiefel"

    def project(self, x):
        left, _, right = np.linalg.svd(np.asarray(x, dtype=float), full_matrices=False)
        return left @ right


class PolarFactor(Map):
    """Q = u (u^T u)^(-1/2), the polar factor of u: undefined where u loses rank, as at
    the rank-one identical start u = 1 (NaN entries there)."""

    source, target = "real", "stiefel"

    def forward(self, u):
        w, v = anp.linalg.eigh(anp.dot(u.T, u))
        return anp.dot(u, anp.dot(v / anp.sqrt(w), v.T))

    def inverse(self, x):
        # a generic preimage: distinct singular values, the same polar factor
        return np.asarray(x, dtype=float) * np.linspace(1.0, 2.0, np.shape(x)[1])


def stiefel_registry():
    registry = Registry.default().copy()
    registry.register_set("stiefel", StiefelSet)
    registry.register_map("real", "stiefel", PolarFactor)
    return registry


@pytest.mark.parametrize("start", [{}, {"random_state": 1}, {"x0": "polar"}])
def test_the_stopping_test_is_probed_at_the_start_where_the_identical_one_is_undefined(start):
    # max tr(C^T Q) over Q^T Q = I is the polar factor of C, worth the sum of its
    # singular values. (Gradient descent: the map is invariant to scaling u, along
    # which L-BFGS lets u grow and one of its singular values shrink, ill-conditioned.)
    rng = np.random.default_rng(0)
    C = rng.standard_normal((5, 3))
    problem = ro.Problem(lambda Q: -anp.sum(C * Q), Q=("stiefel", (5, 3)),
                         registry=stiefel_registry())
    if start.get("x0") == "polar":
        start = {"x0": StiefelSet((5, 3)).project(rng.standard_normal((5, 3)))}
    res = ro.solve(problem, engine="gd", **start)
    assert res.success
    assert res.fun == pytest.approx(-np.linalg.svd(C, compute_uv=False).sum(), rel=1e-9)
    np.testing.assert_allclose(res.x, StiefelSet((5, 3)).project(C), atol=1e-6)


class CenteredSphereSet(ConstraintSet):
    """Unit vectors with entries summing to 0."""

    name = "centered-sphere"

    def project(self, x):
        centered = np.asarray(x, dtype=float) - np.mean(x)
        return centered / np.linalg.norm(centered)


class CenteredDirection(Map):
    """x = (u - mean u) / ||u - mean u||: undefined (0 / 0) at every constant u,
    the identical start included."""

    source, target = "real", "centered-sphere"

    def forward(self, u):
        centered = u - anp.mean(u)
        return centered / anp.sqrt(anp.sum(centered ** 2))

    def inverse(self, x):
        return np.array(x, dtype=float)


class CenteredDirectionFromARamp(CenteredDirection):
    def init(self, scale=None, rng=None):
        return np.linspace(-1.0, 1.0, self.shape[0])


def centered_problem(f, factory):
    registry = Registry.default().copy()
    registry.register_set("centered-sphere", CenteredSphereSet)
    registry.register_map("real", "centered-sphere", factory)
    return ro.Problem(f, x=("centered-sphere", 4), registry=registry)


def test_a_map_undefined_at_the_start_says_so_and_what_to_give():
    t = np.array([3.0, -1.0, 0.5, 2.0])
    f = lambda x: anp.sum((x - t) ** 2)  # noqa: E731
    with pytest.raises(ro.exceptions.InvalidArgumentError,
                       match=r"(?s)variable `x`.*undefined at the start.*`x0`.*`random_state`.*init"):
        ro.solve(centered_problem(f, CenteredDirection))
    solution = CenteredSphereSet((4,)).project(t)
    for factory, options in [(CenteredDirection, {"random_state": 0}),
                             (CenteredDirection, {"x0": CenteredSphereSet((4,)).project(np.eye(4)[0])}),
                             (CenteredDirectionFromARamp, {})]:
        res = ro.solve(centered_problem(f, factory), **options)
        assert res.success
        np.testing.assert_allclose(res.x, solution, atol=1e-7)


def test_an_objective_that_raises_at_the_start_says_so():
    b = np.array([1.0, 2.0])

    def f(x):  # [[x0, x1], [x1, x0]] is singular where x0 = x1, as at the identical start
        M = anp.array([[x[0], x[1]], [x[1], x[0]]])
        return anp.sum(anp.linalg.solve(M, b) ** 2)

    with pytest.raises(ro.exceptions.InvalidArgumentError,
                       match=r"(?s)objective.*undefined at the start.*Singular matrix.*`x0`"):
        ro.solve(ro.Problem(f, x=ro.NonNegative(2)))


def test_the_residual_at_a_non_finite_gradient_is_nan_without_projecting_it():
    # the run then ends with status -1; a projection by SVD would raise on NaN
    problem = ro.Problem(lambda Q: anp.sum(Q), Q=("stiefel", (4, 2)), registry=stiefel_registry())
    x = {"Q": np.eye(4)[:, :2]}
    assert np.isnan(problem.set_residual(x, {"Q": np.full((4, 2), np.nan)}))
    assert problem.set_residual(x, {"Q": np.zeros((4, 2))}) == 0.0
