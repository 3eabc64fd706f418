"""``reparamopt.finish.kkt``: the natural residual, the rounding level of the gradient and
the certificate built from them, against formulas written here from the data alone.

Tolerances: the residuals and floors are a few elementwise operations and one product,
compared at 1e-14 relative; the rounding error of the gradient is measured against the
gradient in extended precision (64-bit significand, errors 2^11 times smaller than
double's), so the floor must bound it with no slack of its own.
"""

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

from reparamopt.finish.kkt import (
    FLOOR_FACTOR,
    check,
    excess_residual,
    gradient_floor,
    kkt_residual,
    residual,
)

from .problems import EPS, gaussian, ill_conditioned, with_condition


def projected_point(x, g):
    """``x - P(x - g)`` with P the projection onto the orthant, as in its definition."""
    return x - np.maximum(x - g, 0.0)


def floor_by_hand(A, x, b):
    absA = np.abs(A)
    return FLOOR_FACTOR * EPS * (absA.T @ (absA @ np.abs(x) + np.abs(b)))


def test_residual_is_x_minus_its_projected_step(rng):
    x = np.abs(rng.standard_normal((20, 3))) * (rng.random((20, 3)) < 0.5)
    g = rng.standard_normal((20, 3))
    np.testing.assert_allclose(residual(x, g), projected_point(x, g), rtol=1e-15, atol=1e-15)
    np.testing.assert_array_equal(residual(x, g, nonnegative=False), g)


def test_kkt_residual_per_column_relative_to_the_scale(rng):
    x = np.abs(rng.standard_normal((15, 3))) * (rng.random((15, 3)) < 0.5)
    g = rng.standard_normal((15, 3))
    scale = np.array([2.0, 0.5, 1e-3])
    want = np.linalg.norm(projected_point(x, g), axis=0) / scale
    np.testing.assert_allclose(kkt_residual(x, g, scale), want, rtol=1e-14)
    np.testing.assert_allclose(kkt_residual(x, g, scale, nonnegative=False),
                               np.linalg.norm(g, axis=0) / scale, rtol=1e-14)
    # one column: a scalar; a zero scale (b = 0) does not divide by zero
    assert np.ndim(kkt_residual(x[:, 0], g[:, 0], 2.0)) == 0
    assert kkt_residual(np.zeros(3), np.zeros(3), 0.0) == 0.0


@pytest.mark.parametrize("shape", [(), (2,)])
def test_gradient_floor_of_dense_and_sparse_data(rng, shape):
    A = rng.standard_normal((25, 10)) * (rng.random((25, 10)) < 0.4)
    x = rng.standard_normal((10,) + shape)  # negative entries count by their size
    b = rng.standard_normal((25,) + shape)
    want = floor_by_hand(A, x, b)
    np.testing.assert_allclose(gradient_floor(A, x, b), want, rtol=1e-14)
    np.testing.assert_allclose(gradient_floor(sp.csr_array(A), x, b), want, rtol=1e-14)


@pytest.mark.parametrize("name", ["cond 1e12", "near duplicates", "scaled columns"])
def test_gradient_floor_bounds_the_rounding_of_the_gradient(name):
    # the least-squares point of ill-conditioned data has large entries whose terms
    # cancel in A x - b: the worst case for the rounding of the gradient
    rng = np.random.default_rng(11)
    A = ill_conditioned(name, rng, 40, 20)
    b = rng.standard_normal(40)
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    g = A.T @ (A @ x - b)
    Al, xl = A.astype(np.longdouble), x.astype(np.longdouble)
    exact = Al.T @ (Al @ xl - b.astype(np.longdouble))
    error = np.abs(g - exact).astype(float)
    floor = gradient_floor(A, x, b)
    assert np.all(error <= floor), np.max(error / floor)
    # and the floor is not vacuous: the error comes within four decades of it (measured:
    # 2e-3 to 9e-3 of it here)
    assert np.max(error / floor) >= 1e-4, np.max(error / floor)


def test_gradient_floor_of_an_operator_spreads_the_normwise_bound(rng):
    A = gaussian(rng, 30, 10)
    x, b = rng.standard_normal(10), rng.standard_normal(30)
    norm = np.linalg.norm(A, 2)
    level = FLOOR_FACTOR * EPS * norm * (norm * np.linalg.norm(x) + np.linalg.norm(b)) / np.sqrt(10)
    op = aslinearoperator(A)
    np.testing.assert_allclose(gradient_floor(op, x, b, norm=norm), np.full(10, level), rtol=1e-14)
    # the estimate of ||A||_2 (power steps, 10% margin) is never below the norm
    ratio = gradient_floor(op, x, b) / level
    assert np.all((1.0 <= ratio) & (ratio <= 1.1 ** 2)), ratio


def test_excess_residual_counts_what_is_above_the_floor(rng):
    x = np.abs(rng.standard_normal((12, 2))) * (rng.random((12, 2)) < 0.5)
    g = rng.standard_normal((12, 2))
    floor = np.abs(rng.standard_normal((12, 2)))
    over = np.maximum(np.abs(projected_point(x, g)) - floor, 0.0)
    np.testing.assert_allclose(excess_residual(x, g, floor, 3.0), np.linalg.norm(over, axis=0) / 3.0,
                               rtol=1e-14)
    assert np.all(excess_residual(x, g, np.abs(g) + np.abs(x), 1.0) == 0.0)


def test_check_certifies_scipys_solution_and_rejects_another_point(rng):
    A = gaussian(rng, 30, 10)
    B = rng.standard_normal((30, 3))
    X = np.column_stack([scipy.optimize.nnls(A, B[:, j])[0] for j in range(3)])
    optimality, ok = check(A, B, X, 1e-10)
    assert np.all(ok) and np.all(optimality <= 1e-10)
    # the first zero of each column made positive: a first-order change of the gradient
    # there, far above rounding
    Y = X.copy()
    for j in range(3):
        Y[np.flatnonzero(X[:, j] == 0)[0], j] = 0.1
    optimality, ok = check(A, B, Y, 1e-10)
    assert not np.any(ok) and np.all(optimality > 1e-4)
    value, flag = check(A, B[:, 0], X[:, 0], 1e-10)
    assert isinstance(value, float) and flag is True


def test_check_certifies_a_rounding_level_residual_through_the_floor():
    # b = A x (rounded from extended precision) with x > 0 on cond 1e12 data: x is the
    # solution, its computed gradient rounding noise, whose relative size can exceed any
    # tol asked
    rng = np.random.default_rng(12)
    A = with_condition(rng, 40, 12, 1e12)
    x = rng.random(12) + 0.5
    b = (A.astype(np.longdouble) @ x.astype(np.longdouble)).astype(float)
    optimality = check(A, b, x, 0.0)[0]
    assert optimality > 0.0
    assert check(A, b, x, optimality / 10) == (optimality, True)
    # a gradient given by the caller is the one priced: -1 everywhere is no rounding
    assert check(A, b, x, optimality / 10, g=np.full(12, -1.0))[1] is False
