r"""Sparse recovery by small initialization on the device of the data.

.. math::

    \min_u \tfrac12 \| A\,\phi(u) - b \|_2^2, \qquad
    \phi(u) = u^{\odot L} \quad\text{or}\quad \phi(u, v) = u^{\odot L} - v^{\odot L},
    \qquad u_0 = v_0 = \alpha \mathbf 1.

The dynamics of :func:`reparamopt.sparse_recovery`'s "accelerated" method (FISTA
momentum on the latent point, the local Lipschitz step of the Hadamard map, gradient
restart), written with fixed shapes for a device: the latent point is an ``(n, 1)``
array (``(n, 2)`` signed, the columns ``u`` and ``v``). Every 25 iterations the
relative KKT residual is read; below 1e-3 the least squares on the support is tried,
and accepted when it meets `tol` (the NumPy path's support polish).

The flow's limit (``method="limit"``, and "auto" as on the NumPy path) is computed by
damped Newton on the m-dimensional dual (:mod:`.limit`) and polished as the NumPy path
polishes it; where Newton does not converge on ``b`` (data the NumPy path first reduces
with an NNLS solve and a linear program), the dynamics run instead, for the iterations
left, and the result's ``method`` says so.
"""

import time

import numpy as np

from ...exceptions import ShapeError, warn_not_converged
from ...flagships.sparse import SparseSettings
from ...maps.hadamard import HadamardPower
from ...result import OptimizeResult, Status
from .common import above_rounding, check_no_option, checked_arrays, device_of
from .limit import newton_limit

__all__ = ["sparse_recovery"]

CHECK_EVERY = 25  # iterations between reads of the KKT residual (a device sync)
POLISH_FROM = 1e-3  # the support polish is tried below this residual
POWER_STEPS = 30  # power iterations for ||A||_2^2
NEWTON_STEPS = 60  # Newton steps on b before the dynamics take over (as NumPy tries b first)
# the polish of the limit may move x by this much (relative 2-norm) and ||x||_1 by that
POLISH_MOVE, POLISH_L1 = 1e-4, 1e-5


def sparse_recovery(A, b, **arguments):
    """:func:`reparamopt.sparse_recovery` for arrays of an array-API library: the flow's
    limit ("auto" and "limit") and the dynamics ("accelerated"; the other methods,
    `early_stopping`, `callback`, `history`, `progress` and `time_limit` are refused),
    every array of the result in the library and on the device of `A`, its scalars
    Python floats.

    Examples
    --------
    >>> import numpy as np
    >>> import array_api_strict as xp
    >>> from reparamopt.backends.xp import sparse_recovery
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((20, 60)) / np.sqrt(20)
    >>> x_true = np.zeros(60); x_true[[3, 17, 41]] = [1.0, 0.5, 2.0]
    >>> res = sparse_recovery(xp.asarray(A), xp.asarray(A @ x_true), init_scale=1e-4)
    >>> res.support, res.success
    (Array([ 3, 17, 41], dtype=array_api_strict.int64), True)
    """
    clock = time.perf_counter()
    settings = SparseSettings(**arguments)
    if settings.method not in ("auto", "limit", "accelerated"):
        check_no_option("method", settings.method, "auto")
    for name in ("early_stopping", "callback", "time_limit"):
        check_no_option(name, getattr(settings, name), None)
    for name in ("history", "progress"):
        check_no_option(name, getattr(settings, name), False)
    data = checked_arrays({"A": A, "b": b}, ndims={"A": (2,), "b": (1,)})
    xp, (A, b) = data.xp, data.arrays.values()
    if A.shape[0] == 0 or A.shape[1] == 0 or b.shape[0] != A.shape[0]:
        raise ShapeError(f"`A` must be non-empty and `b` of length {A.shape[0]}; got shapes "
                         f"{tuple(A.shape)} and {tuple(b.shape)}")
    problem = _Problem(xp, A, b, settings)
    if settings.method in ("auto", "limit"):
        return _limit(problem, settings, clock)
    W, nit, status = _accelerate(problem, settings, settings.max_iter)
    return problem.result(W, nit, status, clock)


