r"""Non-negative least squares by reparametrization, the paper's flagship problem.

.. math::

    \min_{x \ge 0} \tfrac12 \|A x - b\|_2^2, \qquad x = u^{L} \ (\text{entrywise}).

One call reads top to bottom: the settings, validated once
(:class:`~.settings.NNLSSettings`); the data, rescaled when extreme; a plan from
measured properties of the data (:func:`~.route.route`); the path the plan names
(:mod:`.direct` or :mod:`.dynamics`, both ending in the exact finish of
:mod:`reparamopt.finish`); one certification on the data (:func:`~.certify.certify`).
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ..._utils.dispatch import backend_for
from ...exceptions import InvalidArgumentError, warn_not_converged
from ...models.linear import LinearModel, check_nnls_input, single_threaded
from ...models.scaling import divided, rescaling, times_ratio
from . import direct
from .certify import certify
from .finishing import Finisher, NNLSOutcome
from .route import Facts, default_gram, route
from .settings import NNLSSettings
from .small import small_call
from .sparse import sparse_path

if TYPE_CHECKING:
    from ..._utils.typing import ArrayLike, Callback, Matrix, Optional, Union
    from ...result import OptimizeResult

__all__ = ["nnls"]


def nnls(A: Matrix, b: ArrayLike, *, method: str = "auto", power: float = 2,
         init_scale: Optional[float] = None, tol: float = 1e-10, max_iter: Optional[int] = None,
         x0: Optional[ArrayLike] = None, polish: bool = True, gram: Optional[bool] = None,
         callback: Optional[Callback] = None, progress: Union[bool, dict] = False,
         history: bool = False, options: Optional[dict] = None, maxiter: Optional[int] = None,
         atol: Optional[float] = None) -> OptimizeResult:
    r"""Solve non-negative least squares by reparametrization.

    .. math::

        \min_{x \ge 0} \tfrac12 \|A x - b\|_2^2

    The constraint is removed by writing ``x = u**power`` and iterating on ``u``; with
    ``polish=True`` an exact active-set finish (:mod:`reparamopt.finish`) then solves
    the problem from the support the iterates identify. Every result is checked on the
    data: ``success`` is True only when the KKT conditions hold to `tol` (see Notes).

    Parameters
    ----------
    A : ndarray, scipy.sparse matrix/array or LinearOperator, shape (m, n)
        Sparse input of any format is used in CSR form and never densified whole; a
        LinearOperator is used through ``matvec``/``rmatvec`` only (matrix-free).
        float32 and integer input is computed in float64. Masked arrays are refused
        unless nothing is masked: least squares has no missing-data model (drop or fill
        the masked rows yourself).
    b : array_like, shape (m,) or (m, k)
        One or ``k`` right-hand sides; several are solved together, and ``x`` is then
        ``(n, k)``, ``rnorm``, ``fun`` and ``optimality`` ``k``-vectors.
    method : str, default "auto"
        One of :data:`METHODS` (or an alias of :data:`ALIASES`):

        * ``"auto"``: the exact solution, fast. Tall and square dense data start from
          the unconstrained least-squares solution and finish with the active set from
          its sign pattern (from scratch when the matrix is too ill-conditioned for the
          sign pattern to mean anything). Tall and square sparse data take projected
          Newton steps solved by conjugate gradients (products with ``A`` only); when
          those measure an ill-conditioned matrix (a stalled solve) the problem goes to
          the route of dense data on ``A^T A`` (``n <= 2000``) or to the exact finish
          from the point reached. Dense data with at most 150 columns, and wide dense
          data with few rows (``m^2 n <= 1e8``), go to scipy's compiled Lawson-Hanson
          method; a call with one right-hand side, float64 data and default options
          goes there directly (a fixed cost of microseconds). Wider dense data whose
          neighbouring columns are nearly parallel (smooth atoms) go to Lawson and
          Hanson's method with block entries from scratch. Wide sparse data, other
          wider dense data and matrix-free data take accelerated latent steps from a small
          identical start, which reveal a sparse support, and finish from it.
        * ``"gd"``: gradient descent on ``u`` (Armijo backtracking; a constant or
          decaying step ``eta / (k+2)**gamma`` with ``options={"step": eta, "decay":
          gamma}``), on the engines of :mod:`reparamopt.engines`;
        * ``"riemannian-gd"``: ``x <- x - L eta x^(2-2/L) grad f(x)`` in x-space;
        * ``"bb"``: Barzilai-Borwein steps on ``u`` (engines);
        * ``"accelerated"`` (alias ``"nesterov"``): accelerated gradient on ``u`` with
          FISTA momentum and gradient restart (any power);
        * ``"mirror-nesterov"``: the entropic accelerated mirror scheme of the paper's
          ODE (``power=2`` only);
        * ``"flow"``, ``"accelerated-flow"``: the continuous-time dynamics integrated by
          the flow engines.

        The paper's methods (all but "auto") keep the solution their dynamics select
        (their implicit bias); on ill-conditioned data they are slow, and say so.
    power : float, default 2
        The exponent ``L >= 2`` of the Hadamard map ``x = |u|**L``.
    init_scale : float, optional
        ``u0 = init_scale * 1``. Small values bias the iterates to the minimum-l1
        solution (see the paper). Default: ``x0 = 0.1 t`` entrywise with ``t`` the best
        constant ``x`` (``t = max(1^T A^T b, 0) / ||A 1||^2``), a moderate start.
    tol : float, default 1e-10
        Target of the relative KKT residual ``||min(x, g)|| / ||A^T b||`` (``g`` the
        gradient; the natural residual ``x - P(x - g)`` of the orthant; see Notes).
    max_iter : int, optional
        Iteration limit of the dynamics (integrator steps for the flows): default 1000
        with polish (the finish is tried at the last one), 100000 without. Reaching it
        without meeting `tol` returns ``status=0`` and a ConvergenceWarning.
    maxiter, atol : optional
        scipy.optimize.nnls's names: `maxiter` is taken as `max_iter`; `atol` (deprecated
        in scipy, without effect there) is accepted with scipy's DeprecationWarning. For
        scipy's return value ``(x, rnorm)`` use :func:`reparamopt.compat.nnls`.
    x0 : array_like, optional
        Non-negative warm start (zeros allowed: zero coordinates of the dynamics start
        at the tiny value ``1e-12 max(x0)``, since ``u = 0`` is a fixed point). The
        result is never worse than `x0`. Overrides `init_scale`.
    polish : bool, default True
        Finish with the exact active-set method. With ``polish=False`` only the
        reparametrized iterations run (the dynamics the paper studies); they converge
        at the first-order rate and rarely reach ``tol=1e-10`` in reasonable time.
    gram : bool, optional
        Iterate with ``A^T A`` and ``A^T b`` precomputed (O(n^2) per step). Default: on
        for dense ``A`` with ``m >= n`` and ``n <= 6000`` and for sparse ``A`` with
        ``n <= 2000``, where "auto" forms it (dense) only for small, wide or
        warm-started data, or when its conjugate gradients stall (``gram=True`` takes
        the route of dense data at once). Not available for a LinearOperator.
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration (the result holds ``x``,
        ``u``, ``fun``, ``optimality``, ``nit``); returning True stops (status 4).
    progress : bool, default False
        Show a tqdm progress bar of the iterations (off by default).
    history : bool, default False
        Record ``fun``, ``optimality`` and ``time`` per iteration.
    options : dict, optional
        Method settings (unknown keys and bad values raise an error naming the key; the
        keys of each method are in :data:`OPTIONS`): ``check_every`` (iterations
        between finish attempts), ``max_solves`` (least-squares solves allowed to the
        finish per right-hand side, default ``3 n + 50``), ``polish_from`` (see Notes),
        ``step`` and ``decay`` (gd), and for the flows the integrator settings
        ``rtol``, ``atol``, ``max_step``, ``first_step`` and ``method`` (default
        "RK45").

    Returns
    -------
    OptimizeResult
        ``x`` (never negative), ``rnorm = ||A x - b||``, ``fun = rnorm**2 / 2`` (inf
        where it exceeds the double range), ``optimality`` (relative KKT residual),
        ``nit``, ``nfev``, ``status``, ``success``, ``message``, ``method``, ``time`` and
        ``history`` (or None).

    Notes
    -----
    *What success means.* ``optimality = ||min(x, g)|| / ||A^T b||`` (entrywise minimum,
    the natural residual ``x - P(x - g)``) with ``g = A^T (A x - b)`` computed from ``A``
    itself, and ``success`` is True when it is at most `tol`, or when the part of it
    above its rounding level is (each entry of ``g`` carries an
    error of about ``eps * (|A|^T (|A| x + |b|))_i`` that no algorithm in double
    precision can remove; see :mod:`reparamopt.finish.kkt`). On well-conditioned data
    that level is far below the default `tol`; on ill-conditioned data (cond(A) of
    1e8 and more, or an ``A x`` made of large terms that cancel) it can exceed any
    `tol`, and a looser `tol` then changes nothing: the finish stops when no exchange
    of indices can lower the objective any more.

    *What the result is never worse than.* The objective at ``x`` is never above its
    value at ``x = 0``, at `x0`, or at the iterate the finish started from; otherwise
    the better of those points is returned. ``status = 0`` (not certified) comes with
    :class:`~reparamopt.exceptions.ConvergenceWarning`, whose message says what to try.

    *The finish* is an active-set method on the support of the iterate (entries above
    1e-3 of the largest): monotone in the objective, with block exchanges that fall back
    to Lawson and Hanson's single ones, Cholesky solves guarded by a rank test and a
    pivoted QR for ill-conditioned passive sets, and right-hand sides that share a
    passive set share a factorization. "auto" tries it at every check; the paper's
    methods once the support is the same at two consecutive checks and the KKT
    residual is below ``options["polish_from"]`` (default 1e-3), so that it keeps the
    solution their dynamics select, and at the last iteration.

    Matrices with entries beyond ``[1e-50, 1e50]`` in magnitude, and right-hand sides
    beyond the same range, are rescaled first (values up to 1e300 are fine). Small
    problems run BLAS on one thread (when threadpoolctl is installed).

    Raises
    ------
    ShapeError, NonFiniteError, InvalidTypeError, InvalidArgumentError, UnknownNameError
        For bad input; the message names the argument.

    Examples
    --------
    >>> import numpy as np
    >>> import reparamopt as ro
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> res = ro.nnls(A, np.array([1.0, -1.0, 0.0]))
    >>> res.x
    array([0.5, 0. ])
    >>> bool(res.success)
    True
    """
    fast = small_call(A, b, tol, method=method, power=power, polish=polish, progress=progress,
                      history=history, unset=(init_scale, max_iter, x0, gram, callback, options,
                                              maxiter, atol))
    if fast is not None:
        return fast
    if maxiter is not None:
        if max_iter is not None:
            raise InvalidArgumentError("give `max_iter` or its scipy name `maxiter`, not both; "
                                       f"got max_iter={max_iter!r}, maxiter={maxiter!r}")
        max_iter = maxiter
    if atol is not None:
        warnings.warn("{'atol'} is deprecated in scipy.optimize.nnls and has no effect",
                      DeprecationWarning, stacklevel=2)
    arguments = dict(method=method, power=power, init_scale=init_scale, tol=tol,
                     max_iter=max_iter, polish=polish, gram=gram, callback=callback,
                     progress=progress, history=history, options=options)
    backend = backend_for(A, b)
    if backend is not None:
        return backend.nnls(A, b, x0=x0, **arguments)
    start = time.perf_counter()
    A, b = check_nnls_input(A, b)
    settings = NNLSSettings(**arguments)
    X0 = settings.checked_x0(x0, b, A.shape[1])
    gram = _resolve_gram(settings.gram, A)
    # Work on A / a and b / c: the solution is x = (c / a) x_scaled and the relative KKT
    # residual does not change, while A^T A and the steps stay far from over/underflow.
    a, c = rescaling(A), rescaling(b)
    B = b[:, None] if b.ndim == 1 else b
    X0_s = None if X0 is None else times_ratio(X0, a, c)
    model = LinearModel(divided(A, a), divided(B, c), gram=gram)
    with single_threaded(A.shape[0] * A.shape[1]):
        res = solve_scaled(model, settings, X0_s, start)
    return _unscaled(res, (c, a), settings.power, one_rhs=b.ndim == 1, start=start)


def _resolve_gram(gram, A):
    """The Gram mode: the user's choice (refused for a LinearOperator) or the default."""
    if gram is None:
        return default_gram(A)
    if gram and isinstance(A, LinearOperator):
        raise InvalidArgumentError("`gram` must be False for a LinearOperator `A`; got True")
    return gram


