r"""Sparse recovery by small initialization: the implicit l1 bias of Hadamard maps.

:func:`sparse_recovery` reads top to bottom as: the arguments validated once into a
frozen :class:`SparseSettings`; the data measured (:func:`measure`: the matrix kind, the
size, the rescaling factors, whether ``b = 0``); a plan chosen by :func:`route`, a pure
function of those two (the path -- the flow's limit or the dynamics --, the engine with
its settings, the checkpoint: early stopping or the support polish); the run; one
certification of the result on the data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from scipy.sparse.linalg import LinearOperator

from .._utils.dispatch import backend_for
from .._utils.validation import check_choice, check_scalar, describe
from ..declare.constraints import NonNegative, Signed
from ..declare.problem import Problem
from ..engines import Engine, get_engine, run
from ..exceptions import InvalidArgumentError, InvalidTypeError, warn_not_converged
from ..finish.kkt import kkt_residual
from ..finish.support import SupportPolish, support_least_squares, support_of
from ..maps.base import check_power
from ..maps.registry import resolve
from ..models.linear import LeastSquaresOracle, LinearModel, check_data
from ..models.scaling import NARROW, divided, rescaling
from ..result import OptimizeResult, Status
from .early_stopping import parse_early_stopping
from .implicit_bias import limit_point

if TYPE_CHECKING:
    from .._utils.typing import Any, ArrayLike, Callback, Matrix, Optional, Union

__all__ = ["sparse_recovery", "METHODS", "ALIASES", "SparseSettings", "DataProperties",
           "SparsePlan", "measure", "route"]

METHODS = ("auto", "limit", "flow", "gd", "accelerated", "accelerated-flow")
#: Other accepted spellings of :data:`METHODS` (the engine table's alias of the same method).
ALIASES = MappingProxyType({"nesterov": "accelerated"})
# The engine of each dynamics method in the one table, reparamopt.engines.ENGINES: sparse
# recovery's "gd" takes Barzilai-Borwein steps (the table's "bb")
_ENGINE_OF = MappingProxyType({"flow": "flow", "gd": "bb", "accelerated": "accelerated",
                               "accelerated-flow": "accelerated-flow"})

# matrices with more unknowns than this (and every LinearOperator) integrate the flow in
# log coordinates with an explicit method: no finite-difference Jacobian
_LSODA_MAX_N = 2000
# the polish of the limit may move x by this much (relative 2-norm) and ||x||_1 by that
_POLISH_MOVE, _POLISH_L1 = 1e-4, 1e-5
# the dynamics try the support polish every this many iterations
_POLISH_EVERY = 25


# -- settings ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SparseSettings:
    """The arguments of :func:`sparse_recovery` (same names, same defaults), validated
    once when built; an invalid one raises with the argument's name and value.

    ``max_iter=None`` becomes 100000, an alias of `method` its canonical name ("nesterov"
    is "accelerated"), and `early_stopping` a rule of
    :mod:`~reparamopt.flagships.early_stopping`.

    Examples
    --------
    >>> from reparamopt.flagships.sparse import SparseSettings
    >>> settings = SparseSettings(method="nesterov", power=3)
    >>> settings.method, settings.power, settings.max_iter
    ('accelerated', 3.0, 100000)
    >>> SparseSettings(init_scale=-1.0)
    Traceback (most recent call last):
    ...
    reparamopt.exceptions.InvalidArgumentError: `init_scale` must be a number > 0; got -1.0
    """

    nonnegative: bool = True
    power: float = 2.0
    init_scale: float = 1e-4
    method: Any = "auto"
    tol: float = 1e-8
    max_iter: Optional[int] = None
    early_stopping: Any = None
    polish: bool = True
    support_threshold: Optional[float] = None
    time_limit: Optional[float] = None
    callback: Optional[Callback] = None
    history: bool = False
    progress: Union[bool, dict] = False

    def __post_init__(self):
        _check_flag(self.nonnegative, "nonnegative")
        self._set("power", check_power(self.power))
        init_scale = check_scalar(self.init_scale, "init_scale", lower=0, lower_inclusive=False)
        if not np.isfinite(init_scale):
            raise InvalidArgumentError(f"`init_scale` must be a finite number > 0; got {init_scale!r}")
        self._set("init_scale", init_scale)
        self._set("tol", check_scalar(self.tol, "tol", lower=0))
        self._set("max_iter", 100000 if self.max_iter is None else
                  check_scalar(self.max_iter, "max_iter", lower=0, integer=True))
        self._set("support_threshold", check_scalar(self.support_threshold, "support_threshold",
                                                    lower=0, allow_none=True))
        if not isinstance(self.method, Engine):
            check_choice(self.method, "method", METHODS + tuple(ALIASES))
            self._set("method", ALIASES.get(self.method, self.method))
        self._set("early_stopping", parse_early_stopping(self.early_stopping))
        _check_flag(self.polish, "polish")
        if self.method == "limit" and self.early_stopping is not None:
            raise InvalidArgumentError("`early_stopping` needs the dynamics; "
                                       "method='limit' has no iterates to stop")
        self._set("time_limit", check_scalar(self.time_limit, "time_limit", lower=0, allow_none=True))
        if self.callback is not None and not callable(self.callback):
            raise InvalidTypeError(f"`callback` must be callable; got {describe(self.callback)}")

    def _set(self, name, value):
        object.__setattr__(self, name, value)

    @property
    def wants_iterates(self):
        """Whether `history`, `progress`, `callback` or `time_limit` ask for the iterates
        of the dynamics (the limit has none)."""
        return bool(self.history or self.progress or self.callback is not None
                    or self.time_limit is not None)


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidTypeError(f"`{name}` must be True or False; got {describe(value)}")


# -- the data's measured properties and the routing plan -------------------------------------

class DataProperties(NamedTuple):
    """What :func:`route` reads from the data (see :func:`measure`)."""

    #: number of unknowns
    n: int
    #: `A` is a LinearOperator (products only)
    operator: bool
    #: ``b = 0`` (in the rescaled units)
    zero: bool
    #: ``c``: A and b are divided by it (1.0 inside the safe range)
    scale_A: float
    #: ``d``: b is then divided by it (1.0 inside the safe range)
    scale_b: float


def measure(A, b):
    """The :class:`DataProperties` of validated data ``(A, b)``.

    ``(A, b)`` and ``(A / c, b / c)`` define the same solution set and the same flow up to
    a change of clock, so c is the largest entry of A when it lies outside the safe range
    :data:`~reparamopt.models.scaling.NARROW`; the flow on ``(A, d b)`` from alpha is d
    times the flow on ``(A, b)`` from ``alpha d^(-1/L)``, so d brings ``b / c`` into it.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.flagships.sparse import measure
    >>> measure(np.array([[1e8, 0.0], [0.0, 2e8]]), np.array([1.0, 0.0]))
    DataProperties(n=2, operator=False, zero=False, scale_A=200000000.0, scale_b=5e-09)
    """
    c = rescaling(A, NARROW)
    b = b / c
    d = rescaling(b, NARROW)
    return DataProperties(n=A.shape[1], operator=isinstance(A, LinearOperator),
                          zero=not np.any(b / d), scale_A=c, scale_b=d)


@dataclass(frozen=True)
class SparsePlan:
    """How :func:`sparse_recovery` goes about one problem (see :func:`route`)."""

    #: "zero" (``b = 0``: ``x = 0``), "limit" (the flow's limit, computed) or "dynamics"
    path: str
    #: the dynamics, built from the one table :data:`reparamopt.engines.ENGINES` with
    #: sparse recovery's settings, or the user's Engine (for the limit: the flow
    #: integrated when Newton on the dual does not converge; None for ``b = 0``)
    engine: Optional[Engine]
    #: "early-stopping", "polish" or None: what the dynamics check as they run
    checkpoint: Optional[str] = None
    checkpoint_every: Optional[int] = None
    #: the initialization in the rescaled units, ``init_scale * d^(-1/L)``
    init_scale: float = 1e-4
    #: ``(c, d)``: A divided by c, b by c d, both 1.0 when nothing is rescaled
    scale: tuple = (1.0, 1.0)


def route(settings, data):
    """The :class:`SparsePlan` for `settings` (:class:`SparseSettings`) on data with the
    properties `data` (:class:`DataProperties`). Pure: reads nothing else.

    "auto" is the flow's limit for a matrix, and Nesterov's method ("accelerated") for a
    LinearOperator or when early stopping, a history, a callback, a progress bar or a time
    limit ask for iterates. The dynamics check the early-stopping rule every iteration,
    else the support polish every 25 (when `polish`).

    Examples
    --------
    >>> from reparamopt.flagships.sparse import DataProperties, SparseSettings, route
    >>> data = DataProperties(n=500, operator=False, zero=False, scale_A=1.0, scale_b=1.0)
    >>> route(SparseSettings(), data).path
    'limit'
    >>> plan = route(SparseSettings(history=True), data)
    >>> plan.path, type(plan.engine).__name__, plan.checkpoint, plan.checkpoint_every
    ('dynamics', 'AcceleratedGradientDescent', 'polish', 25)
    >>> route(SparseSettings(method="gd"), data._replace(operator=True)).engine.step_size
    'bb'
    """
    alpha = settings.init_scale * data.scale_b ** (-1.0 / settings.power)
    scale = (data.scale_A, data.scale_b)
    if data.zero:
        return SparsePlan("zero", None, init_scale=alpha, scale=scale)
    method = settings.method
    if isinstance(method, str) and method == "auto":
        iterates = settings.early_stopping is not None or settings.wants_iterates
        method = "accelerated" if data.operator or iterates else "limit"
    engine = _engine_for("flow" if method == "limit" else method, alpha, data)
    checkpoint, every = None, None
    if settings.early_stopping is not None:
        checkpoint, every = "early-stopping", 1
    elif settings.polish:
        checkpoint, every = "polish", _POLISH_EVERY
    return SparsePlan("limit" if method == "limit" else "dynamics", engine, checkpoint, every,
                      alpha, scale)


def _engine_for(method, alpha, data):
    """The engine of the dynamics `method`, with sparse recovery's own settings."""
    if isinstance(method, Engine):
        return method
    if method == "flow":
        if data.operator or data.n > _LSODA_MAX_N:
            return get_engine("flow", method="DOP853", coordinates="log", rtol=1e-8, atol=1e-8)
        # the limit point is decided while u is of the order of init_scale: the absolute
        # tolerance must resolve it
        return get_engine("flow", rtol=1e-8, atol=min(1e-12, 1e-6 * alpha))
    return get_engine(_ENGINE_OF[method])


