"""``scipy.optimize.lsq_linear`` with reparamopt's exact bounded least squares."""

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.optimize import OptimizeResult
from scipy.sparse.linalg import LinearOperator, lsmr

from ..exceptions import ConvergenceWarning, warn_not_converged

__all__ = ["lsq_linear"]

_MESSAGES = {
    0: "The maximum number of iterations is exceeded.",
    1: "The first-order optimality measure is less than `tol`.",
    3: "The unconstrained solution is optimal.",
}


def lsq_linear(A, b, bounds=(-np.inf, np.inf), method="trf", tol=1e-10, lsq_solver=None,
               lsmr_tol=None, max_iter=None, verbose=0, *, lsmr_maxiter=None):
    """``scipy.optimize.lsq_linear`` solved exactly by :func:`reparamopt.lsq`.

    The signature, the errors and the result object are scipy's. Both methods ("trf",
    "bvls") run the exact active set of :func:`reparamopt.lsq`, and its KKT certificate
    decides ``status`` (1 certified, 0 not: with a ConvergenceWarning). Without bounds
    the unconstrained solution is returned, as scipy does: ``numpy.linalg.lstsq`` for
    dense `A` (``lsq_solver="exact"``), :func:`scipy.sparse.linalg.lsmr` with scipy's
    settings for sparse and matrix-free `A` (``lsq_solver="lsmr"``), status 3 when it
    is certified.

    Parameters
    ----------
    A : array_like, sparse matrix or LinearOperator, shape (m, n)
    b : array_like, shape (m,)
    bounds : 2-tuple of array_like or Bounds, optional
        Lower and upper bounds (``np.inf`` where absent); each lower bound strictly
        below its upper bound.
    method : {"trf", "bvls"}, default "trf"
    tol : float, default 1e-10
        Tolerance of the relative KKT residual of :func:`reparamopt.lsq`.
    lsq_solver : {None, "exact", "lsmr"}, optional
    lsmr_tol : None, "auto" or float, optional
        Tolerance of lsmr (unbounded problems); default ``1e-2 tol``.
    max_iter : int, optional
        Bound on the active-set rounds.
    verbose : {0, 1, 2}, default 0
        Print the termination message (1 and 2).
    lsmr_maxiter : int, optional
        Iteration limit of lsmr.

    Returns
    -------
    OptimizeResult
        ``x``, ``cost``, ``fun`` (residuals), ``optimality`` (infinity norm of the
        natural residual of the KKT conditions), ``active_mask``, ``unbounded_sol``,
        ``nit``, ``status``, ``message``, ``success``.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.compat import lsq_linear
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> res = lsq_linear(A, np.array([2.0, -1.0, 1.0]), bounds=(0, 1))
    >>> res.x, res.status, res.active_mask
    (array([1., 0.]), 1, array([ 1, -1]))
    """
    from ..flagships.lsq import lsq

    A, b, lb, ub, lsq_solver = _checked(A, b, bounds, method, lsq_solver, verbose, max_iter,
                                        lsmr_tol, lsmr_maxiter)
    if lsq_solver == "exact":
        unbounded = np.linalg.lstsq(A, b, rcond=-1)
    else:
        first = 1e-2 * tol if lsmr_tol in (None, "auto") else lsmr_tol
        unbounded = lsmr(A, b, maxiter=lsmr_maxiter, atol=first, btol=first)
    if np.all(lb == -np.inf) and np.all(ub == np.inf):
        res = _unconstrained(A, b, unbounded[0], tol)
    else:
        with warnings.catch_warnings():  # one warning, the drop-in's own (below)
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = lsq(A, b, bounds=(lb, ub), tol=tol, max_iter=max_iter)
        res = _scipy_result(A, b, res.x, lb, ub, 1 if res.success else 0, res.nit)
    res.unbounded_sol = unbounded
    if verbose > 0:
        print(res.message)
    return res