def solve_scaled(model, settings, x0, start):
    """Route, run and certify one call on the scaled data (every array 2-D)."""
    finish = Finisher(model, settings)
    facts = Facts(model, x0)
    warm = x0 is not None and not facts.trivial and bool(np.all(finish.certified(x0)))
    plan = route(settings, facts, warm_certified=warm)
    if plan.path == "zero":
        outcome = NNLSOutcome(np.zeros((model.n, model.b.shape[1])))
    elif plan.path == "warm":
        outcome = NNLSOutcome(x0.copy())
    elif plan.path == "warm-finish":
        outcome = direct.warm_finish_path(finish, x0)
    elif plan.path == "compiled":
        outcome = direct.compiled_path(finish)
    elif plan.path == "ill-conditioned":
        outcome = direct.ill_conditioned_path(finish)
    elif plan.path == "least-squares":
        outcome = direct.least_squares_path(finish)
    elif plan.path == "sparse":
        outcome = sparse_path(finish, settings)
    else:
        from .dynamics import dynamics_path, start_point  # lazy: the engines load here

        outcome = dynamics_path(finish, settings, plan,
                                start_point(plan.start, settings, model, x0))
    return certify(outcome, finish, settings, x0, start)


def _unscaled(res, scales, power, *, one_rhs, start):
    """The result in the units of the data (x times ``c / a``, residuals times ``c``
    for `scales` ``(c, a)``), 1-D for one right-hand side, with the ConvergenceWarning
    of an uncertified status. A solution beyond the double range is an error, not an
    infinite x."""
    c, a = scales
    x = times_ratio(res["x"], c, a)
    top = np.max(res["x"], initial=0.0)
    if not np.all(np.isfinite(x)) or (top > 0 and np.max(x) < np.finfo(float).tiny):
        exponent = np.log10(top) + np.log10(c) - np.log10(a)
        raise InvalidArgumentError(
            f"the solution has entries of about 1e{exponent:.0f}, beyond the range of double "
            f"precision (`b` of magnitude {c:.1e} over `A` of magnitude {a:.1e}): rescale `A` "
            "or `b`")
    res["x"] = x
    with np.errstate(over="ignore"):
        res["rnorm"] = res["rnorm"] * c
        res["fun"] = 0.5 * res["rnorm"] ** 2
        if res.get("u") is not None:
            res["u"] = res["u"] * np.exp2((np.log2(c) - np.log2(a)) / power)
    if one_rhs:
        res["x"] = res["x"][:, 0]
        if res.get("u") is not None:
            res["u"] = res["u"][:, 0]
        for key in ("rnorm", "fun", "optimality"):
            # a numpy scalar (a float subclass): squaring 1e300 gives inf, not OverflowError
            res[key] = np.float64(res[key][0])
    res["time"] = time.perf_counter() - start
    if res["status"] in (0, -1):
        warn_not_converged(res["message"])
    return res