# -- the flagship ----------------------------------------------------------------------------

def sparse_recovery(A: Matrix, b: ArrayLike, *, nonnegative: bool = True, power: float = 2,
                    init_scale: float = 1e-4, method: str = "auto", tol: float = 1e-8,
                    max_iter: Optional[int] = None, early_stopping: Any = None,
                    polish: bool = True, support_threshold: Optional[float] = None,
                    time_limit: Optional[float] = None, callback: Optional[Callback] = None,
                    history: bool = False, progress: Union[bool, dict] = False) -> OptimizeResult:
    r"""Recover a sparse vector from linear measurements by small-initialization dynamics.

    Gradient dynamics on the least-squares loss, reparametrized by a Hadamard map and
    started from the identical small initialization ``u0 = init_scale * 1``:

    .. math::

        \min_u \tfrac12 \| A\,\phi(u) - b \|_2^2, \qquad
        \phi(u) = u^{\odot L} \ (\text{nonnegative}) \quad\text{or}\quad
        \phi(u, v) = u^{\odot L} - v^{\odot L} \ (\text{signed}).

    No penalty is added: among all solutions of ``A x = b`` (with ``x >= 0`` in the
    non-negative case) the dynamics pick one of nearly minimal l1 norm, and the smaller
    `init_scale`, the closer to the minimum. For ``L = 2`` the distance closes slowly
    (the potential behind the bias is an entropy, ``~ 1/log(1/alpha)`` in the worst
    case), for ``L >= 3`` polynomially in ``alpha``.

    Parameters
    ----------
    A : (m, n) array_like, sparse matrix or LinearOperator
        Measurement matrix; a :class:`scipy.sparse.linalg.LinearOperator` is used through
        ``matvec`` and ``rmatvec`` only (matrix-free).
    b : (m,) array_like
        Measurements.
    nonnegative : bool, default True
        True: ``x = u**L >= 0``. False: signed ``x = u**L - v**L``.
    power : float, default 2
        The exponent ``L >= 2`` of the Hadamard map.
    init_scale : float, default 1e-4
        ``alpha > 0``: every latent entry starts at ``alpha`` (so ``x0 = alpha**L`` in the
        non-negative case and ``x0 = 0`` in the signed case), in the units of x: the
        bias towards the l1 minimum needs ``x0`` small next to the solution. Data of
        extreme magnitude are rescaled internally (A and b by the largest entry of A,
        b by its own with `init_scale` moved so the flow is the same); ``b = 0``
        returns ``x = 0``.
    method : {"auto", "limit", "flow", "gd", "accelerated", "accelerated-flow"} or Engine, default "auto"
        "limit" computes the limit of the gradient flow without simulating it (below);
        "flow" integrates the flow (LSODA on u up to 2000 unknowns; beyond, and for a
        LinearOperator, DOP853 in the log coordinates ``log u``, no Jacobian); "gd" is
        gradient descent with Barzilai-Borwein steps; "accelerated" (alias "nesterov")
        Nesterov's method with restarts; "accelerated-flow" the Nesterov ODE. The
        engines are those of :data:`reparamopt.engines.ENGINES` with sparse recovery's
        settings; an Engine object is run as it is. "auto" is "limit" for
        matrices and "accelerated" for a LinearOperator, or when `early_stopping`,
        `history`, `callback`, `progress` or `time_limit` ask for iterates. Large steps (gd,
        accelerated) do not follow the flow: their l1 norm may be several percent above
        the flow's.

        **The limit.** Along the flow, ``x(t) = h(A^T lambda(t))`` entrywise with
        ``lambda(t)`` proportional to the integrated residual and ``h`` increasing:
        ``alpha^L exp(w)`` for power 2, ``(alpha^(2-L) - w)^(-L/(L-2))`` for L > 2 (signed:
        the difference of the same for ``w`` and ``-w``). The limit is therefore the
        Bregman projection of ``x0`` onto ``{x >= 0 : A x = b_hat}`` (``{x : A x = b_hat}``
        signed), ``b_hat`` the fitted value of the NNLS (least-squares) solutions:

        .. math::

            x_\infty = \arg\min_{A x = \hat b,\ x \ge 0} \|x\|_1 + \varepsilon R(x),

        with ``R = sum x log x - x``, ``eps = 1 / (2 log(1/alpha))`` for power 2 and
        ``R = -(L/2) sum x^(2/L)``, ``eps = alpha^(L-2)`` for L > 2. Its dual has m
        variables; damped Newton in log coordinates solves it for any `init_scale`
        (1e-30 included), and a linear program removes coordinates the set forces to
        zero. Matrix-free A uses conjugate gradients; if Newton fails, the flow is
        integrated instead. See :mod:`reparamopt.flagships.implicit_bias`.
    tol : float, default 1e-8
        Stop when the relative KKT residual (``optimality`` below) is ``<= tol``.
    max_iter : int, optional
        Iteration limit, default 100000: steps of the dynamics (integrator steps for
        the flows), Newton iterations for "limit" (all its attempts together; a flow it
        falls back to gets the iterations left). Reaching it returns ``status=0`` with a
        ConvergenceWarning; for "limit", x is then the last Newton iterate (the start
        ``x0`` for ``max_iter=0``), not polished.
    early_stopping : None, float, str or dict, optional
        For noisy `b`, where running to convergence fits the noise:

        * a number ``delta``: the discrepancy principle, stop at the first iterate with
          ``||A x - b|| <= delta`` (``delta`` ~ the norm of the noise, ``sigma sqrt(m)``
          for i.i.d. N(0, sigma^2) noise);
        * ``{"rule": "discrepancy", "noise_level": delta, "tau": 1.0}``: the same with the
          threshold ``tau * delta``;
        * ``"validation"`` or ``{"rule": "validation", "fraction": 0.2, "patience": 200,
          "random_state": 0}``: fit on the other rows, keep the iterate with the smallest
          residual on a held-out `fraction` of the rows, stop after `patience`
          iterations without improvement.
    polish : bool, default True
        End with an exact least-squares solve on the identified support (entries
        ``> 1e-3 ||x||_inf``), entries outside it set to zero: an exactly sparse x.
        "limit" keeps it only when it moves x by at most 1e-4 and ``||x||_1`` by at most
        1e-5 (relative), so the answer stays the flow's limit; the dynamics try it every
        25 iterations once the relative KKT residual is below 1e-3 and accept it when it
        meets `tol`, which ends the run. False returns the limit (or the dynamics)
        itself, whose entries outside the support are small but not zero (use it to
        study the implicit bias). Ignored with `early_stopping`.
    support_threshold : float, optional
        Entries with ``|x_i| > support_threshold`` form ``support``. Default:
        ``max(1e-3 * ||x||_inf, 10 * init_scale**power)`` -- the dynamics leave entries
        outside the support small but not zero (of the order of ``init_scale**power``).
    time_limit : float, optional
        Wall-clock limit in seconds (``status=3``).
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration (see
        :func:`reparamopt.engines.run`); returning True stops (``status=4``).
    history : bool, default False
        Record the objective, optimality and time per iteration.
    progress : bool or dict, default False
        Show a tqdm progress bar.

    Returns
    -------
    OptimizeResult
        With ``x``, ``u`` (latent point), ``fun`` (``1/2 ||A x - b||^2``), ``rnorm``
        (``||A x - b||``), ``l1`` (``||x||_1``), ``support`` (sorted indices),
        ``support_threshold``, ``optimality`` (relative KKT residual
        ``||x - P(x - g)|| / ||A^T b||`` with ``g = A^T(A x - b)`` and P the projection
        onto the constraint set), ``nit``, ``nfev``, ``status``, ``success``,
        ``message``, ``time``, ``history``, ``method`` (the engine used) and
        ``stopped_early`` (True when an early-stopping rule ended the run; `status` is
        then 1 and `message` says which rule).

    Raises
    ------
    ShapeError
        `A` not two-dimensional or empty, `b` not of length m.
    NonFiniteError, InvalidTypeError
        NaN/inf or complex data.
    InvalidArgumentError
        A parameter out of range; UnknownNameError (a subclass) for an unknown `method`.

    See Also
    --------
    reparamopt.baselines.basis_pursuit : the l1 minimum by linear programming.

    Examples
    --------
    >>> import numpy as np
    >>> import reparamopt as ro
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((20, 60)) / np.sqrt(20)
    >>> x_true = np.zeros(60); x_true[[3, 17, 41]] = [1.0, 0.5, 2.0]
    >>> res = ro.sparse_recovery(A, A @ x_true, init_scale=1e-4)
    >>> res.support
    array([ 3, 17, 41])
    >>> bool(np.linalg.norm(res.x - x_true) < 1e-3 * np.linalg.norm(x_true))
    True
    """
    backend = backend_for(A, b)
    if backend is not None:
        return backend.sparse_recovery(
            A, b, nonnegative=nonnegative, power=power, init_scale=init_scale, method=method, tol=tol,
            max_iter=max_iter, early_stopping=early_stopping, polish=polish,
            support_threshold=support_threshold, time_limit=time_limit, callback=callback,
            history=history, progress=progress)
    A, b = check_data(A, b)
    settings = SparseSettings(
        nonnegative=nonnegative, power=power, init_scale=init_scale, method=method, tol=tol,
        max_iter=max_iter, early_stopping=early_stopping, polish=polish,
        support_threshold=support_threshold, time_limit=time_limit, callback=callback,
        history=history, progress=progress)
    clock = time.perf_counter()
    plan = route(settings, measure(A, b))
    c, d = plan.scale
    A = divided(A, c)
    full = LinearModel(A, b / c / d)
    result = _execute(plan, settings, A, full)
    return _certify(result, full, plan, settings, clock)


