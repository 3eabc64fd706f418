"""Continuous-time gradient flow integrated with scipy.integrate."""

from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.integrate

from .._utils.validation import check_choice, check_scalar
from .base import Engine, State

__all__ = ["GradientFlow", "ODE_METHODS"]

_MAX_REJECTIONS = 30

ODE_METHODS = {
    "RK45": scipy.integrate.RK45,
    "RK23": scipy.integrate.RK23,
    "DOP853": scipy.integrate.DOP853,
    "Radau": scipy.integrate.Radau,
    "BDF": scipy.integrate.BDF,
    "LSODA": scipy.integrate.LSODA,
}


def _check_ode_settings(engine):
    check_choice(engine.method, "method", tuple(ODE_METHODS))
    check_scalar(engine.rtol, "rtol", lower=0, lower_inclusive=False)
    check_scalar(engine.atol, "atol", lower=0, lower_inclusive=False)
    check_scalar(engine.first_step, "first_step", lower=0, lower_inclusive=False, allow_none=True)
    check_scalar(engine.max_step, "max_step", lower=0, lower_inclusive=False)


def _make_solver(engine, rhs, t0, y0, max_step=None):
    options = dict(rtol=engine.rtol, atol=engine.atol,
                   max_step=engine.max_step if max_step is None else max_step)
    if engine.first_step is not None:
        options["first_step"] = min(engine.first_step, options["max_step"])
    return ODE_METHODS[engine.method](rhs, t0, y0, engine.t_max, **options)


def _advance(solver):
    """One integrator step; returns an error message or None."""
    if solver.status != "running":
        return "The integrator reached `t_max`." if solver.status == "finished" else "The integrator stopped."
    message = solver.step()
    if solver.status == "failed":
        return f"The ODE integrator failed: {message}"
    return None


@dataclass(frozen=True)
class GradientFlow(Engine):
    r"""The gradient flow of the latent objective, one integrator step per iteration.

    .. math:: \dot u(t) = -\nabla F(u(t))

    On ``x = u**2`` this is the Riemannian flow ``x' = -4 x * grad f(x)`` on the
    non-negative orthant (the paper's O(1/t) dynamics). The flow time reached is
    reported as ``t`` in the result.

    The exact flow never increases F. An integrator step that does (stiff solvers
    take very long steps near an equilibrium, where their Newton iterations may
    diverge) is rejected and the integration resumes from the previous point with the
    step capped at a tenth of the rejected one.

    Parameters
    ----------
    method : str, default "LSODA"
        A scipy.integrate solver: "RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA".
        LSODA switches to a stiff method when needed; explicit methods such as RK45
        stall near the minimizer of ill-conditioned problems, where their step sits at
        the stability limit of the stiff modes.
    rtol, atol : float, default 1e-6 and 1e-9
        Integrator tolerances.
    first_step : float, optional
        Initial integrator step.
    max_step : float, default inf
        Largest integrator step.
    t_max : float, default inf
        Final time of the flow.

    Examples
    --------
    >>> import reparamopt as ro
    >>> c = np.array([1.0, -1.0])
    >>> problem = ro.Problem(lambda x: ((x - c) ** 2).sum(), x=ro.NonNegative(2))
    >>> res = ro.solve(problem, engine="flow", tol=1e-8, max_iter=5000)
    >>> res.success, np.round(res.x, 6), res.t > 0
    (True, array([1., 0.]), True)
    """

    method: str = "LSODA"
    rtol: float = 1e-6
    atol: float = 1e-9
    first_step: Optional[float] = None
    max_step: float = np.inf
    t_max: float = np.inf

    def __post_init__(self):
        _check_ode_settings(self)

    def init_state(self, objective, u0):
        state = super().init_state(objective, u0)
        counter = {"nfev": 0}

        def rhs(t, u):
            counter["nfev"] += 1
            return -np.asarray(objective.value_and_grad(u)[1], dtype=float)

        solver = _make_solver(self, rhs, 0.0, state.u.copy())
        return state.replace(t=0.0, extra={"solver": solver, "counter": counter, "rhs": rhs})

    def step(self, objective, state):
        extra = state.extra
        for _ in range(_MAX_REJECTIONS):
            solver = extra["solver"]
            t_before = solver.t
            failure = _advance(solver)
            if failure:
                return state.replace(extra={**extra, "failed": True, "message": failure})
            u = np.array(solver.y)
            fun, grad = objective.value_and_grad(u)
            if np.isfinite(fun) and fun <= state.fun + 1e-8 * abs(state.fun) + np.finfo(float).tiny:
                return State(u=u, fun=float(fun), grad=np.asarray(grad, dtype=float), k=state.k + 1,
                             nfev=state.k + 2 + extra["counter"]["nfev"], t=float(solver.t), extra=extra)
            # reject: restart from the previous point with a smaller step cap
            cap = (solver.t - t_before) / 10
            extra = {**extra, "solver": _make_solver(self, extra["rhs"], t_before, state.u.copy(), cap)}
        return state.replace(extra={**extra, "failed": True,
                                    "message": "The integrator kept increasing the objective."})
