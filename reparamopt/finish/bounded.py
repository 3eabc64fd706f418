r"""Bounded-variable least squares with an optional linear equality: an exact active set.

.. math::

    \min_x \tfrac12 \|M x - d\|^2 + q^T x \quad \text{s.t.} \quad
    l \le x \le u, \qquad e^T x = s \ (\text{optional}),

the problem :func:`reparamopt.lsq` reduces every call to (an l2 penalty is rows of ``M``,
an l1 penalty the linear term ``q`` on sign-constrained parts, the simplex the equality).
The method is Stark and Parker's bounded-variable least squares in the form of Lawson and
Hanson's active set: the *free* columns are kept as an economic QR factorization of the
equilibrated columns ``M_F D^{-1}``, updated by :func:`scipy.linalg.qr_insert` and
:func:`scipy.linalg.qr_delete`, so that no normal equations are formed and rank-deficient
or ill-conditioned data (cond 1e17) keep the accuracy of a backward-stable solve. A column
whose sine to the span of the free ones is below :data:`~.least_squares.RHO_QR` does not
enter (it is set aside until the objective drops). The equality enters through its
multiplier: with ``R`` the triangular factor, the free solution is
``z = z0 - mu R^{-1} R^{-T} e_F`` and ``mu`` makes ``e^T x = s``.

Each iterate is feasible and the objective never increases: a free solution outside the
bounds is approached until the first free variable reaches its bound, which then leaves.
A variable outside the free set may sit anywhere in its interval (a bound, or an interior
value when its column was dependent); it enters when its reduced gradient ``g + mu e``
points into the interval by more than the rounding level of the gradient.
"""

from types import SimpleNamespace

import numpy as np
import scipy.linalg as sla

from . import lawson_hanson as lh

__all__ = ["bounded_active_set", "equality_multiplier"]

_trtrs = sla.lapack.dtrtrs


class _Factor(lh._Factor):
    """Economic QR of the equilibrated free columns of ``M``, in the order they entered:
    the factor of :mod:`.lawson_hanson` (its pivoted reset, its inserts under the
    independence test and its deletes) on the columns of a dense ``M``, with the solves
    of this module."""

    def __init__(self, M, scale):
        self.M, self.scale = M, scale
        # what the inherited reset and delete read of the data: the number of rows
        self.ls = SimpleNamespace(model=SimpleNamespace(m=M.shape[0]))
        self.order = np.zeros(0, int)
        self.Q = np.zeros((M.shape[0], 0))
        self.R = np.zeros((0, 0))

    def _column(self, idx):
        idx = np.atleast_1d(idx)
        return self.M[:, idx] / self.scale[idx]

    def solve(self, rhs, linear):
        """``argmin_z ||M_F z - rhs||^2 / 2 + linear^T z`` (original units)."""
        s = self.scale[self.order]
        c = self.Q.T @ rhs
        if linear is not None:
            c = c - _trtrs(self.R, linear / s, lower=False, trans=1)[0]
        return _trtrs(self.R, c, lower=False)[0] / s

    def inverse_times(self, v):
        """``(M_F^T M_F)^{-1} v``."""
        s = self.scale[self.order]
        w = _trtrs(self.R, v / s, lower=False, trans=1)[0]
        return _trtrs(self.R, w, lower=False)[0] / s


class _Problem:
    """The data of one right-hand side: ``M``, ``d``, bounds, ``q``, ``e`` and ``s``."""

    def __init__(self, M, d, lower, upper, linear, weights, total, scale):
        self.M, self.d, self.lower, self.upper = M, d, lower, upper
        self.linear, self.weights, self.total = linear, weights, total
        self.scale = scale

    def gradient(self, x):
        g = self.M.T @ (self.M @ x - self.d)
        return g if self.linear is None else g + self.linear

    def objective(self, x):
        r = self.M @ x - self.d
        value = 0.5 * float(r @ r)
        return value if self.linear is None else value + float(self.linear @ x)