def _execute(plan, settings, A, full):
    """The plan's path on the rescaled data: a result in the rescaled units."""
    if plan.path == "zero":
        return _zero_result(_constraint(settings, A.shape[1]), A.shape[1])
    if plan.path != "limit":
        return _dynamics(plan, settings, A, full, settings.max_iter)
    point = limit_point(A, full, power=settings.power, init_scale=plan.init_scale,
                        nonnegative=settings.nonnegative, max_iter=settings.max_iter)
    if point.status != "failed":
        return _limit_result(A, full, point, settings)
    # Newton on the dual did not converge: integrate the flow instead (plan.engine), for
    # the iterations left
    result = _dynamics(plan, settings, A, full, settings.max_iter - point.nit)
    result["nit"] += point.nit
    return result


def _constraint(settings, n):
    power = settings.power
    return NonNegative(n, power=power) if settings.nonnegative else Signed(n, power=power)


def _dynamics(plan, settings, A, full, max_iter):
    """The engine's run on the latent least squares, with the plan's checkpoint, for at
    most `max_iter` iterations (status 0 and a ConvergenceWarning there)."""
    monitor = settings.early_stopping.monitor(full) if plan.checkpoint == "early-stopping" else None
    fit = full if monitor is None else monitor.fit
    oracle = LeastSquaresOracle(fit, nonnegative=settings.nonnegative)
    problem = Problem(value_and_grad=oracle, x=_constraint(settings, A.shape[1]))
    engine = plan.engine
    if monitor is not None:
        checkpoint = monitor.checkpoint(problem)
    elif plan.checkpoint == "polish":
        checkpoint = SupportPolish(problem, fit, settings.tol, settings.nonnegative)
    else:
        checkpoint = None
    result = run(engine, problem, problem.init(plan.init_scale), tol=settings.tol,
                 max_iter=max_iter, time_limit=settings.time_limit,
                 callback=settings.callback, history=settings.history, progress=settings.progress,
                 checkpoint=checkpoint, checkpoint_every=plan.checkpoint_every)
    stopped = monitor is not None and _early_stop(result, monitor.outcome(result.u), problem)
    result.update(method=type(engine).__name__, stopped_early=stopped, nfev=oracle.nfev + 1)
    if result.status == Status.MAX_ITER:
        warn_not_converged(
            f"Not converged: {result.message} The relative KKT residual is "
            f"{float(result.optimality):.2e} against `tol` = {settings.tol:g} after `max_iter` "
            f"= {max_iter} iterations: try a larger `max_iter`, or method='limit'.")
    return result


