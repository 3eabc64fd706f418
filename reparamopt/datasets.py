r"""Test problems for non-negative least squares, from easy to ill-conditioned.

Random Gaussian matrices are the easy case. The data NNLS users have are mostly
ill-conditioned: spectra made of overlapping peaks, blurred signals, monotone fits,
polynomial bases, columns on scales many decades apart. Each generator returns an
:class:`NNLSData` ``(A, b, x_true)`` with ``b = A x_true + noise`` and a seeded
`random_state`, for tests, benchmarks and tutorials.

============================  ==========================================  ==============
generator                     what it models                              cond(A)
============================  ==========================================  ==============
:func:`make_gaussian`         the paper's generator, ``A ~ N(0, 1/m)``    ~ 1e1 - 1e3
:func:`make_peak_library`     spectral unmixing, overlapping peaks        1e12 - 1e19
:func:`make_blur`             Gaussian-blur deconvolution (Toeplitz)      1e8 - 1e20
:func:`make_hilbert`          the Hilbert matrix                          1e13 (n = 10)
:func:`make_vandermonde`      a monomial basis on [0, 1]                  1e8 - 1e17
:func:`make_near_duplicates`  columns repeated up to a tiny perturbation  1 / eps
:func:`make_monotone`         weighted monotone regression on increments  ~ n sqrt(w)
:func:`make_scaled_columns`   column scales over many decades             1e12 and more
:func:`make_rank_deficient`   tall, rank below n                          inf
:func:`make_svd`              prescribed singular values                  as asked
:func:`make_sparse`           sparse, with spread column scales           1e6 - 1e12
:func:`make_nmf_subproblem`   NMF's inner problem, many right-hand sides  1e2 - 1e6
:func:`make_deconvolution`    an N-D blurred image (sparse Kronecker)     1e5 - 1e10
============================  ==========================================  ==============
"""

from typing import NamedTuple

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from ._utils.validation import check_random_state, check_scalar

__all__ = ["NNLSData", "make_gaussian", "make_peak_library", "make_blur", "make_hilbert",
           "make_vandermonde", "make_near_duplicates", "make_monotone", "make_scaled_columns",
           "make_rank_deficient", "make_svd", "make_sparse", "make_nmf_subproblem",
           "make_deconvolution", "blur_kernel", "make_unmixing"]


class NNLSData(NamedTuple):
    """A test problem: ``b = A x_true + noise``."""

    A: object
    b: np.ndarray
    x_true: np.ndarray


def _size(value, name, lower=1):
    return check_scalar(value, name, lower=lower, integer=True)


def _sparse_signal(rng, n, s, k=None, low=0.5, high=2.0):
    shape = (n,) if k is None else (n, k)
    x = np.zeros(shape)
    for j in range(1 if k is None else k):
        idx = rng.choice(n, size=min(s, n), replace=False)
        vals = rng.uniform(low, high, idx.size)
        if k is None:
            x[idx] = vals
        else:
            x[idx, j] = vals
    return x


def _observe(rng, A, x, noise):
    """``A x`` plus Gaussian noise of relative size `noise` (of the largest entry)."""
    b = A @ x
    top = float(np.max(np.abs(b))) if b.size else 0.0
    return b + noise * top * rng.standard_normal(b.shape)


def make_gaussian(m, n, *, support=None, zeros=0.0, noise=0.0, k=None, random_state=0):
    """The paper's generator: ``A ~ N(0, 1/m)``, ``x_true >= 0`` of unit norm.

    Parameters
    ----------
    m, n : int
        Shape of ``A``.
    support : int, optional
        Number of non-zeros of ``x_true`` (default: all, as in the timing experiments).
    zeros : float, default 0
        Fraction of entries of ``x_true`` set to zero at random (after `support`).
    noise : float, default 0
        Standard deviation of the Gaussian noise added to ``b``.
    k : int, optional
        Number of right-hand sides (``b`` and ``x_true`` are then 2-D).
    random_state : int or numpy Generator, default 0

    Examples
    --------
    >>> from reparamopt.datasets import make_gaussian
    >>> A, b, x = make_gaussian(20, 10, support=3)
    >>> A.shape, int((x > 0).sum())
    ((20, 10), 3)
    """
    m, n = _size(m, "m", 0), _size(n, "n", 0)
    rng = check_random_state(random_state)
    A = rng.standard_normal((m, n)) / np.sqrt(max(m, 1))
    shape = (n,) if k is None else (n, _size(k, "k"))
    x = np.abs(rng.standard_normal(shape))
    if support is not None:
        for j in range(1 if k is None else shape[1]):
            off = rng.permutation(n)[_size(support, "support", 0):]
            if k is None:
                x[off] = 0.0
            else:
                x[off, j] = 0.0
    if zeros:
        x[rng.random(shape) < zeros] = 0.0
    norms = np.linalg.norm(x, axis=0)
    x = x / np.where(norms > 0, norms, 1.0)
    return NNLSData(A, A @ x + noise * rng.standard_normal((m,) + shape[1:]), x)


