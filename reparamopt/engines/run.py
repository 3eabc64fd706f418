"""The one iteration loop shared by every engine and every flagship."""

import inspect
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._utils.arrays import scalar_or_columns
from .._utils.progress import progress_bar
from .._utils.validation import check_scalar, describe
from ..exceptions import InvalidTypeError
from ..result import LimitReached, OptimizeResult, Status

__all__ = ["run", "Limits", "check_termination"]


def run(engine, problem, u0, *, optimality=None, tol=1e-8, ftol=0.0, max_iter=1000,
        time_limit=None, callback=None, history=False, progress=False, checkpoint=None,
        checkpoint_every=None, check_every=1):
    """Iterate `engine` on `problem` from `u0` until a stopping rule holds.

    The loop is shared by every engine: it owns stopping, callbacks, progress, history
    and the result.

    Parameters
    ----------
    engine : Engine
        Settings object with ``init_state`` and ``step``.
    problem : object
        Anything with ``value_and_grad(u) -> (value, ndarray)``; if it has
        ``optimality(u)`` and ``to_feasible(u)`` they are used for stopping and for
        ``x``. A batch of independent problems (``problem.batch`` true, ``u`` of shape
        ``(n, k)``) has per-column values and optimality; a column that converges is
        frozen, and when the problem has ``take(columns)`` the loop goes on with the
        other columns only.
    u0 : ndarray
        Latent starting point.
    optimality : callable or "decrease", optional
        ``optimality(u) -> float`` (or a ``k``-vector for a batch), the stopping
        measure; defaults to ``problem.optimality`` or else the latent gradient norm.
        "decrease": the relative decrease of the objective over the last iteration,
        ``(f_{k-1} - f_k) / |f_k|`` (infinite before the first), for problems with no
        first-order measure at hand (alternating block methods); an increase stops
        too.
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
        ``optimality`` and ``nit``; returning True or raising StopIteration stops
        (status 4).
    history : bool, default False
        Record ``fun``, ``optimality``, ``time`` (and ``t`` for flows) per iteration.
    progress : bool or dict, default False
        Show a tqdm progress bar (a dict is passed to tqdm).
    checkpoint : callable, optional
        ``checkpoint(u, k) -> None | (u_new, done)`` every `checkpoint_every`
        iterations: a flagship can replace the iterate (the engine restarts from it)
        and stop; for a batch `done` may be a ``k``-vector (those columns are frozen).
        A checkpoint taking a third argument gets the problem of the columns still
        running (``problem.columns`` says which).
    checkpoint_every : int, optional
        Period of `checkpoint` (default 25 when `checkpoint` is given).
    check_every : int, default 1
        Period of the optimality test (and of the records when neither `history` nor
        `callback` asks for every iteration): engines that evaluate the gradient once
        per iteration at another point than the iterate (accelerated steps) would pay
        one more evaluation for each test. The test also runs at the last iteration.

    Returns
    -------
    OptimizeResult
        ``x``, ``u``, ``fun``, ``optimality``, ``nit``, ``nfev``, ``status``,
        ``success``, ``message``, ``history``, ``time`` (and ``t`` for flows); for a
        batch also ``converged``, which columns met `tol`.

    Examples
    --------
    Any object with ``value_and_grad`` will do; here ``F(u) = ||u - 1||^2``:

    >>> import numpy as np
    >>> from reparamopt.engines import run
    >>> from reparamopt.engines import GradientDescent
    >>> class Quadratic:
    ...     def value_and_grad(self, u):
    ...         return float(np.sum((u - 1) ** 2)), 2 * (u - 1)
    >>> res = run(GradientDescent(), Quadratic(), np.zeros(3), tol=1e-12)
    >>> res.status, np.round(res.x, 9)
    (1, array([1., 1., 1.]))
    """
    limits = Limits.checked(tol=tol, ftol=ftol, max_iter=max_iter, time_limit=time_limit,
                            check_every=check_every)
    functions = (("callback", callback), ("checkpoint", checkpoint),
                 ("optimality", None if optimality == "decrease" else optimality))
    for name, fn in functions:
        if fn is not None and not callable(fn):
            raise InvalidTypeError(f"`{name}` must be callable; got {describe(fn)}")
    if checkpoint is not None:
        checkpoint_every = check_scalar(25 if checkpoint_every is None else checkpoint_every,
                                        "checkpoint_every", lower=1, integer=True)
        checkpoint = _Checkpoint(_three_arguments(checkpoint), checkpoint_every)
    loop = _Loop(engine, problem, optimality, limits, history=history, progress=progress,
                 callback=callback, checkpoint=checkpoint)
    return loop.iterate(u0)


