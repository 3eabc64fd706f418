r"""Linear-programming references for sparse recovery: basis pursuit and the
minimum-l1 NNLS solution, solved by scipy.optimize.linprog (HiGHS)."""

import time

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from .._utils.validation import describe
from ..exceptions import InvalidArgumentError, InvalidTypeError
from ..models.linear import check_data
from ..result import OptimizeResult, Status

__all__ = ["basis_pursuit", "min_l1_nnls"]

_TINY = np.finfo(float).tiny
_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


def _linprog_l1(A, b, nonnegative):
    """``min ||x||_1 s.t. A x = b`` (and x >= 0), signed x split as p - q."""
    n = A.shape[1]
    if nonnegative:
        c, A_eq = np.ones(n), A
    else:
        c = np.ones(2 * n)
        A_eq = sp.hstack([A, -A], format="csr") if sp.issparse(A) else np.hstack([A, -A])
    lp = scipy.optimize.linprog(c, A_eq=A_eq, b_eq=b, bounds=(0, None), method="highs",
                                options=_HIGHS)
    if lp.status == 2:
        where = "the cone {A x : x >= 0}" if nonnegative else "the range of `A`"
        raise InvalidArgumentError(f"`b` must lie in {where} for an exact l1 minimum; the linear "
                                   f"program is infeasible ({lp.message})")
    if lp.x is None:
        return None, lp
    x = lp.x if nonnegative else lp.x[:n] - lp.x[n:]
    return x, lp


def _result(A, b, x, lp, start, optimality):
    n = A.shape[1]
    success = lp.status == 0
    if x is None:
        x = np.full(n, np.nan)
    r = A @ x - b
    return OptimizeResult(
        x=x, u=None, fun=0.5 * float(r @ r), rnorm=float(np.linalg.norm(r)),
        l1=float(np.abs(x).sum()), support=np.flatnonzero(np.abs(x) > 1e-9 * max(np.abs(x).max(), _TINY)),
        optimality=optimality(x, r), nit=int(getattr(lp, "nit", 0)), nfev=0,
        # HiGHS: 0 solved, 1 its iteration limit, others a failure
        status=int(Status.CONVERGED if success else
                   (Status.MAX_ITER if lp.status == 1 else Status.NON_FINITE)),
        success=success,
        message="HiGHS: " + str(lp.message), history=None, time=time.perf_counter() - start)


def basis_pursuit(A, b, *, nonnegative=False):
    r"""Basis pursuit: the minimum-l1 solution of ``A x = b`` by linear programming.

    .. math::

        \min_x \|x\|_1 \quad \text{s.t.} \quad A x = b \quad (\text{and } x \ge 0
        \text{ if nonnegative})

    solved with scipy.optimize.linprog (HiGHS), signed x written as ``p - q`` with
    ``p, q >= 0``. This is the point the small-initialization dynamics of
    :func:`reparamopt.sparse_recovery` approach as ``init_scale -> 0``.

    Parameters
    ----------
    A : (m, n) array_like or sparse matrix
        Measurement matrix (a LinearOperator is refused: the LP needs the entries).
    b : (m,) array_like
        Measurements; must be in the range of `A` (in the cone ``A x, x >= 0`` when
        `nonnegative`), else InvalidArgumentError.
    nonnegative : bool, default False
        Add the constraint ``x >= 0``.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun`` (``1/2 ||A x - b||^2``), ``rnorm``, ``l1``, ``support`` (entries
        above ``1e-9 ||x||_inf``), ``optimality`` (relative equality residual
        ``||A x - b|| / ||b||``), ``nit``, ``status`` (1 solved, 0 iteration limit, -1
        other failure), ``success``, ``message``, ``time``; ``u``, ``history`` are None.

    Examples
    --------
    >>> from reparamopt.baselines import basis_pursuit
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((20, 60))
    >>> x_true = np.zeros(60); x_true[[3, 17]] = [1.0, -2.0]
    >>> res = basis_pursuit(A, A @ x_true)
    >>> res.support, bool(np.allclose(res.x, x_true, atol=1e-8))
    (array([ 3, 17]), True)
    """
    start = time.perf_counter()
    A, b = check_data(A, b, allow_operator=False)
    if not isinstance(nonnegative, (bool, np.bool_)):
        raise InvalidTypeError(f"`nonnegative` must be True or False; got {describe(nonnegative)}")
    x, lp = _linprog_l1(A, b, bool(nonnegative))
    scale = max(float(np.linalg.norm(b)), _TINY)
    return _result(A, b, x, lp, start, lambda x, r: float(np.linalg.norm(r)) / scale)


def min_l1_nnls(A, b):
    r"""The minimum-l1 point of the NNLS solution set, by linear programming.

    Every NNLS minimizer has the same fitted vector ``A x_ls`` (the objective is strictly
    convex in ``A x``), so the solution set is ``{x >= 0 : A x = A x_ls}`` with ``x_ls``
    any solution (Lawson-Hanson's, from scipy.optimize.nnls), and

    .. math::

        \min_x \|x\|_1 \quad \text{s.t.} \quad A x = A x_{\mathrm{ls}}, \ x \ge 0 .

    With noiseless ``b = A x*``, ``x* >= 0``, this is non-negative basis pursuit. When
    ``A`` fails the M+ criterion (e.g. Gaussian ``A`` with ``n > 2m``) the solution set
    is unbounded and this point differs from Lawson-Hanson's vertex in general.

    Parameters
    ----------
    A : (m, n) array_like or sparse matrix
        Matrix (dense or sparse; a sparse A is densified for Lawson-Hanson).
    b : (m,) array_like
        Right-hand side.

    Returns
    -------
    OptimizeResult
        As :func:`basis_pursuit`, with ``optimality`` the relative NNLS KKT residual
        ``||x - max(x - g, 0)|| / ||A^T b||``, ``g = A^T (A x - b)``, and ``x_lawson_hanson``.

    Examples
    --------
    >>> from reparamopt.baselines import min_l1_nnls
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> A = rng.standard_normal((10, 50)) / np.sqrt(10)
    >>> x_true = np.zeros(50); x_true[[2, 7, 30]] = [0.5, 0.7, 0.5]
    >>> res = min_l1_nnls(A, A @ x_true)
    >>> bool(res.l1 <= np.abs(res.x_lawson_hanson).sum() + 1e-9), res.optimality < 1e-8
    (True, True)
    """
    start = time.perf_counter()
    A, b = check_data(A, b, allow_operator=False)
    dense = A.toarray() if sp.issparse(A) else A
    x_ls, _ = scipy.optimize.nnls(dense, b)
    x, lp = _linprog_l1(A, A @ x_ls, True)
    scale = max(float(np.linalg.norm(A.T @ b)), _TINY)

    def kkt(x, r):
        g = A.T @ r
        return float(np.linalg.norm(x - np.maximum(x - g, 0.0))) / scale

    result = _result(A, b, x, lp, start, kkt)
    result["x_lawson_hanson"] = x_ls
    return result
