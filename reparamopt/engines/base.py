"""Engine base class and the typed iteration state.

An engine is a frozen dataclass of settings with two methods: ``init_state(problem,
u0)`` and ``step(problem, state)``. The state is explicit and typed: :class:`State`
holds what every engine has (the iterate, the last objective value and gradient, the
counters), and each engine extends it with a dataclass of its own (momentum, steps,
an integrator...). :func:`reparamopt.engines.run` owns the loop.

Arrays follow one convention: the iterate ``u`` is a flat vector, or an ``(n, k)``
array for a batch of ``k`` independent problems (``problem.batch``); then the values,
steps, momenta and statuses are ``k``-vectors, every reduction runs over axis 0, and
each column takes its own steps.
"""

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .._utils.arrays import as_float, namespace_of, scalar_or_columns

__all__ = ["Engine", "State", "estimate_step", "probe", "columnwise", "fail"]


@dataclass(frozen=True)
class State:
    """What every engine's state holds.

    Attributes
    ----------
    u : ndarray
        Current latent iterate, ``(size,)`` or ``(n, k)``.
    fun : float or ndarray
        Objective at the last point the engine evaluated (``u`` for most engines, the
        extrapolated point for one-evaluation accelerated steps); ``(k,)`` for a batch.
    grad : ndarray
        Latent gradient at that point.
    k : int
        Iterations done.
    nfev : int
        Objective/gradient evaluations so far.
    t : float or None
        Time of a continuous flow.
    failure : str or None
        Set by an engine that cannot go on (an integrator failure); the loop then ends
        with ``status=-1`` and this message.
    """

    u: np.ndarray
    fun: Any
    grad: np.ndarray
    k: int = 0
    nfev: int = 1
    t: Optional[float] = None
    failure: Optional[str] = None

    def replace(self, **changes):
        """A copy with `changes` (a plain copy: states are rebuilt every iteration, and
        :func:`dataclasses.replace` would cost more than a small step)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    #: Whether :meth:`take` keeps a valid state (an integrator of the whole batch
    #: cannot be cut: the loop starts the engine again on the columns left).
    takes_columns = True

    def take(self, columns):
        """The state of the batch columns `columns` (arrays whose last axis runs over
        the batch are indexed, the rest kept)."""
        k = np.shape(self.u)[-1]
        changes = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[-1] == k:
                changes[f.name] = value[..., columns]
        return self.replace(**changes)


def fail(state, message):
    """`state` marked as failed with `message` (the loop stops with status -1)."""
    return state.replace(failure=message)


@dataclass(frozen=True)
class Engine:
    """Base class of engines: frozen settings with ``init_state`` and ``step``.

    An engine whose every step keeps ``F(u_{k+1}) <= F(u_k)`` (up to rounding) sets the
    class attribute ``monotone = True``: :func:`~reparamopt.solve` then knows the result
    is no worse than the start without evaluating it again."""

    monotone = False

    def init_state(self, problem, u0):
        xp = namespace_of(u0)
        if xp is np:
            u0 = np.array(u0, dtype=float)
            fun, grad = problem.value_and_grad(u0)
            return State(u=u0, fun=scalar_or_columns(fun), grad=np.asarray(grad, dtype=float))
        # another array library's arrays stay on their device
        u0 = as_float(u0, xp)
        fun, grad = problem.value_and_grad(u0)
        return State(u=u0, fun=fun, grad=grad)

    def step(self, problem, state):
        raise NotImplementedError

    def run(self, problem, u0, **options):
        """Shortcut for :func:`reparamopt.engines.run` with this engine."""
        from .run import run

        return run(self, problem, u0, **options)


def columnwise(a, b):
    """``sum(a * b)`` over axis 0: one number per column of a batch (a scalar else)."""
    xp = namespace_of(a, b)
    if xp is np:
        return (a * b).sum(axis=0)
    return xp.sum(a * b, axis=0)


def probe(measure, u, grad, tries=1, grow=100.0):
    """The one step probe of the engines: ``measure(u - h grad, h)`` for the step
    ``h = 1e-4 max(||u||, 1) / ||grad||``, grown `grow`-fold until `measure` returns a
    number (it returns None while the change it measures is lost in rounding).

    Returns ``(value or None, evaluations)``; no evaluation for a zero or non-finite
    gradient.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.engines.base import probe
    >>> u, g = np.ones(2), np.array([1.0, 0.0])
    >>> value, calls = probe(lambda point, h: h if h > 0.1 else None, u, g, tries=4)
    >>> round(float(value), 4), calls
    (1.4142, 3)
    """
    gnorm = np.linalg.norm(grad)
    if not (np.isfinite(gnorm) and gnorm > 0):
        return None, 0
    h = 1e-4 * max(float(np.linalg.norm(u)), 1.0) / gnorm
    for tries_done in range(1, tries + 1):
        value = measure(u - h * grad, h)
        if value is not None:
            return value, tries_done
        h *= grow
    return None, tries


def estimate_step(problem, u, grad):
    """``1 / L`` with L a local Lipschitz estimate of the gradient from one probe step.

    Returns the step and the number of evaluations spent (1).
    """
    gnorm = np.linalg.norm(grad)
    if gnorm == 0 or not np.isfinite(gnorm):
        return 1.0, 0

    def lipschitz(point, h):
        _, g2 = problem.value_and_grad(point)
        return np.linalg.norm(g2 - grad) / (h * gnorm)

    value, nfev = probe(lipschitz, u, grad)
    if not np.isfinite(value) or value <= 0:
        return 1.0 / gnorm, nfev
    return 1.0 / value, nfev


def slack(value):
    """Round-off allowance in sufficient-decrease tests: near a minimizer the decrease
    falls below the precision of f, and an exact test would shrink the step forever."""
    return 16 * np.finfo(float).eps * np.abs(value)
