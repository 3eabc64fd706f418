r"""The one certification of :func:`~reparamopt.lsq`: a KKT test on the data alone.

For :math:`\min f(x) + l_1 \|x\|_1` over the box :math:`[l, u]` with
:math:`\mathbf 1^T x = s`, a point is optimal when the natural residual of the proximal
gradient step vanishes:

.. math::

    r = x - \operatorname{clip}_{[l, u]}\big(S_{l_1}(x - g - \mu \mathbf 1)\big),
    \qquad g = A^T (A x - b) + l_2 x,

with :math:`S` the soft threshold and :math:`\mu` the multiplier of the sum, fitted here
from ``x`` and ``g`` (:func:`reparamopt.finish.bounded.equality_multiplier`), not taken
from the solver. ``optimality = ||r|| / max(||A^T b||, ||A^T A x||)``; the point is
certified when that, or its part above the rounding level of ``g``
(:func:`reparamopt.finish.kkt.gradient_floor`), is at most `tol`, and when it is
feasible (bounds exactly, the sum to rounding).
"""

import numpy as np

from ...finish.bounded import equality_multiplier
from ...finish.kkt import excess_residual, gradient_floor

__all__ = ["certify", "natural_residual"]

_EPS = np.finfo(float).eps
_TINY = np.finfo(float).tiny


def natural_residual(X, G, settings):
    """The residual ``r`` of the module and the multipliers ``mu`` (zeros without a sum).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.flagships.lsq.certify import natural_residual
    >>> from reparamopt.flagships.lsq.settings import LSQSettings
    >>> s = LSQSettings.build(2, bounds=(0, None), sum_to=1)
    >>> r, mu = natural_residual(np.array([[1.0], [0.0]]), np.array([[-1.0], [3.0]]), s)
    >>> r.ravel(), mu
    (array([0., 0.]), array([1.]))
    """
    lower, upper, l1 = settings.lower[:, None], settings.upper[:, None], settings.l1
    mu = np.zeros(X.shape[1])
    if settings.sum_to is not None:
        smooth = G + l1 * np.sign(X)
        free = (X > lower) & (X < upper) & ((X != 0) | (l1 == 0))
        count = free.sum(axis=0)
        # with free variables: the least-squares fit of g + mu = 0 on them (all at once)
        mu = -np.sum(np.where(free, smooth, 0.0), axis=0) / np.maximum(count, 1)
        for j in np.flatnonzero(count == 0):
            mu[j] = equality_multiplier(smooth[:, j], X[:, j], settings.lower, settings.upper,
                                        np.ones(X.shape[0]), free=free[:, j])
    V = X - (G + mu)
    V = np.sign(V) * np.maximum(np.abs(V) - l1, 0.0)
    return X - np.clip(V, lower, upper), mu


def certify(A, B, X, settings, atb_norm):
    """``(optimality, ok, mu, rnorm, fun)`` of the points `X` (columns) on the data."""
    AX = A @ X
    R = AX - B
    AtAX = A.T @ AX
    G = A.T @ R + settings.l2 * X
    r, mu = natural_residual(X, G, settings)
    scale = np.maximum(np.maximum(atb_norm, np.linalg.norm(AtAX, axis=0)), _TINY)
    optimality = np.linalg.norm(r, axis=0) / scale
    ok = optimality <= settings.tol
    if not np.all(ok):
        floor = gradient_floor(A, X, B) + 8 * _EPS * (settings.l2 * np.abs(X) + settings.l1)
        floor += 8 * _EPS * np.abs(mu)
        ok |= excess_residual(X, r, floor, scale, nonnegative=False) <= settings.tol
    ok &= _feasible(X, settings)
    rnorm = np.linalg.norm(R, axis=0)
    fun = 0.5 * rnorm ** 2 + 0.5 * settings.l2 * np.sum(X * X, axis=0)
    fun += settings.l1 * np.sum(np.abs(X), axis=0)
    return optimality, ok, mu, rnorm, fun


def _feasible(X, settings):
    inside = np.all((X >= settings.lower[:, None]) & (X <= settings.upper[:, None]), axis=0)
    if settings.sum_to is None:
        return inside
    gap = np.abs(X.sum(axis=0) - settings.sum_to)
    return inside & (gap <= 64 * _EPS * (abs(settings.sum_to) + np.abs(X).sum(axis=0)))