@dataclass(frozen=True)
class Limits:
    """The stopping settings of one run (see :func:`run` for each)."""

    tol: float = 1e-8
    ftol: float = 0.0
    max_iter: int = 1000
    time_limit: Optional[float] = None
    check_every: int = 1

    @classmethod
    def checked(cls, **values):
        """The limits from user values, each validated (errors name the argument)."""
        return cls(tol=check_scalar(values["tol"], "tol", lower=0),
                   ftol=check_scalar(values["ftol"], "ftol", lower=0),
                   max_iter=check_scalar(values["max_iter"], "max_iter", lower=0, integer=True),
                   time_limit=check_scalar(values["time_limit"], "time_limit", lower=0,
                                           allow_none=True),
                   check_every=check_scalar(values["check_every"], "check_every", lower=1,
                                            integer=True))


def check_termination(converged, k, elapsed, limits):
    """The status that ends a run now, or None to go on: a pure function of numbers.

    Parameters
    ----------
    converged : bool
        Whether the optimality test holds (for every column of a batch).
    k : int
        Iterations done.
    elapsed : float
        Seconds since the start.
    limits : Limits

    Examples
    --------
    >>> from reparamopt.engines.run import Limits, check_termination
    >>> limits = Limits(max_iter=10, time_limit=5.0)
    >>> check_termination(False, 3, 1.0, limits) is None
    True
    >>> check_termination(True, 3, 1.0, limits).name, check_termination(False, 10, 1.0, limits).name
    ('CONVERGED', 'MAX_ITER')
    >>> check_termination(False, 3, 6.0, limits).name
    'TIME_LIMIT'
    """
    if converged:
        return Status.CONVERGED
    if k >= limits.max_iter:
        return Status.MAX_ITER
    if limits.time_limit is not None and elapsed >= limits.time_limit:
        return Status.TIME_LIMIT
    return None


class _Checkpoint:
    """A flagship's hook ``hook(u, k, problem) -> None | (u_new, done)``, called every
    `every` iterations."""

    def __init__(self, hook, every):
        self.hook, self.every = hook, every

    def due(self, k):
        return k % self.every == 0


class _Records:
    """The per-iteration history (``fun``, ``optimality``, ``time``; ``t`` for flows)."""

    def __init__(self, start):
        self.start = start
        self.data = {"fun": [], "optimality": [], "time": []}

    def add(self, state, opt):
        self.data["fun"].append(float(np.sum(state.fun)))
        self.data["optimality"].append(float(np.max(opt)) if np.size(opt) else 0.0)
        self.data["time"].append(time.perf_counter() - self.start)
        if state.t is not None:
            self.data.setdefault("t", []).append(state.t)


class _BatchLedger:
    """The columns of a batch: which still run, and the final values of those done."""

    def __init__(self, u):
        k = u.shape[-1]
        self.active = np.arange(k)
        self.u = np.array(u, dtype=float)
        self.opt = np.zeros(k)
        self.fun = np.zeros(k)
        self.converged = np.zeros(k, bool)

    def store(self, cols, u, opt, fun):
        self.u[:, cols] = u
        self.opt[cols] = opt
        self.fun[cols] = fun

    def freeze(self, state, opt, done):
        """Store the columns `done` of the active ones as final; the kept positions."""
        cols = self.active[done]
        self.store(cols, state.u[:, done], opt[done], np.broadcast_to(state.fun, done.shape)[done])
        self.converged[cols] = True
        keep = np.flatnonzero(~done)
        self.active = self.active[keep]
        return keep

    def close(self, state, opt, tol):
        """Store the last active columns; the whole batch's ``(u, opt, fun)``."""
        self.store(self.active, state.u, opt, state.fun)
        self.converged[self.active] = np.asarray(opt) <= tol
        return self.u, self.opt, self.fun


