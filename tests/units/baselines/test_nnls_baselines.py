"""Tests of the reference solvers: same answers as scipy, same result fields."""

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp

from reparamopt.baselines import (
    accelerated_projected_gradient,
    lawson_hanson,
    projected_gradient,
)
from reparamopt.exceptions import ShapeError

FIELDS = ("x", "rnorm", "fun", "optimality", "nit", "status", "success", "message", "method")


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((60, 25))
    b = A @ np.maximum(rng.standard_normal(25), 0) + 0.1 * rng.standard_normal(60)
    return A, b


def test_lawson_hanson_is_scipy(problem):
    A, b = problem
    res = lawson_hanson(A, b)
    x, r = scipy.optimize.nnls(A, b)
    assert all(field in res for field in FIELDS)
    np.testing.assert_array_equal(res.x, x)
    assert res.rnorm == pytest.approx(r) and res.success and res.method == "lawson-hanson"


def test_lawson_hanson_without_columns():
    # scipy 1.17 aborts the interpreter on this input; the wrapper must not call it
    res = lawson_hanson(np.zeros((4, 0)), np.ones(4))
    assert res.x.shape == (0,) and res.rnorm == pytest.approx(2.0)


@pytest.mark.parametrize("solver", [projected_gradient, accelerated_projected_gradient])
def test_first_order_reach_tol(problem, solver):
    A, b = problem
    x_ref, _ = scipy.optimize.nnls(A, b)
    res = solver(A, b, tol=1e-9, max_iter=200000)
    assert all(field in res for field in FIELDS)
    assert res.success and res.optimality <= 1e-9
    np.testing.assert_allclose(res.x, x_ref, atol=1e-6)
    sparse = solver(sp.csr_array(A), b, tol=1e-9, max_iter=200000)
    np.testing.assert_allclose(sparse.x, res.x, atol=1e-8)


def test_apg_batched_and_limit(problem):
    A, b = problem
    B = np.column_stack([b, 2 * b])
    res = accelerated_projected_gradient(A, B, tol=1e-9, max_iter=100000)
    np.testing.assert_allclose(res.x[:, 1], 2 * res.x[:, 0], atol=1e-6)
    short = accelerated_projected_gradient(A, b, max_iter=2)
    assert short.status == 0 and not short.success


def test_bad_input(problem):
    A, b = problem
    with pytest.raises(ShapeError, match="`b`"):
        lawson_hanson(A, b[:5])
