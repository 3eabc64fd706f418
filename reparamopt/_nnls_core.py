"""Numerical kernels behind :func:`reparamopt.nnls`.

Three pieces live here:

* :class:`LinearModel`, the data ``(A, b)`` in one of its forms (dense, sparse,
  matrix-free, or the Gram form ``(A^T A, A^T b)`` for tall dense ``A``) with the
  products the iterations and the finish need, for one or several right-hand sides;
* :func:`kkt_residual`, the relative KKT measure reported as ``optimality``;
* :func:`exact_finish`, a block principal pivoting active-set method warm-started from a
  support guess. It solves the unconstrained least squares on the guessed support
  exactly (Cholesky of the Gram block for dense data, conjugate gradients on the normal
  equations for sparse and matrix-free data) and exchanges indices that violate the KKT
  conditions until none is left. From the support found by a few reparametrized
  iterations it usually ends after one or two solves.
"""

import contextlib
import time

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from ._validation import as_float_array
from .exceptions import ShapeError
from .result import STATUS_MESSAGES, OptimizeResult

__all__ = ["LinearModel", "kkt_residual", "projected_gradient", "exact_finish",
           "lipschitz_estimate", "check_nnls_input", "make_result", "single_threaded"]

_TINY = np.finfo(float).tiny
_potrf, _potrs, _trtrs = sla.lapack.dpotrf, sla.lapack.dpotrs, sla.lapack.dtrtrs

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # optional: without it BLAS keeps its own thread setting
    threadpool_limits = None

# Work on arrays of fewer elements than this runs on one BLAS thread: on a busy
# machine a multi-threaded Cholesky of a few hundred columns was measured 100x slower
# (threads waiting for each other) than a single-threaded one, and products with a
# 500 x 2000 matrix 20x slower.
_SINGLE_THREAD_BELOW = 10_000_000


_limited = [0]


@contextlib.contextmanager
def single_threaded(elements):
    """Limit BLAS to one thread for arrays of few ``elements`` (else, or nested, a no-op)."""
    if threadpool_limits is None or elements >= _SINGLE_THREAD_BELOW or _limited[0]:
        yield
        return
    _limited[0] += 1
    try:
        with threadpool_limits(1, user_api="blas"):
            yield
    finally:
        _limited[0] -= 1


class LinearModel:
    """``(A, b)`` with the products NNLS needs.

    Parameters
    ----------
    A : ndarray, sparse matrix or LinearOperator
        Validated float64 data (a LinearOperator is used through ``@`` only).
    b : ndarray
        Right-hand side(s), shape ``(m,)`` or ``(m, k)``.
    gram : bool
        Precompute ``A^T A`` and iterate in O(n^2) per step (dense ``A`` only).
    """

    def __init__(self, A, b, gram=False):
        if isinstance(A, LinearOperator):
            self.kind = "operator"
        elif sp.issparse(A):
            self.kind = "sparse"
            A = sp.csr_array(A)
            self._AT = sp.csr_array(A.T)
            self._csc = None
        else:
            self.kind = "dense"
        self.A = A
        self.b = b
        self.m, self.n = A.shape
        self.atb = self.rmatvec(b)
        self.atb_norm = np.linalg.norm(self.atb, axis=0)
        self.b_norm2 = np.sum(b * b, axis=0)
        self.use_gram = bool(gram)
        self._G = None
        self._lipschitz = None

    @property
    def G(self):
        """``A^T A`` in Gram mode (formed on first use), else None."""
        if self.use_gram and self._G is None:
            self._G = self.A.T @ self.A
        return self._G

    # products -------------------------------------------------------------
    def matvec(self, x):
        return self.A @ x

    def rmatvec(self, r):
        if self.kind == "sparse":
            return self._AT @ r
        if self.kind == "operator":
            return self.A.rmatmat(r) if r.ndim == 2 else self.A.rmatvec(r)
        return self.A.T @ r

    def grad(self, x):
        """Return ``(g, f)``: the gradient ``A^T (A x - b)`` and the objective."""
        if self.G is not None:
            g = self.G @ x - self.atb
            f = 0.5 * (np.sum(x * (g - self.atb), axis=0) + self.b_norm2)
            return g, f
        r = self.matvec(x) - self.b
        return self.rmatvec(r), 0.5 * np.sum(r * r, axis=0)

    def exact_grad(self, x):
        """Gradient with the residual formed from ``A`` (accurate also in Gram mode)."""
        r = self.matvec(x) - self.b
        return self.rmatvec(r), np.sqrt(np.sum(r * r, axis=0))

    def lipschitz(self):
        """An upper estimate of ``||A||_2^2`` (cached)."""
        if self._lipschitz is None:
            self._lipschitz = lipschitz_estimate(self)
        return self._lipschitz

    # column blocks (dense and sparse data) ----------------------------------
    def columns(self, idx):
        if self.kind == "sparse":
            if self._csc is None:
                self._csc = sp.csc_array(self.A)
            return self._csc[:, idx]
        return self.A[:, idx]

    def gram_block(self, idx):
        if self.G is not None:
            return np.take(np.take(self.G, idx, axis=0), idx, axis=1)
        cols = self.columns(idx)
        block = cols.T @ cols
        return block.toarray() if sp.issparse(block) else block


