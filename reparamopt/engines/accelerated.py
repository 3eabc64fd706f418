"""Nesterov-accelerated gradient descent on the latent variable, with restarts."""

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .._utils.validation import check_choice, check_scalar
from .base import Engine, _slack, estimate_step

__all__ = ["AcceleratedGradientDescent"]

_RESTARTS = ("function", "speed", "both")


@dataclass(frozen=True)
class AcceleratedGradientDescent(Engine):
    r"""Nesterov's accelerated gradient with momentum ``k / (k + 3)`` and restarts.

    .. math::

        y_k = u_k + \frac{k}{k+3} (u_k - u_{k-1}), \qquad
        u_{k+1} = y_k - \eta \nabla F(y_k).

    Parameters
    ----------
    step_size : "backtracking", float or callable, default "backtracking"
        "backtracking": the step shrinks by `shrink` until the quadratic upper bound
        ``F(u+) <= F(y) - eta/2 ||grad F(y)||^2`` holds and grows by `grow` after each
        accepted step. A float is a constant step; a callable ``step(k)`` a schedule.
    restart : {"function", "speed", "both"} or None, default "function"
        "function": reset the momentum when the objective increases (O'Donoghue-Candes);
        "speed": when the step length decreases (Su-Boyd-Candes); None: never.
    initial_step : float, optional
        First trial step; estimated from a local Lipschitz constant when omitted.
    shrink, grow : float, default 0.5 and 1.1
        Backtracking factors.

    Examples
    --------
    >>> import reparamopt as ro
    >>> problem = ro.Problem(lambda x: ((x - 3.0) ** 2).sum(), x=ro.Simplex(3))
    >>> res = ro.solve(problem, engine=ro.engines.AcceleratedGradientDescent(), tol=1e-10)
    >>> np.round(res.x, 6)
    array([0.333333, 0.333333, 0.333333])
    """

    step_size: Any = "backtracking"
    restart: Optional[str] = "function"
    initial_step: Any = None
    shrink: float = 0.5
    grow: float = 1.1

    def __post_init__(self):
        if isinstance(self.step_size, str):
            check_choice(self.step_size, "step_size", ("backtracking",))
        elif not callable(self.step_size):
            check_scalar(self.step_size, "step_size", lower=0, lower_inclusive=False)
        if self.restart is not None:
            check_choice(self.restart, "restart", _RESTARTS)
        check_scalar(self.initial_step, "initial_step", lower=0, lower_inclusive=False, allow_none=True)
        check_scalar(self.shrink, "shrink", lower=0, upper=1, lower_inclusive=False, upper_inclusive=False)
        check_scalar(self.grow, "grow", lower=1)

    def init_state(self, objective, u0):
        state = super().init_state(objective, u0)
        eta, nfev = self.initial_step, 0
        if eta is None and isinstance(self.step_size, str):
            eta, nfev = estimate_step(objective, state.u, state.grad)
        return state.replace(nfev=state.nfev + nfev,
                             extra={"step": eta, "previous": state.u.copy(), "momentum_k": 0})

    def step(self, objective, state):
        extra = state.extra
        u, previous, j = state.u, extra["previous"], extra["momentum_k"]
        beta = j / (j + 3.0)
        y = u + beta * (u - previous) if j > 0 else u
        nfev = state.nfev
        if j > 0:
            fy, gy = objective.value_and_grad(y)
            nfev += 1
        else:
            fy, gy = state.fun, state.grad
        if isinstance(self.step_size, str):
            eta = extra["step"]
            gg = float(gy @ gy)
            while True:
                u_new = y - eta * gy
                fun, grad = objective.value_and_grad(u_new)
                nfev += 1
                if np.isfinite(fun) and fun <= fy - 0.5 * eta * gg + _slack(fy):
                    break
                eta *= self.shrink
                if eta < np.finfo(float).tiny or gg == 0:
                    break
            next_eta = eta * self.grow
        else:
            eta = float(self.step_size(state.k)) if callable(self.step_size) else float(self.step_size)
            u_new = y - eta * gy
            fun, grad = objective.value_and_grad(u_new)
            nfev += 1
            next_eta = eta
        restart = False
        if self.restart in ("function", "both") and fun > state.fun:
            restart = True
        if self.restart in ("speed", "both") and j > 0 and \
                np.linalg.norm(u_new - u) < np.linalg.norm(u - previous):
            restart = True
        if restart and fun > state.fun:
            # the momentum overshot: take a plain gradient step from u instead
            fallback = u - eta * state.grad
            f_fb, g_fb = objective.value_and_grad(fallback)
            nfev += 1
            if np.isfinite(f_fb) and f_fb < fun:
                u_new, fun, grad = fallback, f_fb, g_fb
        return state.replace(
            u=u_new, fun=float(fun), grad=np.asarray(grad, dtype=float), k=state.k + 1, nfev=nfev,
            extra={"step": next_eta, "previous": u, "momentum_k": 0 if restart else j + 1})
