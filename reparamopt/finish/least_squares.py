r"""Least squares restricted to a support, the inner solve of the active-set finish.

:class:`SupportLeastSquares` solves :math:`\min_z \|A_F z - b\|` for the changing sets
``F`` an active-set method visits, for one right-hand side, and says which columns of
``F`` it had to leave out because they are numerically dependent on the others.

* Dense and small sparse data use the Gram matrix: a Cholesky factor of ``G_FF``
  (bordered from a base factor when ``F`` is large and changes little), accepted only
  when every column keeps a sine of at least :data:`RHO_CHOLESKY` to the span of the
  columns before it. Beyond that the normal equations lose too many digits (their
  error grows with the square of the condition number), and the solve falls back to a
  column-pivoted QR factorization of the equilibrated columns ``A_F D^{-1}``, which is
  backward stable and drops the columns whose sine falls below :data:`RHO_QR`.
  Dense data without a stored Gram matrix (wide ones) read its entries from a
  :class:`~.gram.GramCache` (each computed once, when its column is first visited) and
  keep the factor of the last support up to date as columns leave and enter
  (:class:`~.updated_cholesky.UpdatedCholesky`), under the same sine test.
* Sparse data whose columns each meet few others (blur, finite differences:
  :attr:`~reparamopt.models.linear.LinearModel.local_gram`), and operators that give
  their columns (:class:`~reparamopt.models.operators.Convolution`), factor the sparse
  normal equations of the support: a sparse LU in symmetric mode without pivoting (a
  sparse Cholesky), under the same sine test, with conjugate gradients where the
  pivoted QR of the columns would not fit in memory.
* Other large sparse and matrix-free data use conjugate gradients on the normal
  equations, which need only products with ``A`` and ``A^T``.
"""

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from .gram import GramCache
from .updated_cholesky import UpdatedCholesky

__all__ = ["SupportLeastSquares", "RHO_CHOLESKY", "RHO_QR"]

_TINY = np.finfo(float).tiny
_potrf, _potrs, _trtrs = sla.lapack.dpotrf, sla.lapack.dpotrs, sla.lapack.dtrtrs

# Smallest sine between a column and the span of the columns before it for which the
# normal equations are trusted: their relative error then stays below about
# eps / RHO_CHOLESKY**2 = 2e-4 in z and the objective is exact to ~1e-20 relative.
RHO_CHOLESKY = 1e-6

# Smallest sine for which the pivoted QR keeps a column (Lawson and Hanson keep
# columns down to about 100 eps): dropping one costs at most (RHO_QR x_j ||a_j||)^2 in
# the objective and RHO_QR ||a_j|| ||r|| in its gradient entry.
RHO_QR = 1e-14

# Below this support size a fresh factorization is cheaper than the bordered update's
# extra calls (measured: about 0.4 ms to factor 200 columns, 1 ms for an update).
_UPDATE_FROM = 400

# Largest dense copy (entries) of a support's columns that the pivoted QR fallback of
# sparse data may make; beyond it the support is solved by conjugate gradients.
QR_MAX_ENTRIES = 20_000_000

# Changed columns up to which a support of sparse normal equations is solved from the
# last factor instead of a new one (measured on 2-D and 3-D blurs: a solve with the
# factor costs 1/40 to 1/80 of a factorization with the product A_F^T A_F).
SPARSE_UPDATE_MAX = 32