def lipschitz_estimate(model, iters=12, rng=0):
    """Estimate ``||A||_2^2`` by power iteration on ``A^T A``, with a safety margin.

    A dozen steps from a random start reach the top eigenvalue within a few percent on
    random and structured matrices alike (the Rayleigh quotient is dominated by the
    upper end of the spectrum); the factor 1.1 keeps the step 1/L on the safe side.
    """
    if model.G is not None and model.n <= 64:
        return float(np.linalg.eigvalsh(model.G)[-1]) * 1.0001 + _TINY
    v = np.random.default_rng(rng).standard_normal(model.n)
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(iters):
        w = model.G @ v if model.G is not None else model.rmatvec(model.matvec(v))
        lam_new = float(np.linalg.norm(w))
        if lam_new == 0.0:
            return _TINY
        v = w / lam_new
        if abs(lam_new - lam) <= 1e-3 * lam_new:
            lam = lam_new
            break
        lam = lam_new
    return 1.1 * lam + _TINY


def projected_gradient(x, g):
    """The KKT residual vector: ``g`` where ``x > 0``, ``min(g, 0)`` where ``x == 0``."""
    return np.where(x > 0, g, np.minimum(g, 0.0))


def kkt_residual(x, g, atb_norm):
    """Relative KKT residual ``||P(g)||_2 / max(||A^T b||_2, tiny)`` (per column)."""
    num = np.linalg.norm(projected_gradient(x, g), axis=0)
    return num / np.maximum(atb_norm, _TINY)


# ---------------------------------------------------------------------------
# Least squares on a support
# ---------------------------------------------------------------------------

def _solve_dense(model, F, b, atb):
    """Least squares on the columns ``F``: Cholesky of the Gram block, QR if singular."""
    idx = np.flatnonzero(F)
    if idx.size == 0:
        return np.zeros(0)
    block = model.gram_block(idx)
    # direct LAPACK calls: the finish makes many small solves, where wrappers cost more
    # than the arithmetic
    R, info = _potrf(block, lower=False, overwrite_a=True, clean=False)
    if info == 0 and _well_conditioned(R):
        z, info = _potrs(R, atb[idx], lower=False)
        if info == 0 and np.all(np.isfinite(z)):
            return z
    cols = model.columns(idx)
    if sp.issparse(cols):
        cols = cols.toarray()
    return sla.lstsq(cols, b, lapack_driver="gelsy", check_finite=False)[0]


