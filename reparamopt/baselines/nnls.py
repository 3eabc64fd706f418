r"""Reference NNLS solvers, for side-by-side comparison with :func:`reparamopt.nnls`.

All solve

.. math::

    \min_{x \ge 0} \tfrac12 \|A x - b\|_2^2

and return the same :class:`~reparamopt.result.OptimizeResult` fields as
:func:`reparamopt.nnls` (``x``, ``rnorm``, ``fun``, ``optimality``, ``nit``, ``status``,
``success``, ``message``, ``method``, ``time``). They are kept apart from the engines on
purpose: they are the yardsticks, not the method.

* :func:`lawson_hanson` -- the active-set method of Lawson and Hanson through
  :func:`scipy.optimize.nnls` (dense, one right-hand side);
* :func:`projected_gradient` -- projected gradient with step ``1 / ||A||_2^2``;
* :func:`accelerated_projected_gradient` -- FISTA with adaptive (gradient) restart.
"""

import time

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from .._utils.validation import check_scalar
from ..finish.kkt import kkt_residual
from ..models.linear import LinearModel, check_nnls_input, make_result
from ..result import Status

__all__ = ["lawson_hanson", "projected_gradient", "accelerated_projected_gradient"]

# The accelerated loop evaluates the gradient at the extrapolated point only; the KKT
# test at the iterate costs one more gradient, so it is done every few steps.
_CHECK_EVERY = 10


def lawson_hanson(A, b, *, max_iter=None):
    """Lawson-Hanson active-set NNLS via :func:`scipy.optimize.nnls`.

    Parameters
    ----------
    A : array_like, shape (m, n)
        Dense matrix; a sparse matrix is densified (this reference solver needs it).
    b : array_like, shape (m,)
    max_iter : int, optional
        Passed to scipy (default ``3 n``).

    Returns
    -------
    OptimizeResult

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.baselines import lawson_hanson
    >>> res = lawson_hanson(np.eye(2), np.array([1.0, -1.0]))
    >>> res.x
    array([1., 0.])
    """
    start = time.perf_counter()
    A, b = check_nnls_input(A, b, allow_sparse=True, allow_operator=False, allow_2d=False)
    if sp.issparse(A):
        A = A.toarray()
    m, n = A.shape
    max_iter = check_scalar(max_iter, "max_iter", lower=1, integer=True, allow_none=True)
    if n == 0:
        # scipy 1.17 aborts the interpreter on an empty column set
        x, status = np.zeros(0), Status.CONVERGED
    else:
        try:
            x, _ = scipy.optimize.nnls(A, b, maxiter=max_iter)
            status = Status.CONVERGED
        except RuntimeError:
            x, status = np.zeros(n), Status.MAX_ITER
    return _result(LinearModel(A, b), x, nit=0, status=status, method="lawson-hanson",
                   start=start)


def projected_gradient(A, b, *, tol=1e-10, max_iter=10000, x0=None):
    """Projected gradient ``x <- max(x - g / L, 0)`` with ``L`` a power-iteration estimate.

    Parameters
    ----------
    A : ndarray, sparse matrix or LinearOperator, shape (m, n)
    b : array_like, shape (m,) or (m, k)
    tol : float, default 1e-10
        Stop when the relative KKT residual is below `tol` (every column).
    max_iter : int, default 10000
    x0 : array_like, optional
        Feasible start (zeros by default).

    Returns
    -------
    OptimizeResult

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.baselines import projected_gradient
    >>> res = projected_gradient(np.eye(2), np.array([1.0, -1.0]))
    >>> res.x
    array([1., 0.])
    """
    return _first_order(A, b, tol, max_iter, x0, accelerated=False)


def accelerated_projected_gradient(A, b, *, tol=1e-10, max_iter=10000, x0=None):
    """FISTA on the non-negative orthant with gradient restart (O'Donoghue and Candes).

    Parameters and result as in :func:`projected_gradient`.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.baselines import accelerated_projected_gradient
    >>> res = accelerated_projected_gradient(np.eye(2), np.array([1.0, -1.0]))
    >>> res.x
    array([1., 0.])
    """
    return _first_order(A, b, tol, max_iter, x0, accelerated=True)


def _first_order(A, b, tol, max_iter, x0, accelerated):
    start = time.perf_counter()
    A, b = check_nnls_input(A, b)
    tol = check_scalar(tol, "tol", lower=0)
    max_iter = check_scalar(max_iter, "max_iter", lower=0, integer=True)
    model = LinearModel(A, b)
    shape = (model.n,) + b.shape[1:]
    x = np.zeros(shape) if x0 is None else np.maximum(np.asarray(x0, float).reshape(shape), 0)
    step = 1.0 / model.lipschitz()
    y, t = x.copy(), 1.0
    status, nit = Status.MAX_ITER, 0
    for nit in range(max_iter + 1):
        check = not accelerated or nit % _CHECK_EVERY == 0 or nit == max_iter
        if check:
            g, _ = model.grad(x)
            if np.all(kkt_residual(x, g, model.atb_norm) <= tol):
                status = Status.CONVERGED
                break
        if nit == max_iter:
            break
        if not accelerated:
            x = np.maximum(x - step * g, 0.0)
            continue
        gy, _ = model.grad(y)
        x_new = np.maximum(y - step * gy, 0.0)
        if np.sum((y - x_new) * (x_new - x)) > 0:
            t = 1.0
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        y = x_new + ((t - 1.0) / t_new) * (x_new - x)
        x, t = x_new, t_new
    return _result(model, x, nit=nit, status=status,
                   method="apg" if accelerated else "pg", start=start)


def _result(model, x, *, nit, status, method, start):
    return make_result(model, x, nit=nit, status=status, method=method, start=start)
