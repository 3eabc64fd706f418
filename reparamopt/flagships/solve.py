"""`solve`: run an engine on a Problem and return a feasible result.

:func:`solve` reads top to bottom as: the arguments validated once into a frozen
:class:`SolveSettings`; a plan chosen by :func:`route`, a pure function of the settings
and the declared problem (the engine, the start, the stopping measure); the start and
the measure; the engine's run; the finish (never worse than the start or x = 0); one
certification.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from .._utils.validation import check_random_state, check_scalar, describe
from ..declare.objectives import exact_arguments
from ..declare.problem import Problem
from ..engines import ENGINES, Engine, get_engine, run
from ..exceptions import (
    InvalidArgumentError,
    InvalidTypeError,
    ReparamoptError,
    warn_not_converged,
)
from ..result import Status

if TYPE_CHECKING:
    from .._utils.typing import Any, ArrayLike, Callback, Optional, Seed, Union
    from ..result import OptimizeResult

__all__ = ["solve", "SolveSettings", "SolvePlan", "route"]


# -- settings ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SolveSettings:
    """The arguments of :func:`solve` (same names, same defaults; `engine_settings` the
    keyword arguments that replace the engine's fields), validated once when built; an
    invalid one raises with the argument's name and value.

    `engine` becomes its canonical name ("nesterov" is "accelerated"), "auto" or the
    Engine object given; `random_state` a Generator where it is used (no `x0`).

    Examples
    --------
    >>> from reparamopt.flagships.solve import SolveSettings
    >>> SolveSettings(engine="nesterov", tol=1e-10).engine
    'accelerated'
    >>> SolveSettings(atol=-1.0)
    Traceback (most recent call last):
    ...
    reparamopt.exceptions.InvalidArgumentError: `atol` must be a number >= 0; got -1.0
    """

    engine: Any = "auto"
    engine_settings: Any = field(default_factory=dict)
    x0: Any = None
    init_scale: Optional[float] = None
    tol: float = 1e-8
    atol: float = 0.0
    ftol: float = 0.0
    max_iter: int = 15000
    time_limit: Optional[float] = None
    callback: Optional[Callback] = None
    history: bool = False
    progress: Union[bool, dict] = False
    random_state: Seed = None

    def __post_init__(self):
        if not isinstance(self.engine, Engine) and not (isinstance(self.engine, str)
                                                        and self.engine == "auto"):
            self._set("engine", ENGINES.canonical(self.engine, "engine"))
        self._set("engine_settings", MappingProxyType(dict(self.engine_settings)))
        if self.init_scale is not None:
            init_scale = check_scalar(self.init_scale, "init_scale", lower=0, lower_inclusive=False)
            if not np.isfinite(init_scale):
                raise InvalidArgumentError(f"`init_scale` must be a finite number > 0; got {init_scale!r}")
            self._set("init_scale", init_scale)
        for name in ("tol", "atol", "ftol"):
            self._set(name, check_scalar(getattr(self, name), name, lower=0))
        self._set("max_iter", check_scalar(self.max_iter, "max_iter", lower=0, integer=True))
        self._set("time_limit", check_scalar(self.time_limit, "time_limit", lower=0, allow_none=True))
        if self.callback is not None and not callable(self.callback):
            raise InvalidTypeError(f"`callback` must be callable; got {describe(self.callback)}")
        if self.x0 is None and self.random_state is not None:
            self._set("random_state", check_random_state(self.random_state))

    def _set(self, name, value):
        object.__setattr__(self, name, value)


# -- the routing plan -------------------------------------------------------------------------

@dataclass(frozen=True)
class SolvePlan:
    """How :func:`solve` goes about one problem (see :func:`route`)."""

    #: the engine, built from the one table :data:`reparamopt.engines.ENGINES`
    engine: Engine
    #: "x0" (the given point), "identical" (every map's identical initialization),
    #: "perturbed" (the variables in `perturb` perturbed by a generator of seed 0) or
    #: "seeded" (every variable perturbed by the `random_state` generator)
    start: str
    #: the stopping measure: "relative" (:class:`_RelativeResidual`), "own" (the
    #: problem's own, a closed-form oracle's or a batch's) or "floor" (the own measure
    #: with `atol` as an absolute floor)
    measure: str
    #: the variables that start perturbed ("perturbed" start)
    perturb: tuple = ()
    #: whether the engine takes the curvature the relative measure probes (an engine
    #: with a ``curvature`` setting left to None: the L-BFGS diagonal)
    pass_curvature: bool = False


def route(settings, problem):
    """The :class:`SolvePlan` for `settings` (:class:`SolveSettings`) on `problem`, from
    its declared properties only (a batch, an oracle with its own measure, the shapes of
    the variables). Pure: evaluates nothing.

    "auto" is L-BFGS, gradient descent for a batch. Matrix-shaped variables start
    perturbed (seed 0) unless `x0` or `random_state` says otherwise: the identical start
    is a saddle of products such as ``W @ H``.

    Examples
    --------
    >>> import autograd.numpy as anp
    >>> import reparamopt as ro
    >>> from reparamopt.flagships.solve import SolveSettings, route
    >>> problem = ro.Problem(lambda W, h: anp.sum(anp.dot(W, h) ** 2),
    ...                      W=ro.NonNegative((3, 2)), h=ro.NonNegative(2))
    >>> plan = route(SolveSettings(), problem)
    >>> type(plan.engine).__name__, plan.start, plan.perturb, plan.measure
    ('LBFGS', 'perturbed', ('W',), 'relative')
    """
    name = settings.engine
    if isinstance(name, str) and name == "auto":
        name = "gd" if problem.batch else "lbfgs"
    engine = get_engine(name, **settings.engine_settings)
    if problem.batch or problem.own_measure is not None:
        measure = "floor" if settings.atol > 0 else "own"
    else:
        measure = "relative"
    perturb = ()
    if settings.x0 is not None:
        start = "x0"
    elif settings.random_state is not None:
        start = "seeded"
    else:
        # the identical start is a saddle of products of matrix-shaped variables
        perturb = tuple(n for n in problem.names if len(problem.maps[n].shape) >= 2)
        start = "perturbed" if perturb else "identical"
    pass_curvature = measure == "relative" and getattr(engine, "curvature", False) is None
    return SolvePlan(engine, start, measure, perturb, pass_curvature)


# -- the flagship ----------------------------------------------------------------------------

def solve(problem: Problem, engine: Any = "auto", *, x0: Union[ArrayLike, dict, None] = None,
          init_scale: Optional[float] = None, tol: float = 1e-8, atol: float = 0.0,
          ftol: float = 0.0, max_iter: int = 15000, time_limit: Optional[float] = None,
          callback: Optional[Callback] = None, history: bool = False,
          progress: Union[bool, dict] = False, random_state: Seed = None,
          **engine_settings: Any) -> OptimizeResult:
    r"""Solve a constrained :class:`~reparamopt.declare.problem.Problem` through its latent form.

    .. math:: \min_u F(u) = f(\phi(u)), \qquad x^\star = \phi(u^\star)

    Parameters
    ----------
    problem : Problem
        The problem.
    engine : str or Engine, default "auto"
        "lbfgs" (quasi-Newton on the latent variables), "gd" (Barzilai-Borwein steps),
        "accelerated" (alias "nesterov"), "flow", "accelerated-flow", or an engine
        object; `engine_settings` replace its fields. "auto" is "lbfgs" (the fewest
        evaluations on smooth objectives), "gd" for a batched problem. Pick "gd" when
        evaluations are very cheap and the problem well conditioned, the flows to study
        the continuous dynamics (implicit bias). A :class:`~reparamopt.LeastSquares`
        objective of one vector under ``Real``, ``NonNegative``, ``Box``,
        ``LowerBound``, ``UpperBound`` or ``Simplex`` goes with "auto" to the exact
        solver :func:`reparamopt.lsq` (``engine="lsq"`` in the result).
    x0 : array or dict, optional
        Feasible starting point; otherwise every map's identical initialization. A start
        where f, its gradient or a map is undefined (an exception, or a value that is
        not finite) raises InvalidArgumentError.
    init_scale : float, optional
        Scale of the identical initialization (each map's default when omitted). For
        Hadamard maps a small scale biases the gradient flow and its small-step
        discretizations (``engine="flow"`` or ``"gd"``) to sparse, minimum-l1
        solutions; L-BFGS, the default, converges much faster but keeps little of that
        bias (its map-aware steps undo the map's rescaling). For sparse recovery use
        :func:`reparamopt.sparse_recovery`.
    tol : float, default 1e-8
        Relative tolerance: stop when the gradient mapping
        ``||x - P_C(x - h grad f(x))|| / h`` is ``<= tol * ||g0||``, with g0 the
        x-space gradient at the identical initialization (at `init_scale`, whatever `x0`
        or `random_state`: a warm start does not tighten the test; at the start of the
        run where f or a map is undefined there) and the step
        ``h = min(1 / L0, D / ||g0||)``, L0 a curvature of f there (one probe step) and
        D the diameter of the sets (infinite if unbounded). Without constraints this is
        ``||grad f|| <= tol ||g0||``. It does not change when f is multiplied by a
        constant or x rescaled, and is ``optimality`` in the result (``scale`` is
        ``||g0||``). A problem whose `value_and_grad` oracle has its own
        ``optimality`` measure (already relative) is measured by it; so is a batch.
    atol : float, default 0
        Absolute tolerance: stop also when the unscaled residual
        ``||x - P_C(x - grad f(x))||`` (the sets' residual,
        :meth:`Problem.set_residual`; per column of a batch) is ``<= atol``, whatever
        the measure `tol` applies to.
    ftol : float, default 0
        Stop with status 2 when an iteration changes f by no more than ``ftol * |f|``;
        ``success`` is then True only if the optimality measure meets `tol` or `atol`.
    max_iter : int, default 15000
        Iteration limit (scipy's L-BFGS-B default); reaching it returns ``status=0``
        with a ConvergenceWarning, not an exception. The benchmark problems take 20
        to 200 L-BFGS iterations where the maps give the engine a diagonal (orthants,
        boxes, simplices), 100 to 2500 through maps without one (the sphere, user maps
        that couple entries).
    time_limit, callback, history, progress
        As in :func:`reparamopt.engines.run`.
    random_state : int or Generator, optional
        Seed of a perturbed start: every latent entry of the identical initialization
        times ``exp(0.1 z)``, ``z ~ N(0, 1)``. The identical start ``u0 = alpha 1`` is a
        saddle of symmetric objectives (``W @ H`` with identical columns stays so under
        every engine), so matrix-shaped variables start perturbed even when
        `random_state` is None (seed 0); vectors start identical unless a seed is given
        (the implicit bias of Hadamard maps is a property of that identical start).

    Returns
    -------
    OptimizeResult
        With ``x`` feasible (a dict for several variables), ``u``, ``fun``,
        ``optimality``, ``nit``, ``nfev``, ``status``, ``success``, ``message``,
        ``scale``, ``history`` and ``t`` for flows. The result is never worse than the
        start or than x = 0 where every set holds 0: when one of them has a lower
        objective than the point reached, it is returned, ``fallback`` says which, and
        ``success`` holds only if the optimality test holds there (a
        ConvergenceWarning otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> import autograd.numpy as anp
    >>> import reparamopt as ro
    >>> target = np.array([0.2, 0.9, -0.4])
    >>> problem = ro.Problem(lambda w: anp.sum((w - target) ** 2), w=ro.Simplex(3))
    >>> res = ro.solve(problem, tol=1e-10)
    >>> np.round(res.x, 6)
    array([0.15, 0.85, 0.  ])
    """
    if not isinstance(problem, Problem):
        raise InvalidTypeError(f"`problem` must be a reparamopt.Problem; got {describe(problem)}")
    settings = SolveSettings(
        engine=engine, engine_settings=engine_settings, x0=x0, init_scale=init_scale, tol=tol,
        atol=atol, ftol=ftol, max_iter=max_iter, time_limit=time_limit, callback=callback,
        history=history, progress=progress, random_state=random_state)
    exact = exact_arguments(problem) if settings.engine == "auto" else None
    if exact is not None:
        return _exact_least_squares(exact, settings)
    plan = route(settings, problem)
    u0 = _start(plan, settings, problem)
    _check_start(problem, u0, plan.start)
    measure = _measure(plan, settings, problem, u0)
    engine = plan.engine
    if plan.pass_curvature and measure.probed:
        # the L-BFGS diagonal needs the curvature the measure has just probed
        engine = dataclasses.replace(engine, curvature=measure.curvature)
    result = run(engine, problem, u0, optimality=measure, tol=settings.tol, ftol=settings.ftol,
                 max_iter=settings.max_iter, time_limit=settings.time_limit,
                 callback=settings.callback, history=settings.history, progress=settings.progress)
    result["engine"] = type(engine).__name__
    _never_worse(problem, result, u0, measure, monotone=getattr(engine, "monotone", False))
    return _certify(result, measure, settings)


def _exact_least_squares(arguments, settings):
    """A least-squares problem over bounds or a simplex (``engine="auto"``): the exact
    solution of :func:`reparamopt.lsq`, certified there."""
    from .lsq import lsq

    res = lsq(**arguments, tol=min(settings.tol, 1e-10), x0=settings.x0)
    res["engine"] = "lsq"
    return res


def _start(plan, settings, problem):
    """The latent starting point of the plan."""
    if plan.start == "x0":
        return problem.to_latent(settings.x0)
    if plan.start == "seeded":
        return problem.init(settings.init_scale, settings.random_state)
    rng = np.random.default_rng(0) if plan.perturb else None
    return problem.init(settings.init_scale, rng, list(plan.perturb))


_STARTS = {
    "x0": "the given `x0`",
    "identical": "the identical initialization u = init_scale * 1 of every map",
    "perturbed": "the identical initialization, perturbed (seed 0) for matrix-shaped variables",
    "seeded": "the identical initialization perturbed by `random_state`",
}


def _check_start(problem, u0, start):
    """Evaluate the latent start `u0` (the engine's first evaluation, which the problem
    keeps): where f, its gradient or a map is undefined there (an exception, or a
    value that is not finite), no engine can take a step, and the error says which
    and what to give instead. The package's own errors pass as they are."""
    try:
        with np.errstate(all="ignore"):
            value, grad, _, _ = problem.evaluate(u0)
    except ReparamoptError:
        raise
    except Exception as error:  # noqa: BLE001 -- a user's map or objective: said below
        reason = f"{type(error).__name__}: {error}"
    else:
        if np.all(np.isfinite(value)) and np.all(np.isfinite(grad)):
            return
        reason = "the objective or the latent gradient is not finite there"
    raise InvalidArgumentError(
        f"{_undefined_part(problem, u0)} is undefined at the start ({_STARTS[start]}): "
        f"{reason}. Give a start where it is defined: `x0` (a feasible point), "
        "`random_state` (a randomly perturbed start), or an `init` method on the map "
        "that returns such a latent point.")


def _undefined_part(problem, u):
    """"the map of variable `x` (Name)" for the first variable whose map raises or is
    not finite at the latent point `u`, else "the objective"."""
    blocks = problem.split_latent(u)
    for n in problem.names:
        try:
            with np.errstate(all="ignore"):
                finite = np.all(np.isfinite(problem.maps[n].forward(blocks[n])))
        except Exception:  # noqa: BLE001 -- the map is undefined there
            finite = False
        if not finite:
            return f"the map of variable `{n}` ({problem.maps[n]!r})"
    return "the objective (or its gradient through the maps)"


def _measure(plan, settings, problem, u0):
    """The stopping measure of the plan (None: the problem's own)."""
    if plan.measure == "relative":
        return _RelativeResidual.of(problem, settings.init_scale, settings.tol, settings.atol, u0)
    if plan.measure == "floor":
        return _WithFloor(problem, settings.tol, settings.atol)
    return None


def _certify(result, measure, settings):
    """Success only where the optimality measure meets `tol` (or `atol`) at the point
    returned; a ConvergenceWarning where the run stopped short or fell back."""
    if isinstance(measure, _RelativeResidual):
        result["scale"] = measure.g0_norm
    met = bool(np.all(np.asarray(result.optimality) <= settings.tol))
    status = Status(result.status)
    result["success"] = status.success and met
    if status == Status.NON_FINITE:
        warn_not_converged(
            f"Not converged: {result.message} The last point reached where f is finite is "
            "returned. Try a start farther from where the objective or a map is undefined "
            "(`x0`, `random_state`), or another engine (engine='gd').")
    elif (status in (Status.MAX_ITER, Status.STALLED) or result.get("fallback")) and not result.success:
        warn_not_converged(
            f"Not converged: {result.message} The relative optimality residual is "
            f"{float(np.max(result.optimality)):.2e} against `tol` = {settings.tol:g}. Try a larger "
            "`max_iter`, a looser `tol`, or another engine (engine='lbfgs' or 'gd').")
    return result


# -- the finish and the measures ---------------------------------------------------------------

def _never_worse(problem, result, u0, measure, monotone=False):
    """Replace the result by the start or by x = 0 (where every set holds 0) when either
    has a lower objective: a first-order test can hold at a point worse than both
    (an ill-conditioned problem whose solution is far smaller than the start).
    Marks ``result.fallback`` with what was returned; success then requires the
    optimality test to hold there. A monotone engine's result is no worse than its
    start, which is then not evaluated again; nor is x = 0 when it is the start. A
    point where f or a map is undefined (an exception, or a value that is not finite:
    ``-log det`` at 0, a Cholesky inverse of 0) is not a better point."""
    if problem.batch:
        return
    candidates = [] if monotone else [("the starting point", lambda: u0)]
    if _zero_is_a_candidate(problem, u0):
        zeros = {n: np.zeros(problem.maps[n].shape) for n in problem.names}
        candidates.append(("x = 0", lambda: problem.to_latent(zeros)))
    best_fun, best = float(np.sum(result.fun)), None
    for label, latent in candidates:
        u, fun = _defined_value(problem, latent)
        if fun is not None and fun < best_fun:
            best_fun, best = fun, (label, u)
    if best is None:
        return
    label, u = best
    result.update(u=u, x=problem.to_feasible(u), fun=problem.value_and_grad(u)[0], fallback=label,
                  optimality=measure(u) if measure is not None else problem.optimality(u))
    result["message"] = (f"{result.message} The point reached was worse than {label}, which is "
                         "returned instead.")


def _zero_is_a_candidate(problem, u0):
    """Whether every set holds x = 0 and the start is not 0 already (to rounding: the
    sine box's centre is 0 within 1e-15)."""
    zeros = {n: np.zeros(problem.maps[n].shape) for n in problem.names}
    with np.errstate(all="ignore"):  # a user's set may divide by the norm of 0
        if not all(problem.maps[n].contains(zeros[n]) for n in problem.names):
            return False
    start = problem.as_dict(problem.to_feasible(u0))
    return not all(np.max(np.abs(start[n]), initial=0.0) <= 1e-12 for n in problem.names)


def _defined_value(problem, latent):
    """``(u, f(phi(u)))`` for the latent point ``latent()``, or ``(None, None)`` where the
    map's inverse, the map or f is undefined there: any exception, or a value that is
    not finite."""
    try:
        with np.errstate(all="ignore"):
            u = latent()
            fun = float(np.sum(problem.value_and_grad(u)[0]))
    except Exception:  # noqa: BLE001 -- f undefined at a comparison point: not a better one
        return None, None
    return (u, fun) if np.isfinite(fun) else (None, None)


class _RelativeResidual:
    r"""The scale-free optimality measure of :func:`solve`.

    With :math:`x_0, g_0` the point and x-space gradient of the identical start and
    :math:`L_0` a curvature of f there (from one probe step), the measure at x is the
    gradient mapping of the step :math:`h = \min(1 / L_0, D / \|g_0\|)` (D the
    diameter of the sets, infinite for unbounded ones), relative to the gradient at the
    start:

    .. math:: \frac{\|x - P_C(x - h \nabla f(x))\|}{h \, \|g_0\|}

    (each set's ``optimality(x, h g)``, which is that residual for the projection
    sets). Without constraints it is ``||grad f(x)|| / ||g0||``; an entry on its way to
    a bound counts until it is within ``tol`` of the step ``h ||g0||``. Multiplying
    f by c, or scaling x by c, changes nothing; nor can the test hold at the start
    because of a large gradient (the unscaled residual ``min(x, g)`` of an orthant
    saturates at x).
    """

    def __init__(self, problem, x0, g0, tol, atol):
        self.problem, self.tol, self.atol = problem, tol, atol
        self.g0_norm = _finite_or(_norm(g0), 1.0)
        diameter = _norm({n: getattr(problem.maps[n].target_set, "diameter", np.inf) for n in x0})
        # the size of x: its norm, or a bounded set's where x starts at (nearly) 0
        size = _norm(x0)
        if np.isfinite(diameter):
            size = max(size, 1e-3 * diameter)
        size = _finite_or(size, 1.0)
        probed = _probe_curvature(problem, x0, g0, self.g0_norm, size)
        #: whether the curvature comes from the probe (not from the fallback g0 / size)
        self.probed = bool(np.isfinite(probed) and probed > 0)
        #: the curvature of f at the start (L0), also the L-BFGS engine's first scaling
        self.curvature = probed if self.probed else self.g0_norm / size
        # the step moves x by at most the size of the sets (a box narrower than the
        # step ||g0|| / L0 would let entries stop short of their bounds)
        # (a set of diameter 0 holds no entries: no step to bound)
        self.step = min(1.0 / self.curvature, diameter / self.g0_norm) if diameter > 0 \
            else 1.0 / self.curvature

    @classmethod
    def of(cls, problem, init_scale, tol, atol, u0=None):
        """The measure of `problem`, or None where the problem has its own (a closed-form
        oracle with an ``optimality`` method) or is a batch. Taken at the identical
        start, or at the run's start `u0` where f or a map is undefined there."""
        if problem.own_measure is not None or problem.batch:
            return None
        try:
            with np.errstate(all="ignore"):
                _, _, x, gx = problem.evaluate(problem.init(init_scale))
            defined = all(np.all(np.isfinite(x[n])) and np.all(np.isfinite(gx[n])) for n in x)
        except Exception:  # noqa: BLE001 -- a user's map undefined at the identical start
            defined = False
        if not defined:
            _, _, x, gx = problem.evaluate(problem.init(init_scale) if u0 is None else u0)
        return cls(problem, x, gx, tol, atol)

    def __call__(self, u):
        _, _, x, gx = self.problem.evaluate(u)
        measure = self.problem.set_residual(x, gx, self.step) / (self.step * self.g0_norm)
        if self.atol > 0 and measure > self.tol and self.problem.residual(u) <= self.atol:
            measure = self.tol  # the absolute test holds
        return measure


def _probe_curvature(problem, x0, g0, g0_norm, size):
    """``||g1 - g0|| / ||x1 - x0||`` for the projected gradient step x1 from the point
    `x0` with gradient `g0` (dicts by variable) whose gradient change is well above
    rounding (the step, first ``1e-4 size / ||g0||`` in units of x, grows a hundredfold
    until it is). When the projection stops the step from growing (a box narrower than
    that step), the last change above rounding; NaN when there is none."""
    maps = problem.maps
    h = 1e-4 * size / g0_norm
    last, previous = np.nan, None
    for _ in range(12):
        x1 = {n: maps[n].target_set.project(x0[n] - h * g0[n]) for n in x0}
        step = _norm({n: x1[n] - x0[n] for n in x0})
        if step > 0:
            if previous is not None and all(np.array_equal(x1[n], previous[n]) for n in x0):
                break  # the sets stop the step: it cannot grow
            previous = x1
            _, g1 = problem.x_value_and_grad(x1)
            change = _norm({n: g1[n] - g0[n] for n in x0})
            if change >= 1e-6 * g0_norm:
                return change / step
            if change > 1e3 * np.finfo(float).eps * g0_norm:
                last = change / step
        h *= 100.0
    return last


class _WithFloor:
    """The measure of a problem with its own (a closed-form oracle's ``optimality``, or
    a batch's per-column residual), with `atol` as an absolute floor: where the
    unscaled residual ``||x - P_C(x - grad f)||`` (per column of a batch) is within
    `atol`, the measure reports `tol`, so that either test stops the run."""

    def __init__(self, problem, tol, atol):
        self.problem, self.tol, self.atol = problem, tol, atol

    def __call__(self, u):
        measure = np.asarray(self.problem.optimality(u), dtype=float)
        absolute = self.problem.residual(u)
        out = np.where(absolute <= self.atol, np.minimum(measure, self.tol), measure)
        return float(out) if out.ndim == 0 else out


def _norm(blocks):
    return float(np.sqrt(sum(float(np.sum(np.square(np.asarray(v, dtype=float))))
                             for v in blocks.values())))


def _finite_or(value, default):
    return value if np.isfinite(value) and value > 0 else default
