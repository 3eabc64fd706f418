"""The exact path of :func:`~reparamopt.lsq`: the problem in the form of
:mod:`reparamopt.finish.bounded`, its starting points, and the finish per right-hand side.

:class:`Reduced` writes the call's problem as ``min ||M y - d||^2 / 2 + q^T y`` over a box
with the optional equality ``e^T y = s``: the l2 penalty adds the rows ``sqrt(l2) I``
to ``A`` (exact, and better conditioned than adding to ``A^T A``); the l1 penalty is the
linear term ``l1 sign`` on variables of one sign, and a variable whose interval holds
zero is split into its positive and negative parts (columns ``a`` and ``-a``, weights
``+1`` and ``-1`` in the sum). A tall matrix is compressed to the triangular factor of
its QR factorization.
"""

import warnings

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ...exceptions import InvalidArgumentError
from ...finish.bounded import bounded_active_set
from ...finish.bounded_batch import bounded_batch, pivoting_start

__all__ = ["Reduced", "check_dense_size", "solve_gram", "solve_columns", "start_points"]

# Right-hand sides on which the block exchanges are tried before the others.
PROBE = 8

# Largest matrix (entries) that sparse and matrix-free input may be made dense for: the
# QR-based finish factors columns of A.
DENSE_MAX_ENTRIES = 50_000_000


class Reduced:
    """The problem of a call (`A` dense or sparse, `settings` an LSQSettings) as the
    finish reads it: the Gram form (:meth:`gram`, :meth:`gram_rhs`) at once, the
    column form (:attr:`M`, :meth:`rhs`, made dense) when the QR-based finish needs it."""

    def __init__(self, A, settings):
        n = A.shape[1]
        lower, upper, l1, l2 = settings.lower, settings.upper, settings.l1, settings.l2
        self.A, self.n, self.l2 = A, n, l2
        self.split = (lower < 0) & (upper > 0) if l1 > 0 else np.zeros(n, bool)
        self.lower = np.concatenate([np.where(self.split, 0.0, lower),
                                     np.zeros(self.split.sum())])
        self.upper = np.concatenate([upper, -lower[self.split]])
        self.linear = None
        if l1 > 0:
            self.linear = l1 * np.concatenate([np.where(upper <= 0, -1.0, 1.0),
                                               np.ones(self.split.sum())])
        self.weights = None
        if settings.sum_to is not None:
            self.weights = np.concatenate([np.ones(n), -np.ones(self.split.sum())])
        self.total = settings.sum_to
        # The sum as one more row of M, w e^T y = w s: zero on the feasible set, so the
        # minimizers and the multiplier are unchanged, while the free columns need only be
        # independent with that row (a solution may need m + 1 non-zeros on m rows: b
        # inside the hull of the columns). w is the columns' root-mean-square norm.
        self.row = 0.0
        if self.weights is not None:
            norm = spla.norm(A) if sp.issparse(A) else np.linalg.norm(A)
            self.row = float(norm) / np.sqrt(max(n, 1)) or 1.0
        self._M = self.Q = None

    def gram(self):
        """``H = M^T M``, from ``A^T A`` (a sparse product for sparse ``A``)."""
        G = self.A.T @ self.A
        G = G.toarray() if sp.issparse(G) else np.array(G)
        G[np.diag_indices(self.n)] += self.l2
        s = self.split
        H = np.block([[G, -G[:, s]], [-G[s], G[np.ix_(s, s)]]]) if s.any() else G
        if self.row:
            H += self.row ** 2 * np.outer(self.weights, self.weights)
        return H

    def gram_rhs(self, B):
        """``C = M^T D - q`` for the right-hand sides `B`."""
        C = np.asarray(self.A.T @ B)
        C = np.vstack([C, -C[self.split]])
        if self.row:
            C = C + (self.row ** 2 * self.total) * self.weights[:, None]
        return C if self.linear is None else C - self.linear[:, None]

    @property
    def M(self):
        """The dense matrix of the QR-based finish: ``A`` (with the rows ``sqrt(l2) I``
        and the split columns), a tall one replaced by the triangular factor of its QR
        factorization (an orthogonal change: the same minimizers, backward stable, and
        products of cost n^2 instead of m n)."""
        self._build()
        return self._M

    def _build(self):
        if self._M is None:
            row = self.row * self.weights if self.row else None
            self._M, self.Q = _column_form(self.A, self.l2, self.split, row)

    def rhs(self, B):
        """The right-hand sides ``d`` of `B` for :attr:`M` (times ``Q^T`` for a tall one)."""
        self._build()
        D = np.vstack([B, np.zeros((self.n, B.shape[1]))]) if self.l2 > 0 else B
        if self.row:
            D = np.vstack([D, np.full((1, B.shape[1]), self.row * self.total)])
        return D if self.Q is None else self.Q.T @ D

    def original(self, Y):
        """``x`` of the reduced variables `Y`."""
        X = Y[: self.n].copy()
        X[self.split] -= Y[self.n:]
        return X

    def reduced(self, X):
        """The reduced variables of `X` (split parts: the positive and negative parts)."""
        head = np.where(self.split[:, None], np.maximum(X, 0.0), X)
        return np.vstack([head, np.maximum(-X[self.split], 0.0)])


