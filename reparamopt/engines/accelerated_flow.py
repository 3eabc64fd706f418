"""Nesterov's accelerated ODE on the latent variable, integrated with scipy.integrate."""

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._utils.validation import check_choice, check_scalar
from .base import Engine, fail
from .flow import FlowState, _advance, _check_ode_settings, _make_solver

__all__ = ["AcceleratedFlow"]


@dataclass(frozen=True)
class AcceleratedFlow(Engine):
    r"""The second-order ODE of accelerated gradient methods (Su, Boyd and Candes).

    .. math:: \ddot u + \frac{r}{t} \dot u + \nabla F(u) = 0, \qquad
              u(t_0) = u_0,\ \dot u(t_0) = 0,

    integrated as the first-order system in ``(u, v = u')``, one integrator step per
    iteration. ``r = 3`` is Nesterov's ODE (O(1/t^2) for convex F).

    Parameters
    ----------
    damping : float, default 3
        The coefficient r > 0.
    t0 : float, default 1e-3
        Start time (the ODE is singular at t = 0).
    restart : {"speed"} or None, default "speed"
        "speed": restart the clock (t = t0, v = 0) whenever the speed ``||u'||``
        decreases, which recovers linear convergence on strongly convex problems and
        removes the oscillations of the plain ODE; None integrates the plain ODE.
    method : str, default "RK45"
        A scipy.integrate solver (see :class:`GradientFlow`).
    rtol, atol, first_step, max_step, t_max
        As for :class:`GradientFlow`. `t_max` bounds the time of the clock, which each
        speed restart sets back to `t0`: it limits the integration between two restarts,
        not the total flow time (reported as ``t``).

    Examples
    --------
    >>> import numpy as np
    >>> import reparamopt as ro
    >>> problem = ro.Problem(lambda x: ((x - 0.5) ** 2).sum(), x=ro.Box(0, 1, shape=2))
    >>> res = ro.solve(problem, engine="accelerated-flow", tol=1e-6, max_iter=5000)
    >>> np.round(res.x, 4)
    array([0.5, 0.5])
    """

    damping: float = 3.0
    t0: float = 1e-3
    restart: Optional[str] = "speed"
    method: str = "RK45"
    rtol: float = 1e-6
    atol: float = 1e-9
    first_step: Optional[float] = None
    max_step: float = np.inf
    t_max: float = np.inf

    def __post_init__(self):
        _check_ode_settings(self)
        check_scalar(self.damping, "damping", lower=0, lower_inclusive=False)
        check_scalar(self.t0, "t0", lower=0, lower_inclusive=False)
        if self.restart is not None:
            check_choice(self.restart, "restart", ("speed",))

    def _solver(self, problem, u, counter):
        shape = u.shape
        n = u.size
        damping = self.damping

        def rhs(t, y):
            counter["nfev"] += 1
            grad = np.asarray(problem.value_and_grad(y[:n].reshape(shape))[1], dtype=float)
            return np.concatenate([y[n:], -(damping / t) * y[n:] - np.ravel(grad)])

        return _make_solver(self, rhs, self.t0, np.concatenate([u.ravel(), np.zeros(n)]))

    def init_state(self, problem, u0):
        state = super().init_state(problem, u0)
        counter = {"nfev": 0}
        return FlowState(u=state.u, fun=state.fun, grad=state.grad, t=0.0,
                         solver=self._solver(problem, state.u, counter), counter=counter)

    def step(self, problem, state):
        solver = state.solver
        t_before = solver.t
        failure = _advance(solver)
        if failure:
            return fail(state, failure)
        n = state.u.size
        u = np.array(solver.y[:n]).reshape(state.u.shape)
        speed = float(np.linalg.norm(solver.y[n:]))
        elapsed = state.elapsed + solver.t - t_before
        if self.restart == "speed" and speed < state.speed:
            solver = self._solver(problem, u, state.counter)
            speed = 0.0
        fun, grad = problem.value_and_grad(u)
        return state.replace(u=u, fun=fun, grad=np.asarray(grad, dtype=float), k=state.k + 1,
                             nfev=state.k + 2 + state.counter["nfev"], t=float(elapsed),
                             solver=solver, elapsed=elapsed, speed=speed)
