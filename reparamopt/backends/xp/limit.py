r"""The limit of the small-initialization flow on the device of the data: damped Newton
on the m-dimensional dual, as :mod:`reparamopt.flagships.implicit_bias` computes it in
NumPy.

.. math::

    \min_\lambda\ \Psi(\lambda) = \sum_i \Phi(a_i^\top \lambda) - b^\top \lambda,
    \qquad x = \Phi'(A^\top \lambda) = h(A^\top \lambda),

with ``h(w) = alpha^2 exp(w)`` for power 2 and ``(alpha^(2-L) - w)^(-L/(L-2))`` for
L > 2 (signed: the difference of the same at ``w`` and ``-w``). The iterate is kept in
the log coordinates ``s = log(u**L)`` and moved by increments only, so x stays accurate
for any `init_scale`; the Hessian ``A diag(h') A^T`` is an m x m matrix solved on the
device. This is the NumPy path's first attempt (Newton on ``b`` itself): where it does
not converge (``b`` outside the cone of A, a face of the cone that forces coordinates to
zero), :func:`newton_limit` says "failed" and the caller runs the dynamics instead.
"""

import itertools
import math

from .common import device_of

__all__ = ["newton_limit"]

STEP_CAP = 10.0  # largest growth of a log coordinate in one Newton step (as in NumPy)
STALL_RTOL = 1e-10  # a residual below this that no longer halves in ten steps is final
RIDGES = (0.0, 1e-15, 1e-13, 1e-11)  # grown from rounding level only when needed


class _LogCoordinates:
    """``s = log(u**L)`` per latent column (one, or two for the signed map)."""

    def __init__(self, xp, A, power, init_scale, signs):
        n = A.shape[1]
        self.xp, self.L, self.signs = xp, float(power), signs
        self.p = None if self.L == 2 else self.L / (self.L - 2.0)
        start = self.L * math.log(init_scale)
        self.s = [xp.full((n,), start, dtype=A.dtype, device=device_of(A)) for _ in signs]

    def x(self):
        return sum(sign * self.xp.exp(s) for sign, s in zip(self.signs, self.s))

    def latent(self):
        """The latent point as the ``(n, columns)`` array of the device dynamics."""
        return self.xp.stack([self.xp.exp(s / self.L) for s in self.s], axis=1)

    def slope(self):
        xp = self.xp
        if self.p is None:
            return sum(xp.exp(s) for s in self.s)
        return sum(self.p * xp.exp((1.0 + 1.0 / self.p) * s) for s in self.s)

    def max_step(self, dw):
        """The largest ``t <= 1`` along which no log coordinate grows by more than
        :data:`STEP_CAP` (and ``t dw`` stays in the domain)."""
        xp, t = self.xp, 1.0
        for sign, s in zip(self.signs, self.s):
            d = sign * dw
            if not bool(xp.any(d > 0)):
                continue
            if self.p is None:
                t = min(t, STEP_CAP / float(xp.max(d)))
            else:
                room = -math.expm1(-STEP_CAP / self.p) * xp.exp(-s / self.p)
                up = d > 0
                ratio = room / xp.where(up, d, xp.ones_like(d))
                t = min(t, float(xp.min(xp.where(up, ratio, xp.full_like(d, math.inf)))))
        return t

    def change(self, dw):
        """``(sum_i Phi(w_i + dw_i) - Phi(w_i), new coordinates)`` from increments;
        ``(inf, None)`` outside the domain."""
        xp, total, new = self.xp, 0.0, []
        for sign, s in zip(self.signs, self.s):
            step = sign * dw
            if self.p is None:
                ds = step
                dphi = xp.exp(s) * xp.expm1(step)
            else:
                inside = step * xp.exp(s / self.p)
                if bool(xp.any(inside >= 1.0)):
                    return math.inf, None
                ds = -self.p * xp.log1p(-inside)
                dphi = 0.5 * (self.L - 2.0) * xp.exp(2.0 * s / self.L) * xp.expm1(2.0 * ds / self.L)
            if not bool(xp.all(xp.isfinite(ds))):
                return math.inf, None
            total += float(xp.sum(dphi))
            new.append(s + ds)
        return total, new


