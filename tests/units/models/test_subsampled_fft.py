"""Tests of the subsampled FFT operator: exact adjoint, partial isometry, NNLS use."""

import numpy as np
import pytest

import reparamopt as ro
from reparamopt.exceptions import InvalidArgumentError, ShapeError
from reparamopt.models.operators import SubsampledFFT


@pytest.mark.parametrize("n, m", [(16, 5), (17, 9), (64, 64), (101, 40)])
@pytest.mark.parametrize("scale", ["isometry", "unit-columns"])
def test_adjoint_is_exact(n, m, scale):
    rng = np.random.default_rng(n + m)
    A = SubsampledFFT(n, m, scale=scale, random_state=1)
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    assert (A @ x) @ y == pytest.approx(x @ A.rmatvec(y), rel=1e-12)
    X, Y = rng.standard_normal((n, 3)), rng.standard_normal((m, 3))
    np.testing.assert_allclose((A @ X).T @ Y, X.T @ (A.H @ Y), rtol=1e-12, atol=1e-12)
    dense = A @ np.eye(n)
    np.testing.assert_allclose(A.T @ np.eye(m), dense.T, atol=1e-13)


@pytest.mark.parametrize("n", [32, 33])
def test_partial_isometry_and_unit_columns(n):
    m = n // 2
    iso = SubsampledFFT(n, m, scale="isometry", random_state=2) @ np.eye(n)
    np.testing.assert_allclose(iso @ iso.T, np.eye(m), atol=1e-13)
    full = SubsampledFFT(n, n, scale="isometry", random_state=2) @ np.eye(n)
    np.testing.assert_allclose(full.T @ full, np.eye(n), atol=1e-13)  # orthogonal
    unit = SubsampledFFT(n, m, random_state=2) @ np.eye(n)
    np.testing.assert_allclose(unit, iso * np.sqrt(n / m))
    assert np.mean(np.sum(unit ** 2, axis=0)) == pytest.approx(1.0)


def test_measurements_are_the_real_dft():
    n = 12
    A = SubsampledFFT(n, n, scale="isometry", rows=np.arange(n))
    x = np.random.default_rng(3).standard_normal(n)
    spec = np.fft.rfft(x) / np.sqrt(n)
    expected = np.concatenate([[spec[0].real], np.sqrt(2) * spec[1:6].real, [spec[6].real],
                               np.sqrt(2) * spec[1:6].imag])
    np.testing.assert_allclose(A @ x, expected, atol=1e-13)


def test_nnls_matrix_free_matches_dense():
    n, m, s = 400, 200, 8
    rng = np.random.default_rng(4)
    A = SubsampledFFT(n, m, random_state=5)
    x = np.zeros(n)
    x[rng.permutation(n)[:s]] = np.abs(rng.standard_normal(s))
    b = A @ x
    res = ro.nnls(A, b)
    assert res.optimality <= 1e-10 and np.all(res.x >= 0)
    dense = ro.nnls(A @ np.eye(n), b)
    np.testing.assert_allclose(res.x, dense.x, atol=1e-8)
    np.testing.assert_allclose(res.x, x, atol=1e-8)


def test_bad_arguments():
    with pytest.raises(InvalidArgumentError, match="`m`"):
        SubsampledFFT(10, 11)
    with pytest.raises(InvalidArgumentError, match="`scale`"):
        SubsampledFFT(10, 5, scale="gaussian")
    with pytest.raises(ShapeError, match="`rows`"):
        SubsampledFFT(10, 5, rows=[0, 1])
    with pytest.raises(InvalidArgumentError, match="`rows`"):
        SubsampledFFT(10, 3, rows=[0, 0, 1])