def _well_conditioned(R):
    d = np.abs(np.diag(R))
    return d.min() > 1e-7 * d.max()


def _solve_cg(model, F, b, atb, z0, rtol, max_iter):
    """Least squares on the columns ``F`` by conjugate gradients on the normal equations.

    Used for sparse and matrix-free ``A``: only products with ``A`` and ``A^T`` are
    needed and the memory stays O(m + n).
    """
    n = model.n
    full = np.zeros(n)
    z = z0.copy()

    def normal(v):
        full[:] = 0.0
        full[F] = v
        return model.rmatvec(model.matvec(full))[F]

    r = atb[F] - normal(z)
    p = r.copy()
    rr = r @ r
    target = (rtol * max(float(np.linalg.norm(atb)), _TINY)) ** 2
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


# ---------------------------------------------------------------------------
# Block principal pivoting finish
# ---------------------------------------------------------------------------

def exact_finish(model, x0, *, tol=1e-10, column=None, support=None, max_iter=None):
    """Solve one NNLS right-hand side exactly, warm-started from ``x0``.

    Two active-set variants share the least-squares solver (Cholesky of the Gram block
    for dense data, conjugate gradients for sparse and matrix-free data):

    * when ``A`` has at least as many rows as columns (so every support has full column
      rank in general), block principal pivoting with Judice and Pires' single-index
      backup rule, which exchanges every violating index at once;
    * otherwise a Lawson-Hanson method started from the feasible point ``x0`` restricted
      to ``support``, which adds several violating indices per step and walks back to the
      feasible set when a solve leaves it. It keeps the passive columns independent,
      which a wide matrix needs.

    Parameters
    ----------
    model : LinearModel
    x0 : ndarray, shape (n,)
        Non-negative warm start.
    tol : float
        Target relative KKT residual; gradients above ``-0.1 tol ||A^T b|| / sqrt(n)``
        count as satisfied, so rounding noise causes no exchange.
    column : int, optional
        Which right-hand side of a 2-D ``b``.
    support : ndarray of bool, optional
        Initial passive set (default: where ``x0 > 0``).
    max_iter : int, optional
        Most least-squares solves (default ``max(3 n, 50)``).

    Returns
    -------
    x : ndarray
        Non-negative solution candidate.
    ok : bool
        Whether the method ended with no violated KKT condition.
    nsolves : int
        Number of least-squares solves.
    """
    n = model.n
    b = model.b if column is None else model.b[:, column]
    atb = model.atb if column is None else model.atb[:, column]
    atb_norm = max(float(np.linalg.norm(atb)), _TINY)
    F = (x0 > 0) if support is None else support & (x0 > 0)
    thr = 0.1 * tol * atb_norm / np.sqrt(max(n, 1))
    max_iter = max_iter or max(3 * n, 50)
    if model.kind in ("sparse", "operator"):
        cg_iter = max(4 * n, 200) if model.kind == "operator" else max(2 * n, 200)

        def solve(F, z0):
            return _solve_cg(model, F, b, atb, z0, 0.01 * tol, cg_iter)
    else:
        def solve(F, z0):
            return _solve_dense(model, F, b, atb)
    with single_threaded(n * n if model.G is not None else model.m * max(int(F.sum()), 1)):
        if model.m >= n:
            if model.G is not None:
                solve = _GramUpdater(model.G, atb, solve)
            return _pivoting(model, solve, x0, F, b, atb, thr, max_iter)
        return _lawson_hanson(model, solve, x0, F, b, atb, thr, max_iter)


def _pivoting(model, solve, x0, F, b, atb, thr, max_iter):
    n = model.n
    x = np.where(F, x0, 0.0)
    best, backup = n + 1, 3
    for nsolves in range(1, max_iter + 1):
        zf = solve(F, x[F])
        x = np.zeros(n)
        x[F] = zf
        g = _gradient(model, x, F, b, atb)
        viol = (F & (x < 0)) | (~F & (g < -thr))
        nv = int(viol.sum())
        if nv == 0:
            return np.maximum(x, 0.0), True, nsolves
        if nv < best:
            best, backup = nv, 3
            F ^= viol
        elif backup > 0:
            backup -= 1
            F ^= viol
        else:
            F[np.flatnonzero(viol)[-1]] ^= True
    return np.maximum(x, 0.0), False, max_iter