def check_dense_size(shape):
    """Refuse a matrix of `shape` that the exact finish, which needs its entries, cannot
    make dense (more than :data:`DENSE_MAX_ENTRIES`)."""
    if shape[0] * shape[1] > DENSE_MAX_ENTRIES:
        raise InvalidArgumentError(
            f"`A` of shape {shape} is too large for the exact finish, which needs its "
            f"entries (at most {DENSE_MAX_ENTRIES:.0e} when made dense); for x >= 0 alone "
            "use reparamopt.nnls")


def _column_form(A, l2, split, row=None):
    """``(M, Q)``: the dense matrix of :attr:`Reduced.M` (with `row` appended, the
    weighted sum) and the orthogonal factor that compressed it (None when it is not
    tall)."""
    check_dense_size(A.shape)
    A = A.toarray() if sp.issparse(A) else A
    M = np.vstack([A, np.sqrt(l2) * np.eye(A.shape[1])]) if l2 > 0 else A
    M = np.hstack([M, -M[:, split]])
    if row is not None:
        M = np.vstack([M, row])
    if M.shape[0] > M.shape[1]:
        Q, R = sla.qr(M, mode="economic", check_finite=False)
        return R, Q
    return M, None


def start_points(reduced, H, C, plan, X0=None):
    """Feasible starting points (reduced variables) of the right-hand sides of `C`."""
    if plan.start == "warm":
        return reduced.reduced(X0)
    if plan.start == "vertex":
        return _vertices(reduced, H, C)
    return np.clip(_unconstrained(H, C), reduced.lower[:, None], reduced.upper[:, None])


def _unconstrained(H, C):
    """The unconstrained minimizers ``H^{-1} C``: by Cholesky, or the minimum-norm ones
    of an SVD where ``H`` is singular or too ill-conditioned for it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", sla.LinAlgWarning)
        try:
            return sla.solve(H, C, assume_a="pos", check_finite=False)
        except (np.linalg.LinAlgError, sla.LinAlgWarning):
            return sla.lstsq(H, C, check_finite=False, lapack_driver="gelsd")[0]


def _vertices(reduced, H, C):
    """The sum reached from the point of the box nearest zero by moving the variables of
    steepest descent (the gradient there, per unit of the sum) to their bounds in turn."""
    lower, upper, e = reduced.lower, reduced.upper, reduced.weights
    base = np.clip(0.0, lower, upper)
    need = reduced.total - float(e @ base)
    G = (H @ base)[:, None] - C
    sign = 1.0 if need >= 0 else -1.0
    # room of each variable along the direction that moves the sum towards `need`
    room = np.where(sign * e > 0, upper - base, base - lower)
    Y = np.repeat(base[:, None], C.shape[1], axis=1)
    for j in range(C.shape[1]):
        left = abs(need)
        for i in np.argsort(sign * e * G[:, j], kind="stable"):
            if left <= 0:
                break
            amount = min(room[i], left)
            Y[i, j] += sign * e[i] * amount
            left -= amount
    return Y


def solve_columns(reduced, B, Y0, max_iter, cols=None):
    """The QR-based finish of the right-hand sides `cols` (default all) of `B` from
    `Y0`: ``(Y, converged, nit)``."""
    Y = Y0.copy()
    k = B.shape[1]
    converged, nit = np.ones(k, bool), np.zeros(k, int)
    cols = np.arange(k) if cols is None else np.asarray(cols)
    if cols.size == 0:
        return Y, converged, nit
    D = np.zeros((reduced.M.shape[0], k))
    D[:, cols] = reduced.rhs(B[:, cols])
    for j in cols:
        Y[:, j], _, converged[j], nit[j] = bounded_active_set(
            reduced.M, D[:, j], reduced.lower, reduced.upper, Y0[:, j], linear=reduced.linear,
            weights=reduced.weights, total=reduced.total, max_iter=max_iter)
    return Y, converged, nit


def solve_gram(reduced, H, C, B, Y0, max_iter, lockstep):
    """Block exchanges on the Gram matrix `H`
    (:func:`~reparamopt.finish.bounded_batch.pivoting_start`), the lockstep finish of
    :func:`~reparamopt.finish.bounded_batch.bounded_batch` for the columns they settled
    (for every column when `lockstep`), and the QR-based finish for the rest and for the
    columns the lockstep hands back: ``(Y, converged, nit)``."""
    k = C.shape[1]
    settled = np.zeros(k, bool)
    if reduced.weights is None or np.all(reduced.weights == 1):
        # block exchanges cost a solve of the whole guessed free set per column: tried on
        # a few columns first, and on the others only where most of those settled
        Y0 = Y0.copy()
        for cols in (np.arange(min(k, PROBE)), np.arange(PROBE, k)):
            if cols.size:
                Y0[:, cols], settled[cols] = pivoting_start(
                    H, C[:, cols], reduced.lower, reduced.upper, Y0[:, cols],
                    weights=reduced.weights, total=reduced.total)
            if 2 * settled[:PROBE].sum() < min(k, PROBE):
                break
    cols = np.arange(k) if lockstep else np.flatnonzero(settled)
    Y, done, rounds = Y0.copy(), np.zeros(k, bool), np.zeros(k, int)
    if cols.size:
        Y[:, cols], done[cols], rounds[cols] = bounded_batch(
            H, C[:, cols], reduced.lower, reduced.upper, Y0[:, cols], weights=reduced.weights,
            total=reduced.total, max_iter=max_iter)
    Y, converged, nit = solve_columns(reduced, B, Y, max_iter, cols=np.flatnonzero(~done))
    return Y, converged, nit + rounds