def _early_stop(result, outcome, problem):
    """Apply an early-stopping rule's outcome to the result; whether the rule stopped it."""
    if outcome.u is not result.u:
        result["u"], result["x"] = outcome.u, problem.to_feasible(outcome.u)
        result["optimality"] = problem.optimality(outcome.u)
    if outcome.stopped:
        result["status"], result["success"] = int(Status.CONVERGED), True
        result["message"] = f"Stopped early: {outcome.reason}."
    return outcome.stopped


def _zero_result(constraint, n):
    """``b = 0``: ``x = 0`` solves it (the flow's limit is within ``init_scale**L``)."""
    latent = int(np.prod(resolve(constraint).latent_shape))
    return OptimizeResult(x=np.zeros(n), u=np.zeros(latent), nit=0, nfev=1,
                          status=int(Status.CONVERGED), success=True, optimality=0.0,
                          message="b = 0: x = 0 is the solution.", history=None, method="zero",
                          stopped_early=False)


# -- the one certification -------------------------------------------------------------------

def _certify(result, full, plan, settings, clock):
    """The fields every path reports, measured on the data and in its units (A was
    divided by c, b by c d: ``plan.scale = (c, d)``)."""
    c, d = plan.scale
    x = np.asarray(result.x, dtype=float)
    rnorm = float(np.linalg.norm(full.matvec(x) - full.b))
    if d != 1.0:
        x = d * x
        result["x"] = x
        result["u"] = d ** (1.0 / settings.power) * np.asarray(result.u, dtype=float)
    result["rnorm"] = c * d * rnorm
    result["fun"] = 0.5 * result["rnorm"] ** 2
    result["l1"] = float(np.abs(x).sum())
    result["support"], result["support_threshold"] = _support(x, settings)
    result["time"] = time.perf_counter() - clock
    return result


