"""Engine base class, explicit state and the one shared run loop."""

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .._utils.progress import progress_bar
from .._utils.validation import check_scalar, describe
from ..exceptions import InvalidTypeError
from ..result import STATUS_MESSAGES, OptimizeResult

__all__ = ["Engine", "State", "run", "estimate_step"]


@dataclass(frozen=True)
class State:
    """Explicit iteration state of an engine.

    Attributes
    ----------
    u : ndarray
        Current latent iterate.
    fun : float
        Objective at `u`.
    grad : ndarray
        Latent gradient at `u`.
    k : int
        Iterations done.
    nfev : int
        Objective/gradient evaluations so far.
    t : float or None
        Time of a continuous flow.
    extra : dict
        Engine-specific quantities (momentum, previous iterate, step, integrator...).
    """

    u: np.ndarray
    fun: float
    grad: np.ndarray
    k: int = 0
    nfev: int = 1
    t: Optional[float] = None
    extra: dict = field(default_factory=dict)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Engine:
    """Base class of engines: frozen settings with ``init_state`` and ``step``."""

    def init_state(self, objective, u0):
        u0 = np.array(u0, dtype=float)
        fun, grad = objective.value_and_grad(u0)
        return State(u=u0, fun=float(fun), grad=np.asarray(grad, dtype=float))

    def step(self, objective, state):
        raise NotImplementedError

    def run(self, objective, u0, **options):
        """Shortcut for :func:`reparamopt.engines.run` with this engine."""
        return run(self, objective, u0, **options)


def estimate_step(objective, u, grad, fun=None):
    """``1 / L`` with L a local Lipschitz estimate of the gradient from one probe step.

    Returns the step and the number of evaluations spent (1).
    """
    gnorm = np.linalg.norm(grad)
    if gnorm == 0 or not np.isfinite(gnorm):
        return 1.0, 0
    h = 1e-4 * max(np.linalg.norm(u), 1.0) / gnorm
    _, g2 = objective.value_and_grad(u - h * grad)
    lipschitz = np.linalg.norm(g2 - grad) / (h * gnorm)
    if not np.isfinite(lipschitz) or lipschitz <= 0:
        return 1.0 / gnorm, 1
    return 1.0 / lipschitz, 1


def _slack(value):
    """Round-off allowance in sufficient-decrease tests: near a minimizer the decrease
    falls below the precision of f, and an exact test would shrink the step forever."""
    return 16 * np.finfo(float).eps * abs(value)


def _finite(state):
    return np.isfinite(state.fun) and bool(np.all(np.isfinite(state.u)))


