r"""Least squares under bounds, a sum constraint and penalties, exact and certified.

.. math::

    \min_x \tfrac12 \|A x - b\|_2^2 + \tfrac{l_2}{2} \|x\|_2^2 + l_1 \|x\|_1
    \quad \text{s.t.} \quad l \le x \le u, \quad \mathbf 1^T x = s \ (\text{optional}).

One call reads top to bottom: the settings, validated once
(:class:`~.settings.LSQSettings`); a plan of where to start (:func:`~.route.route`);
the exact finish of :mod:`reparamopt.finish.bounded` on each right-hand side
(:mod:`.direct`); one certification on the data (:func:`~.certify.certify`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from ...exceptions import warn_not_converged
from ...models.linear import check_nnls_input, single_threaded
from ...result import OptimizeResult, Status
from .certify import certify
from .direct import Reduced, check_dense_size, solve_columns, solve_gram, start_points
from .route import Plan, route
from .settings import LSQSettings
from .sparse import sparse_points

if TYPE_CHECKING:
    from ..._utils.typing import ArrayLike, Matrix, Optional

__all__ = ["lsq"]


# Right-hand sides from which they advance in lockstep on the Gram matrix.
BATCH_FROM = 4


def lsq(A: Matrix, b: ArrayLike, *, bounds=None, sum_to: Optional[float] = None,
        l1: float = 0.0, l2: float = 0.0, tol: float = 1e-10, max_iter: Optional[int] = None,
        x0: Optional[ArrayLike] = None) -> OptimizeResult:
    r"""Solve least squares under bounds and a sum constraint, with l1/l2 penalties.

    .. math::

        \min_x \tfrac12 \|A x - b\|_2^2 + \tfrac{l_2}{2} \|x\|_2^2 + l_1 \|x\|_1
        \quad \text{s.t.} \quad l \le x \le u, \quad \textstyle\sum_i x_i = s

    Bounds may be infinite; ``bounds=(0, None), sum_to=1`` is the probability simplex
    (fully constrained least squares of spectral unmixing), finite upper bounds with
    `sum_to` a capped simplex. The solution is exact: an active set over the lower and
    upper bounds (Stark and Parker's bounded-variable least squares in Lawson and
    Hanson's form, :mod:`reparamopt.finish.bounded`) on QR factorizations of the free
    columns, which keeps its accuracy on ill-conditioned data (cond 1e17), and the sum
    constraint by its multiplier. Every result is checked on the data.

    Parameters
    ----------
    A : ndarray, scipy.sparse matrix/array or LinearOperator, shape (m, n)
        Sparse input with bounds only (at least 200 columns, fewer than four
        right-hand sides) is first solved by a projected Newton method on products with
        ``A`` (:mod:`reparamopt.flagships.lsq.sparse`); otherwise, and where that is not certified, it is used
        through ``A^T A`` (and made dense, up to ``5e7`` entries, only where the
        QR-based finish needs its columns); matrix-free input is made
        dense (up to ``5e7`` entries; larger is an error). float32 and integer input is computed in float64.
    b : array_like, shape (m,) or (m, k)
        One or ``k`` right-hand sides (``x`` is then ``(n, k)``, the scalar fields
        ``k``-vectors).
    bounds : pair or Bounds, optional
        ``(lower, upper)``, each a number or an array of length ``n``, None or infinite
        where absent; scipy's ``Bounds`` is accepted. Default: no bounds.
    sum_to : float, optional
        Constrain ``sum(x) == sum_to`` (must lie between the sums of the bounds).
    l1, l2 : float, default 0
        Penalties ``l1 ||x||_1`` and ``l2 ||x||^2 / 2``.
    tol : float, default 1e-10
        Target of the relative KKT residual (see Notes).
    max_iter : int, optional
        Bound on the pricing rounds of the active set per right-hand side (default
        ``3 n + 50``). Reaching it uncertified gives ``status=0`` and a
        ConvergenceWarning.
    x0 : array_like, optional
        Feasible warm start (within the bounds and summing to `sum_to`); the result is
        never worse.

    Returns
    -------
    OptimizeResult
        ``x`` (feasible), ``rnorm = ||A x - b||``, ``fun`` (the penalized objective),
        ``optimality`` (relative KKT residual), ``multiplier`` (of the sum constraint;
        0 without one), ``active_mask`` (-1 at a lower bound, 1 at an upper one, else
        0), ``nit``, ``nfev``, ``status``, ``success``, ``message``, ``method``,
        ``time``, ``history`` (None) and ``u`` (None: no latent variable).

    Notes
    -----
    ``optimality`` is ``||r|| / max(||A^T b||, ||A^T A x||)`` with ``r`` the natural
    residual of the proximal-gradient step (:mod:`.certify`), the multiplier fitted from
    ``x`` alone; ``success`` is True when it is at most `tol`, or its part above the
    rounding level of the gradient is, and ``x`` is feasible. The result is never
    worse than the starting point (`x0`, or the start the method picks).

    Raises
    ------
    ShapeError, NonFiniteError, InvalidTypeError, InvalidArgumentError, InfeasibleError
        For bad input; the message names the argument.

    Examples
    --------
    >>> import numpy as np
    >>> import reparamopt as ro
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> res = ro.lsq(A, np.array([2.0, -1.0, 1.0]), bounds=(0, 1))
    >>> res.x, bool(res.success)
    (array([1., 0.]), True)
    >>> res = ro.lsq(A, np.array([2.0, -1.0, 1.0]), bounds=(0, None), sum_to=1)
    >>> res.x, round(float(res.multiplier), 12)
    (array([1., 0.]), 1.0)
    """
    start = time.perf_counter()
    A, b = check_nnls_input(A, b)
    settings = LSQSettings.build(A.shape[1], bounds=bounds, sum_to=sum_to, l1=l1, l2=l2,
                                 tol=tol, max_iter=max_iter)
    X0 = settings.checked_x0(x0, b)
    B = b[:, None] if b.ndim == 1 else b
    if isinstance(A, LinearOperator):
        A = _dense(A)
    with single_threaded(A.shape[0] * A.shape[1]):
        res = _solve(A, B, settings, X0)
    res["time"] = time.perf_counter() - start
    if b.ndim == 1:
        res["x"], res["active_mask"] = res["x"][:, 0], res["active_mask"][:, 0]
        for key in ("rnorm", "fun", "optimality", "multiplier"):
            res[key] = np.float64(res[key][0])
    if res["status"] == Status.MAX_ITER:
        warn_not_converged(res["message"])
    return res


def _dense(A):
    """The matrix of the LinearOperator `A` (within the size limit)."""
    check_dense_size(A.shape)
    return np.asarray(A.matmat(np.eye(A.shape[1])), dtype=float)


def _solve(A, B, settings, X0):
    """Plan, finish and certify every column; the result in 2-D."""
    plan = route(settings, warm=X0 is not None, sparse=sp.issparse(A),
                 shape=(A.shape[1], B.shape[1]))
    atb_norm = np.linalg.norm(np.asarray(A.T @ B), axis=0)
    reduced = Reduced(A, settings)
    H = C = None
    nit = np.zeros(B.shape[1], int)
    if plan.path == "sparse":
        # a feasible point of products with A alone; the exact path takes over from it
        X0, _, nit = sparse_points(A, B, settings, atb_norm)
        plan = Plan("warm")
    else:
        H, C = reduced.gram(), reduced.gram_rhs(B)
    Y0 = start_points(reduced, H, C, plan, X0)
    lower, upper = settings.lower[:, None], settings.upper[:, None]
    Xs = np.clip(reduced.original(Y0), lower, upper)
    start = certify(A, B, Xs, settings, atb_norm)
    # a start that is certified already (an unconstrained solution inside the box, or
    # the sparse path's point) is the answer; the others are finished
    todo = np.flatnonzero(~start[1])
    Y, converged = Y0.copy(), np.ones(B.shape[1], bool)
    if todo.size and A.shape[1]:  # (LAPACK refuses empty matrices)
        if H is None:
            H, C = reduced.gram(), reduced.gram_rhs(B)
        Y[:, todo], converged[todo], more = _finish(A, reduced, H, C[:, todo], B[:, todo],
                                                    Y0[:, todo], settings, atb_norm[todo])
        nit[todo] += more
    X = np.clip(reduced.original(Y), lower, upper)
    optimality, ok, mu, rnorm, fun = certify(A, B, X, settings, atb_norm) if todo.size \
        else start
    # never worse than the start (beyond rounding of the objective)
    opt_s, ok_s, mu_s, rnorm_s, fun_s = start
    worse = fun > fun_s + 64 * np.finfo(float).eps * np.abs(fun_s)
    X[:, worse] = Xs[:, worse]
    optimality, ok = np.where(worse, opt_s, optimality), np.where(worse, ok_s, ok)
    mu, rnorm, fun = (np.where(worse, s, v) for s, v in ((mu_s, mu), (rnorm_s, rnorm),
                                                         (fun_s, fun)))
    status = Status.CONVERGED if np.all(ok) else Status.MAX_ITER
    message = status.message if status == Status.CONVERGED else _explain(optimality, ok, nit,
                                                                        converged, settings)
    return OptimizeResult(
        x=X, u=None, rnorm=rnorm, fun=fun, optimality=optimality, multiplier=mu,
        active_mask=_active_mask(X, settings), nit=int(nit.max(initial=0)),
        nfev=int(nit.sum()), status=int(status), success=status.success, message=message,
        method="exact", time=0.0, history=None)


def _finish(A, reduced, H, C, B, Y0, settings, atb_norm):
    """The exact finish of the columns of `B` from `Y0`: ``(Y, converged, nit)``."""
    batched = B.shape[1] >= BATCH_FROM
    Y, converged, nit = solve_gram(reduced, H, C, B, Y0, settings.max_iter, lockstep=batched)
    if batched:
        X = np.clip(reduced.original(Y), settings.lower[:, None], settings.upper[:, None])
        ok = certify(A, B, X, settings, atb_norm)[1]
        if not np.all(ok):
            # the normal equations of the lockstep finish fell short: the QR-based one
            Y, converged, more = solve_columns(reduced, B, Y, settings.max_iter,
                                               cols=np.flatnonzero(~ok))
            nit = nit + more
    return Y, converged, nit


def _active_mask(X, settings):
    mask = np.zeros(X.shape, int)
    mask[X <= settings.lower[:, None]] = -1
    mask[X >= settings.upper[:, None]] = 1
    return mask


def _explain(optimality, ok, nit, converged, settings):
    """The status-0 message: what was reached and what to try."""
    failing = np.flatnonzero(~ok)
    text = (f"Not converged: the relative KKT residual is {float(np.max(optimality)):.2e}, "
            f"above `tol` = {settings.tol:.1e}")
    if ok.size > 1:
        text += f" in {failing.size} of the {ok.size} right-hand sides"
    if not np.all(converged[failing]):
        return (text + f" after {int(nit.max())} active-set rounds (`max_iter` = "
                f"{settings.max_iter}). Try a larger `max_iter` or a warm start `x0`.")
    return (text + ". The active set ended with columns set aside as numerically dependent"
            " on the free ones; try a looser `tol`, or rescale the columns of `A`.")