# Below this support size a fresh factorization is cheaper than the update's extra
# calls (measured: about 0.4 ms to factor 200 columns, 1 ms for an update).
_UPDATE_FROM = 400


class _GramUpdater:
    """Least squares on a changing support from one Cholesky factor (Gram mode).

    The factor ``G_BB = R^T R`` of a base support ``B`` serves every support ``F`` that
    differs from it by a few indices: the added ones ``A`` are bordered in through the
    Schur complement ``S = G_AA - W^T W`` (``W = R^{-T} G_BA``) and the removed ones are
    pinned to zero by Lagrange multipliers. A solve then costs O(|B|^2 (|A| + |removed|))
    instead of a new O(|F|^3) factorization; the base is refactored when the changes
    grow past an eighth of it or the factor is unreliable.
    """

    def __init__(self, G, atb, fallback):
        self.G, self.atb, self.fallback = G, atb, fallback
        self.base = None

    def __call__(self, F, z0):
        if self.base is not None and self.base_idx.size >= _UPDATE_FROM:
            removed = self.base & ~F
            added = F & ~self.base
            changes = int(removed.sum()) + int(added.sum())
            if changes <= max(8, int(self.base.sum()) // 8):
                z = self._update_solve(F, removed, added)
                if z is not None:
                    return z
        idx = np.flatnonzero(F)
        R, info = _potrf(np.take(np.take(self.G, idx, axis=0), idx, axis=1),
                         lower=False, overwrite_a=True, clean=True)
        if info != 0 or not _well_conditioned(R):
            self.base = None
            return self.fallback(F, z0)
        self.base, self.R, self.base_idx = F.copy(), R, idx
        return sla.cho_solve((R, False), self.atb[idx], check_finite=False)

    def _update_solve(self, F, removed, added):
        G, R, bidx = self.G, self.R, self.base_idx
        aidx = np.flatnonzero(added)
        nb, na = bidx.size, aidx.size
        rpos = np.flatnonzero(removed[bidx])
        rhs = np.zeros((nb + na, 1 + rpos.size))
        rhs[:nb, 0] = self.atb[bidx]
        rhs[nb:, 0] = self.atb[aidx]
        rhs[rpos, 1 + np.arange(rpos.size)] = 1.0
        t, _ = _trtrs(R, rhs[:nb], lower=False, trans=1)
        ya = np.zeros((0, rhs.shape[1]))
        if na:
            W, _ = _trtrs(R, G[np.ix_(bidx, aidx)], lower=False, trans=1)
            S, info = _potrf(G[np.ix_(aidx, aidx)] - W.T @ W, lower=False, clean=True)
            if info != 0 or not _well_conditioned(S):
                return None
            ya = sla.cho_solve((S, False), rhs[nb:] - W.T @ t, check_finite=False)
            t = t - W @ ya
        y = np.vstack([_trtrs(R, t, lower=False)[0], ya])
        z = y[:, 0]
        if rpos.size:
            Z = y[:, 1:]
            lam = np.linalg.solve(Z[rpos], z[rpos])
            z = z - Z @ lam
        keep = np.concatenate([~removed[bidx], np.ones(na, bool)])
        order = np.concatenate([bidx, aidx])[keep]
        out = np.empty(int(F.sum()))
        # the caller expects the values in increasing index order
        out[np.searchsorted(np.flatnonzero(F), order)] = z[keep]
        return out


def _lawson_hanson(model, solve, x0, F, b, atb, thr, max_iter):
    n = model.n
    if F.sum() > model.m:
        # a wide support guess would start from a singular block: keep its largest part
        keep = np.argsort(np.where(F, -x0, np.inf))[: model.m]
        F = np.zeros(n, bool)
        F[keep] = True
    x = np.where(F, x0, 0.0)
    nsolves = 0
    batch = max(4, int(F.sum()) // 2)
    while nsolves < max_iter:
        zf = solve(F, x[F])
        nsolves += 1
        blocked = False
        while np.any(zf <= 0) and nsolves < max_iter:
            xf = x[F]
            neg = zf <= 0
            denom = xf[neg] - zf[neg]
            # an index at zero whose target is zero blocks the step at once
            ratio = np.divide(xf[neg], denom, out=np.zeros_like(denom), where=denom > 0)
            alpha = float(ratio.min())
            xf = xf + alpha * (zf - xf)
            # indices that block the step leave; entering ones still at zero with a
            # positive target stay
            keep = (xf > 0) | (zf > 0)
            keep[np.flatnonzero(neg)[np.argmin(ratio)]] = False
            blocked = blocked or alpha == 0.0
            idx = np.flatnonzero(F)
            x = np.zeros(n)
            x[idx[keep]] = xf[keep]
            F[idx[~keep]] = False
            zf = solve(F, x[F])
            nsolves += 1
        # grow the number of indices entering at once while it works, cut it when an
        # entering index had to leave again at once
        batch = max(1, batch // 4) if blocked else 2 * batch
        x = np.zeros(n)
        x[F] = np.maximum(zf, 0.0)
        g = _gradient(model, x, F, b, atb)
        viol = ~F & (g < -thr)
        if not viol.any():
            return x, True, nsolves
        cand = np.flatnonzero(viol)
        room = max(1, min(batch, model.m - int(F.sum())))
        if cand.size > room:
            cand = cand[np.argpartition(g[cand], room - 1)[:room]]
        F[cand] = True
    return x, False, nsolves


def _gradient(model, x, F, b, atb):
    if model.G is not None:
        idx = np.flatnonzero(F)
        if 3 * idx.size > model.n:  # a full product beats gathering most columns
            return model.G @ x - atb
        return model.G[:, idx] @ x[idx] - atb
    return model.rmatvec(model.matvec(x) - b)


# ---------------------------------------------------------------------------
# Boundary checks and the result
# ---------------------------------------------------------------------------

def check_nnls_input(A, b, *, allow_sparse=True, allow_operator=True, allow_2d=True):
    """Validate ``(A, b)``: float64, finite, real, 2-D ``A``, 1-D (or 2-D) ``b``, rows agree."""
    A = as_float_array(A, "A", ndim=2, allow_sparse=allow_sparse, allow_operator=allow_operator)
    b = as_float_array(b, "b", ndim=(1, 2) if allow_2d else 1)
    if b.shape[0] != A.shape[0]:
        raise ShapeError(f"`b` must have as many rows as `A` ({A.shape[0]}); "
                         f"got shape {b.shape} for `b` and {A.shape} for `A`")
    return A, b


def make_result(model, x, *, nit, status, method, start, u=None, nfev=None, history=None,
                **extra):
    """Build the OptimizeResult, measuring residual and KKT with ``A`` itself."""
    x = np.maximum(x, 0.0)
    g, rnorm = model.exact_grad(x)
    optimality = kkt_residual(x, g, model.atb_norm)
    if x.ndim == 1:
        rnorm, optimality = float(rnorm), float(optimality)
    return OptimizeResult(
        x=x, u=u, rnorm=rnorm, fun=0.5 * rnorm ** 2, optimality=optimality, nit=int(nit),
        nfev=int(nit if nfev is None else nfev), status=int(status),
        success=status in (1, 2), message=STATUS_MESSAGES[status], method=method,
        time=time.perf_counter() - start, history=history, **extra)
