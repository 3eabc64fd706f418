"""Continuous-time gradient flow integrated with scipy.integrate."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .._utils.validation import check_choice, check_scalar
from ..result import LimitReached
from .base import Engine, State, fail

__all__ = ["GradientFlow", "ODE_METHODS", "FlowState"]

_MAX_REJECTIONS = 30


class _OdeMethods(Mapping):
    """Name -> :mod:`scipy.integrate` solver class; scipy.integrate is imported on the
    first lookup, not with reparamopt."""

    _names = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")

    def __getitem__(self, name):
        if name not in self._names:
            raise KeyError(name)
        import scipy.integrate  # lazy: keeps `import reparamopt` light

        return getattr(scipy.integrate, name)

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)

    def __repr__(self):
        return f"ODE_METHODS({', '.join(self._names)})"


ODE_METHODS = _OdeMethods()


def _check_ode_settings(engine):
    check_choice(engine.method, "method", tuple(ODE_METHODS))
    check_scalar(engine.rtol, "rtol", lower=0, lower_inclusive=False)
    check_scalar(engine.atol, "atol", lower=0, lower_inclusive=False)
    check_scalar(engine.first_step, "first_step", lower=0, lower_inclusive=False, allow_none=True)
    check_scalar(engine.max_step, "max_step", lower=0, lower_inclusive=False)
    check_choice(getattr(engine, "coordinates", "latent"), "coordinates", ("latent", "log"))


def _make_solver(engine, rhs, t0, y0, max_step=None):
    options = dict(rtol=engine.rtol, atol=engine.atol,
                   max_step=engine.max_step if max_step is None else max_step)
    if engine.first_step is not None:
        options["first_step"] = min(engine.first_step, options["max_step"])
    return ODE_METHODS[engine.method](rhs, t0, y0, engine.t_max, **options)


def _advance(solver):
    """One integrator step; returns an error message or None."""
    if solver.status != "running":
        if solver.status == "finished":
            return LimitReached("The flow reached `t_max` before `tol` was met; raise `t_max` "
                                "(flow time) or loosen `tol`.")
        return "The integrator stopped."
    message = solver.step()
    if solver.status == "failed":
        return f"The ODE integrator failed: {message}"
    return None


@dataclass(frozen=True)
class FlowState(State):
    """State of the flow engines.

    Attributes
    ----------
    solver : scipy.integrate.OdeSolver
        The integrator, stepped once per iteration.
    counter : dict
        ``{"nfev": ...}``: right-hand side evaluations of the integrator.
    rhs : callable
        The right-hand side, for restarting the integrator.
    elapsed : float
        Flow time integrated so far (across restarts of the clock).
    speed : float
        ``||u'||`` at the last step (speed restart of the accelerated flow).
    """

    takes_columns = False

    solver: Any = None
    counter: Any = None
    rhs: Any = None
    elapsed: float = 0.0
    speed: float = 0.0


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
    coordinates : {"latent", "log"}, default "latent"
        The variables the integrator works in. "log" integrates ``sigma = log u``
        (``sigma' = -grad F(u) / u``), for flows that keep every latent entry positive,
        as Hadamard maps started at ``u = alpha 1`` do: the small-initialization phase,
        where u grows exponentially from alpha, is then nearly linear, and an explicit
        integrator ("RK45", "DOP853") crosses it in few steps without Jacobians.

    Examples
    --------
    >>> import numpy as np
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
    coordinates: str = "latent"

    def __post_init__(self):
        _check_ode_settings(self)

    def _to(self, u):
        """Integrator variables of the latent point `u`."""
        u = np.ravel(u).copy()
        return np.log(u) if self.coordinates == "log" else u

    def _from(self, y, shape):
        return (np.exp(y) if self.coordinates == "log" else np.array(y)).reshape(shape)

    def init_state(self, problem, u0):
        state = super().init_state(problem, u0)
        if self.coordinates == "log" and not np.all(state.u > 0):
            from ..exceptions import InvalidArgumentError

            raise InvalidArgumentError("coordinates='log' needs a start with every latent "
                                       f"entry > 0; got min(u0) = {float(np.min(state.u)):g}")
        counter = {"nfev": 0}
        shape = state.u.shape
        log = self.coordinates == "log"

        def rhs(t, y):
            counter["nfev"] += 1
            u = self._from(y, shape)
            grad = np.ravel(np.asarray(problem.value_and_grad(u)[1], dtype=float))
            return -grad / np.ravel(u) if log else -grad

        solver = _make_solver(self, rhs, 0.0, self._to(state.u))
        return FlowState(u=state.u, fun=state.fun, grad=state.grad, t=0.0, solver=solver,
                         counter=counter, rhs=rhs)

    def step(self, problem, state):
        solver = state.solver
        before = float(np.sum(state.fun))
        for _ in range(_MAX_REJECTIONS):
            t_before = solver.t
            failure = _advance(solver)
            if failure:
                return fail(state, failure)
            u = self._from(solver.y, state.u.shape)
            fun, grad = problem.value_and_grad(u)
            total = float(np.sum(fun))
            if np.isfinite(total) and total <= before + 1e-8 * abs(before) + np.finfo(float).tiny:
                return state.replace(u=u, fun=fun, grad=np.asarray(grad, dtype=float),
                                     k=state.k + 1, nfev=state.k + 2 + state.counter["nfev"],
                                     t=float(solver.t), solver=solver)
            # reject: restart from the previous point with a smaller step cap
            cap = (solver.t - t_before) / 10
            solver = _make_solver(self, state.rhs, t_before, self._to(state.u), cap)
        return fail(state, "The integrator kept increasing the objective.")
