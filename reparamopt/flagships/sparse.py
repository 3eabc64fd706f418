r"""Sparse recovery by small initialization: the implicit l1 bias of Hadamard maps."""

import numpy as np

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
from ..exceptions import InvalidArgumentError, InvalidTypeError
from ..finish.support import SupportPolish, support_of
from ..maps.base import check_power
from ..models.linear import LeastSquaresOracle, LinearModel, check_data
from .early_stopping import parse_early_stopping

__all__ = ["sparse_recovery", "METHODS"]

METHODS = ("auto", "flow", "gd", "accelerated", "accelerated-flow")

def _engine(method, init_scale):
    if isinstance(method, Engine):
        return method
    if method == "auto":
        method = "accelerated"
    if method == "flow":
        # the limit point is decided while u is of the order of init_scale: the absolute
        # tolerance must resolve it
        return GradientFlow(rtol=1e-8, atol=min(1e-12, 1e-6 * init_scale))
    if method == "gd":
        return GradientDescent(step_size="bb")
    if method == "accelerated":
        return AcceleratedGradientDescent()
    return get_engine(method)


def sparse_recovery(A, b, *, nonnegative=True, power=2, init_scale=1e-4, method="auto", tol=1e-8,
                    max_iter=None, early_stopping=None, polish=True, support_threshold=None, time_limit=None,
                    callback=None, history=False, progress=False):
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
        non-negative case and ``x0 = 0`` in the signed case).
    method : {"auto", "flow", "gd", "accelerated", "accelerated-flow"} or Engine, default "auto"
        "flow" integrates the gradient flow itself (LSODA), whose limit the implicit-bias
        theory describes; "gd" is gradient descent with Barzilai-Borwein steps;
        "accelerated" Nesterov's method with restarts; "accelerated-flow" the Nesterov ODE.
        "auto" is "accelerated": fast and robust. Large steps (gd, accelerated) shift
        the limit a little away from the flow's, towards a slightly larger l1 norm; "flow"
        is the faithful choice for studying the implicit bias on small problems (its
        integrator builds dense Jacobians by finite differences, slow beyond a few
        hundred unknowns).
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
        Once the relative KKT residual is below 1e-3, try every 25 iterations an exact
        least-squares solve on the identified support (entries ``> 1e-3 ||x||_inf``),
        entries outside it set to zero; it is accepted only if it meets `tol`, and then
        ends the run with an exactly sparse x. False returns the limit of the dynamics
        itself, whose entries outside the support are small but not zero (use it to study
        the implicit bias). Ignored with `early_stopping`.
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

    full = LinearModel(A, b)
    fit = full if rule is None else LinearModel(*rule.split(A, b))
    n = A.shape[1]
    constraint = NonNegative(n, power=power) if nonnegative else Signed(n, power=power)
    oracle = LeastSquaresOracle(fit, nonnegative=nonnegative)
    problem = Problem(value_and_grad=oracle, x=constraint)
    engine = _engine(method, init_scale)

    if not isinstance(polish, (bool, np.bool_)):
        raise InvalidTypeError(f"`polish` must be True or False; got {describe(polish)}")
    checkpoint, every = None, None
    if rule is not None:
        checkpoint, every = rule.checkpoint_for(problem), 1
    elif polish:
        checkpoint, every = SupportPolish(problem, fit, tol, nonnegative), 25
    result = run(engine, problem, problem.init(init_scale), tol=tol, max_iter=max_iter,
                 time_limit=time_limit, callback=callback, history=history, progress=progress,
                 checkpoint=checkpoint, checkpoint_every=every)
    stopped_early = rule is not None and rule.triggered
    if rule is not None:
        u = rule.best(result.u)
        if u is not result.u:
            result["u"], result["x"] = u, problem.to_feasible(u)
            result["optimality"] = problem.optimality(u)
        if stopped_early:
            result["status"], result["success"] = 1, True
            result["message"] = f"Stopped early: {rule.describe()}."
    x = np.asarray(result.x)
    r = full.matvec(x) - full.b
    result["fun"] = 0.5 * float(r @ r)
    result["rnorm"] = float(np.linalg.norm(r))
    result["l1"] = float(np.abs(x).sum())
    if support_threshold is None:
        support = support_of(x) & (np.abs(x) > 10 * init_scale ** power)
        support_threshold = max(1e-3 * float(np.abs(x).max(initial=0.0)), 10 * init_scale ** power)
    else:
        support = np.abs(x) > support_threshold
    result["support"] = np.flatnonzero(support)
    result["support_threshold"] = support_threshold
    result["nfev"] = oracle.nfev + 1
    result["method"] = type(engine).__name__
    result["stopped_early"] = stopped_early
    return result
