"""Matrix-free measurement operators.

:class:`SubsampledFFT` is the operator of the paper's large experiment: real-valued
measurements of a real signal made of randomly chosen rows of the orthonormal real
Fourier basis. Products cost O(n log n) time and O(m + n) memory; the matrix is never
formed.

:class:`Convolution` is an N-D blur (deconvolution, microscopy, astronomy): products by
FFT, and its columns (shifted copies of the kernel) as a sparse matrix on demand, which
the exact finish of :func:`reparamopt.nnls` factors on the support of the solution.
"""


import numpy as np
import scipy.fft
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from .._utils.validation import check_choice, check_random_state, check_scalar
from ..exceptions import InvalidArgumentError, ShapeError

__all__ = ["SubsampledFFT", "Convolution", "CONVOLUTION_MODES"]


class SubsampledFFT(LinearOperator):
    r"""Randomly subsampled real Fourier transform, as a LinearOperator.

    The real signal :math:`x \in \mathbb{R}^n` has the orthonormal real Fourier basis

    .. math::

        \tfrac{1}{\sqrt n}, \quad
        \sqrt{\tfrac{2}{n}} \cos\!\big(\tfrac{2\pi k j}{n}\big), \quad
        -\sqrt{\tfrac{2}{n}} \sin\!\big(\tfrac{2\pi k j}{n}\big)
        \ (1 \le k < n/2), \quad \tfrac{1}{\sqrt n}(-1)^j \ (n \text{ even}),

    that is, the real and imaginary parts of the non-redundant half of the unitary DFT
    (the other half is their complex conjugate and carries no new information). The
    operator keeps ``m`` of these ``n`` rows, so that with ``scale="isometry"``
    :math:`A A^T = I_m` (a partial isometry) and with ``scale="unit-columns"`` the matrix
    is multiplied by :math:`\sqrt{n/m}`, which gives columns of unit norm on average,
    like a Gaussian matrix with N(0, 1/m) entries.

    Parameters
    ----------
    n : int
        Signal length.
    m : int
        Number of real measurements, ``1 <= m <= n``.
    rows : array_like of int, optional
        Indices (into the ``n`` basis rows ordered DC, cosines, sines, Nyquist) to keep;
        drawn uniformly without replacement when omitted.
    scale : {"unit-columns", "isometry"}, default "unit-columns"
    random_state : None, int or numpy Generator, default None
        Seed for the row choice.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.models.operators import SubsampledFFT
    >>> A = SubsampledFFT(64, 20, scale="isometry", random_state=0)
    >>> M = A @ np.eye(64)
    >>> bool(np.allclose(M @ M.T, np.eye(20)))
    True
    """

    def __init__(self, n, m, *, rows=None, scale="unit-columns", random_state=None):
        n = check_scalar(n, "n", lower=1, integer=True)
        m = check_scalar(m, "m", lower=1, upper=n, integer=True)
        self.scale_mode = check_choice(scale, "scale", ("unit-columns", "isometry"))
        half = n // 2
        n_cos = half + 1  # cosine rows for the frequencies 0..n//2
        # Layout of the n basis rows: cosines for k = 0..n//2, then sines for the
        # interior frequencies 1..(n-1)//2.
        freq = np.concatenate([np.arange(n_cos), np.arange(1, (n - 1) // 2 + 1)])
        imag = np.concatenate([np.zeros(n_cos, bool), np.ones((n - 1) // 2, bool)])
        edge = (freq == 0) | ((n % 2 == 0) & (freq == half))
        weight = np.where(edge, 1.0 / np.sqrt(n), np.sqrt(2.0 / n))
        if rows is None:
            rng = check_random_state(random_state)
            rows = np.sort(rng.choice(n, size=m, replace=False))
        else:
            rows = np.asarray(rows)
            if rows.ndim != 1 or rows.size != m:
                raise ShapeError(f"`rows` must be a 1-D array of {m} indices; got shape {rows.shape}")
            if not np.issubdtype(rows.dtype, np.integer) or rows.size and (
                    rows.min() < 0 or rows.max() >= n or np.unique(rows).size != m):
                raise InvalidArgumentError(
                    f"`rows` must hold {m} distinct integers in [0, {n}); got {rows!r}")
        factor = np.sqrt(n / m) if self.scale_mode == "unit-columns" else 1.0
        self.rows = rows
        self._n = n
        self._freq = freq[rows]
        self._imag = imag[rows]
        self._w = weight[rows] * factor
        self._re_sel = ~self._imag
        super().__init__(dtype=np.float64, shape=(m, n))

    def _matmat(self, X):
        X = np.asarray(X, dtype=np.float64)
        spec = np.fft.rfft(X, axis=0)
        out = np.where(self._imag[:, None], spec.imag[self._freq], spec.real[self._freq])
        return out * self._w[:, None]

    def _matvec(self, x):
        return self._matmat(np.reshape(x, (-1, 1)))[:, 0]

    def _rmatmat(self, Y):
        Y = np.asarray(Y, dtype=np.float64)
        n = self._n
        spec = np.zeros((n // 2 + 1, Y.shape[1]), dtype=np.complex128)
        wy = Y * self._w[:, None]
        spec.real[self._freq[self._re_sel]] = wy[self._re_sel]
        spec.imag[self._freq[self._imag]] = wy[self._imag]
        # irfft(Z)_j = (Z_0 + 2 sum Re(Z_k e^{2 pi i k j / n}) + Z_{n/2} (-1)^j) / n, so
        # interior frequencies are halved to get sum_k Re(Z_k e^{2 pi i k j / n}).
        top = n // 2 if n % 2 == 0 else n // 2 + 1
        spec[1:top] *= 0.5
        return n * np.fft.irfft(spec, n=n, axis=0)

    def _rmatvec(self, y):
        return self._rmatmat(np.reshape(y, (-1, 1)))[:, 0]

    def _adjoint(self):
        return _Adjoint(self)

    def __repr__(self):
        m, n = self.shape
        return f"SubsampledFFT(n={n}, m={m}, scale={self.scale_mode!r})"


class _Adjoint(LinearOperator):
    def __init__(self, op):
        self._op = op
        super().__init__(dtype=np.float64, shape=(op.shape[1], op.shape[0]))

    def _matvec(self, y):
        return self._op._rmatvec(y)

    def _matmat(self, Y):
        return self._op._rmatmat(Y)

    def _rmatvec(self, x):
        return self._op._matvec(x)

    def _rmatmat(self, X):
        return self._op._matmat(X)

    def _adjoint(self):
        return self._op


CONVOLUTION_MODES = ("same", "full", "valid", "periodic")
"""The output regions of :class:`Convolution` (scipy.signal.convolve's modes, and the
circular convolution of an image on a torus)."""


class Convolution(LinearOperator):
    r"""N-D convolution with a fixed kernel, as a LinearOperator on flattened arrays.

    .. math::

        (A x)[i] = \sum_j k[j] \, x[i - j + c],

    ``x`` an array of `shape` flattened in C order, ``k`` the `kernel` and ``c`` the
    offset of the output region: ``mode="same"`` (the default) keeps `shape` with the
    kernel centred (``c = kernel.shape // 2``) and zeros outside the image, as
    ``scipy.signal.convolve(x, k, mode="same")``; ``"full"`` and ``"valid"`` are that
    function's other modes; ``"periodic"`` is the circular convolution on `shape`
    (the kernel centred, wrapped around the edges).

    Products are computed by real FFTs of padded arrays (``O(n log n)``) and the
    adjoint is the exact correlation with the same kernel, for one vector or a batch of
    columns (``matmat``). :meth:`columns` returns columns of the matrix as a sparse
    array (each is the kernel shifted, cut at the boundary): :func:`reparamopt.nnls`
    uses them for the exact finish on the support of the solution, so that no dense
    matrix is ever formed.

    Parameters
    ----------
    kernel : array_like
        The point-spread function, with as many dimensions as `shape` (no larger than
        `shape` along any axis for ``"valid"``).
    shape : tuple of int
        Shape of the unknown array ``x``.
    mode : {"same", "full", "valid", "periodic"}, default "same"

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.signal import convolve
    >>> from reparamopt.models.operators import Convolution
    >>> kernel = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16
    >>> A = Convolution(kernel, (5, 6))
    >>> x = np.arange(30.0)
    >>> bool(np.allclose(A @ x, convolve(x.reshape(5, 6), kernel, mode="same").ravel()))
    True
    >>> A.shape, A.columns([0, 7]).shape
    ((30, 30), (30, 2))
    """

    def __init__(self, kernel, shape, *, mode="same"):
        self.mode = check_choice(mode, "mode", CONVOLUTION_MODES)
        shape = tuple(check_scalar(s, "shape", lower=1, integer=True) for s in np.atleast_1d(shape))
        kernel = np.asarray(kernel, dtype=np.float64)
        if kernel.ndim != len(shape) or kernel.size == 0:
            raise ShapeError(f"`kernel` must be a non-empty array with {len(shape)} dimensions "
                             f"(those of `shape` {shape}); got shape {kernel.shape}")
        if not np.all(np.isfinite(kernel)):
            raise InvalidArgumentError("`kernel` must hold finite numbers")
        if self.mode == "valid" and any(k > s for k, s in zip(kernel.shape, shape)):
            raise ShapeError(f"`kernel` of shape {kernel.shape} is larger than `shape` {shape} "
                             "along some axis: mode='valid' has no output")
        self.kernel, self.image_shape = kernel, shape
        full = tuple(s + k - 1 for s, k in zip(shape, kernel.shape))
        if self.mode == "periodic":
            self._size, self._start = shape, tuple(k // 2 for k in kernel.shape)
            self.output_shape = shape
        else:
            self._size = tuple(scipy.fft.next_fast_len(f, real=True) for f in full)
            starts = {"full": (0,) * len(shape),
                      "same": tuple((k - 1) // 2 for k in kernel.shape),
                      "valid": tuple(k - 1 for k in kernel.shape)}
            self._start = starts[self.mode]
            self.output_shape = {"full": full, "same": shape,
                                 "valid": tuple(s - k + 1 for s, k in zip(shape, kernel.shape))
                                 }[self.mode]
        self._axes = tuple(range(len(shape)))
        self._spectrum = scipy.fft.rfftn(self._embedded(kernel), s=self._size, axes=self._axes)
        super().__init__(dtype=np.float64, shape=(int(np.prod(self.output_shape)),
                                                  int(np.prod(shape))))

    def _embedded(self, kernel):
        """The kernel on the FFT grid (wrapped around it in periodic mode)."""
        if self.mode != "periodic":
            return kernel
        grid = np.zeros(self._size)
        index = np.ix_(*[np.arange(k) % s for k, s in zip(kernel.shape, self._size)])
        np.add.at(grid, index, kernel)
        return grid

    def _window(self, start, size):
        return tuple(slice(a, a + s) for a, s in zip(start, size)) + (slice(None),)

    def _matmat(self, X):
        X = np.asarray(X, dtype=np.float64).reshape(self.image_shape + (-1,))
        spec = scipy.fft.rfftn(X, s=self._size, axes=self._axes)
        full = scipy.fft.irfftn(spec * self._spectrum[..., None], s=self._size, axes=self._axes)
        start = self._start
        if self.mode == "periodic":
            full = np.roll(full, [-a for a in start], axis=self._axes)
            start = (0,) * len(start)
        return full[self._window(start, self.output_shape)].reshape(self.shape[0], -1)

    def _rmatmat(self, Y):
        Y = np.asarray(Y, dtype=np.float64).reshape(self.output_shape + (-1,))
        if self.mode == "periodic":
            Y = np.roll(Y, list(self._start), axis=self._axes)
            start = (0,) * len(self._size)
        else:
            start = self._start
        padded = np.zeros(self._size + Y.shape[-1:])
        padded[self._window(start, self.output_shape)] = Y
        spec = scipy.fft.rfftn(padded, axes=self._axes)
        back = scipy.fft.irfftn(spec * np.conj(self._spectrum)[..., None], s=self._size,
                                axes=self._axes)
        return back[self._window((0,) * len(self._size), self.image_shape)].reshape(self.shape[1], -1)

    def _matvec(self, x):
        return self._matmat(np.reshape(x, (-1, 1)))[:, 0]

    def _rmatvec(self, y):
        return self._rmatmat(np.reshape(y, (-1, 1)))[:, 0]

    def _adjoint(self):
        return _Adjoint(self)

    def columns(self, idx):
        """The columns `idx` of the matrix, as a sparse ``(m, len(idx))`` CSC array
        (``tosparse()`` for all of them)."""
        idx = np.asarray(idx, dtype=np.intp).ravel()
        taps = np.argwhere(self.kernel != 0)
        values = self.kernel[tuple(taps.T)]
        pixel = np.stack(np.unravel_index(idx, self.image_shape), axis=1)
        # output position of tap t of the kernel placed on pixel p: p + t - start
        where = pixel[:, None, :] + (taps - np.asarray(self._start))[None, :, :]
        out = np.asarray(self.output_shape)
        shape = (self.shape[0], idx.size)
        if self.mode == "periodic":
            rows = np.ravel_multi_index(tuple(np.moveaxis(where % out, 2, 0)), self.output_shape)
            cols = np.broadcast_to(np.arange(idx.size)[:, None], rows.shape)
            data = np.broadcast_to(values, rows.shape)
            return sp.csc_array(sp.coo_array((data.ravel(), (rows.ravel(), cols.ravel())), shape))
        inside = np.all((where >= 0) & (where < out), axis=2)
        # taps in C order land on increasing rows: the entries are already in CSC order
        strides = np.cumprod((self.output_shape + (1,))[:0:-1])[::-1]
        rows = (where @ strides)[inside]
        indptr = np.concatenate([[0], np.cumsum(inside.sum(axis=1))])
        data = np.broadcast_to(values, inside.shape)[inside]
        return sp.csc_array((data, rows, indptr), shape=shape)

    def column_norms(self):
        """The Euclidean norms of the columns (the squared kernel correlated with ones;
        in periodic mode every column is a shift of the kernel wrapped on the grid)."""
        if self.mode == "periodic":
            return np.full(self.shape[1], np.linalg.norm(self._embedded(self.kernel)))
        squares = Convolution(self.kernel ** 2, self.image_shape, mode=self.mode)
        return np.sqrt(np.maximum(squares.rmatvec(np.ones(self.shape[0])), 0.0))

    def tosparse(self):
        """The whole matrix as a sparse CSC array."""
        return self.columns(np.arange(self.shape[1]))

    def __repr__(self):
        return (f"Convolution(kernel of shape {self.kernel.shape}, shape={self.image_shape}, "
                f"mode={self.mode!r})")
