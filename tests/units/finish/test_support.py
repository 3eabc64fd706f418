"""``reparamopt.finish.support``: the support of an iterate, the least squares on it and
the polish checkpoint of sparse recovery.

The least squares on a support is compared with ``numpy.linalg.lstsq`` on the same
columns at 1e-12 relative (a well-conditioned support of a few columns: both are
backward stable, their difference is a few eps times cond).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import reparamopt as ro
from reparamopt.finish.support import (
    SUPPORT_THRESHOLD,
    SupportPolish,
    support_least_squares,
    support_of,
)
from reparamopt.models.linear import LeastSquaresOracle, LinearModel

from .problems import gaussian


def test_support_is_above_the_threshold_of_the_largest_entry():
    t = SUPPORT_THRESHOLD
    X = np.array([[1.0, 0.0, -2.0],
                  [t, 0.0, 3.0],        # exactly at the threshold: out
                  [2 * t, 0.0, -1.0],
                  [-0.5, 0.0, 2 * t],   # the magnitude counts, not the sign
                  [t / 2, 0.0, 0.0]])
    want = np.array([[True, False, True],
                     [False, False, True],
                     [True, False, True],
                     [True, False, False],  # 2t: below the threshold 3t of that column
                     [False, False, False]])
    np.testing.assert_array_equal(support_of(X), want)
    np.testing.assert_array_equal(support_of(X[:, 0]), want[:, 0])
    assert support_of(np.zeros((0, 2))).shape == (0, 2)


def test_room_keeps_the_largest_entries(rng):
    X = rng.standard_normal((30, 4))
    room = 5
    support = support_of(X, room=room)
    for j in range(4):
        largest = np.argsort(-np.abs(X[:, j]))[:room]
        np.testing.assert_array_equal(np.flatnonzero(support[:, j]), np.sort(largest))


def _planted(rng, m=20, n=30):
    A = gaussian(rng, m, n)
    x = np.zeros(n)
    idx = np.array([3, 11, 17, 25])
    x[idx] = [1.0, 2.0, 0.5, 1.5]
    b = A @ x + 0.01 * rng.standard_normal(m)
    return A, b, x, idx


@pytest.mark.parametrize("kind", ["dense", "sparse", "operator"])
def test_support_least_squares_solves_on_the_support(rng, kind):
    A, b, x, idx = _planted(rng)
    iterate = x + 1e-6 * rng.random(x.size)  # small but not zero off the support
    data = {"dense": A, "sparse": sp.csr_array(A), "operator": aslinearoperator(A)}[kind]
    got = support_least_squares(data, b, iterate, nonnegative=True)
    want = np.zeros(x.size)
    want[idx] = np.linalg.lstsq(A[:, idx], b, rcond=None)[0]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert np.all(got[np.setdiff1d(np.arange(x.size), idx)] == 0)


def test_support_least_squares_refuses_what_it_cannot_solve(rng):
    A, b, x, idx = _planted(rng)
    assert support_least_squares(A, b, np.zeros(x.size), True) is None  # empty support
    assert support_least_squares(A[:3], b[:3], x, True) is None  # more entries than rows
    duplicate = A.copy()
    duplicate[:, 11] = duplicate[:, 3]
    assert support_least_squares(duplicate, b, x, True) is None  # rank deficient
    # a negative coefficient: refused when x must stay non-negative, kept when signed
    signed = x.copy()
    signed[17] = -0.5
    b_signed = A @ signed
    assert support_least_squares(A, b_signed, x, True) is None
    np.testing.assert_allclose(support_least_squares(A, b_signed, x, False), signed, atol=1e-12)


def _polish_problem(rng):
    A, _, x, idx = _planted(rng)
    b = A @ x  # attainable: the least squares on the support is the solution
    model = LinearModel(A, b)
    problem = ro.Problem(value_and_grad=LeastSquaresOracle(model), x=ro.NonNegative(x.size))
    return problem, model, x


def test_polish_returns_the_solution_on_the_support(rng):
    problem, model, x = _polish_problem(rng)
    polish = SupportPolish(problem, model, tol=1e-10, nonnegative=True)
    near = x + 1e-6 * (x > 0) + 1e-7  # the dynamics' iterate: close, never exactly zero
    u = problem.to_latent(near)
    assert 1e-10 < problem.optimality(u) <= polish.start
    u_new, done = polish(u, 25)
    assert done and problem.optimality(u_new) <= 1e-10
    np.testing.assert_allclose(problem.to_feasible(u_new), x, atol=1e-12)


def test_polish_leaves_an_iterate_it_cannot_improve(rng):
    problem, model, x = _polish_problem(rng)
    # far from the solution (optimality above `start`), on the right support: not tried,
    # although the least squares there is the solution
    far = problem.to_latent(3 * x + 1e-7)
    assert problem.optimality(far) > 1e-3
    assert SupportPolish(problem, model, tol=1e-10, nonnegative=True)(far, 25) is None
    assert SupportPolish(problem, model, tol=1e-10, nonnegative=True, start=np.inf)(far, 25)[1]
    # an entry of the solution missing from the support: the least squares on it does
    # not meet the tolerance
    near = x + 1e-7
    near[11] = 0.0
    assert SupportPolish(problem, model, tol=1e-10, nonnegative=True, start=np.inf)(
        problem.to_latent(near), 25) is None
