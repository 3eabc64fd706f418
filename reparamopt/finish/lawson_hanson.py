r"""Lawson and Hanson's active-set method on an updated QR factorization, warm-started.

The stable end game of the finish for right-hand sides whose passive sets are
ill-conditioned. One index enters at a time, by the most negative gradient of the
column-equilibrated problem; the passive columns ``A_F D^{-1}`` are kept as an
economic QR factorization updated by :func:`scipy.linalg.qr_insert` and
:func:`scipy.linalg.qr_delete`, so no normal equations are formed. A column whose sine
to the span of the passive ones is below :data:`~.least_squares.RHO_QR` (about Lawson
and Hanson's own test, 100 eps) does not enter, nor one whose coefficient comes out
non-positive; both are set aside until an index enters. Each iterate is feasible and the
objective never increases.
"""

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from .active_set import spread
from .least_squares import RHO_QR

__all__ = ["lawson_hanson"]

_TINY = np.finfo(float).tiny
_trtrs = sla.lapack.dtrtrs

# Candidates of the first block entry.
_FIRST_BLOCK = 8

# Largest cosine between two columns entering together (measured on blur, monotone and
# peak-library data: 0.5 helps blurs a little and slows cumulative sums, whose columns
# are all nearly parallel, by 2x).
_MAX_COSINE = 0.9


class _Factor:
    """Economic QR of the equilibrated passive columns, in the order they entered."""

    def __init__(self, ls, col):
        self.ls = ls
        self.b = ls.B[:, col]
        self.scale = np.where(ls.norms > 0, ls.norms, 1.0)
        self.order = np.zeros(0, int)
        self.Q = np.zeros((ls.model.m, 0))
        self.R = np.zeros((0, 0))

    def _column(self, idx):
        block = self.ls.model.columns(np.atleast_1d(idx))
        block = block.toarray() if sp.issparse(block) else np.asarray(block, dtype=float)
        return block / self.scale[np.atleast_1d(idx)]

    def reset(self, idx):
        """Factor the columns ``idx`` afresh; return those left out as dependent."""
        if idx.size == 0:
            self.order, self.Q, self.R = idx, np.zeros((self.ls.model.m, 0)), np.zeros((0, 0))
            return idx
        Q, R, perm = sla.qr(self._column(idx), mode="economic", pivoting=True, check_finite=False)
        diag = np.abs(np.diag(R))
        rank = int(np.sum(diag > RHO_QR * max(diag[0], _TINY))) if diag.size else 0
        # the first `rank` pivoted columns are factored by the leading blocks of Q and R
        self.order = idx[perm[:rank]]
        self.Q, self.R = Q[:, :rank], R[:rank, :rank]
        return idx[perm[rank:]]

    def insert(self, j):
        """Append column ``j``; False when it is numerically dependent on the others."""
        if self.order.size == 0:
            return self.reset(np.array([j])).size == 0
        if self.order.size >= self.Q.shape[0]:
            return False  # as many columns as rows: every other one is dependent
        try:
            Q, R = sla.qr_insert(self.Q, self.R, self._column(j)[:, 0], self.order.size,
                                 which="col", rcond=RHO_QR, check_finite=False)
        except np.linalg.LinAlgError:
            return False
        self.Q, self.R = Q, R
        self.order = np.append(self.order, j)
        return True

    def delete(self, positions):
        for pos in sorted(positions, reverse=True):
            if self.order.size == 1:
                self.reset(np.zeros(0, int))
                return
            Q, R = sla.qr_delete(self.Q, self.R, int(pos), which="col", check_finite=False)
            # a square Q (as many columns as rows) is a full factorization, whose delete
            # keeps Q square: back to the economic form
            p = R.shape[1]
            self.Q, self.R = Q[:, :p], R[:p]
            self.order = np.delete(self.order, pos)

    def solve(self):
        """Coefficients (in original units) of the passive columns, in factor order."""
        if self.order.size == 0:
            return np.zeros(0)
        z, _ = _trtrs(self.R, self.Q.T @ self.b, lower=False)
        return z / self.scale[self.order]


