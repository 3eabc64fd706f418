"""Reparametrized NNLS iterations with closed-form steps, vectorized over right-hand sides.

These are the steppers the engines cannot express cheaply: each evaluates the gradient
once per iteration and sets its step from the local Lipschitz bound of the latent
objective ``F(u) = f(|u|^L)``,

.. math::

    \\|\\nabla^2 F(u)\\| \\le L^2 \\lambda \\max |u|^{2L-2} + L(L-1) \\max |u|^{L-2} |g|,

where ``lambda >= ||A||_2^2`` comes from power iteration and ``g = A^T (A x - b)``. All
arrays are ``(n,)`` or ``(n, k)``; reductions run over axis 0, so every right-hand side
gets its own step and restart while products with ``A`` stay matrix-matrix.
"""

import numpy as np

__all__ = ["Nesterov", "RiemannianGD", "MirrorNesterov", "STEPPERS"]


def _colmax(v):
    return np.max(v, axis=0) if v.size else np.zeros(v.shape[1:])


def _local_step(u, g, power, lam):
    au = np.abs(u)
    bound = (power * power * lam * _colmax(au ** (2 * power - 2))
             + power * (power - 1) * _colmax(au ** (power - 2) * np.abs(g)))
    return 1.0 / np.maximum(bound, np.finfo(float).tiny)


class _Stepper:
    def __init__(self, model, x0, power):
        self.model = model
        self.power = power
        self.lam = model.lipschitz()
        self.nfev = 0
        self.u = np.maximum(x0, 0.0) ** (1.0 / power)

    @property
    def x(self):
        return np.abs(self.u) ** self.power

    def _grad(self, x):
        self.nfev += 1
        return self.model.grad(x)


class Nesterov(_Stepper):
    """Accelerated gradient on ``u`` with FISTA momentum and gradient restart.

    The step is ``1 / L_loc`` at the extrapolated point; the restart test
    ``<grad F(y), u_new - u> > 0`` (O'Donoghue and Candes) needs no extra evaluation.
    """

    def __init__(self, model, x0, power):
        super().__init__(model, x0, power)
        self.u_prev = self.u.copy()
        self.t = np.ones(self.u.shape[1:])

    def step(self):
        L = self.power
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * self.t * self.t))
        y = self.u + ((self.t - 1.0) / t_new) * (self.u - self.u_prev)
        ay = np.abs(y)
        g, _ = self._grad(ay ** L)
        gu = L * ay ** (L - 1) * np.sign(y) * g
        u_new = y - _local_step(y, g, L, self.lam) * gu
        restart = np.sum(gu * (u_new - self.u), axis=0) > 0
        self.t = np.where(restart, 1.0, t_new)
        self.u_prev, self.u = self.u, u_new


class RiemannianGD(_Stepper):
    """The x-space discretization ``x <- x - L eta x^(2-2/L) grad f(x)``.

    ``eta`` is the local latent step times ``L`` (the first-order match of a latent
    gradient step), capped so that no coordinate loses more than 90% of its value:
    the iterate stays positive without any projection.
    """

    def __init__(self, model, x0, power):
        super().__init__(model, x0, power)
        self._x = np.maximum(x0, 0.0)

    @property
    def x(self):
        return self._x

    @property
    def u(self):
        return self._x ** (1.0 / self.power)

    @u.setter
    def u(self, value):
        self._x = np.abs(value) ** self.power

    def step(self):
        L = self.power
        x = self._x
        g, _ = self._grad(x)
        eta = L * _local_step(x ** (1.0 / L), g, L, self.lam)
        direction = L * x ** (2.0 - 2.0 / L) * g
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(direction > 0, x / direction, np.inf)
        eta = np.minimum(eta, 0.9 * np.min(ratio, axis=0)) if ratio.size else eta
        self._x = np.maximum(x - eta * direction, 0.0)


class MirrorNesterov(_Stepper):
    """Entropic accelerated mirror descent, the discretization of the paper's ODE (L = 2).

    ``z <- z - eta (k+2)/2 grad f(x)``, ``x <- (x + tau e^z) / (1 + tau)`` with
    ``tau = 2 / (k+2)``; ``eta = 1 / (lambda max x)`` matches the local smoothness of
    ``f`` in the entropy geometry. The momentum restarts when ``f`` increases.
    """

    def __init__(self, model, x0, power):
        super().__init__(model, x0, power)
        self._x = np.maximum(x0, np.finfo(float).tiny)
        self.z = np.log(self._x)
        self.k = np.zeros(self._x.shape[1:])
        self.f = np.full(self._x.shape[1:], np.inf)

    @property
    def x(self):
        return self._x

    @property
    def u(self):
        return np.sqrt(self._x)

    @u.setter
    def u(self, value):
        self._x = np.maximum(np.abs(value) ** 2, np.finfo(float).tiny)
        self.z = np.log(self._x)
        self.k = np.zeros(self._x.shape[1:])

    def step(self):
        g, f = self._grad(self._x)
        worse = f > self.f
        self.f = f
        self.k = np.where(worse, 0.0, self.k)
        self.z = np.where(worse, np.log(self._x), self.z)
        eta = 1.0 / (self.lam * np.maximum(_colmax(self._x), np.finfo(float).tiny))
        self.z = np.minimum(self.z - eta * 0.5 * (self.k + 2.0) * g, 700.0)
        tau = 2.0 / (self.k + 2.0)
        self._x = np.maximum((self._x + tau * np.exp(self.z)) / (1.0 + tau), np.finfo(float).tiny)
        self.k = self.k + 1.0


STEPPERS = {"nesterov": Nesterov, "riemannian-gd": RiemannianGD, "mirror-nesterov": MirrorNesterov}
