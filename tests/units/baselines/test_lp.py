"""Linear-programming references: basis pursuit and the minimum-l1 NNLS point."""

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

from reparamopt.baselines.lp import basis_pursuit, min_l1_nnls
from reparamopt.exceptions import (
    InvalidArgumentError,
    InvalidTypeError,
    NonFiniteError,
    ShapeError,
)


def test_basis_pursuit_recovers_a_sparse_signed_vector(rng):
    A = rng.standard_normal((40, 100))
    x = np.zeros(100)
    x[[5, 50, 90]] = [1.0, -0.5, 2.0]
    for data in (A, sp.csr_array(A)):
        res = basis_pursuit(data, A @ x)
        assert res.success and res.status == 1
        np.testing.assert_allclose(res.x, x, atol=1e-8)
        np.testing.assert_array_equal(res.support, [5, 50, 90])
        assert res.optimality < 1e-9


def test_nonnegative_basis_pursuit_is_feasible_and_no_larger_than_lawson_hanson(rng):
    # Gaussian A with n > 2m: many non-negative solutions; the LP picks the smallest l1
    A = rng.standard_normal((10, 50)) / np.sqrt(10)
    x = np.zeros(50)
    x[[1, 2, 3]] = [0.6, 0.6, 0.5]
    b = A @ x
    res = basis_pursuit(A, b, nonnegative=True)
    lh, _ = scipy.optimize.nnls(A, b)
    assert np.all(res.x >= -1e-12)
    assert res.rnorm < 1e-8
    assert res.l1 <= lh.sum() + 1e-9
    assert res.l1 <= x.sum() + 1e-9


def test_min_l1_nnls_with_noise_is_an_nnls_solution(rng):
    A = rng.standard_normal((30, 60)) / np.sqrt(30)
    b = rng.standard_normal(30)
    res = min_l1_nnls(A, b)
    lh, rnorm = scipy.optimize.nnls(A, b)
    assert res.optimality < 1e-7
    assert res.rnorm == pytest.approx(rnorm, rel=1e-7)
    assert res.l1 <= lh.sum() + 1e-8


def test_infeasible_basis_pursuit_is_an_error(rng):
    A = np.abs(rng.standard_normal((5, 8)))
    with pytest.raises(InvalidArgumentError, match="cone"):
        basis_pursuit(A, -np.ones(5), nonnegative=True)


def test_bad_input(rng):
    A = rng.standard_normal((5, 8))
    b = np.ones(5)
    with pytest.raises(InvalidTypeError, match="LinearOperator"):
        basis_pursuit(aslinearoperator(A), b)
    with pytest.raises(ShapeError):
        min_l1_nnls(A, b[:4])
    with pytest.raises(NonFiniteError):
        basis_pursuit(A, np.full(5, np.nan))
    with pytest.raises(InvalidTypeError):
        basis_pursuit(A + 1j, b)
    with pytest.raises(InvalidTypeError, match="nonnegative"):
        basis_pursuit(A, b, nonnegative="no")