def run(engine, objective, u0, *, optimality=None, tol=1e-8, ftol=0.0, max_iter=1000,
        time_limit=None, callback=None, history=False, progress=False, checkpoint=None,
        checkpoint_every=None):
    """Iterate `engine` on `objective` from `u0` until a stopping rule holds.

    The loop is shared by every engine: it owns stopping, callbacks, progress, history
    and the result.

    Parameters
    ----------
    engine : Engine
        Settings object with ``init_state`` and ``step``.
    objective : object
        Anything with ``value_and_grad(u) -> (float, ndarray)``; if it has
        ``optimality(u)`` and ``to_feasible(u)`` they are used for stopping and for ``x``.
    u0 : ndarray
        Latent starting point.
    optimality : callable, optional
        ``optimality(u) -> float``, the stopping measure; defaults to
        ``objective.optimality`` or else the latent gradient norm.
    tol : float, default 1e-8
        Stop with status 1 when the optimality measure is ``<= tol``.
    ftol : float, default 0
        Stop with status 2 when ``|f_k - f_{k+1}| <= ftol * max(|f_k|, |f_{k+1}|)``.
    max_iter : int, default 1000
        Iteration limit; reaching it returns status 0 (not an exception).
    time_limit : float, optional
        Wall-clock limit in seconds (status 3).
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration, with an
        :class:`~reparamopt.result.OptimizeResult` holding ``u``, ``x``, ``fun``,
        ``optimality`` and ``nit``; returning True or raising StopIteration stops (status 4).
    history : bool, default False
        Record ``fun``, ``optimality``, ``time`` (and ``t`` for flows) per iteration.
    progress : bool or dict, default False
        Show a tqdm progress bar (a dict is passed to tqdm).
    checkpoint : callable, optional
        ``checkpoint(u, k) -> None | (u_new, done)`` every `checkpoint_every` iterations:
        a flagship can replace the iterate (the engine restarts from it) and stop.
    checkpoint_every : int, optional
        Period of `checkpoint` (default 25 when `checkpoint` is given).

    Returns
    -------
    OptimizeResult

    Examples
    --------
    Any object with ``value_and_grad`` will do; here ``F(u) = ||u - 1||^2``:

    >>> from reparamopt.engines import GradientDescent
    >>> class Quadratic:
    ...     def value_and_grad(self, u):
    ...         return float(np.sum((u - 1) ** 2)), 2 * (u - 1)
    >>> res = run(GradientDescent(), Quadratic(), np.zeros(3), tol=1e-12)
    >>> res.status, np.round(res.x, 9)
    (1, array([1., 1., 1.]))
    """
    tol = check_scalar(tol, "tol", lower=0)
    ftol = check_scalar(ftol, "ftol", lower=0)
    max_iter = check_scalar(max_iter, "max_iter", lower=0, integer=True)
    time_limit = check_scalar(time_limit, "time_limit", lower=0, allow_none=True)
    for name, fn in (("callback", callback), ("checkpoint", checkpoint), ("optimality", optimality)):
        if fn is not None and not callable(fn):
            raise InvalidTypeError(f"`{name}` must be callable; got {describe(fn)}")
    if checkpoint is not None:
        checkpoint_every = check_scalar(25 if checkpoint_every is None else checkpoint_every,
                                        "checkpoint_every", lower=1, integer=True)
    if optimality is None:
        optimality = getattr(objective, "optimality", None) or (
            lambda u: float(np.linalg.norm(objective.value_and_grad(u)[1])))
    to_feasible = getattr(objective, "to_feasible", None)

    start = time.perf_counter()
    state = engine.init_state(objective, u0)
    records = {"fun": [], "optimality": [], "time": []} if history else None
    if history and state.t is not None:
        records["t"] = []
    bar = progress_bar(progress, total=max_iter, desc=type(engine).__name__)
    nfev_offset = 0

    def record(state, opt):
        if records is not None:
            records["fun"].append(state.fun)
            records["optimality"].append(opt)
            records["time"].append(time.perf_counter() - start)
            if "t" in records:
                records["t"].append(state.t)

    opt = optimality(state.u)
    record(state, opt)
    status = None
    last_good = state
    failure = ""
    try:
        while True:
            if not (_finite(state) and np.isfinite(opt)):
                status, state = -1, last_good
                opt = optimality(state.u)
                break
            last_good = state
            if opt <= tol:
                status = 1
                break
            if state.k >= max_iter:
                status = 0
                break
            if time_limit is not None and time.perf_counter() - start >= time_limit:
                status = 3
                break
            previous = state
            state = engine.step(objective, state)
            if state.extra.get("failed"):
                failure = state.extra.get("message", "")
                status, state = -1, previous
                opt = optimality(state.u)
                break
            if checkpoint is not None and state.k % checkpoint_every == 0:
                outcome = checkpoint(state.u, state.k)
                if outcome is not None:
                    u_new, done = outcome
                    fresh = engine.init_state(objective, u_new)
                    nfev_offset += state.nfev
                    state = fresh.replace(k=state.k, t=state.t if fresh.t is None else fresh.t)
                    if done:
                        opt = optimality(state.u)
                        record(state, opt)
                        status = 1
                        break
            opt = optimality(state.u)
            record(state, opt)
            bar.update(1)
            bar.set_postfix(optimality=f"{opt:.2e}", refresh=False)
            if ftol > 0 and np.isfinite(state.fun) and abs(previous.fun - state.fun) <= ftol * max(
                    abs(previous.fun), abs(state.fun), np.finfo(float).tiny):
                status = 2
                break
            if callback is not None:
                info = OptimizeResult(u=state.u, fun=state.fun, optimality=opt, nit=state.k,
                                      x=to_feasible(state.u) if to_feasible else state.u)
                try:
                    stop = callback(info)
                except StopIteration:
                    stop = True
                if stop:
                    status = 4
                    break
    finally:
        bar.close()

    message = STATUS_MESSAGES[status]
    if failure:
        message = f"{message} {failure}"
    result = OptimizeResult(
        x=to_feasible(state.u) if to_feasible else state.u,
        u=state.u,
        fun=state.fun,
        optimality=opt,
        nit=state.k,
        nfev=state.nfev + nfev_offset,
        status=status,
        success=status in (1, 2),
        message=message,
        history=records,
        time=time.perf_counter() - start,
    )
    if state.t is not None:
        result["t"] = state.t
    return result
