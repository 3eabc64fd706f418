"""Gradient descent on the latent variable."""

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._utils.validation import check_choice, check_scalar, describe
from ..exceptions import InvalidArgumentError
from .base import Engine, State, estimate_step, slack
from .steps import Probe, is_rule

__all__ = ["GradientDescent", "DescentState"]

_RULES = ("armijo", "bb", "bb-short")


@dataclass(frozen=True)
class DescentState(State):
    """State of :class:`GradientDescent`.

    Attributes
    ----------
    step : float, ndarray or None
        The last step (the next trial step of the adaptive rules).
    recent : tuple of float
        The last objective values, for the non-monotone safeguard of the BB steps.
    """

    step: Any = None
    recent: tuple = field(default_factory=tuple)


@dataclass(frozen=True)
class GradientDescent(Engine):
    r"""Gradient descent ``u_{k+1} = u_k - eta_k grad F(u_k)``.

    .. math:: u_{k+1} = u_k - \eta_k \nabla F(u_k)

    Parameters
    ----------
    step_size : {"armijo", "bb", "bb-short"}, float, callable or step rule, default "bb"
        Step rule. "armijo": backtracking line search (the step grows by `grow` after an
        accepted step). "bb"/"bb-short": Barzilai-Borwein long/short steps clipped to
        ``[step_min, step_max]`` with a non-monotone Armijo safeguard over the last
        `memory` values. A float is a constant step, decayed as ``step / (k+2)^decay``;
        a callable ``step(k)`` is a schedule (see :mod:`reparamopt.engines.schedules`);
        a rule of ``(state, problem)`` such as
        :class:`~reparamopt.engines.steps.LocalLipschitz` gives the step (per column of
        a batch) at no cost.
    decay : float, default 0
        Exponent gamma of the polynomial decay of a constant step.
    initial_step : float, optional
        First trial step of the adaptive rules; estimated from a local Lipschitz
        constant when omitted.
    shrink, grow : float, default 0.5 and 2.0
        Backtracking factors.
    armijo : float, default 1e-4
        Sufficient-decrease constant.
    step_min, step_max : float, default 1e-12 and 1e12
        Clipping range of BB steps.
    memory : int, default 10
        Non-monotone window of the BB safeguard.

    Examples
    --------
    >>> import numpy as np
    >>> import reparamopt as ro
    >>> engine = ro.engines.GradientDescent(step_size="bb")
    >>> problem = ro.Problem(lambda x: ((x - 2.0) ** 2).sum(), x=ro.NonNegative(2))
    >>> res = ro.solve(problem, engine=engine, tol=1e-10)
    >>> np.round(res.x, 6)
    array([2., 2.])
    """

    step_size: Any = "bb"
    decay: float = 0.0
    initial_step: Any = None
    shrink: float = 0.5
    grow: float = 2.0
    armijo: float = 1e-4
    step_min: float = 1e-12
    step_max: float = 1e12
    memory: int = 10

    def __post_init__(self):
        if isinstance(self.step_size, str):
            check_choice(self.step_size, "step_size", _RULES)
        elif not callable(self.step_size):
            check_scalar(self.step_size, "step_size", lower=0, lower_inclusive=False)
        check_scalar(self.decay, "decay", lower=0)
        check_scalar(self.initial_step, "initial_step", lower=0, lower_inclusive=False, allow_none=True)
        check_scalar(self.shrink, "shrink", lower=0, upper=1, lower_inclusive=False, upper_inclusive=False)
        check_scalar(self.grow, "grow", lower=1)
        check_scalar(self.armijo, "armijo", lower=0, upper=1, upper_inclusive=False)
        check_scalar(self.memory, "memory", lower=1, integer=True)
        if self.step_min <= 0 or self.step_max < self.step_min:
            raise InvalidArgumentError(
                f"`step_min` and `step_max` must satisfy 0 < step_min <= step_max; got "
                f"{describe(self.step_min)}, {describe(self.step_max)}")

    def init_state(self, problem, u0):
        state = super().init_state(problem, u0)
        eta, nfev = None, 0
        if isinstance(self.step_size, str):
            if self.initial_step is not None:
                eta = float(self.initial_step)
            else:
                eta, nfev = estimate_step(problem, state.u, state.grad)
        return DescentState(u=state.u, fun=state.fun, grad=state.grad, nfev=state.nfev + nfev,
                            step=eta, recent=(float(np.sum(state.fun)),))

    def _fixed_step(self, k):
        if callable(self.step_size):
            return float(self.step_size(k))
        return float(self.step_size) / (k + 2) ** self.decay if self.decay else float(self.step_size)

    def step(self, problem, state):
        u, g = state.u, state.grad
        nfev = state.nfev
        if not isinstance(self.step_size, str):
            eta = self.step_size(Probe(u, state.fun, g, state.k), problem) \
                if is_rule(self.step_size) else self._fixed_step(state.k)
            u_new = u - eta * g
            fun, grad = problem.value_and_grad(u_new)
            return state.replace(u=u_new, fun=fun, grad=np.asarray(grad, dtype=float),
                                 k=state.k + 1, nfev=nfev + 1, step=eta)
        eta = state.step
        gg = float(np.sum(g * g))
        reference = max(state.recent) if self.step_size != "armijo" else float(np.sum(state.fun))
        while True:
            u_new = u - eta * g
            fun, grad = problem.value_and_grad(u_new)
            nfev += 1
            total = float(np.sum(fun))
            if np.isfinite(total) and total <= reference - self.armijo * eta * gg + slack(reference):
                break
            eta *= self.shrink
            if eta < np.finfo(float).tiny or gg == 0:
                break
        recent = (state.recent + (total,))[-self.memory:]
        if self.step_size == "armijo":
            next_eta = eta * self.grow
        else:
            s = u_new - u
            y = grad - g
            sy = float(np.sum(s * y))
            if sy > 0:
                next_eta = float(np.sum(s * s)) / sy if self.step_size == "bb" else sy / float(np.sum(y * y))
            else:
                next_eta = eta * self.grow
            next_eta = float(np.clip(next_eta, self.step_min, self.step_max))
        return state.replace(u=u_new, fun=fun, grad=np.asarray(grad, dtype=float), k=state.k + 1,
                             nfev=nfev, step=next_eta, recent=recent)