class SupportLeastSquares:
    """``min ||A_F z - b||`` for supports ``F`` of the right-hand sides of one matrix.

    Parameters
    ----------
    model : LinearModel
        The data, with ``G`` (Gram mode), ``gram_block``, ``columns`` and products.
    B, ATB : ndarray, shape (m, k) and (n, k)
        The right-hand sides and ``A^T B``.
    norms : ndarray, shape (n,)
        Column norms of ``A`` (the equilibration of the rank tests).
    cg_tol : float
        Relative tolerance of the conjugate-gradient solves (sparse and matrix-free).
    gram : bool, default True
        Use the Gram matrix of `model` when it has one (else blocks of columns: cheaper
        when the supports stay small next to ``n``).
    inverse : tuple, optional
        ``(H, Y)`` with ``H = (A^T A)^{-1}`` and ``Y = H A^T B`` (the unconstrained
        solutions), for a well-conditioned ``A``: a support missing few columns is then
        solved from the Schur complement of the missing ones in ``H``, at
        ``O(r^3 + n r)`` for ``r`` missing columns instead of ``O(|F|^3)``.

    Attributes
    ----------
    nfallback : int
        Number of factorizations that needed the pivoted QR.
    """

    def __init__(self, model, B, ATB, norms, cg_tol=1e-12, gram=True, inverse=None):
        self.model, self.B, self.ATB, self.norms = model, B, ATB, norms
        self.G = model.G if gram else None
        self.inverse = inverse
        # sparse normal equations factored on each support (local sparse data, operators
        # that give their columns), else conjugate gradients for sparse and operators
        self.direct = self.G is None and model.kind != "dense" and model.local_gram
        self.cg = self.G is None and model.kind != "dense" and not self.direct
        # dense data without a stored Gram matrix (wide): its entries among the columns
        # visited, each computed once
        self.cache = GramCache(model.A) if self.G is None and model.kind == "dense" else None
        if self.cache is not None:
            self.updated = UpdatedCholesky(self.cache.block, norms, RHO_CHOLESKY)
        self.cg_tol = cg_tol
        self.base = None
        self.nfallback = 0
        # right-hand sides whose passive sets needed the pivoted QR at least once
        self.ill = np.zeros(B.shape[1], bool)

    # -- least squares --------------------------------------------------------------
    def solve(self, F, cols, X):
        """Solutions on the passive sets ``F[:, j]`` of the right-hand sides ``cols[j]``.

        Returns ``(Z, kept)``, both ``(n, s)``: ``Z`` is zero outside ``F`` and where a
        column was left out as numerically dependent, ``kept`` marks the columns of
        ``F`` that were used. Right-hand sides with the same ``F`` share one
        factorization. ``X`` (the current iterates) warm-starts the iterative solves.
        """
        n, s = F.shape
        Z = np.zeros((n, s))
        kept = F.copy()
        if self.cg:
            for j in range(s):
                idx = np.flatnonzero(F[:, j])
                if idx.size:
                    Z[idx, j] = self._cg(idx, cols[j], X[idx, j])
            return Z, kept
        for pattern, members in _groups(F):
            idx = np.flatnonzero(pattern)
            if idx.size == 0:
                continue
            zg, keep, fell = self._solve_group(idx, cols[members])
            if fell:
                self.ill[cols[members]] = True
            Z[np.ix_(idx, members)] = zg
            kept[np.ix_(idx, members)] = keep[:, None]
        return Z, kept

    def _solve_group(self, idx, cols):
        if self.inverse is not None and 2 * idx.size > self.model.n:
            z = self._complement(idx, cols)
            if z is not None:
                return z, np.ones(idx.size, bool), False
        z = self._sparse_cholesky(idx, cols) if self.direct else self._cholesky(idx, cols)
        if z is not None:
            return z, np.ones(idx.size, bool), False
        self.nfallback += 1
        if self.direct and self.model.m * idx.size > QR_MAX_ENTRIES:
            z0 = np.zeros(idx.size)
            return (np.column_stack([self._cg(idx, c, z0) for c in cols]),
                    np.ones(idx.size, bool), False)
        return (*self._qr(idx, cols), True)

    # -- products -------------------------------------------------------------------
    def gradient(self, X, cols):
        """``A^T (A X - B[:, cols])``, using only the rows of ``X`` that are not zero."""
        model = self.model
        rows = np.flatnonzero(X.any(axis=1))
        if self.G is not None:
            if 3 * rows.size <= model.n:
                # G is symmetric: gathering rows is cheaper than gathering columns
                return self.G[rows].T @ X[rows] - self.ATB[:, cols]
            return self.G @ X - self.ATB[:, cols]
        if self._cached(rows):
            AX = self.cache.transposed_columns(rows).T @ X[rows]
        elif model.kind != "operator" and 3 * rows.size <= model.n:
            AX = model.columns(rows) @ X[rows]
        else:
            AX = model.matvec(X)
        return model.rmatvec(AX - self.B[:, cols])

    def quadratic(self, D, cols):
        """``||A d||^2`` for each column ``d`` of ``D``."""
        model = self.model
        rows = np.flatnonzero(D.any(axis=1))
        Dr = D[rows]
        if self.G is not None:
            return np.sum(Dr * (self.G[np.ix_(rows, rows)] @ Dr), axis=0)
        if self._cached(rows):
            W = Dr.T @ self.cache.transposed_columns(rows)
            return np.sum(W * W, axis=1)
        W = model.matvec(_scatter(model.n, rows, Dr)) if self.cg and model.kind == "operator" \
            else model.columns(rows) @ Dr
        return np.sum(W * W, axis=0)

    def cosines(self, idx):
        """Cosines between the columns ``idx`` (a square matrix, sparse for sparse
        normal equations); None for a LinearOperator whose columns are not at hand."""
        if self.model.kind == "operator" and not self.direct:
            return None
        scale = 1.0 / np.maximum(self.norms[idx], _TINY)
        if self.direct:
            cols = self.model.columns(idx) @ sp.diags_array(scale)
            return sp.csr_array(cols.T @ cols)
        # candidates not cached yet are not cached for this: most of them never enter
        block = self.cache.block(idx) if self._cached(idx) else self._block(idx)
        return block * scale[:, None] * scale[None, :]

    def _cached(self, idx):
        return self.cache is not None and bool(np.all(self.cache.position[idx] >= 0))

    def _block(self, idx):
        """``A_F^T A_F`` for the columns ``idx``."""
        if self.G is not None:
            return self.G[np.ix_(idx, idx)]
        cols = self.model.columns(idx)
        block = cols.T @ cols
        return block.toarray() if sp.issparse(block) else np.asarray(block)

    # -- normal equations -----------------------------------------------------------
    def _trusted(self, R, idx):
        return np.min(np.abs(np.diag(R)) / np.maximum(self.norms[idx], _TINY)) >= RHO_CHOLESKY

    def _cholesky(self, idx, cols):
        model = self.model
        if self.cache is not None and self.cache.fits(idx):
            return self.updated.solve(idx, self.ATB[:, cols])
        rhs = self.ATB[np.ix_(idx, cols)]
        if self.G is not None and self.base is not None and self.base_idx.size >= _UPDATE_FROM:
            F = np.zeros(model.n, bool)
            F[idx] = True
            removed, added = self.base & ~F, F & ~self.base
            if int(removed.sum()) + int(added.sum()) <= max(8, self.base_idx.size // 8):
                z = self._update_solve(F, removed, added, cols)
                if z is not None:
                    return z
        R, info = _potrf(self._block(idx), lower=False, overwrite_a=True, clean=True)
        if info != 0 or not self._trusted(R, idx):
            self.base = None
            return None
        if self.G is not None and idx.size >= _UPDATE_FROM:
            self.base = np.zeros(model.n, bool)
            self.base[idx] = True
            self.base_idx, self.R = idx, R
        z, info = _potrs(R, rhs, lower=False)
        return z if info == 0 and np.all(np.isfinite(z)) else None

    def _sparse_cholesky(self, idx, cols):
        """Solve on ``idx`` by a sparse factorization of ``A_F^T A_F`` (SuperLU in
        symmetric mode, no pivoting: the pivots are those of a Cholesky factor of the
        symmetrically permuted matrix), None when a pivot fails the sine test. A support
        that differs from the last one factored in at most :data:`SPARSE_UPDATE_MAX`
        columns is solved from that factor (bordered, as :meth:`_update_solve`)."""
        F = np.zeros(self.model.n, bool)
        F[idx] = True
        if self.base is not None and idx.size >= _UPDATE_FROM:
            removed, added = self.base & ~F, F & ~self.base
            if int(removed.sum()) + int(added.sum()) <= SPARSE_UPDATE_MAX:
                z = self._sparse_update(F, removed, added, cols)
                if z is not None:
                    return z
        self.base = None
        block = self.model.columns(idx)
        try:
            lu = splu(sp.csc_array(block.T @ block), permc_spec="MMD_AT_PLUS_A",
                      diag_pivot_thresh=0.0, options={"SymmetricMode": True})
        except RuntimeError:  # an exactly singular pivot
            return None
        pivots = lu.U.diagonal()
        # the i-th pivot belongs to column argsort(perm_c)[i] of the support
        norms = np.maximum(self.norms[idx][np.argsort(lu.perm_c)], _TINY)
        if np.any(pivots <= 0) or np.min(np.sqrt(pivots) / norms) < RHO_CHOLESKY:
            return None
        if idx.size >= _UPDATE_FROM:
            self.base, self.base_idx, self.lu, self.base_block = F, idx, lu, block
        z = lu.solve(self.ATB[np.ix_(idx, cols)])
        return z if np.all(np.isfinite(z)) else None

    def _sparse_update(self, F, removed, added, cols):
        """Solve on ``F`` from the sparse base factor: ``G_BB^{-1}`` on the base plus the
        added columns by their Schur complement ``S = G_aa - G_a0 G_00^{-1} G_0a``, the
        removed ones pinned to zero (:func:`_pinned`)."""
        bidx, aidx, lu = self.base_idx, np.flatnonzero(added), self.lu
        nb, k = bidx.size, len(cols)
        rhs = self._bordered_rhs(aidx, removed, cols)
        t = lu.solve(rhs[:nb])
        ya = np.zeros((0, rhs.shape[1]))
        if aidx.size:
            block = self.model.columns(aidx)
            G0a = (self.base_block.T @ block).toarray()
            W = lu.solve(G0a)
            S, info = _potrf((block.T @ block).toarray() - G0a.T @ W, lower=False, clean=True)
            if info != 0 or not self._trusted(S, aidx):
                return None
            ya = sla.cho_solve((S, False), rhs[nb:] - G0a.T @ t, check_finite=False)
            t = t - W @ ya
        return _pinned(np.vstack([t, ya]), k, F, removed, bidx, aidx)

    def _complement(self, idx, cols):
        """Solve on ``idx`` by pinning the other columns to zero in the unconstrained
        solution: ``z = y - H[:, r] lam`` with ``H[r, r] lam = y[r]``."""
        H, Y = self.inverse
        n = self.model.n
        mask = np.ones(n, bool)
        mask[idx] = False
        r = np.flatnonzero(mask)
        y = Y[:, cols]
        if r.size == 0:
            return y
        S, info = _potrf(H[np.ix_(r, r)], lower=False, clean=True)
        if info != 0:
            return None
        lam, info = _potrs(S, y[r], lower=False)
        if info != 0:
            return None
        z = y[idx] - H[np.ix_(idx, r)] @ lam
        return z if np.all(np.isfinite(z)) else None

    def _bordered_rhs(self, aidx, removed, cols):
        """The right-hand sides of a bordered solve: ``A^T b`` on the base columns then
        on the added ones `aidx`, and a unit column per removed base column."""
        bidx, k = self.base_idx, len(cols)
        rpos = np.flatnonzero(removed[bidx])
        rhs = np.zeros((bidx.size + aidx.size, k + rpos.size))
        rhs[:bidx.size, :k] = self.ATB[np.ix_(bidx, cols)]
        rhs[bidx.size:, :k] = self.ATB[np.ix_(aidx, cols)]
        rhs[rpos, k + np.arange(rpos.size)] = 1.0
        return rhs

    def _update_solve(self, F, removed, added, cols):
        """Solve on ``F`` from the base factor: added columns bordered in through their
        Schur complement, removed ones pinned to zero by Lagrange multipliers."""
        G, R, bidx = self.G, self.R, self.base_idx
        aidx = np.flatnonzero(added)
        nb, na, k = bidx.size, aidx.size, len(cols)
        rhs = self._bordered_rhs(aidx, removed, cols)
        t, _ = _trtrs(R, rhs[:nb], lower=False, trans=1)
        ya = np.zeros((0, rhs.shape[1]))
        if na:
            W, _ = _trtrs(R, G[np.ix_(bidx, aidx)], lower=False, trans=1)
            S, info = _potrf(G[np.ix_(aidx, aidx)] - W.T @ W, lower=False, clean=True)
            if info != 0 or not self._trusted(S, aidx):
                return None
            ya = sla.cho_solve((S, False), rhs[nb:] - W.T @ t, check_finite=False)
            t = t - W @ ya
        y = np.vstack([_trtrs(R, t, lower=False)[0], ya])
        return _pinned(y, k, F, removed, bidx, aidx)

    # -- pivoted QR -----------------------------------------------------------------
    def _qr(self, idx, cols):
        block = self.model.columns(idx)
        block = block.toarray() if sp.issparse(block) else np.array(block, dtype=float)
        scale = np.maximum(self.norms[idx], _TINY)
        block /= scale
        qtb, R, perm = sla.qr_multiply(block, self.B[:, cols].T, mode="right", pivoting=True,
                                       overwrite_a=True)
        qtb = np.atleast_2d(qtb).T
        diag = np.abs(np.diag(R))
        rank = int(np.sum(diag > RHO_QR * max(diag[0], _TINY))) if diag.size else 0
        z = np.zeros((idx.size, len(cols)))
        kept = np.zeros(idx.size, bool)
        if rank:
            sol = sla.solve_triangular(R[:rank, :rank], qtb[:rank], check_finite=False)
            z[perm[:rank]] = sol
            kept[perm[:rank]] = True
        return z / scale[:, None], kept

    # -- conjugate gradients --------------------------------------------------------
    def _cg(self, idx, col, z0):
        model = self.model
        n = model.n
        atb = self.ATB[:, col]

        def normal(v):
            return model.rmatvec(model.matvec(_scatter(n, idx, v)))[idx]

        z = np.array(z0, dtype=float)
        r = atb[idx] - normal(z)
        p = r.copy()
        rr = r @ r
        target = (self.cg_tol * max(float(np.linalg.norm(atb)), _TINY)) ** 2
        max_iter = max(4 * n, 200) if model.kind == "operator" else max(2 * n, 200)
        for _ in range(max_iter):
            if rr <= target:
                break
            q = normal(p)
            pq = p @ q
            if pq <= 0:
                break
            alpha = rr / pq
            z += alpha * p
            r -= alpha * q
            rr_new = r @ r
            p = r + (rr_new / rr) * p
            rr = rr_new
        return z


def _pinned(y, k, F, removed, bidx, aidx):
    """The solutions on ``F`` from the bordered solves ``y`` (the ``k`` right-hand sides,
    then one unit column per removed base column): the removed columns pinned to zero
    by Lagrange multipliers, the values in increasing index order; None when that
    fails."""
    z = y[:, :k]
    rpos = np.flatnonzero(removed[bidx])
    if rpos.size:
        M = y[:, k:]
        try:
            lam = np.linalg.solve(M[rpos], z[rpos])
        except np.linalg.LinAlgError:
            return None
        z = z - M @ lam
    keep = np.concatenate([~removed[bidx], np.ones(aidx.size, bool)])
    order = np.concatenate([bidx, aidx])[keep]
    out = np.empty((order.size, k))
    out[np.searchsorted(np.flatnonzero(F), order)] = z[keep]
    return out if np.all(np.isfinite(out)) else None


def _groups(F):
    """``(pattern, members)`` for each distinct column of the boolean matrix ``F``."""
    s = F.shape[1]
    if s == 1:
        return [(F[:, 0], np.zeros(1, int))]
    keys = np.ascontiguousarray(np.packbits(F, axis=0).T)
    keys = keys.view(np.dtype((np.void, keys.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    return [(F[:, first[inverse[members[0]]]], members)
            for members in np.split(order, bounds)]


def _scatter(n, idx, v):
    full = np.zeros((n,) + v.shape[1:])
    full[idx] = v
    return full
