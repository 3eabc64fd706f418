"""Numerical kernels behind :func:`reparamopt.nnls`.

* :class:`LinearModel`, the data ``(A, b)`` in one of its forms (dense, sparse,
  matrix-free, or the Gram form ``(A^T A, A^T b)``) with the products the iterations
  and the finish need, for one or several right-hand sides, the column norms and the
  rounding level of the gradient;
* :func:`check_nnls_input`, the validation at the public boundary;
* :func:`make_result`, the result with the residual and the KKT check measured on
  ``A`` itself.

The exact finish lives in :mod:`reparamopt.finish`.
"""

import contextlib
import copy
import time
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from .._utils.validation import as_float_array
from ..exceptions import InvalidTypeError, ShapeError
from ..finish.kkt import FLOOR_FACTOR, excess_residual, kkt_residual
from ..result import OptimizeResult, Status

__all__ = ["LinearModel", "LeastSquaresOracle", "lipschitz_estimate", "check_data",
           "select_rows",
           "check_nnls_input", "make_result", "single_threaded"]

_TINY = np.finfo(float).tiny
_EPS = np.finfo(float).eps

# |A| is applied in row blocks of about this many entries, so that the rounding level
# never copies a large matrix whole.
_ABS_BLOCK = 1 << 21

# Sparse data are "local" (blur, finite differences) when a column meets at most
# LOCAL_GRAM_NNZ others in A^T A and the columns two steps away are at most
# LOCAL_GROWTH times as many, and fewer than half the columns (else A^T A is dense
# for the purpose): the normal equations of a support are then factored
# sparse, with little fill. Random sparse matrices meet too many columns, or their
# neighbourhoods grow like those of a random graph, and keep conjugate gradients
# (measured: a 7 x 7 blur meets 169 columns and reaches 625 in two steps; 20000 x 2000
# at density 0.005 meets 780, 10^5 x 10^4 at 10^-3 meets 950; random matrices that meet
# 100 reach 40 times more).
LOCAL_GRAM_NNZ, LOCAL_GROWTH = 750, 8.0
_PROBE_COLUMNS = 16

try:
    from threadpoolctl import ThreadpoolController
except ImportError:  # optional: without it BLAS keeps its own thread setting
    ThreadpoolController = None

# Work on arrays of fewer elements than this runs on one BLAS thread: on a busy
# machine a multi-threaded Cholesky of a few hundred columns was measured 100x slower
# (threads waiting for each other) than a single-threaded one, and products with a
# 500 x 2000 matrix 20x slower. Below the lower bound BLAS does not start threads
# anyway and the limit would cost more than the solve.
_SINGLE_THREAD_BELOW = 10_000_000
_SINGLE_THREAD_ABOVE = 10_000

_state = {"depth": 0, "controller": None}


@contextlib.contextmanager
def single_threaded(elements):
    """Limit BLAS to one thread for arrays of few ``elements`` (else, or nested, a no-op)."""
    if (ThreadpoolController is None or not _SINGLE_THREAD_ABOVE <= elements < _SINGLE_THREAD_BELOW
            or _state["depth"]):
        yield
        return
    if _state["controller"] is None:
        # scanning the loaded libraries takes milliseconds: done once
        _state["controller"] = ThreadpoolController()
    _state["depth"] += 1
    try:
        with _state["controller"].limit(limits=1, user_api="blas"):
            yield
    finally:
        _state["depth"] -= 1


