r"""Non-negative least squares by reparametrization, the paper's flagship problem.

.. math::

    \min_{x \ge 0} \tfrac12 \|A x - b\|_2^2, \qquad x = u^{L} \ (\text{entrywise}).

The objective enters as a closed-form gradient oracle ``g = A^T (A x - b)`` pulled back
through the Hadamard power map of the registry; the engines iterate on ``u``; a polish
step solves the least squares exactly on the support the iterates identify.
"""

import time

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from . import engines as _engines
from ._dask_common import is_dask_collection
from ._nnls_core import (LinearModel, check_nnls_input, exact_finish, kkt_residual,
                         make_result, single_threaded)
from ._nnls_iterations import STEPPERS
from ._progress import progress_bar
from ._validation import as_float_array, check_choice, check_scalar, describe
from .constraints import NonNegative
from .exceptions import InfeasibleError, InvalidArgumentError, InvalidTypeError, ShapeError
from .maps.base import check_power
from .registry import resolve
from .result import OptimizeResult

__all__ = ["nnls", "METHODS"]

METHODS = ("auto", "gd", "riemannian-gd", "bb", "nesterov", "mirror-nesterov", "flow",
           "accelerated-flow")

# Entries above this fraction of the largest one form the support handed to the finish.
_SUPPORT_THRESHOLD = 1e-3

# Matrices whose largest entry lies outside this range are rescaled first, so that
# A^T A and the steps neither overflow nor underflow.
_SAFE_LOW, _SAFE_HIGH = 1e-50, 1e50

# Largest n for which the automatic Gram mode stores A^T A (n^2 doubles).
_GRAM_MAX_N = 6000


