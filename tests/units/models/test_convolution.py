"""Tests of the convolution operator: exact adjoint, agreement with scipy.signal and
with the sparse Kronecker blur, its columns and column norms, validation."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.signal import convolve

from reparamopt.datasets import blur_kernel, make_deconvolution
from reparamopt.exceptions import InvalidArgumentError, ShapeError, UnknownNameError
from reparamopt.models.operators import CONVOLUTION_MODES, Convolution

CASES = [((7, 9), (3, 4)), ((11,), (5,)), ((5, 6, 4), (3, 2, 3)), ((4, 5), (7, 3))]


def _periodic(x, kernel):
    """The circular convolution with the kernel centred, by explicit shifts."""
    out = np.zeros_like(x)
    centre = [k // 2 for k in kernel.shape]
    for tap in np.ndindex(*kernel.shape):
        shift = [t - c for t, c in zip(tap, centre)]
        out += kernel[tap] * np.roll(x, shift, axis=tuple(range(x.ndim)))
    return out


def _operators():
    rng = np.random.default_rng(0)
    for shape, size in CASES:
        kernel = rng.standard_normal(size)
        for mode in CONVOLUTION_MODES:
            if mode == "valid" and any(k > s for k, s in zip(size, shape)):
                continue
            yield Convolution(kernel, shape, mode=mode)


@pytest.mark.parametrize("A", list(_operators()), ids=repr)
def test_adjoint_and_batches_are_exact(A):
    rng = np.random.default_rng(1)
    m, n = A.shape
    x, y = rng.standard_normal(n), rng.standard_normal(m)
    assert (A @ x) @ y == pytest.approx(x @ A.rmatvec(y), rel=1e-12, abs=1e-12)
    X, Y = rng.standard_normal((n, 3)), rng.standard_normal((m, 2))
    dense = A.tosparse().toarray()
    np.testing.assert_allclose(A @ X, dense @ X, atol=1e-12)
    np.testing.assert_allclose(A.H @ Y, dense.T @ Y, atol=1e-12)
    np.testing.assert_allclose(A @ np.eye(n), dense, atol=1e-12)


@pytest.mark.parametrize("A", list(_operators()), ids=repr)
def test_agrees_with_scipy_signal(A):
    x = np.random.default_rng(2).standard_normal(A.image_shape)
    if A.mode == "periodic":
        expected = _periodic(x, A.kernel)
    else:
        expected = convolve(x, A.kernel, mode=A.mode, method="direct")
    np.testing.assert_allclose(A @ x.ravel(), expected.ravel(), atol=1e-12)


@pytest.mark.parametrize("A", list(_operators()), ids=repr)
def test_columns_and_norms(A):
    idx = np.array([0, A.shape[1] - 1, A.shape[1] // 2])
    cols = A.columns(idx)
    assert sp.issparse(cols) and cols.shape == (A.shape[0], 3)
    np.testing.assert_allclose(cols.toarray(), (A @ np.eye(A.shape[1]))[:, idx], atol=1e-12)
    full = A.tosparse().toarray()
    np.testing.assert_allclose(A.column_norms(), np.linalg.norm(full, axis=0), atol=1e-12)


def _kronecker_blur(side, width=7, sigma=1.5):
    """The 2-D Gaussian blur written out independently: the Kronecker product of two
    banded 1-D blurs (zero boundary)."""
    half = width // 2
    weights = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    one = sp.diags_array(list(weights / weights.sum()), offsets=list(range(-half, half + 1)),
                         shape=(side, side), format="csr")
    return sp.csr_array(sp.kron(one, one, format="csr"))


def test_is_the_sparse_kronecker_blur():
    A, S = Convolution(blur_kernel(2), (20, 20)), _kronecker_blur(20)
    assert abs(A.tosparse() - S).max() == 0.0
    x = np.random.default_rng(3).random(400)
    np.testing.assert_allclose(A @ x, S @ x, atol=1e-14)
    np.testing.assert_allclose(A.rmatvec(x), S.T @ x, atol=1e-14)
    data = make_deconvolution((20, 20), random_state=1)
    assert abs(data.A - S).max() < 1e-15
    assert data.x_true.shape == (400,) and data.x_true.min() >= 0 and data.x_true.max() > 0


@pytest.mark.parametrize("shape, width", [((9, 11), 7), ((5, 6, 7), 3), ((12,), 4)])
def test_dataset_matrix_is_the_operator(shape, width):
    data = make_deconvolution(shape, width=width, random_state=2)
    A = Convolution(blur_kernel(len(shape), width=width), shape)
    assert abs(A.tosparse() - data.A).max() < 1e-15


def test_invalid_arguments_are_named():
    with pytest.raises(ShapeError, match="`kernel`"):
        Convolution(np.ones(3), (4, 4))
    with pytest.raises(ShapeError, match="valid"):
        Convolution(np.ones((5, 1)), (4, 4), mode="valid")
    with pytest.raises(UnknownNameError, match="`mode`"):
        Convolution(np.ones((3, 3)), (4, 4), mode="reflect")
    with pytest.raises(InvalidArgumentError, match="finite"):
        Convolution(np.array([[np.nan]]), (4, 4))