class LinearModel:
    """``(A, b)`` with the products NNLS needs.

    Parameters
    ----------
    A : ndarray, sparse matrix or LinearOperator
        Validated float64 data. A LinearOperator is used through ``@``, and through
        its own ``columns(idx)`` (a sparse matrix of the columns ``idx``) and
        ``column_norms()`` where it has them, as
        :class:`~reparamopt.models.operators.Convolution` does.
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
        self._norms = None

    @property
    def G(self):
        """``A^T A`` in Gram mode (formed on first use; dense also for sparse ``A``), else None."""
        if self.use_gram and self._G is None:
            if self.kind == "sparse":
                self._G = (self._AT @ self.A).toarray()
            else:
                self._G = self.A.T @ self.A
        return self._G

    @cached_property
    def local_gram(self):
        """Whether the columns of ``A`` come as a sparse matrix whose supports have
        sparse normal equations: sparse data with a local Gram matrix (see
        :data:`LOCAL_GRAM_NNZ`), and operators that give their columns."""
        if self.kind == "operator":
            return callable(getattr(self.A, "columns", None))
        if self.kind != "sparse" or self.n == 0:
            return False
        AT = self._AT
        # the pattern of A^T: positive entries, so that no product cancels
        pattern = sp.csr_array((np.ones(AT.nnz), AT.indices, AT.indptr), shape=AT.shape)
        sample = np.random.default_rng(0).choice(self.n, min(self.n, _PROBE_COLUMNS),
                                                 replace=False)
        one = pattern @ pattern[sample].T
        meets = one.nnz / sample.size
        if meets > LOCAL_GRAM_NNZ:
            return False
        reach = (pattern @ (pattern.T @ one)).nnz / sample.size
        return reach <= min(LOCAL_GROWTH * meets, 0.5 * self.n)

    @property
    def gram_formed(self):
        """Whether ``A^T A`` has been formed (by a read of :attr:`G` in Gram mode)."""
        return self._G is not None

    def take(self, cols):
        """The same matrix with the right-hand sides ``cols`` of a 2-D ``b`` only (shared
        ``A``, Gram matrix, norms and Lipschitz estimate)."""
        sub = copy.copy(self)
        sub.b = self.b[:, cols]
        sub.atb = self.atb[:, cols]
        sub.atb_norm = self.atb_norm[cols]
        sub.b_norm2 = self.b_norm2[cols]
        return sub

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

    def exact_grad(self, x, residual=None):
        """Gradient with the residual formed from ``A`` (accurate also in Gram mode), or
        from the `residual` ``A x - b`` the caller already formed."""
        r = self.matvec(x) - self.b if residual is None else residual
        return self.rmatvec(r), np.sqrt(np.sum(r * r, axis=0))

    def lipschitz(self):
        """An upper estimate of ``||A||_2^2`` (cached)."""
        if self._lipschitz is None:
            self._lipschitz = lipschitz_estimate(self)
        return self._lipschitz

    # column blocks (dense and sparse data) ----------------------------------
    def columns(self, idx):
        if self.kind == "operator":
            return sp.csc_array(self.A.columns(idx))
        if self.kind == "sparse":
            if self._csc is None:
                # the CSR arrays of A^T are those of A in CSC: no conversion
                AT = self._AT
                self._csc = sp.csc_array((AT.data, AT.indices, AT.indptr), shape=self.A.shape)
            return self._csc[:, idx]
        return self.A[:, idx]

    def gram_block(self, idx):
        if self.G is not None:
            return self.G[np.ix_(idx, idx)]
        cols = self.columns(idx)
        block = cols.T @ cols
        return block.toarray() if sp.issparse(block) else block

    # scale and rounding ------------------------------------------------------
    @property
    def norms(self):
        """Column norms ``||a_j||`` (cached); for a LinearOperator that gives its
        columns, its ``column_norms()`` or the norms of its columns, else ones
        (unknown)."""
        if self._norms is None:
            if self._G is not None:
                self._norms = np.sqrt(np.maximum(np.diag(self._G), 0.0))
            elif self.kind == "sparse" and self.A.has_canonical_format:
                # no duplicate entries: the squares of the stored entries, by column
                A = self.A
                self._norms = np.sqrt(np.bincount(A.indices, weights=A.data * A.data,
                                                  minlength=self.n))
            elif self.kind == "sparse":
                self._norms = np.sqrt(np.asarray(self.A.multiply(self.A).sum(axis=0)).ravel())
            elif self.kind == "dense":
                self._norms = np.linalg.norm(self.A, axis=0)
            elif self.local_gram:
                self._norms = self._operator_norms()
            else:
                self._norms = np.ones(self.n)
        return self._norms

    def _operator_norms(self):
        """The column norms of an operator that gives its columns: its own
        ``column_norms()``, else measured on its columns, a block at a time."""
        if callable(getattr(self.A, "column_norms", None)):
            return np.asarray(self.A.column_norms(), dtype=float)
        step = max(1, _ABS_BLOCK // max(self.m, 1))
        blocks = (self.columns(np.arange(i, min(i + step, self.n))) for i in range(0, self.n, step))
        return np.concatenate([np.sqrt(np.asarray(c.multiply(c).sum(axis=0)).ravel())
                               for c in blocks])

    def floor(self, x):
        """Entrywise rounding level of the gradient at ``x``
        (:func:`reparamopt.finish.kkt.gradient_floor`), without copying ``A`` whole."""
        x = np.abs(x)
        if self.kind == "operator":
            norm = np.sqrt(self.lipschitz())
            level = norm * (norm * np.linalg.norm(x, axis=0) + np.linalg.norm(self.b, axis=0))
            out = FLOOR_FACTOR * _EPS * level / np.sqrt(max(self.n, 1))
            return np.broadcast_to(out, x.shape).copy()
        absb = np.abs(self.b)
        out = np.zeros(x.shape)
        for rows, block in self._abs_row_blocks():
            out += block.T @ (block @ x + absb[rows])
        return FLOOR_FACTOR * _EPS * out

    def abs_products(self):
        """``(|A|^T |A|, |A|^T |b|)``, dense: with them the rounding level :meth:`floor`
        of a Gram iteration costs ``O(n^2)`` per right-hand side, not a pass over ``A``
        (the products are ``A^T A`` and ``A^T b`` themselves when nothing is negative)."""
        data = self.A.data if self.kind == "sparse" else self.A
        if self.G is not None and not (data < 0).any() and not (self.b < 0).any():
            return self.G, self.atb
        absG = np.zeros((self.n, self.n))
        absC = np.zeros(self.atb.shape)
        absb = np.abs(self.b)
        for rows, block in self._abs_row_blocks():
            square = block.T @ block
            absG += square.toarray() if sp.issparse(square) else square
            absC += block.T @ absb[rows]
        return absG, absC

    def residual_level(self, x):
        """``eps ||(|A| |x| + |b|)||`` per column: the residual ``A x - b`` a
        backward-stable solve leaves (dense and sparse ``A``), without copying ``A``
        whole."""
        x = np.abs(x)
        absb = np.abs(self.b)
        squares = np.zeros(x.shape[1:])
        for rows, block in self._abs_row_blocks():
            squares += np.sum((block @ x + absb[rows]) ** 2, axis=0)
        return _EPS * np.sqrt(squares)

    def _abs_row_blocks(self):
        """``(rows, |A[rows]|)`` over ``A``: one block for sparse ``A``, blocks of about
        ``_ABS_BLOCK`` entries for dense ``A`` (so that ``|A|`` is never formed whole)."""
        if self.kind == "sparse":
            yield slice(None), abs(self.A)
            return
        step = max(1, _ABS_BLOCK // max(self.n, 1))
        for i in range(0, self.m, step):
            yield slice(i, i + step), np.abs(self.A[i:i + step])

    def certify(self, x, tol, residual=None):
        """``(optimality, ok, g, rnorm)`` at ``x``, measured on ``A`` itself (through the
        `residual` ``A x - b`` when given): the relative KKT residual and whether it, or
        its part above the rounding level, is ``<= tol``."""
        g, rnorm = self.exact_grad(x, residual)
        optimality = kkt_residual(x, g, self.atb_norm)
        ok = optimality <= tol
        if not np.all(ok):
            ok = ok | (excess_residual(x, g, self.floor(x), self.atb_norm) <= tol)
        return optimality, ok, g, rnorm

    def objective(self, x):
        """``||A x - b||^2 / 2`` per right-hand side, from ``A`` itself."""
        r = self.matvec(x) - self.b
        return 0.5 * np.sum(r * r, axis=0)


class LeastSquaresOracle:
    """``x -> (1/2 ||A x - b||^2, A^T (A x - b))`` of a :class:`LinearModel`, per
    right-hand side: the closed-form oracle a :class:`~reparamopt.declare.problem.Problem`
    takes (``value_and_grad``), with the oracle of some columns (``take``) and the
    relative residual of :mod:`reparamopt.finish.kkt` as the optimality measure
    (``nonnegative=False``: x is unconstrained, as for signed sparse recovery)."""

    def __init__(self, model, nonnegative=True):
        self.model = model
        self.nonnegative = nonnegative
        self.nfev = 0

    def __call__(self, x):
        self.nfev += 1
        g, f = self.model.grad(x)
        return f, g

    def take(self, columns):
        return LeastSquaresOracle(self.model.take(columns), self.nonnegative)

    def optimality(self, x, g):
        return kkt_residual(x, g, self.model.atb_norm, self.nonnegative)


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


# ---------------------------------------------------------------------------
# Boundary checks and the result
# ---------------------------------------------------------------------------

def check_data(A, b, *, allow_operator=True):
    """Validate ``(A, b)``: A dense, sparse (or a LinearOperator), non-empty, b of length m."""
    if not allow_operator and isinstance(A, LinearOperator):
        raise InvalidTypeError(
            "`A` must be a dense or sparse matrix here; got a LinearOperator "
            "(materialize it with `A @ np.eye(n)` if it is small)")
    A = as_float_array(A, "A", ndim=2, allow_sparse=True, allow_operator=allow_operator)
    if len(A.shape) != 2:
        raise ShapeError(f"`A` must have 2 dimensions; got shape {A.shape}")
    m, n = A.shape
    if m == 0 or n == 0:
        raise ShapeError(f"`A` must have at least one row and one column; got shape {A.shape}")
    b = as_float_array(b, "b", ndim=1)
    if b.shape != (m,):
        raise ShapeError(f"`b` must have shape ({m},) to match `A` of shape {A.shape}; got {b.shape}")
    return A, b


def select_rows(A, rows):
    """The rows `rows` of `A` (a matrix-free `A` is wrapped, never materialized)."""
    if isinstance(A, LinearOperator):
        m, n = A.shape

        def rmatvec(y):
            full = np.zeros(m)
            full[rows] = np.ravel(y)
            return A.rmatvec(full)

        return LinearOperator((rows.size, n), matvec=lambda x: A.matvec(np.ravel(x))[rows],
                              rmatvec=rmatvec, dtype=float)
    if sp.issparse(A):
        return sp.csr_array(A)[rows]
    return A[rows]


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
        success=Status(status).success, message=Status(status).message, method=method,
        time=time.perf_counter() - start, history=history, **extra)
