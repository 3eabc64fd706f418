r"""Sparse recovery by small initialization: the implicit l1 bias of Hadamard maps."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse.linalg import LinearOperator

from .._utils.dispatch import backend_for
from .._utils.validation import check_choice, check_scalar, describe
from ..declare.constraints import NonNegative, Signed
from ..declare.problem import Problem
from ..engines import (
    AcceleratedGradientDescent,
    Engine,
    GradientDescent,
    GradientFlow,
    get_engine,
    run,
)
from ..exceptions import InvalidArgumentError, InvalidTypeError, warn_not_converged
from ..finish.kkt import kkt_residual
from ..finish.support import SupportPolish, support_least_squares, support_of
from ..maps.base import check_power
from ..maps.registry import resolve
from ..models.linear import LeastSquaresOracle, LinearModel, check_data
from ..models.scaling import NARROW, divided, rescaling
from ..result import STATUS_MESSAGES, OptimizeResult
from .early_stopping import parse_early_stopping
from .implicit_bias import limit_point

if TYPE_CHECKING:
    from .._utils.typing import Any, ArrayLike, Callback, Matrix, Optional, Union

__all__ = ["sparse_recovery", "METHODS"]

METHODS = ("auto", "limit", "flow", "gd", "accelerated", "accelerated-flow")

# matrices with more unknowns than this (and every LinearOperator) integrate the flow in
# log coordinates with an explicit method: no finite-difference Jacobian
_LSODA_MAX_N = 2000
# the polish of the limit may move x by this much (relative 2-norm) and ||x||_1 by that
_POLISH_MOVE, _POLISH_L1 = 1e-4, 1e-5


def _engine(method, init_scale, A):
    if isinstance(method, Engine):
        return method
    if method == "auto":
        method = "accelerated"
    if method == "flow":
        if isinstance(A, LinearOperator) or A.shape[1] > _LSODA_MAX_N:
            return GradientFlow(method="DOP853", coordinates="log", rtol=1e-8, atol=1e-8)
        # the limit point is decided while u is of the order of init_scale: the absolute
        # tolerance must resolve it
        return GradientFlow(rtol=1e-8, atol=min(1e-12, 1e-6 * init_scale))
    if method == "gd":
        return GradientDescent(step_size="bb")
    if method == "accelerated":
        return AcceleratedGradientDescent()
    return get_engine(method)


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
        gradient descent with Barzilai-Borwein steps; "accelerated" Nesterov's method
        with restarts; "accelerated-flow" the Nesterov ODE. "auto" is "limit" for
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
        Iteration limit (integrator steps for the flows); default 100000. Reaching it
        returns ``status=0``.
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
    if not isinstance(nonnegative, (bool, np.bool_)):
        raise InvalidTypeError(f"`nonnegative` must be True or False; got {describe(nonnegative)}")
    power = check_power(power)
    init_scale = check_scalar(init_scale, "init_scale", lower=0, lower_inclusive=False)
    if not np.isfinite(init_scale):
        raise InvalidArgumentError(f"`init_scale` must be a finite number > 0; got {init_scale!r}")
    tol = check_scalar(tol, "tol", lower=0)
    max_iter = 100000 if max_iter is None else check_scalar(max_iter, "max_iter", lower=0, integer=True)
    support_threshold = check_scalar(support_threshold, "support_threshold", lower=0, allow_none=True)
    if not isinstance(method, Engine):
        check_choice(method, "method", METHODS)
    rule = parse_early_stopping(early_stopping)

    if not isinstance(polish, (bool, np.bool_)):
        raise InvalidTypeError(f"`polish` must be True or False; got {describe(polish)}")
    clock = time.perf_counter()
    n = A.shape[1]
    constraint = NonNegative(n, power=power) if nonnegative else Signed(n, power=power)
    # (A, b) and (A / c, b / c) define the same solution set and the same flow up to a
    # change of clock: divide both by the largest entry of A when it is extreme
    c = rescaling(A, NARROW)
    A, b = divided(A, c), b / c
    # the flow on (A, d b) from alpha is d times the flow on (A, b) from alpha d^(-1/L),
    # on another clock: bring b to unit size and move init_scale accordingly
    d = rescaling(b, NARROW)
    b = b / d
    alpha = init_scale * d ** (-1.0 / power)
    scale = (c, d, init_scale)
    full = LinearModel(A, b)
    if not np.any(b):
        return _finish_result(_zero_result(constraint, n), full, scale, power,
                              support_threshold, nfev=1, clock=clock)
    if method == "auto":
        explicit = not isinstance(A, LinearOperator)
        iterates = history or progress or callback is not None or time_limit is not None
        method = "limit" if rule is None and explicit and not iterates else "accelerated"
    if method == "limit":
        if rule is not None:
            raise InvalidArgumentError("`early_stopping` needs the dynamics; "
                                       "method='limit' has no iterates to stop")
        result = _limit(A, b, full, constraint, nonnegative, power, alpha, tol, polish)
        if result is not None:
            return _finish_result(result, full, scale, power, support_threshold, clock=clock)
        method = "flow"  # Newton on the dual did not converge: integrate the flow instead
    monitor = None if rule is None else rule.monitor(full)
    fit = full if monitor is None else monitor.fit
    oracle = LeastSquaresOracle(fit, nonnegative=nonnegative)
    problem = Problem(value_and_grad=oracle, x=constraint)
    engine = _engine(method, alpha, A)

    checkpoint, every = None, None
    if monitor is not None:
        checkpoint, every = monitor.checkpoint(problem), 1
    elif polish:
        checkpoint, every = SupportPolish(problem, fit, tol, nonnegative), 25
    result = run(engine, problem, problem.init(alpha), tol=tol, max_iter=max_iter,
                 time_limit=time_limit, callback=callback, history=history, progress=progress,
                 checkpoint=checkpoint, checkpoint_every=every)
    stopped_early = False
    if monitor is not None:
        outcome = monitor.outcome(result.u)
        stopped_early = outcome.stopped
        if outcome.u is not result.u:
            result["u"], result["x"] = outcome.u, problem.to_feasible(outcome.u)
            result["optimality"] = problem.optimality(outcome.u)
        if stopped_early:
            result["status"], result["success"] = 1, True
            result["message"] = f"Stopped early: {outcome.reason}."
    result["method"] = type(engine).__name__
    result["stopped_early"] = stopped_early
    return _finish_result(result, full, scale, power, support_threshold,
                          nfev=oracle.nfev + 1)


def _zero_result(constraint, n):
    """``b = 0``: ``x = 0`` solves it (the flow's limit is within ``init_scale**L``)."""
    latent = int(np.prod(resolve(constraint).latent_shape))
    return OptimizeResult(x=np.zeros(n), u=np.zeros(latent), nit=0, status=1, success=True,
                          optimality=0.0, message="b = 0: x = 0 is the solution.",
                          history=None, method="zero", stopped_early=False)


def _finish_result(result, full, scale, power, support_threshold, nfev=None, clock=None):
    """The fields every method reports, measured on the data and in its units
    (`scale` = ``(c, d, init_scale)``: A was divided by c, b by c d)."""
    c, d, init_scale = scale
    x = np.asarray(result.x, dtype=float)
    r = full.matvec(x) - full.b
    rnorm = float(np.linalg.norm(r))
    if d != 1.0:
        x = d * x
        result["x"] = x
        result["u"] = d ** (1.0 / power) * np.asarray(result.u, dtype=float)
    result["rnorm"] = c * d * rnorm
    result["fun"] = 0.5 * result["rnorm"] ** 2
    result["l1"] = float(np.abs(x).sum())
    if support_threshold is None:
        support = support_of(x) & (np.abs(x) > 10 * init_scale ** power)
        support_threshold = max(1e-3 * float(np.abs(x).max(initial=0.0)), 10 * init_scale ** power)
    else:
        support = np.abs(x) > support_threshold
    result["support"] = np.flatnonzero(support)
    result["support_threshold"] = support_threshold
    if nfev is not None:
        result["nfev"] = nfev
    if clock is not None:
        result["time"] = time.perf_counter() - clock
    return result


def _limit(A, b, full, constraint, nonnegative, power, init_scale, tol, polish):
    """The flow's limit (:func:`.implicit_bias.limit_point`) as a result, or None."""
    out = limit_point(A, full, power=power, init_scale=init_scale, nonnegative=nonnegative)
    return None if out is None else _limit_result(A, full, *out, nonnegative, tol, polish)


def _limit_result(A, full, x, u, nit, nfev, nonnegative, tol, polish):
    """The limit as a result: polished when allowed, its KKT residual checked on the data."""
    b = full.b
    status = 1
    if polish:
        x = _polish_limit(A, full, x, nonnegative, tol)
    result = OptimizeResult(x=x, u=u, nit=nit, nfev=nfev + nit + 1, status=status,
                            success=True, message="", history=None, method="limit",
                            stopped_early=False)
    g = full.rmatvec(full.matvec(x) - b)
    result["optimality"] = kkt_residual(x, g, full.atb_norm, nonnegative)
    if result["optimality"] > max(tol, 1e-12):
        # the point is the flow's limit; it is not a (near-)exact least-squares solution
        result["status"], result["success"] = 0, False
        result["message"] = ("The limit was computed, but its KKT residual is above `tol`: "
                             "the data may be too ill-conditioned; try method='flow'.")
        warn_not_converged(result["message"])
    else:
        result["message"] = STATUS_MESSAGES[1]
    return result


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
