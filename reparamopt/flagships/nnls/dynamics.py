"""The reparametrized dynamics of :func:`~reparamopt.nnls`, with the exact finish at
their checkpoints.

The engine comes from the one table of :data:`reparamopt.engines.ENGINES`, with the
settings NNLS gives it; :class:`FinishCheckpoint` tries the finish every
``check_every`` iterations on the columns that are ready and ends those it certifies;
:func:`dynamics_path` runs it all through :func:`reparamopt.engines.run`.
"""

import numpy as np

from ...engines import LocalLipschitz, get_engine, run
from ...models.linear import LeastSquaresOracle
from ...result import Status
from .finishing import NNLSOutcome

__all__ = ["make_engine", "start_point", "FinishCheckpoint", "dynamics_path"]

_FLOW_KEYS = ("method", "rtol", "atol", "max_step", "first_step")


def make_engine(name, options):
    """The engine `name` of the table with the settings NNLS runs it with (and the
    method's `options`)."""
    if name == "accelerated":
        # one gradient per iteration: FISTA momentum, the map's local Lipschitz step per
        # column, and the gradient restart, which costs no evaluation
        return get_engine(name, step_size=LocalLipschitz(), momentum="fista",
                          restart="gradient")
    if name == "gd":
        if "step" in options:
            return get_engine(name, step_size=float(options["step"]),
                              decay=float(options.get("decay", 0.0)))
        return get_engine(name, step_size="armijo")
    if name in ("flow", "accelerated-flow"):
        settings = {key: options[key] for key in _FLOW_KEYS if key in options}
        # an explicit integrator: LSODA's stiff mode builds finite-difference Jacobians,
        # n gradient evaluations each, which dominates on large problems
        settings.setdefault("method", "RK45")
        return get_engine(name, **settings)
    return get_engine(name)


def start_point(kind, settings, model, x0=None):
    """The dynamics' starting x, ``(n, k)``, for a plan's `kind` of start."""
    shape = (model.n, model.b.shape[1])
    if kind == "warm":
        top = np.max(x0, axis=0) if x0.size else np.zeros(shape[1])
        floor = np.where(top > 0, 1e-12 * top, 1e-12)
        return np.maximum(x0, floor)
    if kind == "scale":
        return np.full(shape, settings.init_scale ** settings.power)
    if kind == "small":
        scale = np.max(model.atb, axis=0) / model.lipschitz()
        return np.broadcast_to(np.maximum(1e-6 * scale, np.finfo(float).tiny), shape).copy()
    # "moderate": a tenth of the best constant x, t = max(1^T A^T b, 0) / ||A 1||^2
    a1 = model.matvec(np.ones(model.n))
    denom = float(a1 @ a1)
    t = np.maximum(np.sum(model.atb, axis=0), 0.0) / max(denom, np.finfo(float).tiny)
    t = np.where(t > 0, t, 1.0)
    return np.broadcast_to(0.1 * t, shape).copy()


class FinishCheckpoint:
    """The run loop's checkpoint: the exact finish on the columns that are ready.

    "auto" tries at every check, every method at the last iteration. The paper's
    methods wait until the support of the iterate (entries above 1e-3 of the largest)
    is the same at two consecutive checks and the KKT residual is below
    ``options["polish_from"]`` (default 1e-3): the finish then sharpens the point the
    dynamics select (their implicit bias) instead of jumping to another one.

    The points the finish started from and reached are kept (``before``, ``finished``;
    NaN where it did not run): the result is never worse than them.
    """

    def __init__(self, finish, settings, cmap, every):
        n, k = finish.model.n, finish.model.b.shape[1]
        self.finish, self.cmap, self.every = finish, cmap, every
        self.always = settings.method == "auto"
        self.polish_from, self.max_iter = settings.polish_from, settings.max_iter
        self.supports = np.zeros((n, k), bool)
        self.seen = np.zeros(k, bool)
        self.before = np.full((n, k), np.nan)
        self.finished = np.full((n, k), np.nan)
        self.certified = np.zeros(k, bool)

    def ready(self, x, opt, cols):
        """Which of the running columns `cols` try the finish now."""
        if self.always:
            return np.ones(x.shape[1], bool)
        support = self.finish.support_of(x)
        stable = self.seen[cols] & np.all(support == self.supports[:, cols], axis=0)
        self.supports[:, cols] = support
        self.seen[cols] = True
        return stable & (np.asarray(opt) <= self.polish_from)

    def __call__(self, u, it, current):
        cols = current.columns
        x = self.cmap.forward(u)
        ready = self.ready(x, current.optimality(u), cols) | (it + self.every > self.max_iter)
        if not ready.any():
            return None
        sub = self.finish.model.take(cols[ready])
        xf = np.array(x)
        xf[:, ready] = self.finish(x[:, ready], model=sub)
        done = np.zeros(ready.shape, bool)
        done[ready] = self.finish.certified(xf[:, ready], sub)
        self.before[:, cols[ready]] = x[:, ready]
        self.finished[:, cols[ready]] = xf[:, ready]
        self.certified[cols] |= done
        if not done.any():
            return None
        return np.where(done, self.cmap.inverse(xf), u), done


def dynamics_path(finish, settings, plan, x0):
    """The dynamics of `plan` from `x0`, the finish at their checkpoints (with polish)
    and at the end for the columns not certified yet."""
    model = finish.model
    shape = (model.n, model.b.shape[1])
    from ...declare.constraints import NonNegative  # lazy: autograd loads with the dynamics
    from ...declare.problem import Problem

    problem = Problem(value_and_grad=LeastSquaresOracle(model), lipschitz=model.lipschitz(),
                      batch=True, x=NonNegative(shape, power=settings.power))
    cmap = problem.map
    every = plan.check_every
    checkpoint = FinishCheckpoint(finish, settings, cmap, every) if settings.polish else None
    progress = settings.progress
    if progress is True:
        progress = {"desc": f"nnls ({settings.method})"}
    asks_iterates = settings.history or settings.callback is not None
    res = run(make_engine(plan.engine, settings.options), problem, cmap.inverse(x0),
              tol=settings.tol, max_iter=settings.max_iter, callback=settings.callback,
              history=settings.history, progress=progress, checkpoint=checkpoint,
              checkpoint_every=every if checkpoint else None,
              check_every=1 if asks_iterates else every)
    return _finish_pending(finish, res, checkpoint, shape)


def _finish_pending(finish, res, checkpoint, shape):
    """The outcome of a run: the finish of the columns its checkpoints did not certify
    (the dynamics stopped on their KKT test, which on ill-conditioned data does not
    prove optimality; on the iteration limit; on a non-finite step)."""
    x = np.asarray(res.x, dtype=float)
    status = Status(res.status)
    if status == Status.NON_FINITE:
        x = np.nan_to_num(x, nan=0.0, posinf=0.0)
    before = [x]
    certified = checkpoint.certified if checkpoint else np.zeros(shape[1], bool)
    pending = np.flatnonzero(~certified)
    if checkpoint and status != Status.CALLBACK and pending.size:
        xf = finish(x[:, pending], model=finish.model.take(pending))
        x = x.copy()
        x[:, pending] = xf
    if checkpoint:
        before += [np.where(np.isnan(extra), x, extra)
                   for extra in (checkpoint.before, checkpoint.finished)]
    else:
        before += [x, x]
    return NNLSOutcome(x, res.nit, status, nfev=res.nfev, u=res.u, history=res.history,
                   before=before)