class _Loop:
    """The state of one run: the problem of the active columns, records, the clock."""

    def __init__(self, engine, problem, optimality, limits, *, history, progress, callback,
                 checkpoint):
        self.engine, self.problem, self.root, self.limits = engine, problem, problem, limits
        self.custom_optimality = optimality
        self.decrease = optimality == "decrease"
        self.last_decrease = np.inf
        self.callback, self.checkpoint = callback, checkpoint
        self.start = time.perf_counter()
        self.records = _Records(self.start) if history else None
        self.every_iteration = history or callback is not None
        self.bar = progress_bar(progress, total=limits.max_iter, desc=type(engine).__name__)
        self.ledger = None
        self.shrink = False
        self.nfev_offset = 0

    # -- measures -------------------------------------------------------------------
    def optimality(self, u):
        if self.decrease:
            return self.last_decrease
        if self.custom_optimality is not None:
            return self.custom_optimality(u)
        measure = getattr(self.problem, "optimality", None)
        if measure is not None:
            return measure(u)
        return float(np.linalg.norm(self.problem.value_and_grad(u)[1]))

    def record(self, state, opt):
        if self.records is not None:
            self.records.add(state, opt)

    # -- batches --------------------------------------------------------------------
    def freeze(self, state, opt, done):
        """Store the columns `done` as final and go on with the others."""
        keep = self.ledger.freeze(state, opt, done)
        self.nfev_offset += state.nfev
        self.problem = self.problem.take(keep)
        if state.takes_columns:
            state = state.take(keep).replace(nfev=0)
        else:
            state = self.engine.init_state(self.problem, state.u[:, keep]).replace(k=state.k,
                                                                                  t=state.t)
        return state, np.asarray(opt)[keep]

    def restart(self, state, u_new, done):
        """The state at the checkpoint's point `u_new`: evaluated only when the run ends
        there (every column `done`), else the engine starts again from it."""
        if done.all():
            fun, grad = self.problem.value_and_grad(u_new)
            return state.replace(u=np.asarray(u_new, dtype=float), fun=scalar_or_columns(fun),
                                 grad=np.asarray(grad, dtype=float))
        self.nfev_offset += state.nfev
        fresh = self.engine.init_state(self.problem, u_new)
        return fresh.replace(k=state.k, t=state.t if fresh.t is None else fresh.t)

    # -- the parts of an iteration --------------------------------------------------
    def test(self, state, opt, checked):
        """The stopping test before a step: ``(status or None, state, opt)`` (converged
        columns of a batch are frozen here)."""
        converged = False
        if checked:
            met = np.asarray(opt) <= self.limits.tol
            converged = bool(met.all())
            if not converged and self.shrink and met.any():
                state, opt = self.freeze(state, np.asarray(opt), met)
        status = check_termination(converged, state.k, time.perf_counter() - self.start,
                                   self.limits)
        return status, state, opt

    def advance(self, state):
        """One engine step: ``(new state, failure status or None, message)``."""
        previous = state
        state = self.engine.step(self.problem, state)
        if self.decrease:
            after = float(np.sum(state.fun))
            self.last_decrease = (float(np.sum(previous.fun)) - after) / max(
                abs(after), np.finfo(float).tiny)
        if state.failure:
            message = state.failure
            status = Status.MAX_ITER if isinstance(message, LimitReached) else Status.NON_FINITE
            return previous, status, message
        return state, None, ""

    def visit_checkpoint(self, state, opt):
        """The flagship's checkpoint: ``(state, opt, status or None)``."""
        hook = self.checkpoint
        if hook is None or not hook.due(state.k):
            return state, opt, None
        outcome = hook.hook(state.u, state.k, self.problem)
        if outcome is None:
            return state, opt, None
        u_new, done = outcome
        done = np.asarray(done)
        state = self.restart(state, u_new, done)
        if done.ndim == 0 and bool(done):
            opt = self.optimality(state.u)
            self.record(state, opt)
            return state, opt, Status.CONVERGED
        if done.ndim and done.any():
            opt = np.asarray(self.optimality(state.u))
            if done.all():
                self.record(state, opt)
                return state, opt, Status.CONVERGED
            if self.shrink:
                state, opt = self.freeze(state, opt, done)
        return state, opt, None

    def report(self, state, previous, opt):
        """Records, progress, the objective's stall and the callback after a step:
        ``(checked, opt, status or None)``."""
        limits = self.limits
        checked = self.every_iteration or state.k % limits.check_every == 0 or \
            state.k >= limits.max_iter
        if checked:
            opt = self.optimality(state.u)
            self.record(state, opt)
        self.bar.update(1)
        if checked:
            self.bar.set_postfix(optimality=f"{float(np.max(opt)):.2e}", refresh=False)
        if limits.ftol > 0 and _stalled(previous.fun, state.fun, limits.ftol):
            return checked, opt, Status.STALLED
        if self.callback is not None and self.ask_callback(state, opt):
            return checked, opt, Status.CALLBACK
        return checked, opt, None

    def ask_callback(self, state, opt):
        # the active columns' point, through their problem
        to_feasible = getattr(self.problem, "to_feasible", None)
        info = OptimizeResult(u=state.u, fun=state.fun, optimality=opt, nit=state.k,
                              x=to_feasible(state.u) if to_feasible else state.u)
        try:
            return bool(self.callback(info))
        except StopIteration:
            return True

    def feasible(self, u):
        """The feasible point of the whole problem's latent point `u`."""
        to_feasible = getattr(self.root, "to_feasible", None)
        return to_feasible(u) if to_feasible else u

    # -- the loop -------------------------------------------------------------------
    def iterate(self, u0):
        state = self.engine.init_state(self.problem, u0)
        if getattr(self.problem, "batch", False):
            self.ledger = _BatchLedger(state.u)
            self.shrink = hasattr(self.problem, "take")
        opt = self.optimality(state.u)
        self.record(state, opt)
        last_good, message, checked = state, "", True
        try:
            while True:
                if not _finite(state) or (checked and not self.decrease and
                                          not np.isfinite(opt).all()):
                    status, state = Status.NON_FINITE, last_good
                    opt = self.optimality(state.u)
                    break
                last_good = state
                status, state, opt = self.test(state, opt, checked)
                if status is not None:
                    break
                previous = state
                state, status, message = self.advance(state)
                if status is not None:
                    opt = self.optimality(state.u)
                    break
                state, opt, status = self.visit_checkpoint(state, opt)
                if status is not None:
                    break
                checked, opt, status = self.report(state, previous, opt)
                if status is not None:
                    break
        finally:
            self.bar.close()
        return self.result(state, opt, status, message)

    def result(self, state, opt, status, message):
        text = status.message
        if isinstance(message, LimitReached):
            text = str(message)
        elif message:
            text = f"{text} {message}"
        u, fun, extra = state.u, state.fun, {}
        if self.ledger is not None:
            u, opt, fun = self.ledger.close(state, opt, self.limits.tol)
            extra["converged"] = self.ledger.converged
        out = OptimizeResult(
            x=self.feasible(u), u=u, fun=fun, optimality=opt, nit=state.k,
            nfev=state.nfev + self.nfev_offset, status=int(status), success=status.success,
            message=text, history=None if self.records is None else self.records.data,
            time=time.perf_counter() - self.start, **extra)
        if state.t is not None:
            out["t"] = state.t
        return out


def _three_arguments(checkpoint):
    """`checkpoint` as a function of ``(u, k, problem)`` (a two-argument one ignores the
    problem of the active columns)."""
    if _arity(checkpoint) >= 3:
        return checkpoint

    def three(u, k, problem):
        return checkpoint(u, k)

    return three


def _arity(fn):
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return 3
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


def _finite(state):
    return bool(np.isfinite(state.fun).all() and np.isfinite(state.u).all())


def _stalled(before, after, ftol):
    before, after = np.sum(before), np.sum(after)
    if not np.isfinite(after):
        return False
    return abs(before - after) <= ftol * max(abs(before), abs(after), np.finfo(float).tiny)
