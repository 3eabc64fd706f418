"""Matrix-free measurement operators.

:class:`SubsampledFFT` is the operator of the paper's large experiment: real-valued
measurements of a real signal made of randomly chosen rows of the orthonormal real
Fourier basis. Products cost O(n log n) time and O(m + n) memory; the matrix is never
formed.
"""


import numpy as np
from scipy.sparse.linalg import LinearOperator

from .._utils.validation import check_choice, check_random_state, check_scalar
from ..exceptions import InvalidArgumentError, ShapeError

__all__ = ["SubsampledFFT"]


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
