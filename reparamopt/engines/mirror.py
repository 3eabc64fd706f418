"""Accelerated mirror descent in x-space, for the mirror map of the map's geometry."""

from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Engine, State

__all__ = ["AcceleratedMirrorDescent", "MirrorState"]

_TINY = np.finfo(float).tiny

# The dual variable is clipped here so that its exponential stays finite.
_Z_MAX = 700.0


@dataclass(frozen=True)
class MirrorState(State):
    """State of :class:`AcceleratedMirrorDescent` (per column of a batch).

    Attributes
    ----------
    x : ndarray
        The primal iterate.
    z : ndarray
        The dual (mirror) variable.
    count : ndarray
        Iterations since the last restart.
    previous : ndarray
        The objective before the last step (restart when it increases).
    """

    x: np.ndarray = None
    z: np.ndarray = None
    count: Any = None
    previous: Any = None


@dataclass(frozen=True)
class AcceleratedMirrorDescent(Engine):
    r"""The discretization of the accelerated mirror ODE (Krichene, Bayen and Bartlett).

    .. math::

        z \leftarrow z - \eta \tfrac{k+2}{2} \nabla f(x), \qquad
        x \leftarrow \frac{x + \tau_k \nabla\psi^*(z)}{1 + \tau_k}, \quad \tau_k = \tfrac{2}{k+2},

    with the mirror map ``grad psi`` of the problem's map
    (:meth:`~reparamopt.maps.base.Map.mirror`): ``log`` for ``x = u**2``, which makes
    this the entropic scheme of the paper's second-order ODE. The step
    ``eta = 1 / (lipschitz max x)`` matches the smoothness of f in the entropy geometry;
    the momentum restarts when the objective increases. One evaluation per iteration;
    the problem needs one variable and ``lipschitz``.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.engines import AcceleratedMirrorDescent
    >>> import reparamopt as ro
    >>> c = np.array([1.0, -1.0])
    >>> problem = ro.Problem(value_and_grad=lambda x: (((x - c) ** 2).sum(), 2 * (x - c)),
    ...                      lipschitz=2.0, x=ro.NonNegative(2))
    >>> res = ro.solve(problem, engine=AcceleratedMirrorDescent(), tol=1e-8, max_iter=20000)
    >>> np.round(res.x, 6)
    array([1., 0.])
    """

    def init_state(self, problem, u0):
        state = super().init_state(problem, u0)
        cmap = problem.map
        x = np.maximum(np.asarray(cmap.forward(state.u), dtype=float), _TINY)
        columns = x.shape[1:]
        return MirrorState(u=state.u, fun=state.fun, grad=state.grad, nfev=state.nfev, x=x,
                           z=cmap.mirror(x), count=np.zeros(columns),
                           previous=np.full(columns, np.inf))

    def step(self, problem, state):
        cmap = problem.map
        x = state.x
        fun, g = problem.x_value_and_grad(x)
        worse = fun > state.previous
        count = np.where(worse, 0.0, state.count)
        z = np.where(worse, cmap.mirror(x), state.z)
        top = np.max(x, axis=0) if x.size else np.zeros(x.shape[1:])
        eta = 1.0 / (problem.lipschitz * np.maximum(top, _TINY))
        z = np.minimum(z - eta * 0.5 * (count + 2.0) * g, _Z_MAX)
        tau = 2.0 / (count + 2.0)
        x_new = np.maximum((x + tau * cmap.mirror_inverse(z)) / (1.0 + tau), _TINY)
        return state.replace(u=cmap.inverse(x_new), x=x_new, z=z, count=count + 1.0,
                             previous=fun, fun=fun, grad=g, k=state.k + 1, nfev=state.nfev + 1)