def lawson_hanson(ls, x, F, col, *, max_iter, block=False):
    """Solve the right-hand side `col` of `ls` from the feasible point `x` on `F`.

    The duals are priced as Lawson and Hanson do, from the residual ``r = b - Q Q^T b``
    of the factored passive columns: it is exact to rounding relative to ``||b||``
    whatever the conditioning, whereas ``b - A x`` carries the error of a large ``x``
    with cancelling terms. A column nearly in the span of the passive ones then shows
    its true gradient, tiny but able to lower the objective a lot. Every index with a
    positive dual is a candidate; the independence test and the sign of its new
    coefficient decide whether it enters.

    Parameters
    ----------
    ls : SupportLeastSquares
        The data (columns, norms, right-hand sides).
    x : ndarray, shape (n,)
        Feasible start, zero outside `F`.
    F : ndarray of bool, shape (n,)
        Initial passive set.
    col : int
        Which right-hand side.
    max_iter : int
        Bound on the pricing rounds.
    block : bool, default False
        Let several candidates enter per pricing round (the most positive duals, no two
        nearly parallel), as many as worked last time: one pricing costs a product with
        the whole of ``A``, one entry only an update of the factorization. A candidate
        whose coefficient comes out non-positive leaves again at once; the block then
        shrinks, down to Lawson and Hanson's single entry.

    Returns
    -------
    x : ndarray
    converged : bool
        Whether no index is left with a positive dual that could enter.
    nit : int
    """
    n = x.size
    model = ls.model
    factor = _Factor(ls, col)
    usable = ls.norms > 0
    scale = factor.scale
    x = np.where(F & usable, np.maximum(x, 0.0), 0.0)
    dropped = factor.reset(np.flatnonzero(F & usable))
    if dropped.size:
        x[dropped] = 0.0
    x = _settle(factor, x)
    aside = np.zeros(n, bool)
    b = factor.b
    batch = _FIRST_BLOCK if block else 1
    for nit in range(1, max_iter + 1):
        if factor.order.size >= model.m:
            # as many independent passive columns as rows: b is interpolated and what
            # the duals show is rounding; no column could enter
            return x, True, nit
        r = b - factor.Q @ (factor.Q.T @ b)
        w = model.rmatvec(r) / scale
        passive = np.zeros(n, bool)
        passive[factor.order] = True
        viol = ~passive & ~aside & usable & (w > 0)
        if not viol.any():
            return x, True, nit
        cand = np.flatnonzero(viol)
        if batch == 1 or cand.size == 1:
            chosen = cand[[np.argmax(w[cand])]]
        else:
            chosen = spread(ls, cand, -w[cand], batch, max_cosine=_MAX_COSINE)
        entered = []
        for j in chosen:
            if factor.insert(int(j)):
                entered.append(int(j))
            else:
                aside[j] = True
        if not entered:
            continue
        z = factor.solve()
        tail = np.arange(factor.order.size - len(entered), factor.order.size)
        bad = z[tail] <= 0
        if bad.any():
            # rounding, or the other entering columns, made these coefficients
            # non-positive: they cannot enter now
            factor.delete(tail[bad])
            if bad.all():
                aside[np.array(entered)] = True
                batch = max(1, batch // 4)
                continue
            batch = max(1, batch // 2)
            z = factor.solve()
        elif block:
            batch = min(2 * batch, n)
        aside[:] = False
        x = _settle(factor, x, z)
    return x, False, max_iter


def _settle(factor, x, z=None):
    """Lawson-Hanson's inner loop: move towards the least-squares point on the passive
    set, dropping the indices that reach zero, until that point is positive."""
    n = x.size
    z = factor.solve() if z is None else z
    while factor.order.size and np.any(z <= 0):
        xo = x[factor.order]
        neg = z <= 0
        denom = xo[neg] - z[neg]
        ratio = np.divide(xo[neg], denom, out=np.zeros_like(denom), where=denom > 0)
        alpha = min(float(ratio.min()), 1.0)
        step = xo + alpha * (z - xo)
        leave = np.zeros(xo.size, bool)
        leave[np.flatnonzero(neg)[ratio <= alpha]] = True
        leave |= neg & (step <= 0)
        x = np.zeros(n)
        x[factor.order] = np.where(leave, 0.0, np.maximum(step, 0.0))
        factor.delete(np.flatnonzero(leave))
        z = factor.solve()
    x = np.zeros(n)
    x[factor.order] = z
    return x