def nnls(A, b, *, method="auto", power=2, init_scale=None, tol=1e-10, max_iter=None, x0=None,
         polish=True, gram=None, callback=None, progress=False, history=False, options=None):
    r"""Solve non-negative least squares by reparametrization.

    .. math::

        \min_{x \ge 0} \tfrac12 \|A x - b\|_2^2

    The constraint is removed by writing ``x = u**power`` and iterating on ``u`` from the
    identical initialization ``u0 = init_scale * 1``; with ``polish=True`` the least
    squares restricted to the identified support is then solved exactly and an
    active-set exchange warm-started from that support fixes the last indices, which
    gives machine precision.

    Parameters
    ----------
    A : ndarray, scipy.sparse matrix/array or LinearOperator, shape (m, n)
        Sparse input is never densified; a LinearOperator is used through its
        ``matvec``/``rmatvec`` only (matrix-free, memory O(m + n) per right-hand side).
        float32 and integer input is computed in float64.
    b : array_like, shape (m,) or (m, k)
        One or ``k`` right-hand sides; several are solved together with matrix-matrix
        products, and ``x`` is then ``(n, k)``, ``rnorm``, ``fun`` and ``optimality``
        ``k``-vectors.
    method : str, default "auto"
        One of :data:`METHODS`:

        * ``"gd"``: gradient descent on ``u`` (Armijo backtracking; a constant or decaying
          step ``eta / (k+2)**gamma`` with ``options={"step": eta, "decay": gamma}``),
        * ``"riemannian-gd"``: ``x <- x - L eta x^(2-2/L) grad f(x)`` in x-space,
        * ``"bb"``: Barzilai-Borwein steps on ``u`` with a non-monotone safeguard,
        * ``"nesterov"``: accelerated gradient on ``u`` with function restart (any power),
        * ``"mirror-nesterov"``: the entropic accelerated mirror scheme of the paper's
          ODE (``power=2`` only),
        * ``"flow"``, ``"accelerated-flow"``: the continuous-time dynamics integrated by
          the flow engines,
        * ``"auto"``: an unconstrained least-squares solve when it is already
          non-negative, else a few dozen accelerated latent steps and the exact finish.

        ``gd``, ``bb``, ``nesterov``, ``flow`` and ``accelerated-flow`` run on the
        engines of :mod:`reparamopt.engines`; the others use closed-form steps.
    power : float, default 2
        The exponent ``L >= 2`` of the Hadamard map ``x = |u|**L``.
    init_scale : float, optional
        ``u0 = init_scale * 1``. Small values bias the iterates to the minimum-l1
        solution (see the paper). Default: ``x0 = 0.1 t`` entrywise with ``t`` the best
        constant ``x`` (``t = max(1^T A^T b, 0) / ||A 1||^2``), a moderate start.
    tol : float, default 1e-10
        Stop when the relative KKT residual ``||P(g)|| / ||A^T b||`` is ``<= tol``.
    max_iter : int, optional
        Iteration limit (integrator steps for the flows): default 1000 with polish
        (the finish is tried at the last one), 100000 without. Reaching it without
        meeting `tol` returns ``status=0``.
    x0 : array_like, optional
        Non-negative warm start (zeros allowed: zero coordinates start at the tiny
        value ``1e-12 max(x0)``, since ``u = 0`` is a fixed point of the latent
        dynamics). Overrides `init_scale`.
    polish : bool, default True
        Finish with the exact active-set solve. With ``polish=False`` only the
        reparametrized iterations run (the dynamics the paper studies); they converge
        at the first-order rate and rarely reach ``tol=1e-10`` in reasonable time.
    gram : bool, optional
        Iterate with ``A^T A`` and ``A^T b`` precomputed (O(n^2) per step). Default: on
        for dense ``A`` with ``m >= n`` and ``n <= 6000``.
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration (the result holds ``x``,
        ``u``, ``fun``, ``optimality``, ``nit``); returning True stops (status 4).
    progress : bool, default False
        Show a tqdm progress bar of the iterations (off by default).
    history : bool, default False
        Record ``fun``, ``optimality`` and ``time`` per iteration.
    options : dict, optional
        Method settings: ``step``, ``decay`` (gd), ``check_every`` (iterations between
        polish attempts, default 25), ``polish_from`` (see Notes), engine settings
        for the flows (``rtol``, ``atol``, ``max_step``, ``first_step`` and the
        integrator ``method``, default "RK45").

    Returns
    -------
    OptimizeResult
        ``x`` (never negative), ``rnorm = ||A x - b||``, ``fun = rnorm**2 / 2``,
        ``optimality`` (relative KKT residual), ``nit``, ``nfev``, ``status``,
        ``success``, ``message``, ``method``, ``time`` and ``history`` (or None).

    Notes
    -----
    The polish (exact finish) is an active-set method warm-started from the support of
    the iterate (entries above 1e-3 of the largest): block principal pivoting when
    ``m >= n``, a Lawson-Hanson variant adding several indices per step otherwise.
    "auto" tries it at every check; the paper's methods try it once the support is the
    same at two consecutive checks and the KKT residual is below
    ``options["polish_from"]`` (default 1e-3), so that it keeps the solution their
    dynamics select, and at the last iteration. With ``polish=False`` the result is
    the iterate of the dynamics alone.

    Matrices with entries beyond ``[1e-50, 1e50]`` in magnitude are rescaled first.
    Small problems run BLAS on one thread (when threadpoolctl is installed).

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
    >>> bool(res.optimality <= 1e-10)
    True
    """
    if is_dask_collection(A) or is_dask_collection(b):
        from . import dask as _dask
        return _dask.nnls(A, b, method=method, power=power, init_scale=init_scale, tol=tol,
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
    options = dict(options or {})
    m, n = A.shape
    k_shape = b.shape[1:]
    if max_iter is None:
        max_iter = 1000 if polish else 100000
    max_iter = check_scalar(max_iter, "max_iter", lower=0, integer=True)
    if x0 is not None:
        x0 = as_float_array(x0, "x0", ndim=b.ndim)
        if x0.shape != (n,) + k_shape:
            raise ShapeError(f"`x0` must have shape {(n,) + k_shape}; got {x0.shape}")
        if np.any(x0 < 0):
            raise InfeasibleError(f"`x0` must be non-negative; got a minimum of {x0.min()!r}")
    if gram is None:
        gram = not isinstance(A, LinearOperator) and not sp.issparse(A) and m >= n \
            and 0 < n <= _GRAM_MAX_N
    elif not isinstance(gram, (bool, np.bool_)):
        raise InvalidTypeError(f"`gram` must be None, True or False; got {describe(gram)}")
    elif gram and (isinstance(A, LinearOperator) or sp.issparse(A)):
        raise InvalidArgumentError("`gram` must be False for sparse or matrix-free `A`; got True")

    # Work on A / a and b / c: the solution is x = (c / a) x_scaled and the relative KKT
    # residual does not change, while A^T A and the steps stay far from over/underflow.
    A_s, a = _normalize_matrix(A)
    c = float(np.max(np.abs(b))) if b.size else 0.0
    c = c if np.isfinite(c) and (c < _SAFE_LOW or c > _SAFE_HIGH) and c > 0 else 1.0
    b_s = b / c
    x0_s = None if x0 is None else x0 * (a / c)

    solver = _Solver(A_s, b_s, method=method, power=power, init_scale=init_scale, tol=tol,
                     max_iter=max_iter, x0=x0_s, polish=polish, gram=bool(gram),
                     callback=callback, progress=progress, history=history, options=options)
    with single_threaded(m * n):
        res = solver.solve(start)
    scale = c / a
    res["x"] = res["x"] * scale
    res["rnorm"] = res["rnorm"] * c
    res["fun"] = 0.5 * res["rnorm"] ** 2
    if res.get("u") is not None:
        res["u"] = res["u"] * scale ** (1.0 / power)
    res["time"] = time.perf_counter() - start
    return res


def _normalize_matrix(A):
    """``(A / a, a)`` when the entries of ``A`` are extreme, else ``(A, 1)``.

    ``a`` is the largest absolute entry (an estimate of ``||A||_2`` for operators). Data
    of ordinary magnitude are left alone: dividing would copy a large matrix.
    """
    if isinstance(A, LinearOperator):
        v = np.random.default_rng(0).standard_normal(A.shape[1])
        a = float(np.linalg.norm(A.matvec(v / max(np.linalg.norm(v), 1e-300))))
    elif sp.issparse(A):
        a = float(max(A.max(), -A.min())) if A.nnz else 0.0
    else:
        a = float(max(A.max(), -A.min())) if A.size else 0.0
    if not (np.isfinite(a) and a > 0) or _SAFE_LOW <= a <= _SAFE_HIGH:
        return A, 1.0
    if isinstance(A, LinearOperator):
        return aslinearoperator(A) * (1.0 / a), a
    return A * (1.0 / a), a


class _LatentNNLS:
    """The latent problem ``F(u) = f(phi(u))`` with the closed-form oracle of ``f``.

    ``phi`` is the registry's map onto the non-negative orthant for the given power; the
    last gradient is kept so that the stopping test of the shared loop costs nothing.
    """

    def __init__(self, model, power, shape):
        self.model = model
        self.map = resolve(NonNegative(int(np.prod(shape)), power=power))
        self.shape = shape
        self._last = (None, None, None)

    def _x(self, u):
        return np.reshape(self.map.forward(u), self.shape)

    def _eval(self, u):
        if self._last[0] is not u:
            g, f = self.model.grad(self._x(u))
            self._last = (u, g, f)
        return self._last[1], self._last[2]

    def value_and_grad(self, u):
        g, f = self._eval(u)
        return float(np.sum(f)), self.map.pullback(u, np.ravel(g))

    def to_feasible(self, u):
        return self._x(u)

    def optimality(self, u):
        g, _ = self._eval(u)
        return float(np.max(kkt_residual(self._x(u), g, self.model.atb_norm)))


class _Solver:
    def __init__(self, A, b, *, method, power, init_scale, tol, max_iter, x0, polish, gram,
                 callback, progress, history, options):
        self.model = LinearModel(A, b, gram=gram)
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
        self.check_every = int(options.get("check_every", 25))
        self.nfinish = 0
        self.polish_from = float(options.get("polish_from", 1e-3))
        self._last_support = None

    # -- helpers ---------------------------------------------------------------------
    def kkt(self, x):
        g, _ = self.model.grad(x)
        return kkt_residual(x, g, self.model.atb_norm)

    def result(self, x, nit, status, start, **extra):
        return make_result(self.model, x, nit=nit, status=status, method=self.method,
                           start=start, **extra)

    def start_point(self):
        model = self.model
        shape = (model.n,) + model.b.shape[1:]
        if self.x0 is not None:
            x0 = self.x0
            top = np.max(x0, axis=0) if x0.size else np.zeros(shape[1:])
            floor = np.where(top > 0, 1e-12 * top, 1e-12)
            return np.maximum(x0, floor)
        if self.init_scale is not None:
            return np.full(shape, self.init_scale ** self.power)
        ones = np.ones(model.n)
        a1 = model.matvec(ones)
        denom = float(a1 @ a1)
        t = np.maximum(np.sum(model.atb, axis=0), 0.0) / max(denom, np.finfo(float).tiny)
        t = np.where(t > 0, t, 1.0)
        return np.broadcast_to(0.1 * t, shape).copy()

    def finish(self, x):
        """Exact active-set finish column by column; returns the improved x."""
        self.nfinish += 1
        out = np.array(x, dtype=float)
        if x.ndim == 1:
            return self._finish_column(x, None)
        for j in range(x.shape[1]):
            out[:, j] = self._finish_column(x[:, j], j)
        return out

    def _finish_column(self, x, j):
        top = float(np.max(x)) if x.size else 0.0
        support = x > _SUPPORT_THRESHOLD * top if top > 0 else np.zeros(x.shape, bool)
        xf, _, _ = exact_finish(self.model, x, tol=self.tol, column=j, support=support)
        return xf

    # -- main ------------------------------------------------------------------------
    def solve(self, start):
        model = self.model
        if model.n == 0 or np.all(model.atb <= 0):
            # x = 0 satisfies the KKT conditions: g = -A^T b >= 0
            x = np.zeros((model.n,) + model.b.shape[1:])
            return self.result(x, 0, 1, start)
        if self.x0 is not None and np.all(self.kkt(self.x0) <= self.tol):
            return self.result(self.x0, 0, 1, start)
        if self.method == "auto":
            return self.solve_auto(start)
        if self.method in STEPPERS:
            return self.solve_private(start, self.start_point(), self.method)
        return self.solve_engine(start)

    def solve_auto(self, start):
        """Least squares when it is non-negative; else latent steps and the exact finish.

        Dense data with ``m >= n`` start the latent iteration from the positive part of
        the least-squares solution (its sign pattern is close to the final support);
        other data from a small identical point ``1e-6 max(A^T b) / ||A||^2``, whose
        iterates reveal a sparse support within a few dozen steps.
        """
        model = self.model
        x = self.least_squares_start()
        done = np.zeros(model.b.shape[1:], bool)
        if x is not None:
            done = np.all(x > 0, axis=0) & (self.kkt(np.maximum(x, 0)) <= self.tol)
            if np.all(done):
                return self.result(x, 0, 1, start)
            top = np.max(x, axis=0)
            x0 = np.maximum(x, np.where(top > 0, 1e-6 * top, 1e-12))
            self.check_every = int(self.options.get("check_every", 10))
        elif self.init_scale is not None or self.x0 is not None:
            x0 = self.start_point()
        else:
            scale = np.max(model.atb, axis=0) / model.lipschitz()
            x0 = np.broadcast_to(1e-6 * scale, (model.n,) + model.b.shape[1:]).copy()
            self.check_every = int(self.options.get("check_every", 20))
        if self.x0 is not None:
            x0 = self.start_point()
        return self.solve_private(start, x0, "nesterov", skip=done, x_done=x)

    def least_squares_start(self):
        """The unconstrained least-squares solution when it is cheap (dense full rank)."""
        model = self.model
        if model.kind != "dense" or model.m < model.n:
            return None
        try:
            if model.m == model.n and model._G is None:
                return np.linalg.solve(model.A, model.b)
            G = model.G if model.G is not None else model.A.T @ model.A
            factor = sla.cho_factor(G, check_finite=False)
            return sla.cho_solve(factor, model.atb, check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            return None

    def solve_private(self, start, x0, name, skip=None, x_done=None):
        """Closed-form steppers with a polish every `check_every` iterations."""
        model = self.model
        stepper = STEPPERS[name](model, x0, self.power)
        records = {"fun": [], "optimality": [], "time": []} if self.history else None
        batched = model.b.ndim == 2
        active = None
        if batched and skip is not None and np.any(skip):
            active = ~skip
            stepper = STEPPERS[name](_SubModel(model, active), x0[:, active], self.power)
        status, k = 0, 0
        x = stepper.x
        finished = None
        bar = progress_bar(self.progress, total=self.max_iter, desc=f"nnls ({self.method})")
        while True:
            check = (k % self.check_every == 0 and k > 0) or k == self.max_iter
            if check or records is not None or self.callback is not None:
                x = stepper.x
                g, f = stepper.model.grad(x)
                opt = kkt_residual(x, g, stepper.model.atb_norm)
                bar.set_postfix(optimality=f"{float(np.max(opt)):.2e}", refresh=False)
                if records is not None:
                    records["fun"].append(float(np.sum(f)))
                    records["optimality"].append(float(np.max(opt)))
                    records["time"].append(time.perf_counter() - start)
                if np.all(opt <= self.tol):
                    status = 1
                    finished = x
                    break
                if check and self.polish and (k == self.max_iter or self.polish_ready(x, opt)):
                    xf = self.finish_sub(stepper.model, x)
                    if np.all(self._kkt_on(stepper.model, xf) <= self.tol):
                        status = 1
                        finished = xf
                        break
                if self.callback is not None and k > 0:
                    info = {"x": x, "u": stepper.u, "fun": f, "optimality": opt, "nit": k}
                    if self.callback(OptimizeResult(info)):
                        status = 4
                        finished = x
                        break
            if k >= self.max_iter:
                finished = stepper.x
                break
            stepper.step()
            k += 1
            bar.update(1)
            if not np.all(np.isfinite(stepper.u)):
                status = -1
                finished = np.nan_to_num(stepper.x, nan=0.0, posinf=0.0)
                break
        bar.close()
        x = finished
        if active is not None:
            full = np.array(x_done, dtype=float)
            full[:, active] = x
            x = full
        return self.result(x, k, status, start, u=None, nfev=stepper.nfev, history=records)

    def polish_ready(self, x, opt):
        """Whether to try the exact finish now.

        "auto" tries at every check, every method at the last iteration. The paper's
        methods wait until the support of the iterate (entries above 1e-3 of the
        largest) is the same at two consecutive checks and the KKT residual is below ``options["polish_from"]`` (default 1e-3):
        the finish then sharpens the point the dynamics select (their implicit bias)
        instead of jumping to another solution.
        """
        if self.method == "auto":
            return True
        top = np.max(x, axis=0) if x.size else 0.0
        support = x > _SUPPORT_THRESHOLD * top
        stable = self._last_support is not None and np.array_equal(support, self._last_support)
        self._last_support = support
        return stable and bool(np.max(opt) <= self.polish_from)

    def _kkt_on(self, model, x):
        g, _ = model.grad(x)
        return kkt_residual(x, g, model.atb_norm)

    def finish_sub(self, model, x):
        saved = self.model
        self.model = model
        try:
            return self.finish(x)
        finally:
            self.model = saved

    def solve_engine(self, start):
        model = self.model
        shape = (model.n,) + model.b.shape[1:]
        objective = _LatentNNLS(model, self.power, shape)
        x0 = self.start_point()
        u0 = np.ravel(x0) ** (1.0 / self.power)
        engine = self.make_engine()
        polished = {}

        def checkpoint(u, k):
            x = objective.to_feasible(u)
            last = k + every > self.max_iter
            if not (last or self.polish_ready(x, objective.optimality(u))):
                return None
            xf = self.finish(x)
            if np.all(self._kkt_on(model, xf) <= self.tol):
                polished["x"] = xf
                return np.ravel(xf) ** (1.0 / self.power), True
            return None

        every = self.check_every
        res = _engines.run(engine, objective, u0, tol=self.tol, max_iter=self.max_iter,
                           callback=self.callback, history=self.history,
                           progress=self.progress,
                           checkpoint=checkpoint if self.polish else None,
                           checkpoint_every=every if self.polish else None)
        x = polished.get("x", objective.to_feasible(res.u))
        return self.result(x, res.nit, res.status, start, u=np.reshape(res.u, shape),
                           nfev=res.nfev, history=res.history)

    def make_engine(self):
        opts = self.options
        if self.method == "gd":
            if "step" in opts:
                return _engines.GradientDescent(step_size=float(opts["step"]),
                                                decay=float(opts.get("decay", 0.0)))
            return _engines.GradientDescent(step_size="armijo")
        if self.method == "bb":
            return _engines.GradientDescent(step_size="bb")
        flow_keys = ("method", "rtol", "atol", "max_step", "first_step")
        settings = {key: opts[key] for key in flow_keys if key in opts}
        # an explicit integrator: LSODA's stiff mode builds finite-difference Jacobians,
        # n gradient evaluations each, which dominates on large problems
        settings.setdefault("method", "RK45")
        if self.method == "flow":
            return _engines.GradientFlow(**settings)
        return _engines.AcceleratedFlow(**settings)


class _SubModel:
    """A view of a batched LinearModel restricted to some right-hand sides."""

    def __init__(self, model, columns):
        self.parent = model
        self.kind = model.kind
        self.m, self.n = model.m, model.n
        self.A = model.A
        self.G = model.G
        self.b = model.b[:, columns]
        self.atb = model.atb[:, columns]
        self.atb_norm = model.atb_norm[columns]
        self.b_norm2 = model.b_norm2[columns]
        self._lipschitz = model.lipschitz()
        if model.kind == "sparse":
            self._AT = model._AT
            self._csc = None

    matvec = LinearModel.matvec
    rmatvec = LinearModel.rmatvec
    grad = LinearModel.grad
    exact_grad = LinearModel.exact_grad
    lipschitz = LinearModel.lipschitz
    columns = LinearModel.columns
    gram_block = LinearModel.gram_block
