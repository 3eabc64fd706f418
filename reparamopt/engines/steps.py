"""Step rules: plain callables of ``(state, problem)``.

A rule returns the step for the point ``state.u`` where the engine has just evaluated
the gradient (``state.grad``, with ``state.fun`` and the iteration count ``state.k``):
a float, or a ``k``-vector of steps for a batch of independent problems. The engines
also accept schedules (callables of the iteration counter alone, see
:mod:`reparamopt.engines.schedules`) and plain floats.
"""

from typing import Any, NamedTuple

import numpy as np

from .._utils.arrays import namespace_of
from ..exceptions import InvalidArgumentError

__all__ = ["LocalLipschitz", "Probe", "is_rule"]


class Probe(NamedTuple):
    """The point a step rule is asked about (an accelerated step's extrapolated point,
    not the engine's iterate)."""

    u: np.ndarray
    fun: Any
    grad: np.ndarray
    k: int


class LocalLipschitz:
    r"""``1 / L_loc``: the inverse of a local Lipschitz bound of the latent gradient.

    The bound is read from the problem, which gets it from its map: for the Hadamard
    power ``x = |u|^L`` and an x-space gradient ``g`` with Lipschitz constant
    :math:`\lambda` (``Problem(..., lipschitz=lambda)``),

    .. math::

        \|\nabla^2 F(u)\| \le L^2 \lambda \max |u|^{2L-2} + L (L-1) \max |u|^{L-2} |g|,

    one value per column of a batch. No evaluation is spent on the step.

    Parameters
    ----------
    safety : float, default 1
        The step is ``safety / L_loc``.

    Examples
    --------
    >>> from reparamopt.engines import LocalLipschitz
    >>> LocalLipschitz()
    LocalLipschitz(safety=1.0)
    """

    def __init__(self, safety=1.0):
        if not np.isfinite(safety) or safety <= 0:
            raise InvalidArgumentError(f"`safety` must be a number > 0; got {safety!r}")
        self.safety = float(safety)

    def __call__(self, state, problem):
        bound = problem.local_lipschitz(state.u)
        xp = namespace_of(bound)
        return self.safety / xp.maximum(bound, float(np.finfo(float).tiny))

    def __repr__(self):
        return f"LocalLipschitz(safety={self.safety})"

    def __eq__(self, other):
        return isinstance(other, LocalLipschitz) and other.safety == self.safety

    def __hash__(self):
        return hash(("LocalLipschitz", self.safety))


def is_rule(step):
    """Whether `step` is a rule of ``(state, problem)`` (not a schedule of ``k``)."""
    return isinstance(step, LocalLipschitz) or getattr(step, "is_step_rule", False)