def _checked(A, b, bounds, method, lsq_solver, verbose, max_iter, lsmr_tol, lsmr_maxiter):
    """scipy's argument checks, with its messages; ``(A, b, lb, ub, lsq_solver)``."""
    if method not in ("trf", "bvls"):
        raise ValueError("`method` must be 'trf' or 'bvls'")
    if lsq_solver not in (None, "exact", "lsmr"):
        raise ValueError("`solver` must be None, 'exact' or 'lsmr'.")
    if verbose not in (0, 1, 2):
        raise ValueError("`verbose` must be in [0, 1, 2].")
    if sp.issparse(A):
        A = sp.csr_array(A)
    elif not isinstance(A, LinearOperator):
        A = np.atleast_2d(np.asarray(A))
    dense = isinstance(A, np.ndarray)
    if method == "bvls" and (lsq_solver == "lsmr" or not dense):
        raise ValueError("method='bvls' can't be used with lsq_solver='lsmr' or with `A` "
                         "being sparse or LinearOperator.")
    lsq_solver = lsq_solver or ("exact" if dense else "lsmr")
    if lsq_solver == "exact" and not dense:
        raise ValueError("`exact` solver can't be used when `A` is sparse or LinearOperator.")
    if len(A.shape) != 2:
        raise ValueError("`A` must have at most 2 dimensions.")
    if max_iter is not None and max_iter <= 0:
        raise ValueError("`max_iter` must be None or positive integer.")
    b = np.atleast_1d(b)
    if b.ndim != 1:
        raise ValueError("`b` must have at most 1 dimension.")
    if b.size != A.shape[0]:
        raise ValueError("Inconsistent shapes between `A` and `b`.")
    lb, ub = _bounds(bounds, A.shape[1])
    if lsmr_maxiter is not None and lsmr_maxiter < 1:
        raise ValueError("`lsmr_maxiter` must be None or positive integer.")
    if not ((isinstance(lsmr_tol, float) and lsmr_tol > 0) or lsmr_tol in ("auto", None)):
        raise ValueError("`lsmr_tol` must be None, 'auto', or positive float.")
    return A, b, lb, ub, lsq_solver


def _bounds(bounds, n):
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        bounds = (bounds.lb, bounds.ub)
    lb, ub = (np.asarray(v, dtype=float) for v in bounds)
    lb, ub = (np.resize(v, n) if v.ndim == 0 else v for v in (lb, ub))
    if lb.shape != (n,) or ub.shape != (n,):
        raise ValueError("Bounds have wrong shape.")
    if np.any(lb >= ub):
        raise ValueError("Each lower bound must be strictly less than each upper bound.")
    return lb, ub


def _unconstrained(A, b, x, tol):
    """The unconstrained solution, status 3 when the KKT test certifies it."""
    from ..flagships.lsq.certify import certify
    from ..flagships.lsq.settings import LSQSettings

    settings = LSQSettings.build(A.shape[1], tol=tol)
    X, B = x[:, None], b[:, None]
    atb_norm = np.linalg.norm(A.T @ B, axis=0)
    ok = bool(certify(A, B, X, settings, atb_norm)[1][0])
    lb, ub = np.full(x.size, -np.inf), np.full(x.size, np.inf)
    return _scipy_result(A, b, x, lb, ub, 3 if ok else 0, 0)


def _scipy_result(A, b, x, lb, ub, status, nit):
    r = A @ x - b
    g = A.T @ r
    natural = x - np.clip(x - g, lb, ub)
    if status == 0:
        warn_not_converged("lsq_linear: the solution is not certified by the KKT test; for "
                           "sparse or matrix-free `A` without bounds raise `lsmr_maxiter` or "
                           "lower `lsmr_tol`, else raise `max_iter`.")
    active = np.zeros(x.size, int)
    active[x <= lb] = -1
    active[x >= ub] = 1
    return OptimizeResult(x=x, cost=0.5 * float(r @ r), fun=r,
                          optimality=float(np.max(np.abs(natural), initial=0.0)),
                          active_mask=active, nit=nit, status=status,
                          message=_MESSAGES[status], success=status > 0)