def _support(x, settings):
    """``(sorted indices, threshold)``: entries above `support_threshold`, by default
    ``max(1e-3 ||x||_inf, 10 init_scale**power)``."""
    threshold = settings.support_threshold
    if threshold is None:
        floor = 10 * settings.init_scale ** settings.power
        support = support_of(x) & (np.abs(x) > floor)
        threshold = max(1e-3 * float(np.abs(x).max(initial=0.0)), floor)
    else:
        support = np.abs(x) > threshold
    return np.flatnonzero(support), threshold


# -- the flow's limit ------------------------------------------------------------------------

def _limit_result(A, full, point, settings):
    """The limit (a :class:`~.implicit_bias.LimitPoint`) as a result: polished when
    allowed, its KKT residual checked on the data. Where `max_iter` ended Newton first,
    its last iterate with status 0 and a ConvergenceWarning."""
    nonnegative, tol, x = settings.nonnegative, settings.tol, point.x
    if settings.polish and point.status == "converged":
        x = _polish_limit(A, full, x, nonnegative, tol)
    g = full.rmatvec(full.matvec(x) - full.b)
    optimality = kkt_residual(x, g, full.atb_norm, nonnegative)
    status = Status.CONVERGED
    message = status.message
    if point.status == "max_iter":
        status = Status.MAX_ITER
        message = (f"{status.message} The limit's Newton iterations (`max_iter` = "
                   f"{settings.max_iter}) ended before it converged: x is the last iterate, "
                   "not the limit. Try a larger `max_iter`.")
        warn_not_converged(message)
    elif optimality > max(tol, 1e-12):
        # the point is the flow's limit; it is not a (near-)exact least-squares solution
        status = Status.MAX_ITER
        message = ("The limit was computed, but its KKT residual is above `tol`: "
                   "the data may be too ill-conditioned; try method='flow'.")
        warn_not_converged(message)
    return OptimizeResult(x=x, u=point.u, nit=point.nit, nfev=point.nfev + point.nit + 1,
                          status=int(status), success=status.success, message=message,
                          history=None, method="limit", stopped_early=False,
                          optimality=optimality)


def _polish_limit(A, full, x, nonnegative, tol):
    """The least squares on the support of `x`, kept when it moves x by at most 1e-4
    and ``||x||_1`` by at most 1e-5 (relative) and meets `tol`: an exactly sparse x
    within the stated distance of the limit."""
    if isinstance(A, LinearOperator):
        return x
    x_new = support_least_squares(A, full.b, x, nonnegative)
    if x_new is None:
        return x
    l1 = np.abs(x).sum()
    if (np.linalg.norm(x_new - x) > _POLISH_MOVE * np.linalg.norm(x)
            or abs(np.abs(x_new).sum() - l1) > _POLISH_L1 * l1):
        return x
    g = full.rmatvec(full.matvec(x_new) - full.b)
    return x_new if kkt_residual(x_new, g, full.atb_norm, nonnegative) <= tol else x
