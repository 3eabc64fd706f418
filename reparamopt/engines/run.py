"""The one iteration loop shared by every engine and every flagship."""

import inspect
import time

import numpy as np

from .._utils.progress import progress_bar
from .._utils.validation import check_scalar, describe
from ..exceptions import InvalidTypeError
from ..result import STATUS_MESSAGES, LimitReached, OptimizeResult

__all__ = ["run"]


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
    tol = check_scalar(tol, "tol", lower=0)
    ftol = check_scalar(ftol, "ftol", lower=0)
    max_iter = check_scalar(max_iter, "max_iter", lower=0, integer=True)
    time_limit = check_scalar(time_limit, "time_limit", lower=0, allow_none=True)
    check_every = check_scalar(check_every, "check_every", lower=1, integer=True)
    functions = (("callback", callback), ("checkpoint", checkpoint),
                 ("optimality", None if optimality == "decrease" else optimality))
    for name, fn in functions:
        if fn is not None and not callable(fn):
            raise InvalidTypeError(f"`{name}` must be callable; got {describe(fn)}")
    if checkpoint is not None:
        checkpoint_every = check_scalar(25 if checkpoint_every is None else checkpoint_every,
                                        "checkpoint_every", lower=1, integer=True)
    if checkpoint is not None and _arity(checkpoint) < 3:
        two = checkpoint

        def checkpoint(u, k, problem):
            return two(u, k)
    loop = _Loop(engine, problem, optimality, history, progress, max_iter)
    return loop.iterate(u0, tol, ftol, max_iter, time_limit, callback, checkpoint,
                        checkpoint_every, check_every)