class _Problem:
    """The latent least squares on the device: ``x = sum_j sign_j W[:, j]**L``."""

    def __init__(self, xp, A, b, settings):
        self.xp, self.A, self.b, self.settings = xp, A, b, settings
        columns = 1 if settings.nonnegative else 2
        self.sign = xp.asarray([[1.0, -1.0][:columns]], dtype=A.dtype, device=device_of(A))
        self.map = HadamardPower((A.shape[1], columns), power=settings.power)
        self.scale = max(float(xp.linalg.vector_norm(A.T @ b)), float(xp.finfo(A.dtype).smallest_normal))
        # the pair (u, v) sees [A, -A], whose squared norm is twice A's
        self.lipschitz = columns * _squared_norm(xp, A)

    def x(self, W):
        return self.xp.sum(self.map.forward(W) * self.sign, axis=1)

    def gradient_x(self, x):
        return self.A.T @ (self.A @ x - self.b)

    def optimality(self, x, g):
        natural = self.xp.minimum(x, g) if self.settings.nonnegative else g
        return float(self.xp.linalg.vector_norm(natural)) / self.scale

    def certified(self, x):
        """Whether `x` meets `tol`, or its KKT residual does above the rounding level of
        the dtype (float32 cannot reach the default 1e-8: its level is ~1e-7)."""
        xp, g = self.xp, self.gradient_x(x)
        if self.optimality(x, g) <= self.settings.tol:
            return True
        natural = xp.minimum(x, g) if self.settings.nonnegative else g
        eps = float(xp.finfo(x.dtype).eps)
        excess = above_rounding(xp, self.A, self.b[:, None], x[:, None], natural[:, None], eps)
        return float(excess[0]) / self.scale <= self.settings.tol

    def latent(self, x):
        """The latent point of a feasible `x` (``u = x_+^(1/L)``, ``v = x_-^(1/L)``)."""
        parts = [self.xp.maximum(x * s, 0.0) for s in ([1.0] if self.settings.nonnegative else [1.0, -1.0])]
        return self.xp.stack(parts, axis=1) ** (1.0 / self.settings.power)

    def result(self, W, nit, status, clock, method="accelerated", message=None):
        """The OptimizeResult of the latent point `W`; `message` replaces the dynamics'
        own for a status other than converged."""
        xp, settings = self.xp, self.settings
        x = self.x(W)
        r = self.A @ x - self.b
        rnorm = float(xp.linalg.vector_norm(r))
        threshold = settings.support_threshold
        if threshold is None:
            threshold = max(1e-3 * float(xp.max(xp.abs(x))), 10 * settings.init_scale ** settings.power)
        optimality = self.optimality(x, self.A.T @ r)
        if status == Status.MAX_ITER and message is None:
            message = (f"Not converged: the relative KKT residual is {optimality:.2e} against "
                       f"`tol` = {settings.tol:g} after `max_iter` = {nit} iterations: try a "
                       "larger `max_iter` or method='limit'.")
        if status == Status.MAX_ITER:
            warn_not_converged(message)
        return OptimizeResult(
            x=x, u=W[:, 0] if W.shape[1] == 1 else W, rnorm=rnorm, fun=0.5 * rnorm ** 2,
            l1=float(xp.sum(xp.abs(x))), support=xp.nonzero(xp.abs(x) > threshold)[0],
            support_threshold=float(threshold), optimality=optimality, nit=nit, nfev=nit + 1,
            status=int(status), success=status.success, message=message or status.message,
            history=None, method=method, stopped_early=False, time=time.perf_counter() - clock)


def _squared_norm(xp, A):
    """``||A||_2^2`` by power iteration on ``A^T A`` from a seeded random start, with a
    10% margin (the steps must not be longer than the curvature allows)."""
    v = xp.asarray(np.random.default_rng(0).standard_normal(A.shape[1]), dtype=A.dtype,
                   device=device_of(A))
    value = 0.0
    for _ in range(POWER_STEPS):
        v = v / max(float(xp.linalg.vector_norm(v)), float(xp.finfo(A.dtype).smallest_normal))
        v = A.T @ (A @ v)
        value = float(xp.linalg.vector_norm(v))
    return 1.1 * value