def make_peak_library(m=2000, n=400, *, width=(0.005, 0.03), active=20, noise=1e-3, k=None,
                      random_state=0):
    """Spectral unmixing: a library of ``n`` Gaussian peaks sampled on ``m`` channels.

    Peak centres are uniform on [0.02, 0.98] and widths uniform in `width` (fractions of
    the spectral range), so that neighbouring peaks overlap heavily; ``x_true`` holds
    `active` abundances in [0.5, 2]. With the defaults cond(A) ~ 1e17-1e19.

    Examples
    --------
    >>> from reparamopt.datasets import make_peak_library
    >>> A, b, x = make_peak_library(200, 40, active=5)
    >>> bool(A.min() >= 0), int((x > 0).sum())
    (True, 5)
    """
    m, n = _size(m, "m"), _size(n, "n")
    rng = check_random_state(random_state)
    t = np.linspace(0.0, 1.0, m)
    centres = np.sort(rng.uniform(0.02, 0.98, n))
    widths = rng.uniform(width[0], width[1], n)
    A = np.exp(-0.5 * ((t[:, None] - centres) / widths) ** 2)
    x = _sparse_signal(rng, n, _size(active, "active"), None if k is None else _size(k, "k"))
    return NNLSData(A, _observe(rng, A, x, noise), x)


