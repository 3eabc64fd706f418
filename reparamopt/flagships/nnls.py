r"""Non-negative least squares by reparametrization, the paper's flagship problem.

.. math::

    \min_{x \ge 0} \tfrac12 \|A x - b\|_2^2, \qquad x = u^{L} \ (\text{entrywise}).

The objective enters as a closed-form gradient oracle ``g = A^T (A x - b)`` pulled back
through the Hadamard power map of the registry; the engines iterate on ``u``; the exact
finish of :mod:`reparamopt.finish` solves the problem on the support the iterates
identify, and every result is checked on the data before it is called a success.
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from .. import engines as _engines
from .._utils.dispatch import backend_for
from .._utils.validation import as_float_array, check_choice, check_scalar, describe
from ..declare.constraints import NonNegative
from ..declare.problem import Problem
from ..engines.flow import ODE_METHODS
from ..engines.run import run
from ..exceptions import (
    InfeasibleError,
    InvalidArgumentError,
    InvalidTypeError,
    ShapeError,
    UnknownNameError,
    warn_not_converged,
)
from ..finish import exact_finish
from ..finish.compiled import compiled_lawson_hanson
from ..finish.least_squares import RHO_CHOLESKY
from ..finish.support import support_of
from ..maps.base import check_power
from ..models.linear import (
    LeastSquaresOracle,
    LinearModel,
    check_nnls_input,
    single_threaded,
)
from ..models.scaling import divided, rescaling
from ..result import STATUS_MESSAGES, OptimizeResult

if TYPE_CHECKING:
    from .._utils.typing import ArrayLike, Callback, Matrix, Optional, Union

__all__ = ["nnls", "METHODS"]

METHODS = ("auto", "gd", "riemannian-gd", "bb", "nesterov", "mirror-nesterov", "flow",
           "accelerated-flow")

# Largest n for which the automatic Gram mode stores A^T A (n^2 doubles): dense A with
# m >= n, and sparse A of any shape (its Gram matrix is formed dense).
_GRAM_MAX_N = 6000
_SPARSE_GRAM_MAX_N = 2000

# Dense problems go to the compiled Lawson-Hanson method of scipy when they have at most
# _COMPILED_SMALL_N columns, or fewer than _LAWSON_HANSON_FROM and a matrix too
# ill-conditioned for the sign pattern of the least-squares solution to guide the
# exchanges (measured: below those sizes it beats exchanges driven from Python). Small
# sparse matrices are densified for it.
_COMPILED_SMALL_N = 150
# From this many columns ill-conditioned dense data go to Lawson and Hanson's method with
# block entries on an updated QR instead (it prices once per block, not once per index).
_LAWSON_HANSON_FROM = 500
_DENSIFY_MAX = 4_000_000

# Dense matrices whose neighbouring columns have a median cosine above this are taken
# for smoothing kernels (measured: 0.98-1.0 for blur, cumulative sums, Hilbert and
# Vandermonde matrices, 0.94 for peak libraries; 0.75 for uniform random entries, 0.02
# for Gaussian ones).
_SMOOTH_COSINE = 0.9

# The Cholesky factor of a Gram matrix whose columns all keep at least this sine to the
# span of the others is inverted for the finish (supports missing few columns are then
# solved from the inverse): the inverse loses no more than about eps / sine^2 in relative
# accuracy.
_SINE_INVERSE = 1e-3

# A square least-squares start is trusted for its sign pattern when the reciprocal
# condition number of A is at least this (the Cholesky start uses the sine test of the
# finish, RHO_CHOLESKY).
_RCOND_TRUSTED = 1e-8


def _positive_int(value, name):
    return check_scalar(value, name, lower=1, integer=True)


def _positive(value, name):
    return check_scalar(value, name, lower=0, lower_inclusive=False)


def _non_negative(value, name):
    return check_scalar(value, name, lower=0)


def _integrator(value, name):
    return check_choice(value, name, tuple(ODE_METHODS))


_COMMON_OPTIONS = {"check_every": _positive_int, "max_solves": _positive_int}
_DYNAMICS_OPTIONS = {**_COMMON_OPTIONS, "polish_from": _positive}
_FLOW_OPTIONS = {**_DYNAMICS_OPTIONS, "rtol": _positive, "atol": _positive,
                 "max_step": _positive, "first_step": _positive, "method": _integrator}
OPTIONS = {
    "auto": _COMMON_OPTIONS,
    "gd": {**_DYNAMICS_OPTIONS, "step": _positive, "decay": _non_negative},
    "riemannian-gd": _DYNAMICS_OPTIONS,
    "bb": _DYNAMICS_OPTIONS,
    "nesterov": _DYNAMICS_OPTIONS,
    "mirror-nesterov": _DYNAMICS_OPTIONS,
    "flow": _FLOW_OPTIONS,
    "accelerated-flow": _FLOW_OPTIONS,
}
"""The `options` each method accepts (a key and its validator)."""


def _check_options(options, method):
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise InvalidTypeError(f"`options` must be a dict or None; got {describe(options)}")
    allowed = OPTIONS[method]
    out = {}
    for key, value in options.items():
        if key not in allowed:
            valid = ", ".join(repr(k) for k in allowed)
            raise UnknownNameError(f"`options` key {key!r} is not a setting of method "
                                   f"{method!r}; valid keys: {valid}")
        out[key] = allowed[key](value, f"options[{key!r}]")
    return out


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
        One of :data:`METHODS`:

        * ``"auto"``: the exact solution, fast. Tall and square dense data (and sparse
          data with ``n <= 2000``) start from the unconstrained least-squares solution
          and finish with the active set from its sign pattern (from scratch when the
          matrix is too ill-conditioned for the sign pattern to mean anything); wide,
          large sparse and matrix-free data take accelerated latent steps from a small
          identical start, which reveal a sparse support, and finish from it.
        * ``"gd"``: gradient descent on ``u`` (Armijo backtracking; a constant or
          decaying step ``eta / (k+2)**gamma`` with ``options={"step": eta, "decay":
          gamma}``), on the engines of :mod:`reparamopt.engines`;
        * ``"riemannian-gd"``: ``x <- x - L eta x^(2-2/L) grad f(x)`` in x-space;
        * ``"bb"``: Barzilai-Borwein steps on ``u`` (engines);
        * ``"nesterov"``: accelerated gradient on ``u`` with FISTA momentum and gradient
          restart (any power);
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
        ``n <= 2000``. Not available for a LinearOperator.
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
    if maxiter is not None:
        if max_iter is not None:
            raise InvalidArgumentError("give `max_iter` or its scipy name `maxiter`, not both; "
                                       f"got max_iter={max_iter!r}, maxiter={maxiter!r}")
        max_iter = maxiter
    if atol is not None:
        warnings.warn("{'atol'} is deprecated in scipy.optimize.nnls and has no effect",
                      DeprecationWarning, stacklevel=2)
    backend = backend_for(A, b)
    if backend is not None:
        return backend.nnls(A, b, method=method, power=power, init_scale=init_scale, tol=tol,
                            max_iter=max_iter, x0=x0, polish=polish, gram=gram, callback=callback,
                            progress=progress, history=history, options=options)
    start = time.perf_counter()
    A, b = check_nnls_input(A, b)
    method = check_choice(method, "method", METHODS)
    power = check_power(power)
    if method == "mirror-nesterov" and power != 2:
        raise InvalidArgumentError(f"`power` must be 2 for method 'mirror-nesterov'; got {power!r}")
    tol = check_scalar(tol, "tol", lower=0)
    init_scale = check_scalar(init_scale, "init_scale", lower=0, lower_inclusive=False,
                              allow_none=True)
    if not isinstance(polish, (bool, np.bool_)):
        raise InvalidTypeError(f"`polish` must be True or False; got {describe(polish)}")
    if callback is not None and not callable(callback):
        raise InvalidTypeError(f"`callback` must be callable; got {describe(callback)}")
    options = _check_options(options, method)
    m, n = A.shape
    one_rhs = b.ndim == 1
    B = b[:, None] if one_rhs else b
    if max_iter is None:
        max_iter = 1000 if polish else 100000
    max_iter = check_scalar(max_iter, "max_iter", lower=0, integer=True)
    X0 = None
    if x0 is not None:
        x0 = as_float_array(x0, "x0", ndim=b.ndim)
        if x0.shape != (n,) + b.shape[1:]:
            raise ShapeError(f"`x0` must have shape {(n,) + b.shape[1:]}; got {x0.shape}")
        if np.any(x0 < 0):
            raise InfeasibleError(f"`x0` must be non-negative; got a minimum of {x0.min()!r}")
        X0 = x0[:, None] if one_rhs else x0
    if gram is None:
        gram = (not sp.issparse(A) and not isinstance(A, LinearOperator) and m >= n
                and 0 < n <= _GRAM_MAX_N) or (sp.issparse(A) and 0 < n <= _SPARSE_GRAM_MAX_N)
    elif not isinstance(gram, (bool, np.bool_)):
        raise InvalidTypeError(f"`gram` must be None, True or False; got {describe(gram)}")
    elif gram and isinstance(A, LinearOperator):
        raise InvalidArgumentError("`gram` must be False for a LinearOperator `A`; got True")

    # Work on A / a and b / c: the solution is x = (c / a) x_scaled and the relative KKT
    # residual does not change, while A^T A and the steps stay far from over/underflow.
    a, c = rescaling(A), rescaling(B)
    A_s, B_s = divided(A, a), B / c
    X0_s = None if X0 is None else X0 * (a / c)

    solver = _Solver(A_s, B_s, method=method, power=power, init_scale=init_scale, tol=tol,
                     max_iter=max_iter, x0=X0_s, polish=polish, gram=bool(gram),
                     callback=callback, progress=progress, history=history, options=options)
    with single_threaded(m * n):
        res = solver.solve(start)
    scale = c / a
    with np.errstate(over="ignore"):
        res["x"] = res["x"] * scale
        res["rnorm"] = res["rnorm"] * c
        res["fun"] = 0.5 * res["rnorm"] ** 2
        if res.get("u") is not None:
            res["u"] = res["u"] * scale ** (1.0 / power)
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


class _Run:
    """What a method's loop hands to :meth:`_Solver.conclude`."""

    def __init__(self, x, nit, status, *, nfev=None, u=None, history=None, before=None):
        self.x, self.nit, self.status = x, nit, status
        self.nfev = nit if nfev is None else nfev
        self.u, self.history = u, history
        # points the result must not be worse than: the iterates the finish started from
        self.before = [] if before is None else before