class _Loop:
    """The state of one run: the active columns of a batch, records, the clock."""

    def __init__(self, engine, problem, optimality, history, progress, max_iter):
        self.engine = engine
        self.problem = problem
        self.root = problem
        self.custom_optimality = optimality
        self.decrease = optimality == "decrease"
        self.last_decrease = np.inf
        self.batch = bool(getattr(problem, "batch", False))
        self.records = {"fun": [], "optimality": [], "time": []} if history else None
        self.bar = progress_bar(progress, total=max_iter, desc=type(engine).__name__)
        self.start = time.perf_counter()
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

    def feasible(self, u):
        to_feasible = getattr(self.problem, "to_feasible", None)
        return to_feasible(u) if to_feasible else u

    def record(self, state, opt):
        if self.records is None:
            return
        self.records["fun"].append(float(np.sum(state.fun)))
        self.records["optimality"].append(float(np.max(opt)) if np.size(opt) else 0.0)
        self.records["time"].append(time.perf_counter() - self.start)
        if state.t is not None:
            self.records.setdefault("t", []).append(state.t)

    # -- batches --------------------------------------------------------------------
    def freeze(self, state, opt, done):
        """Store the columns `done` as final and go on with the others."""
        cols = self.active[done]
        self.final_u[:, cols] = state.u[:, done]
        self.final_opt[cols] = opt[done]
        self.final_fun[cols] = np.broadcast_to(state.fun, done.shape)[done]
        self.converged[cols] = True
        keep = np.flatnonzero(~done)
        self.nfev_offset += state.nfev
        self.active = self.active[keep]
        self.problem = self.problem.take(keep)
        if state.takes_columns:
            state = state.take(keep).replace(nfev=0)
        else:
            state = self.engine.init_state(self.problem, state.u[:, keep]).replace(k=state.k, t=state.t)
        return state, np.asarray(opt)[keep]

    # -- the loop -------------------------------------------------------------------
    def iterate(self, u0, tol, ftol, max_iter, time_limit, callback, checkpoint,
                checkpoint_every, check_every):
        engine = self.engine
        state = engine.init_state(self.problem, u0)
        shrink = self.batch and hasattr(self.problem, "take")
        if self.batch:
            k = state.u.shape[-1]
            self.active = np.arange(k)
            self.final_u = np.array(state.u, dtype=float)
            self.final_opt = np.zeros(k)
            self.final_fun = np.zeros(k)
            self.converged = np.zeros(k, bool)
        every_iteration = self.records is not None or callback is not None
        opt = self.optimality(state.u)
        self.record(state, opt)
        status, last_good, message = None, state, ""
        checked = True
        try:
            while True:
                if not _finite(state) or (checked and not self.decrease and not np.isfinite(opt).all()):
                    status, state = -1, last_good
                    opt = self.optimality(state.u)
                    break
                last_good = state
                if checked:
                    met = np.asarray(opt) <= tol
                    if met.all():
                        status = 1
                        break
                    if shrink and met.any():
                        state, opt = self.freeze(state, np.asarray(opt), met)
                if state.k >= max_iter:
                    status = 0
                    break
                if time_limit is not None and time.perf_counter() - self.start >= time_limit:
                    status = 3
                    break
                previous = state
                state = engine.step(self.problem, state)
                if self.decrease:
                    after = float(np.sum(state.fun))
                    self.last_decrease = (float(np.sum(previous.fun)) - after) / max(
                        abs(after), np.finfo(float).tiny)
                if state.failure:
                    message = state.failure
                    status = 0 if isinstance(message, LimitReached) else -1
                    state = previous
                    opt = self.optimality(state.u)
                    break
                if checkpoint is not None and state.k % checkpoint_every == 0:
                    outcome = checkpoint(state.u, state.k, self.problem)
                    if outcome is not None:
                        u_new, done = outcome
                        done = np.asarray(done)
                        if done.all():
                            # the run ends here: evaluate the new point, no engine restart
                            fun, grad = self.problem.value_and_grad(u_new)
                            state = state.replace(u=np.asarray(u_new, dtype=float),
                                                  fun=_scalar_or_columns(fun),
                                                  grad=np.asarray(grad, dtype=float))
                        else:
                            self.nfev_offset += state.nfev
                            fresh = engine.init_state(self.problem, u_new)
                            state = fresh.replace(k=state.k, t=state.t if fresh.t is None else fresh.t)
                        if done.ndim == 0 and bool(done):
                            opt = self.optimality(state.u)
                            self.record(state, opt)
                            status = 1
                            break
                        if done.ndim and done.any():
                            opt = np.asarray(self.optimality(state.u))
                            if done.all():
                                self.record(state, opt)
                                status = 1
                                break
                            if shrink:
                                state, opt = self.freeze(state, opt, done)
                checked = every_iteration or state.k % check_every == 0 or state.k >= max_iter
                if checked:
                    opt = self.optimality(state.u)
                    self.record(state, opt)
                self.bar.update(1)
                if checked:
                    self.bar.set_postfix(optimality=f"{float(np.max(opt)):.2e}", refresh=False)
                if ftol > 0 and _stalled(previous.fun, state.fun, ftol):
                    status = 2
                    break
                if callback is not None:
                    info = OptimizeResult(u=state.u, fun=state.fun, optimality=opt, nit=state.k,
                                          x=self.feasible(state.u))
                    try:
                        stop = callback(info)
                    except StopIteration:
                        stop = True
                    if stop:
                        status = 4
                        break
        finally:
            self.bar.close()
        return self.result(state, opt, status, message, tol)

    def result(self, state, opt, status, message, tol):
        text = STATUS_MESSAGES[status]
        if isinstance(message, LimitReached):
            text = str(message)
        elif message:
            text = f"{text} {message}"
        u = state.u
        extra = {}
        if self.batch:
            self.final_u[:, self.active] = state.u
            self.final_opt[self.active] = opt
            self.final_fun[self.active] = state.fun
            self.converged[self.active] = np.asarray(opt) <= tol
            u, opt = self.final_u, self.final_opt
            fun = self.final_fun
            extra["converged"] = self.converged
        else:
            fun = state.fun
        to_feasible = getattr(self.root, "to_feasible", None)
        out = OptimizeResult(
            x=to_feasible(u) if to_feasible else u, u=u, fun=fun, optimality=opt, nit=state.k,
            nfev=state.nfev + self.nfev_offset, status=status, success=status in (1, 2),
            message=text, history=self.records, time=time.perf_counter() - self.start, **extra)
        if state.t is not None:
            out["t"] = state.t
        return out


def _scalar_or_columns(fun):
    arr = np.asarray(fun, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


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