def make_blur(n=200, *, sigma=3.0, noise=1e-3, random_state=0):
    """Gaussian-blur deconvolution: ``A`` the Toeplitz blur of width `sigma` (samples).

    ``x_true`` is a non-negative signal of spikes and plateaus. cond(A) grows quickly
    with `sigma`: about 1e8 for sigma = 1.5 and above 1e16 from sigma = 3 (n = 200).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.datasets import make_blur
    >>> A, b, x = make_blur(50, sigma=2.0)
    >>> A.shape, bool(np.allclose(A, A.T))
    ((50, 50), True)
    """
    n = _size(n, "n")
    sigma = check_scalar(sigma, "sigma", lower=0, lower_inclusive=False)
    rng = check_random_state(random_state)
    offsets = np.arange(n)
    A = sla.toeplitz(np.exp(-0.5 * (offsets / sigma) ** 2)) / (np.sqrt(2 * np.pi) * sigma)
    x = _sparse_signal(rng, n, max(3, n // 20))
    width = max(1, n // 10)
    for _ in range(3):
        a = int(rng.integers(0, max(1, n - width)))
        x[a:a + width] += rng.uniform(0.2, 1.0)
    return NNLSData(A, _observe(rng, A, x, noise), x)


def make_hilbert(n=10, *, noise=1e-3, random_state=0):
    """The Hilbert matrix ``A_ij = 1 / (i + j + 1)``, square, cond ~ e^(3.5 n).

    Examples
    --------
    >>> from reparamopt.datasets import make_hilbert
    >>> make_hilbert(3).A[0]
    array([1.        , 0.5       , 0.33333333])
    """
    n = _size(n, "n")
    rng = check_random_state(random_state)
    A = sla.hilbert(n)
    x = _sparse_signal(rng, n, max(1, n // 3))
    return NNLSData(A, _observe(rng, A, x, noise), x)


def make_vandermonde(m=100, n=12, *, noise=1e-3, random_state=0):
    """A polynomial fit with non-negative coefficients: columns ``t^j`` on ``m``
    nodes of [0, 1] (cond ~ 1e8 at n = 10, 1e16 at n = 20).

    Examples
    --------
    >>> from reparamopt.datasets import make_vandermonde
    >>> make_vandermonde(5, 3).A[-1]
    array([1., 1., 1.])
    """
    m, n = _size(m, "m"), _size(n, "n")
    rng = check_random_state(random_state)
    A = np.vander(np.linspace(0.0, 1.0, m), n, increasing=True)
    x = _sparse_signal(rng, n, max(1, n // 2))
    return NNLSData(A, _observe(rng, A, x, noise), x)


def make_near_duplicates(m=100, n=40, *, duplicates=10, eps=1e-10, noise=1e-2, random_state=0):
    """Gaussian columns, `duplicates` of them repeated with a relative perturbation `eps`.

    Examples
    --------
    >>> from reparamopt.datasets import make_near_duplicates
    >>> A, b, x = make_near_duplicates(30, 10, duplicates=2, eps=1e-12)
    >>> A.shape
    (30, 12)
    """
    m, n = _size(m, "m"), _size(n, "n")
    rng = check_random_state(random_state)
    base = rng.standard_normal((m, n)) / np.sqrt(m)
    pick = rng.choice(n, size=min(_size(duplicates, "duplicates", 0), n), replace=False)
    copies = base[:, pick] * (1.0 + eps * rng.standard_normal((m, pick.size)))
    A = np.hstack([base, copies])
    x = np.abs(rng.standard_normal(A.shape[1])) * (rng.random(A.shape[1]) < 0.5)
    return NNLSData(A, _observe(rng, A, x, noise), x)


def make_monotone(n=300, *, decades=6, noise=0.1, random_state=0):
    r"""Weighted monotone (isotonic) regression written as NNLS on increments.

    A non-decreasing fit ``y = L x`` (``L`` lower triangular of ones, ``x >= 0`` the
    increments, the first one the offset) of data ``d`` with weights ``w`` spread over
    `decades` decades: ``A = diag(sqrt(w)) L``, ``b = sqrt(w) d``.

    Examples
    --------
    >>> from reparamopt.datasets import make_monotone
    >>> A, b, x = make_monotone(4, decades=0)
    >>> A
    array([[1., 0., 0., 0.],
           [1., 1., 0., 0.],
           [1., 1., 1., 0.],
           [1., 1., 1., 1.]])
    """
    n = _size(n, "n")
    rng = check_random_state(random_state)
    t = np.linspace(0.0, 1.0, n)
    curve = 1.0 + np.floor(4 * t) + t ** 2
    x = np.diff(curve, prepend=0.0)
    weights = 10.0 ** rng.uniform(-decades / 2, decades / 2, n)
    root = np.sqrt(weights)
    A = root[:, None] * np.tril(np.ones((n, n)))
    data = curve + noise * rng.standard_normal(n)
    return NNLSData(A, root * data, x)


def make_scaled_columns(m=120, n=60, *, decades=12, noise=1e-2, random_state=0):
    """Gaussian columns multiplied by scales spread log-uniformly over `decades` decades
    (units that differ: the solution is scale-free, a careless tolerance is not).

    Examples
    --------
    >>> from reparamopt.datasets import make_scaled_columns
    >>> A, b, x = make_scaled_columns(20, 5, decades=4)
    >>> A.shape
    (20, 5)
    """
    m, n = _size(m, "m"), _size(n, "n")
    rng = check_random_state(random_state)
    scales = 10.0 ** np.linspace(-decades / 2, decades / 2, n)
    rng.shuffle(scales)
    A = rng.standard_normal((m, n)) * scales
    x = np.abs(rng.standard_normal(n)) / scales * (rng.random(n) < 0.7)
    return NNLSData(A, _observe(rng, A, x, noise), x)


def make_rank_deficient(m=200, n=80, *, rank=30, noise=1e-2, random_state=0):
    """A tall matrix of rank `rank` < n (many minimizers, one minimum value).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.datasets import make_rank_deficient
    >>> A, b, x = make_rank_deficient(30, 10, rank=4)
    >>> int(np.linalg.matrix_rank(A))
    4
    """
    m, n = _size(m, "m"), _size(n, "n")
    rng = check_random_state(random_state)
    A = rng.standard_normal((m, _size(rank, "rank"))) @ rng.standard_normal((rank, n)) / m
    x = np.abs(rng.standard_normal(n))
    return NNLSData(A, _observe(rng, A, x, noise), x)


def make_svd(m=80, n=60, *, cond=1e10, noise=1e-2, random_state=0):
    """``A = U diag(s) V^T`` with random orthogonal ``U, V`` and ``s`` log-spaced from 1
    to ``1 / cond`` (entries of both signs; the hardest case for a tolerance).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.datasets import make_svd
    >>> A, b, x = make_svd(10, 6, cond=1e6)
    >>> bool(abs(np.linalg.cond(A) / 1e6 - 1) < 1e-3)
    True
    """
    m, n = _size(m, "m"), _size(n, "n")
    cond = check_scalar(cond, "cond", lower=1)
    rng = check_random_state(random_state)
    r = min(m, n)
    U, _ = np.linalg.qr(rng.standard_normal((m, r)))
    V, _ = np.linalg.qr(rng.standard_normal((n, r)))
    s = np.logspace(0.0, -np.log10(cond), r)
    A = (U * s) @ V.T
    x = np.abs(rng.standard_normal(n)) * (rng.random(n) < 0.6)
    return NNLSData(A, _observe(rng, A, x, noise), x)


def make_sparse(m=2000, n=400, *, density=0.01, decades=6, noise=1e-2, random_state=0):
    """A sparse CSR matrix with column scales spread over `decades` decades and a few
    nearly dependent columns.

    Examples
    --------
    >>> from reparamopt.datasets import make_sparse
    >>> A, b, x = make_sparse(100, 20, density=0.2)
    >>> A.format, A.shape
    ('csr', (100, 20))
    """
    m, n = _size(m, "m"), _size(n, "n")
    rng = check_random_state(random_state)
    copies = max(1, n // 10)
    base = sp.random_array((m, n - copies), density=density, rng=rng, format="csc")
    # a tenth of the columns are near copies of others
    src = rng.choice(n - copies, size=copies)
    near = base[:, src] @ sp.diags_array(1.0 + 1e-6 * rng.standard_normal(copies))
    A = sp.hstack([base, near], format="csc")
    scales = 10.0 ** rng.uniform(-decades / 2, decades / 2, n)
    A = sp.csr_array(A @ sp.diags_array(scales))
    x = np.abs(rng.standard_normal(n)) / scales * (rng.random(n) < 0.5)
    return NNLSData(A, _observe(rng, A, x, noise), x)


def make_nmf_subproblem(m=500, r=20, k=500, *, width=0.05, sparsity=0.5, noise=1e-2,
                        random_state=0):
    """NMF's inner problem: fixed non-negative factor ``W`` (``m x r`` overlapping
    bumps), ``k`` right-hand sides ``B = W H + noise`` with a sparse ``H >= 0``.

    Returns ``NNLSData(W, B, H)``.

    Examples
    --------
    >>> from reparamopt.datasets import make_nmf_subproblem
    >>> W, B, H = make_nmf_subproblem(50, 4, 7)
    >>> W.shape, B.shape, H.shape
    ((50, 4), (50, 7), (4, 7))
    """
    m, r, k = _size(m, "m"), _size(r, "r"), _size(k, "k")
    rng = check_random_state(random_state)
    t = np.linspace(0.0, 1.0, m)
    centres = np.sort(rng.uniform(0.0, 1.0, r))
    W = np.exp(-0.5 * ((t[:, None] - centres) / width) ** 2) + 0.01
    H = np.abs(rng.standard_normal((r, k))) * (rng.random((r, k)) < sparsity)
    B = W @ H + noise * rng.standard_normal((m, k))
    return NNLSData(W, B, H)


def blur_kernel(ndim=2, *, width=7, sigma=1.5):
    """The ``width^ndim`` Gaussian blur of :func:`make_deconvolution`: the outer product
    of `ndim` copies of a `width`-tap Gaussian of standard deviation `sigma`, summing to 1.

    Examples
    --------
    >>> from reparamopt.datasets import blur_kernel
    >>> kernel = blur_kernel(2, width=3, sigma=1.0)
    >>> kernel.shape, round(float(kernel.sum()), 12)
    ((3, 3), 1.0)
    """
    ndim = _size(ndim, "ndim")
    width = _size(width, "width")
    sigma = check_scalar(sigma, "sigma", lower=0, lower_inclusive=False)
    taps = np.exp(-0.5 * ((np.arange(width) - (width - 1) / 2) / sigma) ** 2)
    taps /= taps.sum()
    kernel = taps
    for _ in range(ndim - 1):
        kernel = np.multiply.outer(kernel, taps)
    return kernel


def make_deconvolution(shape=(64, 64), *, width=7, sigma=1.5, noise=1e-3, random_state=0):
    """N-D deconvolution: bright boxes on a dark background under a Gaussian blur.

    ``A`` is the sparse matrix (CSR, the Kronecker product of 1-D blurs) of the
    convolution of an image of `shape`, flattened in C order, with
    :func:`blur_kernel` (zero boundary, the kernel centred); the same matrix,
    matrix-free with FFT products, is
    ``reparamopt.models.operators.Convolution(blur_kernel(len(shape), width=width,
    sigma=sigma), shape)``. ``x_true`` holds 8 boxes of 2 to 7 pixels a side per 64^2
    pixels (at least one). cond(A) is about 3e5 for 32 x 32 and 7e9 for 256 x 256
    (7 taps, sigma 1.5).

    Examples
    --------
    >>> from reparamopt.datasets import make_deconvolution
    >>> A, b, x = make_deconvolution((16, 20))
    >>> A.shape, b.shape, bool(x.min() >= 0)
    ((320, 320), (320,), True)
    """
    shape = tuple(_size(side, "shape") for side in np.atleast_1d(shape))
    taps = blur_kernel(1, width=width, sigma=sigma)
    A = sp.csr_array(np.ones((1, 1)))
    for side in shape:
        offsets = np.arange(width) - (width - 1) // 2
        blur = sp.diags_array([np.full(side - abs(int(o)), t) for o, t in zip(offsets, taps[::-1])],
                              offsets=list(-offsets), shape=(side, side), format="csr")
        A = sp.csr_array(sp.kron(A, blur, format="csr"))
    rng = check_random_state(random_state)
    image = np.zeros(shape)
    for _ in range(max(1, round(8 * image.size / 64 ** 2))):
        corner = [int(rng.integers(0, max(1, side - 8))) for side in shape]
        box = tuple(slice(c, c + int(rng.integers(2, 8))) for c in corner)
        image[box] += rng.uniform(0.5, 1.0)
    x = image.ravel()
    return NNLSData(A, _observe(rng, A, x, noise), x)


def make_unmixing(m=300, n=200, k=100, *, active=5, bumps=3, width=(0.05, 0.2), noise=1e-3,
                  random_state=0):
    """Fully constrained unmixing: ``k`` pixels mixing a library of ``n`` smooth spectra.

    Each spectrum (column of ``A``, ``m`` bands) is a sum of `bumps` broad Gaussians with
    centres uniform on [0, 1] and widths uniform in `width`, so that the spectra overlap
    heavily (cond(A) ~ 1e17 with the defaults). Each pixel (column of ``x_true``) holds
    `active` abundances, non-negative and summing to one (a flat Dirichlet draw).

    Examples
    --------
    >>> from reparamopt.datasets import make_unmixing
    >>> A, B, X = make_unmixing(50, 20, 4, active=3)
    >>> A.shape, B.shape, bool(abs(X.sum(axis=0) - 1).max() < 1e-12)
    ((50, 20), (50, 4), True)
    """
    m, n, k = _size(m, "m"), _size(n, "n"), _size(k, "k")
    rng = check_random_state(random_state)
    t = np.linspace(0.0, 1.0, m)[:, None, None]
    centres = rng.uniform(0.0, 1.0, (1, n, bumps))
    widths = rng.uniform(width[0], width[1], (1, n, bumps))
    heights = rng.uniform(0.2, 1.0, (1, n, bumps))
    A = np.sum(heights * np.exp(-0.5 * ((t - centres) / widths) ** 2), axis=2)
    X = np.zeros((n, k))
    for j in range(k):
        idx = rng.choice(n, size=min(_size(active, "active"), n), replace=False)
        X[idx, j] = rng.dirichlet(np.ones(idx.size))
    return NNLSData(A, _observe(rng, A, X, noise), X)