def newton_limit(xp, A, b, *, power, init_scale, nonnegative, max_iter, rtol=1e-12):
    """Damped Newton on the dual of the flow's limit for ``A x = b``, at most `max_iter`
    steps. Returns ``(status, latent point (n, columns), steps)``, status "converged",
    "max_iter" (the last iterate) or "failed" (no convergence: the point is None).

    Examples
    --------
    One equation, two unknowns: the limit favours the entry cheaper in l1.

    >>> import numpy as np
    >>> from reparamopt.backends.xp.limit import newton_limit
    >>> status, W, steps = newton_limit(np, np.array([[1.0, 2.0]]), np.array([1.0]), power=2,
    ...                                 init_scale=1e-3, nonnegative=True, max_iter=200)
    >>> x = W[:, 0] ** 2
    >>> status, bool(abs(x[0] + 2 * x[1] - 1.0) < 1e-12), bool(x[1] > 0.49), bool(x[0] < 0.02)
    ('converged', True, True, True)
    """
    coords = _LogCoordinates(xp, A, power, init_scale, (1.0,) if nonnegative else (1.0, -1.0))
    eps = float(xp.finfo(A.dtype).eps)
    amax, norm_b, m = float(xp.max(xp.abs(A))), float(xp.linalg.vector_norm(b)), A.shape[0]
    history = []
    for it in itertools.count():
        x = coords.x()
        r = b - A @ x
        residual = float(xp.linalg.vector_norm(r))
        if not math.isfinite(residual):
            return "failed", None, it
        # below the rounding of the product A x nothing is left to fit
        floor = max(norm_b, eps * amax * float(xp.sum(xp.abs(x))) * math.sqrt(m) / rtol,
                    float(xp.finfo(A.dtype).smallest_normal))
        relative = residual / floor
        if relative <= rtol:
            return "converged", coords.latent(), it
        if it == max_iter:
            return "max_iter", coords.latent(), it
        history.append(relative)
        if relative <= STALL_RTOL and len(history) > 10 and relative > 0.5 * history[-11]:
            return "converged", coords.latent(), it
        new = _newton_step(xp, A, b, coords, r, max(1e-13, 64 * eps))
        if new is None:  # no descent left: done where nearly converged
            if residual <= 1e3 * rtol * floor:
                return "converged", coords.latent(), it
            return "failed", None, it
        coords.s = new


def _newton_step(xp, A, b, coords, r, rounding):
    """The new log coordinates of a damped Newton step (Armijo on the dual, changes
    within `rounding` of their terms counted as equal), or None when Newton gives no
    direction or no decrease."""
    step = _direction(xp, A, coords.slope(), r)
    if step is None:
        return None
    dw = A.T @ step
    slope = -float(xp.sum(r * step))  # the directional derivative of Psi
    if not slope < 0:
        return None
    bstep = float(xp.sum(b * step))
    t = t0 = coords.max_step(dw)
    while t > 1e-12 * t0:
        change, new = coords.change(t * dw)
        if new is not None:
            slack = rounding * (abs(change) + abs(t * bstep))
            if change - t * bstep <= 1e-4 * t * slope + slack:
                return new
        t *= 0.5
    return _if_residual_falls(xp, A, b, coords, t0 * dw, r)


def _if_residual_falls(xp, A, b, coords, dw, r):
    """The coordinates after the step `dw` when it lowers ``||b - A x||``, else None.
    Near the solution the dual's decrease falls below the rounding of its terms (in
    float32 long before the residual reaches float32's level); Newton's full step
    still shrinks the residual there, which this test sees."""
    new = coords.change(dw)[1]
    if new is None:
        return None
    x = sum(sign * xp.exp(s) for sign, s in zip(coords.signs, new))
    falls = float(xp.linalg.vector_norm(b - A @ x)) < 0.5 * float(xp.linalg.vector_norm(r))
    return new if falls else None


def _direction(xp, A, d, r):
    """The Newton direction ``(A diag(d) A^T)^{-1} r``, with a ridge grown from zero
    only when the solve fails (the curvature spans many decades)."""
    H = (A * d[None, :]) @ A.T
    scale = float(xp.max(xp.linalg.diagonal(H)))
    if not scale > 0:
        return None
    eye = xp.eye(H.shape[0], dtype=H.dtype, device=device_of(H))
    for ridge in RIDGES:
        try:
            step = xp.linalg.solve(H + (ridge * scale) * eye, r[:, None])[:, 0]
        except (RuntimeError, ValueError):  # a singular matrix (NumPy, torch, CuPy)
            continue
        if bool(xp.all(xp.isfinite(step))):
            return step
    return None