def equality_multiplier(g, x, lower, upper, weights, free=None):
    """The multiplier ``mu`` of ``e^T x = s`` that best fits the gradient `g` at `x`.

    From the free variables (strictly inside their bounds, or `free`) it is the least
    squares fit of ``g + mu e = 0``; without one, the middle of the interval of the ``mu``
    for which every variable at a bound has a reduced gradient pointing out of its
    interval (or of the two ends when that interval is empty).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.finish.bounded import equality_multiplier
    >>> g = np.array([1.0, 2.0, 5.0])
    >>> x, lo, hi = np.array([0.5, 0.5, 0.0]), np.zeros(3), np.full(3, np.inf)
    >>> float(equality_multiplier(g, x, lo, hi, np.ones(3)))
    -1.5
    """
    if free is None:
        free = (x > lower) & (x < upper)
    free = free & (weights != 0)
    if free.any():
        e = weights[free]
        return -float(e @ g[free]) / float(e @ e)
    ratio = np.divide(-g, weights, out=np.zeros_like(g), where=weights != 0)
    # at the lower bound g + mu e >= 0 is needed; at the upper g + mu e <= 0
    up, down = (x < upper) & (weights != 0), (x > lower) & (weights != 0)
    low_limits = np.concatenate([ratio[up & (weights > 0)], ratio[down & (weights < 0)]])
    high_limits = np.concatenate([ratio[down & (weights > 0)], ratio[up & (weights < 0)]])
    lo = low_limits.max(initial=-np.inf)
    hi = high_limits.min(initial=np.inf)
    if np.isfinite(lo) and np.isfinite(hi):
        return 0.5 * (lo + hi)
    return float(lo if np.isfinite(lo) else hi if np.isfinite(hi) else 0.0)


def bounded_active_set(M, d, lower, upper, x, *, linear=None, weights=None, total=None,
                       max_iter=None):
    """Solve one right-hand side of the bounded least squares of this module from `x`.

    Parameters
    ----------
    M : ndarray, shape (m, n)
        The matrix (an l2 penalty as extra rows).
    d : ndarray, shape (m,)
        The right-hand side.
    lower, upper : ndarray, shape (n,)
        Bounds, infinite where absent.
    x : ndarray, shape (n,)
        Feasible start (within the bounds, and ``e^T x = s`` with an equality). The
        variables strictly inside their bounds start free.
    linear : ndarray, shape (n,), optional
        The linear term ``q``.
    weights, total : ndarray of shape (n,) and float, optional
        The equality ``e^T x = s`` (both or neither).
    max_iter : int, optional
        Bound on the pricing rounds (default ``3 n + 50``).

    Returns
    -------
    x : ndarray, shape (n,)
        Feasible, never worse than the start.
    mu : float
        The multiplier of the equality (0 without one).
    converged : bool
        Whether no variable outside the free set has a reduced gradient above its
        rounding level that points into its interval (other than columns set aside as
        dependent on the free ones).
    nit : int

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.finish.bounded import bounded_active_set
    >>> M, d = np.eye(2), np.array([2.0, -1.0])
    >>> x, mu, ok, nit = bounded_active_set(M, d, np.zeros(2), np.ones(2), np.zeros(2))
    >>> x, ok
    (array([1., 0.]), True)
    """
    n = M.shape[1]
    norms = np.linalg.norm(M, axis=0)
    problem = _Problem(M, d, lower, upper, linear, weights, total,
                       np.where(norms > 0, norms, 1.0))
    absM = np.abs(M)
    max_iter = 3 * n + 50 if max_iter is None else max_iter
    x = np.array(x, dtype=float)
    factor = _Factor(M, problem.scale)
    factor.reset(np.flatnonzero((x > lower) & (x < upper) & (norms > 0)))
    aside = np.zeros(n, bool)
    for nit in range(1, max_iter + 1):
        before = x.copy()
        x, mu = _settle(problem, factor, x)
        if not np.array_equal(x, before):
            aside[:] = False
        g = problem.gradient(x)
        if weights is not None and mu is None:
            mu = equality_multiplier(g, x, lower, upper, weights, free=np.zeros(n, bool))
        w = g if weights is None else g + mu * weights
        # rounding level of each gradient entry (kkt.gradient_floor on M, d and q)
        floor = 8 * np.finfo(float).eps * (absM.T @ (absM @ np.abs(x) + np.abs(d)))
        if linear is not None:
            floor += 8 * np.finfo(float).eps * np.abs(linear)
        outside = np.ones(n, bool)
        outside[factor.order] = False
        movable = outside & ~aside & (norms > 0)
        violation = np.maximum(np.where(movable & (x < upper), -w - floor, 0.0),
                               np.where(movable & (x > lower), w - floor, 0.0))
        j = int(np.argmax(violation))
        if violation[j] <= 0:
            return x, float(mu or 0.0), True, nit
        if weights is not None and not factor.order.size:
            # alone, the entering variable is pinned by the equality: it enters with the
            # partner that moves to keep the sum at the least cost
            rising = -w[j] - floor[j] >= w[j] - floor[j]
            k = _partner(j, rising, w, x, problem, outside & (norms > 0))
            if k is not None:
                factor.insert(k)
        if not factor.insert(j):
            aside[j] = True
    return x, float(mu or 0.0), False, max_iter


