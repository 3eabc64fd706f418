"""Accelerated gradient descent on the latent variable: momentum and restart as options."""

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .._utils.arrays import as_float, namespace_of
from .._utils.validation import check_choice, check_scalar
from ..exceptions import InvalidArgumentError
from .base import Engine, State, columnwise, estimate_step, slack
from .steps import Probe, is_rule

__all__ = ["AcceleratedGradientDescent", "AcceleratedState"]

_RESTARTS = ("function", "speed", "both", "gradient")
_MOMENTA = ("nesterov", "fista")


@dataclass(frozen=True)
class AcceleratedState(State):
    """State of :class:`AcceleratedGradientDescent`.

    Attributes
    ----------
    previous : ndarray
        The iterate before ``u``.
    momentum : int, float or ndarray
        The momentum counter: ``j`` of ``j / (j + 3)``, or FISTA's ``t`` (per column
        of a batch).
    step : float, ndarray or None
        The step of the last iteration (the next trial step of the backtracking).
    """

    previous: np.ndarray = None
    momentum: Any = 0
    step: Any = None


@dataclass(frozen=True)
class AcceleratedGradientDescent(Engine):
    r"""Nesterov's accelerated gradient with restarts.

    .. math::

        y_k = u_k + \beta_k (u_k - u_{k-1}), \qquad
        u_{k+1} = y_k - \eta_k \nabla F(y_k).

    Parameters
    ----------
    step_size : "backtracking", float, callable or step rule, default "backtracking"
        "backtracking": the step shrinks by `shrink` until the quadratic upper bound
        ``F(u+) <= F(y) - eta/2 ||grad F(y)||^2`` holds and grows by `grow` after each
        accepted step. A float is a constant step; a callable ``step(k)`` a schedule; a
        step rule of ``(state, problem)`` such as
        :class:`~reparamopt.engines.steps.LocalLipschitz` gives the step (per column of
        a batch) at no cost, and then each iteration evaluates the gradient once, at
        ``y``.
    momentum : {"nesterov", "fista"}, default "nesterov"
        ``beta_k = j / (j + 3)`` with ``j`` the iterations since the last restart, or
        FISTA's ``(t_k - 1) / t_{k+1}`` with ``t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2``.
    restart : {"function", "speed", "both", "gradient"} or None, default "function"
        "function": reset the momentum when the objective increases (O'Donoghue and
        Candes); "speed": when the step length decreases (Su, Boyd and Candes);
        "gradient": when ``<grad F(y), u_{k+1} - u_k> > 0``, which costs no evaluation;
        None: never. With a step rule, "function" and "both" are not available (they
        need the objective at the new iterate).
    initial_step : float, optional
        First trial step of the backtracking; estimated from a local Lipschitz constant
        when omitted.
    shrink, grow : float, default 0.5 and 1.1
        Backtracking factors.

    Examples
    --------
    >>> import numpy as np
    >>> import reparamopt as ro
    >>> problem = ro.Problem(lambda x: ((x - 3.0) ** 2).sum(), x=ro.Simplex(3))
    >>> res = ro.solve(problem, engine=ro.engines.AcceleratedGradientDescent(), tol=1e-10)
    >>> np.round(res.x, 6)
    array([0.333333, 0.333333, 0.333333])
    """

    step_size: Any = "backtracking"
    momentum: str = "nesterov"
    restart: Optional[str] = "function"
    initial_step: Any = None
    shrink: float = 0.5
    grow: float = 1.1

    def __post_init__(self):
        if isinstance(self.step_size, str):
            check_choice(self.step_size, "step_size", ("backtracking",))
        elif not callable(self.step_size):
            check_scalar(self.step_size, "step_size", lower=0, lower_inclusive=False)
        check_choice(self.momentum, "momentum", _MOMENTA)
        if self.restart is not None:
            check_choice(self.restart, "restart", _RESTARTS)
            if is_rule(self.step_size) and self.restart in ("function", "both"):
                raise InvalidArgumentError(
                    f"`restart` must be 'gradient', 'speed' or None with a step rule; got "
                    f"{self.restart!r} (it needs the objective at the new iterate)")
        check_scalar(self.initial_step, "initial_step", lower=0, lower_inclusive=False, allow_none=True)
        check_scalar(self.shrink, "shrink", lower=0, upper=1, lower_inclusive=False, upper_inclusive=False)
        check_scalar(self.grow, "grow", lower=1)

    def init_state(self, problem, u0):
        state = super().init_state(problem, u0)
        eta, nfev = self.initial_step, 0
        if eta is None and self.step_size == "backtracking":
            eta, nfev = estimate_step(problem, state.u, state.grad)
        xp = namespace_of(state.u)
        columns = tuple(state.u.shape[1:])
        if xp is np:
            momentum = np.ones(columns) if self.momentum == "fista" else np.zeros(columns, int)
        else:
            momentum = (xp.ones if self.momentum == "fista" else xp.zeros)(columns,
                                                                          dtype=state.u.dtype)
        return AcceleratedState(u=state.u, fun=state.fun, grad=state.grad, nfev=state.nfev + nfev,
                                previous=state.u.copy() if xp is np else xp.asarray(state.u, copy=True),
                                momentum=momentum, step=eta)

    def _extrapolate(self, state):
        """``(y, beta, next momentum)`` for the current momentum counter."""
        u, previous = state.u, state.previous
        if self.momentum == "fista":
            t = state.momentum
            t_new = 0.5 * (1.0 + namespace_of(t).sqrt(1.0 + 4.0 * t * t))
            beta = (t - 1.0) / t_new
            return u + beta * (u - previous), beta, t_new
        j = state.momentum
        beta = j / (j + 3.0)
        return u + beta * (u - previous), beta, j + 1

    def _reset(self, advanced, restart):
        """The momentum counter after a step: `advanced`, reset where `restart`."""
        base = 1.0 if self.momentum == "fista" else 0
        return namespace_of(advanced, restart).where(restart, base, advanced)

    def step(self, problem, state):
        if is_rule(self.step_size):
            return self._rule_step(problem, state)
        return self._search_step(problem, state)

    def _rule_step(self, problem, state):
        """One evaluation per iteration: the gradient at y, the rule's step there."""
        u = state.u
        y, _, advanced = self._extrapolate(state)
        xp = namespace_of(u)
        fy, gy = problem.value_and_grad(y)
        gy = as_float(gy, xp)
        eta = self.step_size(Probe(y, fy, gy, state.k), problem)
        u_new = y - eta * gy
        restart = xp.zeros(tuple(u.shape[1:]), dtype=bool if xp is np else xp.bool)
        if self.restart == "gradient":
            restart = columnwise(gy, u_new - u) > 0
        elif self.restart == "speed":
            restart = _speed_drop(u_new, u, state.previous)
        return state.replace(u=u_new, fun=fy, grad=gy, k=state.k + 1, nfev=state.nfev + 1,
                             previous=u, momentum=self._reset(advanced, restart), step=eta)

    def _search_step(self, problem, state):
        """Backtracking or a schedule, with the momentum of the whole iterate."""
        u, previous = state.u, state.previous
        fresh = np.all(state.momentum == (1.0 if self.momentum == "fista" else 0))
        y, _, advanced = self._extrapolate(state)
        nfev = state.nfev
        if not fresh:
            fy, gy = problem.value_and_grad(y)
            nfev += 1
        else:
            y, fy, gy = u, state.fun, state.grad
        if self.step_size == "backtracking":
            eta = state.step
            gg = float(np.sum(gy * gy))
            while True:
                u_new = y - eta * gy
                fun, grad = problem.value_and_grad(u_new)
                nfev += 1
                bound = np.sum(fy) - 0.5 * eta * gg + np.sum(slack(fy))
                if np.all(np.isfinite(fun)) and np.sum(fun) <= bound:
                    break
                eta *= self.shrink
                if eta < np.finfo(float).tiny or gg == 0:
                    break
            next_eta = eta * self.grow
        else:
            eta = float(self.step_size(state.k)) if callable(self.step_size) else float(self.step_size)
            u_new = y - eta * gy
            fun, grad = problem.value_and_grad(u_new)
            nfev += 1
            next_eta = eta
        restart = False
        if self.restart in ("function", "both") and np.sum(fun) > np.sum(state.fun):
            restart = True
        if self.restart in ("speed", "both") and not fresh and \
                np.linalg.norm(u_new - u) < np.linalg.norm(u - previous):
            restart = True
        if self.restart == "gradient" and not fresh and float(np.sum(gy * (u_new - u))) > 0:
            restart = True
        if restart and np.sum(fun) > np.sum(state.fun):
            # the momentum overshot: take a plain gradient step from u instead
            fallback = u - eta * state.grad
            f_fb, g_fb = problem.value_and_grad(fallback)
            nfev += 1
            if np.all(np.isfinite(f_fb)) and np.sum(f_fb) < np.sum(fun):
                u_new, fun, grad = fallback, f_fb, g_fb
        momentum = self._reset(advanced, np.full(np.shape(state.momentum), restart))
        return state.replace(u=u_new, fun=fun, grad=np.asarray(grad, dtype=float), k=state.k + 1,
                             nfev=nfev, previous=u, momentum=momentum, step=next_eta)


def _speed_drop(u_new, u, previous):
    moved = np.sqrt(columnwise(u_new - u, u_new - u))
    before = np.sqrt(columnwise(u - previous, u - previous))
    return (moved < before) & (before > 0)
