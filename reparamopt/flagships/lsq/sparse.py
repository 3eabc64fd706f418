"""The sparse path of :func:`~reparamopt.lsq`: a projected Newton method over the box
whose Newton steps are solved by conjugate gradients, so that nothing costs more than
products with ``A`` (no Gram matrix, no factorization).

One iteration, from a feasible ``x`` with gradient ``g``:

1. the free set ``F``: variables strictly inside their bounds, and those at a bound that
   the gradient pushes inwards (the others stay fixed, as in Bertsekas' projected Newton
   method);
2. the least squares on ``F`` with the others fixed, by the column-equilibrated
   conjugate gradients of the NNLS sparse path
   (:func:`reparamopt.flagships.nnls.sparse._cgls`), warm-started from ``x_F``, until
   the gradient on ``F`` falls by :data:`~reparamopt.flagships.nnls.sparse.FORCING`;
3. the projected step ``clip(x + alpha (z - x))``, alpha halved until the objective
   drops.

Every iterate is feasible and lowers the objective. A right-hand side whose KKT
residual does not reach the target within the budget (a stalled solve: nearly
dependent free columns) is handed to the exact path, warm-started from the point
reached; the call's one certification judges every result.
"""

import numpy as np
import scipy.sparse as sp

from ..nnls.sparse import FORCING, MAX_CG_TOTAL, MAX_HALVINGS, MAX_NEWTON, _cgls

__all__ = ["projected_newton", "sparse_points"]

_TINY = np.finfo(float).tiny
_EPS = np.finfo(float).eps


def sparse_points(A, B, settings, atb_norm):
    """:func:`projected_newton` on every column of `B`: ``(X, converged, nit)``."""
    A = sp.csr_array(A)
    norms = np.sqrt(np.bincount(A.indices, A.data * A.data, minlength=A.shape[1]))
    k = B.shape[1]
    X, converged, nit = np.zeros((A.shape[1], k)), np.zeros(k, bool), np.zeros(k, int)
    for j in range(k):
        X[:, j], converged[j], nit[j] = projected_newton(A, B[:, j], settings, atb_norm[j],
                                                         norms)
    return X, converged, nit


def projected_newton(A, b, settings, atb_norm, norms):
    """The projected Newton iteration for ``min ||A x - b||^2 / 2`` over the box of
    `settings` (`A` sparse, `norms` its column norms), from the point of the box nearest
    zero. Returns ``(x, converged, nit)``: the last iterate, whether its relative KKT
    residual (with the residual formed from ``A``) reached ``settings.tol``, and the
    Newton iterations.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from reparamopt.flagships.lsq.settings import LSQSettings
    >>> from reparamopt.flagships.lsq.sparse import projected_newton
    >>> A = sp.csr_array(np.eye(3))
    >>> s = LSQSettings.build(3, bounds=(-1, 1))
    >>> x, ok, nit = projected_newton(A, np.array([2.0, 0.5, -3.0]), s, 3.6, np.ones(3))
    >>> x, ok
    (array([ 1. ,  0.5, -1. ]), True)
    """
    lower, upper, tol = settings.lower, settings.upper, settings.tol
    scale = np.where(norms > 0, norms, 1.0)
    atb_norm = max(float(atb_norm), _TINY)
    x = np.clip(0.0, lower, upper)
    res = A @ x - b
    fun, g = 0.5 * float(res @ res), A.T @ res
    budget, exact, last, columns = MAX_CG_TOTAL, True, None, None
    for it in range(MAX_NEWTON):
        kkt = float(np.linalg.norm(x - np.clip(x - g, lower, upper))) / atb_norm
        if kkt <= tol and not exact:
            # the conjugate gradients' own residual said so: check on A itself
            res = A @ x - b
            g, exact = A.T @ res, True
            kkt = float(np.linalg.norm(x - np.clip(x - g, lower, upper))) / atb_norm
        if kkt <= tol:
            return x, True, it
        free = ((x > lower) | (g < 0)) & ((x < upper) | (g > 0)) & (norms > 0)
        F = np.flatnonzero(free)
        target = 0.1 * tol * atb_norm
        if not np.array_equal(free, last):
            # a new free set: solved loosely, since it may change again; the same one
            # twice: solved to the end
            target = max(FORCING * float(np.linalg.norm(g[F])), target)
        if F.size == A.shape[1]:
            AF = A
        else:
            columns = columns if columns is not None else sp.csc_array(A)
            AF = columns[:, F]
        z, s, used, ok = _cgls(AF, scale[F], x[F], -res, -g[F], target, budget)
        last = free
        budget -= used
        step = _projected_step(A, b, x, F, z, s, fun, lower, upper)
        if step is None or not ok:
            return (x if step is None else step[0]), False, it + 1
        x, res, fun, exact = step
        g = A.T @ res
    return x, False, MAX_NEWTON


def _projected_step(A, b, x, F, z, s, fun, lower, upper):
    """``(x, A x - b, objective, exact)`` at the first ``clip(x + alpha (z - x))``,
    alpha in 1, 1/2, ..., that lowers the objective below `fun` (None when none does).
    A `z` within the bounds is taken whole (unless worse beyond the objective's
    rounding), with the residual ``-s`` the conjugate gradients updated (``exact``
    False); the other points have theirs formed from ``A``."""
    lo, hi = lower[F], upper[F]
    # near the solution the objective changes below its rounding: a full step within
    # the bounds is taken unless it is worse beyond that
    if np.all((z >= lo) & (z <= hi)):
        value = 0.5 * float(s @ s)
        if value <= fun + 64 * _EPS * fun:
            trial = x.copy()
            trial[F] = z
            return trial, -s, value, False
    d = z - x[F]
    alpha = 1.0
    for _ in range(MAX_HALVINGS):
        trial = x.copy()
        trial[F] = np.clip(x[F] + alpha * d, lo, hi)
        res = A @ trial - b
        value = 0.5 * float(res @ res)
        if value < fun:
            return trial, res, value, True
        alpha *= 0.5
    return None