def _partner(j, rising, w, x, problem, candidates):
    """The variable that moves with `j` (rising or falling) so that ``e^T x`` stays: of
    those that can move the opposite way in ``e``, the one whose move costs least (the
    smallest reduced gradient along it); None if none can."""
    e = problem.weights
    direction = -(1.0 if rising else -1.0) * np.sign(e[j]) * np.sign(e)
    room = np.where(direction > 0, x < problem.upper, x > problem.lower)
    able = candidates & room & (direction != 0)
    able[j] = False
    if not able.any():
        return None
    cost = np.where(able, w * direction, np.inf)
    return int(np.argmin(cost))


def _settle(problem, factor, x):
    """Move towards the free solution until it lies within the bounds, freeing no
    variable and fixing those that reach a bound on the way; return ``(x, mu)`` (``mu``
    None without a free variable)."""
    lower, upper, weights = problem.lower, problem.upper, problem.weights
    while factor.order.size:
        idx = factor.order
        z, mu = _free_solution(problem, factor, x)
        lo, hi = lower[idx], upper[idx]
        if np.all((z >= lo) & (z <= hi)):
            x[idx] = z
            return x, mu
        xo = x[idx]
        dz = z - xo
        target = np.where(dz > 0, hi, lo)
        blocked = ((z > hi) | (z < lo)) & (dz != 0)
        ratio = np.divide(target - xo, dz, out=np.ones_like(dz), where=blocked)
        alpha = float(np.clip(ratio[blocked].min(), 0.0, 1.0))
        step = np.clip(xo + alpha * dz, lo, hi)
        leave = blocked & (ratio <= alpha)
        step[leave] = target[leave]
        x[idx] = step
        factor.delete(np.flatnonzero(leave))
    return x, None if weights is not None else 0.0


def _free_solution(problem, factor, x):
    """The minimizer over the free variables with the others fixed at `x`, and the
    equality's multiplier (0 without one)."""
    idx = factor.order
    fixed = x.copy()
    fixed[idx] = 0.0
    rhs = problem.d - problem.M @ fixed
    linear = None if problem.linear is None else problem.linear[idx]
    z = factor.solve(rhs, linear)
    if problem.weights is None:
        return z, 0.0
    e = problem.weights[idx]
    y = factor.inverse_times(e)
    denom = float(e @ y)
    if denom <= 0:
        return z, 0.0
    fixed_part = float(problem.weights @ x - e @ x[idx])
    mu = (float(e @ z) - (problem.total - fixed_part)) / denom
    return z - mu * y, mu