def _limit(problem, settings, clock):
    """The flow's limit by Newton on the dual, polished where that moves it little and
    checked on the data; the dynamics for the iterations left where Newton fails."""
    status, W, nit = newton_limit(problem.xp, problem.A, problem.b, power=settings.power,
                                  init_scale=settings.init_scale, nonnegative=settings.nonnegative,
                                  max_iter=min(settings.max_iter, NEWTON_STEPS))
    if status == "failed" or (status == "max_iter" and nit < settings.max_iter):
        W, more, done = _accelerate(problem, settings, settings.max_iter - nit)
        return problem.result(W, nit + more, done, clock)
    message = None
    if status == "max_iter":
        message = (f"{Status.MAX_ITER.message} The limit's Newton iterations (`max_iter` = "
                   f"{settings.max_iter}) ended before it converged: x is the last iterate, "
                   "not the limit. Try a larger `max_iter`.")
    else:
        x = problem.x(W)
        polished = _support_polish(problem, x) if settings.polish else None
        if polished is not None and _near(problem.xp, polished, x):
            W, x = problem.latent(polished), polished
        if not problem.certified(x):
            message = ("The limit was computed, but its KKT residual is above `tol`: the "
                       "data may be too ill-conditioned; try method='accelerated'.")
    done = Status.CONVERGED if message is None else Status.MAX_ITER
    return problem.result(W, nit, done, clock, method="limit", message=message)


def _near(xp, new, x):
    """Whether `new` is within :data:`POLISH_MOVE` of `x` and its l1 norm within
    :data:`POLISH_L1` (relative): the polished point stays the flow's limit."""
    l1 = float(xp.sum(xp.abs(x)))
    moved = float(xp.linalg.vector_norm(new - x))
    return (moved <= POLISH_MOVE * float(xp.linalg.vector_norm(x))
            and abs(float(xp.sum(xp.abs(new))) - l1) <= POLISH_L1 * l1)


def _accelerate(problem, settings, max_iter):
    """FISTA on the latent point with local Lipschitz steps and gradient restart, the
    KKT residual read and the support polish tried every `CHECK_EVERY` iterations, at
    most `max_iter` iterations. Returns the latent point, the iterations and the status."""
    xp = problem.xp
    W = xp.full((problem.A.shape[1], problem.sign.shape[1]), settings.init_scale,
                dtype=problem.A.dtype, device=device_of(problem.A))
    Y, t = W, xp.asarray(1.0, dtype=W.dtype, device=device_of(W))
    for k in range(1, max_iter + 1):
        g = problem.gradient_x(problem.x(Y))
        g_latent = g[:, None] * problem.sign
        grad = problem.map.power * xp.abs(Y) ** (problem.map.power - 1) * xp.sign(Y) * g_latent
        step = 1.0 / xp.max(problem.map.latent_lipschitz(Y, g_latent, problem.lipschitz))
        new = Y - step * grad
        t_next = 0.5 * (1.0 + xp.sqrt(1.0 + 4.0 * t * t))
        restart = xp.sum(grad * (new - W)) > 0  # kept on the device: no sync per step
        Y = xp.where(restart, new, new + ((t - 1.0) / t_next) * (new - W))
        t = xp.where(restart, xp.ones_like(t), t_next)
        W = new
        if k % CHECK_EVERY == 0:
            x = problem.x(W)
            if problem.certified(x):
                return W, k, Status.CONVERGED
            optimality = problem.optimality(x, problem.gradient_x(x))
            if settings.polish and optimality <= POLISH_FROM:
                polished = _support_polish(problem, x)
                if polished is not None:
                    return problem.latent(polished), k, Status.CONVERGED
    return W, max_iter, Status.MAX_ITER


def _support_polish(problem, x):
    """The least squares on the support of `x` (entries above 1e-3 of the largest),
    zero elsewhere, or None when it is not a better answer (empty or too large a
    support, a negative entry where x must be non-negative, `tol` not met)."""
    xp, A, b = problem.xp, problem.A, problem.b
    magnitude = xp.abs(x)
    mask = magnitude > 1e-3 * xp.max(magnitude)
    index = xp.nonzero(mask)[0]
    size = int(index.shape[0])
    if size == 0 or size > A.shape[0]:
        return None
    A_S = xp.take(A, index, axis=1)
    G = A_S.T @ A_S
    # a ridge at the rounding level keeps a singular block solvable; `tol` judges the answer
    ridge = float(xp.finfo(A.dtype).eps) * float(xp.max(xp.linalg.diagonal(G)))
    eye = xp.eye(size, dtype=A.dtype, device=device_of(A))
    values = xp.linalg.solve(G + ridge * eye, (A_S.T @ b)[:, None])[:, 0]
    if problem.settings.nonnegative and bool(xp.any(values < 0)):
        return None
    # scatter the values back with a running index (the standard has no scatter)
    position = xp.cumulative_sum(xp.astype(mask, xp.int64)) - 1
    spread = xp.take(values, xp.clip(position, 0, size - 1))
    x_new = xp.where(mask, spread, xp.zeros_like(x))
    return x_new if problem.certified(x_new) else None