class _Solver:
    """One call of :func:`nnls` on scaled data; every array is 2-D, ``(n, k)``."""

    def __init__(self, A, B, *, method, power, init_scale, tol, max_iter, x0, polish, gram,
                 callback, progress, history, options):
        self.model = LinearModel(A, B, gram=gram)
        self.method = method
        self.power = power
        self.init_scale = init_scale
        self.tol = tol
        self.max_iter = max_iter
        self.x0 = x0
        self.polish = polish
        self.callback = callback
        self.progress = progress
        self.history = history
        self.options = options
        self.check_every = options.get("check_every", 25)
        self.polish_from = options.get("polish_from", 1e-3)
        self.nsolves = 0
        self.nfallback = 0
        self._factor = None
        self._square_start = False

    @property
    def shape(self):
        return (self.model.n, self.model.b.shape[1])

    # -- the finish ------------------------------------------------------------------
    def support_of(self, X):
        """The support of each column (:func:`reparamopt.finish.support.support_of`), at
        most ``m`` entries when A is wide."""
        m, n = self.model.m, self.model.n
        return support_of(X, room=m if m < n else None)

    def finish(self, X, support=None, model=None, gram=True, inverse=None, strategy=None):
        """The exact finish from `X` (restricted to `support`) for every column."""
        model = self.model if model is None else model
        support = self.support_of(X) if support is None else support
        if strategy is None:
            strategy = "blocks" if self.method == "auto" else "conservative"
        Xf, _, nsolves, nfallback = exact_finish(
            model, np.where(support, X, 0.0), support, tol=self.tol,
            max_solves=self.options.get("max_solves"), gram=gram, inverse=inverse,
            strategy=strategy)
        self.nsolves += int(nsolves.sum())
        self.nfallback += nfallback
        return Xf

    def certified(self, X, model=None):
        model = self.model if model is None else model
        return model.certify(np.maximum(X, 0.0), self.tol)[1]

    # -- main ------------------------------------------------------------------------
    def solve(self, start):
        model = self.model
        if model.n == 0 or np.all(model.atb <= 0):
            # x = 0 satisfies the KKT conditions: g = -A^T b >= 0
            return self.conclude(_Run(np.zeros(self.shape), 0, 1), start)
        if self.x0 is not None and np.all(self.certified(self.x0)):
            return self.conclude(_Run(self.x0.copy(), 0, 1), start)
        if self.method == "auto" and self.polish:
            outcome = self.solve_auto()
        else:
            # "auto" without polish: the dynamics alone, accelerated latent steps
            name = "nesterov" if self.method == "auto" else self.method
            outcome = self.solve_dynamics(self.start_point(), name)
        return self.conclude(outcome, start)

    def start_point(self):
        model = self.model
        if self.x0 is not None:
            top = np.max(self.x0, axis=0) if self.x0.size else np.zeros(self.shape[1])
            floor = np.where(top > 0, 1e-12 * top, 1e-12)
            return np.maximum(self.x0, floor)
        if self.init_scale is not None:
            return np.full(self.shape, self.init_scale ** self.power)
        a1 = model.matvec(np.ones(model.n))
        denom = float(a1 @ a1)
        t = np.maximum(np.sum(model.atb, axis=0), 0.0) / max(denom, np.finfo(float).tiny)
        t = np.where(t > 0, t, 1.0)
        return np.broadcast_to(0.1 * t, self.shape).copy()

    def solve_auto(self):
        """The exact solution by the fastest route for the data (see :func:`nnls`)."""
        model = self.model
        n = model.n
        if self.x0 is not None:
            X = self.finish(self.x0, self.x0 > 0)
            return _Run(X, 0, 1, before=[self.x0])
        if not model.use_gram:
            if n <= _COMPILED_SMALL_N and self.dense_matrix() is not None:
                return self.compiled(np.arange(self.shape[1]), np.zeros(self.shape))
            if self.init_scale is not None:
                x0 = self.start_point()
            else:
                scale = np.max(model.atb, axis=0) / model.lipschitz()
                x0 = np.broadcast_to(np.maximum(1e-6 * scale, np.finfo(float).tiny),
                                     self.shape).copy()
            self.check_every = self.options.get("check_every", 20)
            return self.solve_dynamics(x0, "nesterov")
        if self.smooth_kernel():
            # the least-squares solution of a smoothing kernel oscillates: skip it
            return self.ill_conditioned(np.arange(self.shape[1]), np.zeros(self.shape))
        X_ls, trusted = self.least_squares_start()
        X = np.zeros(self.shape)
        done = np.zeros(self.shape[1], bool)
        if X_ls is not None:
            # a positive solution is the answer when it was solved stably: by LU for a
            # square A (backward stable, so its residual is at rounding level), by the
            # normal equations only when A is well conditioned
            stable = trusted or self._square_start
            positive = np.all(X_ls > 0, axis=0) & stable
            if positive.any():
                done[positive] = self.certified(X_ls[:, positive], model.take(positive))
                X[:, done] = X_ls[:, done]
        rest = np.flatnonzero(~done)
        if rest.size and n <= _COMPILED_SMALL_N:
            return self.compiled(rest, X)
        if rest.size and not trusted and self.dense_matrix() is not None:
            return self.ill_conditioned(rest, X)
        if rest.size:
            if trusted:
                support = X_ls[:, rest] > 0
                start = np.maximum(X_ls[:, rest], 0.0)
            else:
                # the sign pattern of an ill-conditioned solve is noise: start from zero
                support = np.zeros((n, rest.size), bool)
                start = np.zeros(support.shape)
            # A^T A (m n^2 to form) pays for itself when A is tall or the supports are
            # large; from a small trusted sign pattern blocks of columns cost less
            p0 = float(np.mean(np.sum(support, axis=0)))
            gram = not trusted or model.m >= 2 * n or model._G is not None or 3 * p0 > n
            inverse = None
            if trusted and gram and 2 * p0 > n:
                inverse = self.inverse_gram(X_ls[:, rest])
            X[:, rest] = self.finish(start, support, model.take(rest), gram=gram,
                                     inverse=inverse)
        return _Run(X, 0, 1)

    def inverse_gram(self, X_ls):
        """``((A^T A)^{-1}, X_ls)`` for the finish when ``A^T A`` is well conditioned
        (every column keeps a sine of at least 1e-3 to the others), else None."""
        model = self.model
        R = self._factor
        if R is None:
            R, info = sla.lapack.dpotrf(model.G, lower=False, clean=True)
            sines = np.abs(np.diag(R)) / np.maximum(model.norms, np.finfo(float).tiny)
            if info != 0 or np.min(sines) < _SINE_INVERSE:
                return None
        H, info = sla.lapack.dpotri(R, lower=False)
        if info != 0:
            return None
        return np.triu(H) + np.triu(H, 1).T, X_ls

    def smooth_kernel(self):
        """Whether dense ``A`` looks like a smoothing kernel (blur, spectra, cumulative
        sums, polynomial bases): neighbouring columns nearly parallel (median cosine
        above 0.9), so that ``A`` is ill-conditioned and its least squares noise."""
        model = self.model
        if model.kind != "dense" or model.n < 3:
            return False
        A = model.A
        norms = np.maximum(model.norms, np.finfo(float).tiny)
        cosine = np.abs(np.einsum("ij,ij->j", A[:, :-1], A[:, 1:])) / (norms[:-1] * norms[1:])
        return bool(np.median(cosine) > _SMOOTH_COSINE)

    def ill_conditioned(self, cols, X):
        """Columns `cols` of an ill-conditioned dense problem: the compiled Lawson-Hanson
        method when small, else Lawson and Hanson's method with block entries on an
        updated QR (of the triangular factor of a tall ``A``)."""
        n = self.model.n
        if n < _LAWSON_HANSON_FROM:
            return self.compiled(cols, X)
        reduced = self.reduced_model(cols)
        X[:, cols] = self.finish(np.zeros((n, cols.size)), np.zeros((n, cols.size), bool),
                                 reduced, gram=False, strategy="lawson-hanson")
        return _Run(X, 0, 1)

    def reduced_model(self, cols):
        """The data of the right-hand sides `cols` on the triangular factor of ``A``
        when ``A`` is tall (``||A x - b||^2 = ||R x - Q^T b||^2 + const``), else as is."""
        model = self.model
        A = self.dense_matrix()
        B = model.b[:, cols]
        if model.m < 2 * model.n:
            return model.take(cols) if A is model.A else LinearModel(A, B)
        CQ, R = sla.qr_multiply(A, B.T, mode="right")
        return LinearModel(R, np.atleast_2d(CQ).T)

    def compiled(self, cols, X):
        """Columns `cols` by the compiled Lawson-Hanson method (the others of `X` kept);
        those it cannot finish go to the exact finish from zero."""
        dense = self.dense_matrix()
        if dense is None:
            X[:, cols] = self.finish(np.zeros((self.model.n, cols.size)), None,
                                     self.model.take(cols))
            return _Run(X, 0, 1)
        Xc, ok = compiled_lawson_hanson(dense, self.model.b[:, cols])
        X[:, cols[ok]] = Xc[:, ok]
        left = cols[~ok]
        if left.size:
            X[:, left] = self.finish(np.zeros((self.model.n, left.size)),
                                     np.zeros((self.model.n, left.size), bool),
                                     self.model.take(left))
        return _Run(X, 0, 1)

    def dense_matrix(self):
        """``A`` as a dense array when it is one or small enough to become one."""
        model = self.model
        if model.kind == "dense":
            return model.A
        if model.kind == "sparse" and model.m * model.n <= _DENSIFY_MAX:
            return model.A.toarray()
        return None

    def least_squares_start(self):
        """The unconstrained least-squares solution (dense or Gram data with ``m >= n``)
        and whether its sign pattern can be trusted (the matrix is well conditioned)."""
        model = self.model
        try:
            if model.kind == "dense" and model.m == model.n and model._G is None:
                self._square_start = True
                lu, piv, info = sla.lapack.dgetrf(model.A)
                if info != 0:
                    return None, False
                anorm = float(np.max(np.sum(np.abs(model.A), axis=0)))
                rcond, _ = sla.lapack.dgecon(lu, anorm)
                X, info = sla.lapack.dgetrs(lu, piv, model.b)
                ok = info == 0 and np.all(np.isfinite(X))
                return (X, bool(rcond >= _RCOND_TRUSTED)) if ok else (None, False)
            R, info = sla.lapack.dpotrf(model.G, lower=False, clean=True)
            if info != 0:
                return None, False
            X, info = sla.lapack.dpotrs(R, model.atb, lower=False)
            norms = np.maximum(model.norms, np.finfo(float).tiny)
            sine = float(np.min(np.abs(np.diag(R)) / norms))
            if info != 0 or not np.all(np.isfinite(X)):
                return None, False
            if sine >= _SINE_INVERSE:
                self._factor = R
            return X, sine >= RHO_CHOLESKY
        except (np.linalg.LinAlgError, ValueError):
            return None, False

    def solve_dynamics(self, x0, name):
        """The reparametrized dynamics on the engines, with the exact finish every
        `check_every` iterations once :meth:`polish_ready`, and at the end for the
        columns it has not certified yet."""
        model = self.model
        k = self.shape[1]
        problem = Problem(value_and_grad=LeastSquaresOracle(model), lipschitz=model.lipschitz(),
                          batch=True, x=NonNegative(self.shape, power=self.power))
        cmap = problem.map
        engine = self.make_engine(name)
        self._supports = np.zeros(self.shape, bool)
        self._seen = np.zeros(k, bool)
        self._before = np.full(self.shape, np.nan)
        self._finished = np.full(self.shape, np.nan)
        self._certified = np.zeros(k, bool)
        every = self.check_every

        def checkpoint(u, it, current):
            cols = current.columns
            x = cmap.forward(u)
            ready = self.polish_ready(x, current.optimality(u), cols) | (it + every > self.max_iter)
            if not ready.any():
                return None
            sub = current._oracle.model
            xf = np.array(x)
            xf[:, ready] = self.finish(x[:, ready], model=sub.take(np.flatnonzero(ready)))
            done = ready & self.certified(xf, sub)
            self._before[:, cols[ready]] = x[:, ready]
            self._finished[:, cols[ready]] = xf[:, ready]
            self._certified[cols] |= done
            if not done.any():
                return None
            return np.where(done, cmap.inverse(xf), u), done

        progress = {"desc": f"nnls ({self.method})"} if self.progress is True else self.progress
        res = run(engine, problem, cmap.inverse(x0), tol=self.tol, max_iter=self.max_iter,
                  callback=self._callback(), history=self.history, progress=progress,
                  checkpoint=checkpoint if self.polish else None,
                  checkpoint_every=every if self.polish else None,
                  check_every=1 if self.history or self.callback else every)
        x = np.asarray(res.x, dtype=float)
        status = res.status
        if status == -1:
            x = np.nan_to_num(x, nan=0.0, posinf=0.0)
        before = [x]
        pending = np.flatnonzero(~self._certified)
        if self.polish and status != 4 and pending.size:
            # the dynamics stopped (their KKT test, which on ill-conditioned data does not
            # prove optimality; the iteration limit; a non-finite step): finish from there
            xf = self.finish(x[:, pending], model=model.take(pending))
            x = x.copy()
            x[:, pending] = xf
        for extra in (self._before, self._finished):
            filled = np.where(np.isnan(extra), x, extra)
            before.append(filled)
        return _Run(x, res.nit, status, nfev=res.nfev, u=res.u, history=res.history,
                    before=before)

    def _callback(self):
        if self.callback is None:
            return None
        user = self.callback

        def callback(info):
            return _stop_asked(user, info)

        return callback

    def polish_ready(self, x, opt, cols):
        """Which columns try the exact finish now.

        "auto" tries at every check, every method at the last iteration. The paper's
        methods wait until the support of the iterate (entries above 1e-3 of the
        largest) is the same at two consecutive checks and the KKT residual is below
        ``options["polish_from"]`` (default 1e-3): the finish then sharpens the point
        the dynamics select (their implicit bias) instead of jumping to another one.
        """
        if self.method == "auto":
            return np.ones(x.shape[1], bool)
        support = self.support_of(x)
        stable = self._seen[cols] & np.all(support == self._supports[:, cols], axis=0)
        self._supports[:, cols] = support
        self._seen[cols] = True
        return stable & (np.asarray(opt) <= self.polish_from)

    def make_engine(self, name):
        opts = self.options
        if name == "nesterov":
            # one gradient per iteration: FISTA momentum, the map's local Lipschitz
            # step per column, and the gradient restart, which costs no evaluation
            return _engines.AcceleratedGradientDescent(
                step_size=_engines.LocalLipschitz(), momentum="fista", restart="gradient")
        if name == "riemannian-gd":
            return _engines.RiemannianGradientDescent()
        if name == "mirror-nesterov":
            return _engines.AcceleratedMirrorDescent()
        if name == "gd":
            if "step" in opts:
                return _engines.GradientDescent(step_size=float(opts["step"]),
                                                decay=float(opts.get("decay", 0.0)))
            return _engines.GradientDescent(step_size="armijo")
        if name == "bb":
            return _engines.GradientDescent(step_size="bb")
        flow_keys = ("method", "rtol", "atol", "max_step", "first_step")
        settings = {key: opts[key] for key in flow_keys if key in opts}
        # an explicit integrator: LSODA's stiff mode builds finite-difference Jacobians,
        # n gradient evaluations each, which dominates on large problems
        settings.setdefault("method", "RK45")
        if name == "flow":
            return _engines.GradientFlow(**settings)
        return _engines.AcceleratedFlow(**settings)

    # -- the result ------------------------------------------------------------------
    def conclude(self, run, start):
        """The best of the candidates, checked on the data, as an OptimizeResult.

        The result is never worse than ``x = 0``, the warm start or the iterates the
        finish started from; its KKT residual is measured on ``A`` itself.
        """
        model = self.model
        x = np.maximum(np.nan_to_num(run.x, nan=0.0, posinf=0.0), 0.0)
        candidates = [x] + [np.maximum(v, 0.0) for v in run.before]
        if self.x0 is not None:
            candidates.append(self.x0)
        candidates.append(np.zeros(self.shape))
        values = np.array([model.objective(v) for v in candidates])
        # keep the method's point unless another is lower beyond rounding
        slack = 64 * np.finfo(float).eps * (values.min(axis=0) + 0.5 * model.b_norm2)
        best = np.where(values[0] <= values.min(axis=0) + slack, 0, np.argmin(values, axis=0))
        x = np.stack([candidates[c][:, j] for j, c in enumerate(best)], axis=1)
        optimality, ok, _, rnorm = model.certify(x, self.tol)
        status = run.status
        if status != 4:
            status = 1 if np.all(ok) else (status if status in (-1, 3) else 0)
        message = STATUS_MESSAGES[status]
        if status == 0:
            message = self.explain(run, optimality, ok)
        return OptimizeResult(
            x=x, u=run.u, rnorm=rnorm, fun=0.5 * rnorm ** 2, optimality=optimality,
            nit=int(run.nit), nfev=int(run.nfev), status=int(status),
            success=status in (1, 2), message=message, method=self.method,
            time=time.perf_counter() - start, history=run.history)

    def explain(self, run, optimality, ok):
        """The status-0 message: what was reached and what to try."""
        worst = float(np.max(optimality))
        text = (f"Not converged: the relative KKT residual is {worst:.2e}, above `tol` = "
                f"{self.tol:.1e}")
        if not self.polish:
            return (text + f" after {run.nit} iterations of the dynamics alone (polish=False), "
                    "which converge at a first-order rate. Try polish=True for the exact "
                    "finish, a larger `max_iter`, or a looser `tol`.")
        if self.nfallback:
            hint = ("The problem is ill-conditioned (the finish needed pivoted QR "
                    f"factorizations {self.nfallback} times). Try method='auto', a larger "
                    "options['max_solves'], or dense `A` if it is sparse or an operator.")
        elif self.model.kind in ("sparse", "operator") and self.model.G is None:
            hint = ("The finish solves its least squares by conjugate gradients here; try "
                    "gram=True (sparse A with moderate n) or a looser `tol`.")
        else:
            hint = "Try method='auto', a larger `max_iter` or options['max_solves']."
        return f"{text} after {run.nit} iterations and {self.nsolves} least-squares solves. {hint}"


def _stop_asked(callback, info):
    try:
        return bool(callback(info))
    except StopIteration:
        return True
