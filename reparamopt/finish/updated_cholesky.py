r"""A Cholesky factor of ``A_F^T A_F`` kept up to date as the passive set ``F`` changes.

An active-set method on a wide matrix visits passive sets of up to ``m`` columns that
differ from one solve to the next in a few columns. Factoring each afresh costs
``|F|^3 / 3``; :class:`UpdatedCholesky` instead keeps ``R`` with ``R^T R = G_FF`` (the
columns in the order they entered) and changes it:

* columns leave: their rows of ``R`` are folded into the kept ones by an orthogonal
  (triangular-pentagonal) QR, LAPACK's ``dtpqrt``, stable, ``O(|F|^2)`` per column;
* columns enter: ``R`` is bordered, ``W = R^{-T} G_{F,a}`` and the Cholesky factor of
  the Schur complement ``G_aa - W^T W``, ``O(|F|^2 a)``; a column whose sine to the span
  of the others is below :data:`~.least_squares.RHO_CHOLESKY` is refused, as in a fresh
  factorization.

The Gram entries come from the caller (a stored Gram matrix or a
:class:`~.gram.GramCache`).
"""

import numpy as np
import scipy.linalg as sla

__all__ = ["UpdatedCholesky"]

_TINY = np.finfo(float).tiny
_potrf, _trtrs, _tpqrt = sla.lapack.dpotrf, sla.lapack.dtrtrs, sla.lapack.dtpqrt

# Smallest passive set worth updating rather than factoring afresh: below it the
# copies of an update cost more than the factorization (measured on one thread, 600
# rows: at 256 columns a fresh factor from cached entries takes 0.6 ms, swapping one
# column 0.74 ms, at 128 columns 0.14 against 0.24 ms).
UPDATE_FROM = 400

# A deleted column costs up to this many times |F|^2 / 3 flops next to the
# factorization's |F|^3 / 3 (a flop count: the triangular-pentagonal QR, 2 |F|^2 per
# column, and the copy of the kept block).
_DELETE_COST = 8


class UpdatedCholesky:
    """``R^T R = A_F^T A_F`` for the last passive set solved on.

    Parameters
    ----------
    gram : callable
        ``gram(rows, cols)``: the block ``A[:, rows]^T A[:, cols]``.
    norms : ndarray, shape (n,)
        Column norms of ``A`` (the sine test of entering columns).
    min_sine : float
        Smallest sine of an entering column to the span of the others.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.finish.updated_cholesky import UpdatedCholesky
    >>> A = np.random.default_rng(0).standard_normal((8, 6))
    >>> chol = UpdatedCholesky(lambda r, c: A[:, r].T @ A[:, c], np.linalg.norm(A, axis=0),
    ...                        1e-6)
    >>> b = A @ np.arange(6.0)
    >>> z = chol.solve(np.array([0, 2, 3, 5]), A.T @ b)
    >>> bool(np.allclose(z, np.linalg.lstsq(A[:, [0, 2, 3, 5]], b, rcond=None)[0]))
    True
    """

    def __init__(self, gram, norms, min_sine):
        self.gram, self.norms, self.min_sine = gram, norms, min_sine
        self.order = np.zeros(0, int)
        self.R = np.zeros((0, 0))

    def solve(self, idx, rhs):
        """``(A_F^T A_F)^{-1} rhs[F]`` for ``F = idx`` (sorted indices; `rhs` has a row
        per column of ``A``), or None when a column of ``F`` fails the sine test."""
        if not self._refresh(idx):
            self.order, self.R = np.zeros(0, int), np.zeros((0, 0))
            return None
        y, _ = _trtrs(self.R, rhs[self.order], lower=False, trans=1)
        z, _ = _trtrs(self.R, y, lower=False)
        out = np.empty_like(z)
        out[np.searchsorted(idx, self.order)] = z
        return out if np.all(np.isfinite(out)) else None

    def _refresh(self, idx):
        """Bring the factor to ``F = idx``: updated when that costs less, else afresh."""
        inside = np.isin(self.order, idx, assume_unique=True)
        gone = np.flatnonzero(~inside)
        new = np.setdiff1d(idx, self.order[inside], assume_unique=True)
        size = idx.size
        if size < UPDATE_FROM or self.order.size == 0 or \
                _DELETE_COST * gone.size + 3 * new.size > size:
            return self._factor(idx)
        if gone.size and not self._delete(gone):
            return self._factor(idx)
        return self._insert(new)

    def _factor(self, idx):
        R, info = _potrf(self.gram(idx, idx), lower=False, overwrite_a=True, clean=True)
        if info != 0 or not self._trusted(np.diag(R), idx):
            return False
        self.order, self.R = idx.copy(), R
        return True

    def _delete(self, gone):
        """Drop the columns at the positions `gone` (sorted) of the factor: with ``K``
        the kept positions, ``A_K^T A_K = R_KK^T R_KK + R_DK^T R_DK``, so the new factor
        is the triangle of the QR of ``[R_KK; R_DK]``, which LAPACK's triangular-
        pentagonal QR computes on the columns after the first deleted one."""
        keep = np.ones(self.order.size, bool)
        keep[gone] = False
        kept = np.flatnonzero(keep)
        R = self.R[np.ix_(kept, kept)]
        lead = int(np.searchsorted(kept, gone[0]))  # kept columns before the first gone
        if lead < kept.size:
            tail = self.R[np.ix_(gone, kept[lead:])]
            top, _, _, info = _tpqrt(0, min(32, kept.size - lead), R[lead:, lead:], tail)
            if info != 0:
                return False
            R[lead:, lead:] = np.triu(top)
        self.order, self.R = self.order[kept], R
        return True

    def _insert(self, new):
        if new.size == 0:
            return True
        k = self.order.size
        W, _ = _trtrs(self.R, self.gram(self.order, new), lower=False, trans=1)
        S, info = _potrf(self.gram(new, new) - W.T @ W, lower=False, clean=True)
        if info != 0 or not self._trusted(np.diag(S), new):
            return False
        R = np.zeros((k + new.size, k + new.size))
        R[:k, :k], R[:k, k:], R[k:, k:] = self.R, W, S
        self.order, self.R = np.concatenate([self.order, new]), R
        return True

    def _trusted(self, diagonal, idx):
        return np.min(np.abs(diagonal) / np.maximum(self.norms[idx], _TINY)) >= self.min_sine
