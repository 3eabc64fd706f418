"""Riemannian gradient descent in x-space, for the metric the map induces."""

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._utils.validation import check_scalar
from .base import Engine, State

__all__ = ["RiemannianGradientDescent", "RiemannianState"]

_TINY = np.finfo(float).tiny


@dataclass(frozen=True)
class RiemannianState(State):
    """State of :class:`RiemannianGradientDescent`.

    Attributes
    ----------
    x : ndarray
        The iterate in x-space (``u = inverse(x)``).
    step : float or ndarray
        The last latent step (per column of a batch).
    """

    x: np.ndarray = None
    step: Any = None


@dataclass(frozen=True)
class RiemannianGradientDescent(Engine):
    r"""The explicit Euler step of the flow the map induces on x.

    .. math:: x_{k+1} = x_k - \eta_k M(x_k) \nabla f(x_k)

    with ``M`` the map's :meth:`~reparamopt.maps.base.Map.metric` (for the Hadamard
    power ``M(x) = L^2 x^{2-2/L}``, so that the step is the first-order match of a
    latent gradient step) and ``eta`` the inverse of the map's local Lipschitz bound
    at ``u = inverse(x)``, capped so that no coordinate loses more than `cap` of its
    value: the iterate stays in the set with no projection. One evaluation per
    iteration. The problem needs one variable and ``lipschitz``.

    Parameters
    ----------
    cap : float, default 0.9
        Largest fraction of a coordinate one step may remove (in (0, 1)).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.engines import RiemannianGradientDescent
    >>> import reparamopt as ro
    >>> c = np.array([1.0, -1.0])
    >>> problem = ro.Problem(value_and_grad=lambda x: (((x - c) ** 2).sum(), 2 * (x - c)),
    ...                      lipschitz=2.0, x=ro.NonNegative(2))
    >>> res = ro.solve(problem, engine=RiemannianGradientDescent(), tol=1e-8, max_iter=5000)
    >>> np.round(res.x, 6)
    array([1., 0.])
    """

    cap: float = 0.9

    def __post_init__(self):
        check_scalar(self.cap, "cap", lower=0, upper=1, lower_inclusive=False, upper_inclusive=False)

    def init_state(self, problem, u0):
        state = super().init_state(problem, u0)
        x = np.asarray(problem.map.forward(state.u), dtype=float)
        return RiemannianState(u=state.u, fun=state.fun, grad=state.grad, nfev=state.nfev, x=x)

    def step(self, problem, state):
        cmap = problem.map
        x = state.x
        fun, g = problem.x_value_and_grad(x)
        u = cmap.inverse(x)
        eta = 1.0 / np.maximum(cmap.latent_lipschitz(u, g, problem.lipschitz), _TINY)
        direction = cmap.metric(x) * g
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(direction > 0, x / direction, np.inf)
        if ratio.size:
            eta = np.minimum(eta, self.cap * np.min(ratio, axis=0))
        x_new = np.maximum(x - eta * direction, 0.0)
        u_new = cmap.inverse(x_new)
        return state.replace(u=u_new, x=x_new, fun=fun, grad=g, k=state.k + 1,
                             nfev=state.nfev + 1, step=eta)
