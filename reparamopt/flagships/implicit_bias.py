r"""The limit of the small-initialization gradient flow, computed without the flow.

Along the gradient flow ``u' = -grad F(u)`` of ``F(u) = 1/2 ||A phi(u) - b||^2`` with
the Hadamard map ``phi(u) = u**L`` (or ``u**L - v**L``) started at ``u = alpha 1``,
every entry of ``u`` moves by a function of the same entry of the integrated gradient
``A^T lambda(t)``, ``lambda(t) = -c \int_0^t (A x - b)``. Written in the *log
coordinates* ``s = log(u**L)`` (and ``log(v**L)``):

* ``L = 2``: ``x = alpha^2 exp(w)`` (``2 alpha^2 sinh(w)`` signed), ``w = A^T lambda``;
* ``L > 2``: ``x = (beta - w)^(-p)`` with ``beta = alpha^(2-L)``, ``p = L / (L-2)``
  (signed: ``(beta - w)^(-p) - (beta + w)^(-p)``).

So ``x(t) = h(A^T lambda(t))`` with ``h`` increasing, and the limit is the Bregman
projection of ``x0`` onto the set the flow converges to, ``{x >= 0 : A x = b_hat}``
(``{x : A x = b_hat}`` signed), where ``b_hat`` is the fitted value of every NNLS
(least-squares) solution -- ``b`` itself when ``b`` is attainable. Equivalently

.. math::

    x_\infty = \arg\min_{A x = \hat b,\ x \ge 0}\ \|x\|_1 + \varepsilon R(x),\quad
    R = \sum_i x_i \log x_i - x_i,\ \varepsilon = \frac{1}{2\log(1/\alpha)}\ (L = 2);\quad
    R = -\tfrac{L}{2} \sum_i x_i^{2/L},\ \varepsilon = \alpha^{L-2}\ (L > 2).

Its dual, ``min_lambda Psi(lambda) = sum_i Phi(a_i^T lambda) - b_hat^T lambda`` with
``Phi' = h``, is smooth and convex in m variables; damped Newton solves it (the Hessian
``A diag(h') A^T`` by Cholesky, or by conjugate gradients on Hessian-vector products for a
LinearOperator). The iterate is kept in the log coordinates and moved by increments
only, which keeps ``x`` accurate for any ``alpha`` (1e-30 included), and every change of
``Psi`` is computed from increments (``expm1``, ``log1p``) so the line search stays
exact near the solution. Coordinates that no point of the set can make positive (a
face of the cone ``{A x : x >= 0}``) are found by a linear program and removed.
"""

from typing import NamedTuple, Optional

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, cg, lsmr

from ..declare.constraints import NonNegative, Signed
from ..maps.registry import resolve
from ..models.scaling import largest_entry

__all__ = ["LogCoordinates", "LimitPoint", "flow_limit", "limit_point"]

# Largest growth of an entry's log coordinate in one Newton step: keeps exp() in range
# and makes the first steps from alpha**L a trust region.
_STEP_CAP = 10.0
# a residual below this (relative) that no longer halves in ten Newton steps is final
_STALL_RTOL = 1e-10
# Newton steps tried on b itself before the least-squares solve that finds b_hat
_OPTIMISTIC_NEWTON = 60


class LogCoordinates:
    """The flow's mirror coordinates ``s = log(u**L)`` per latent entry, moved by
    increments ``dw`` of ``A^T lambda`` (``-dw`` for the ``v`` half of the signed map).

    Parameters
    ----------
    n : int
        Number of unknowns ``x``.
    power : float
        ``L >= 2``.
    init_scale : float
        ``alpha``: every latent entry starts there.
    nonnegative : bool
        ``x = u**L`` (True) or ``u**L - v**L``.
    """

    def __init__(self, n, power, init_scale, nonnegative):
        self.L = float(power)
        self.signs = (1.0,) if nonnegative else (1.0, -1.0)
        self.s = [np.full(n, self.L * np.log(init_scale)) for _ in self.signs]
        self.p = None if self.L == 2 else self.L / (self.L - 2.0)

    def take(self, idx):
        self.s = [s[idx] for s in self.s]
        return self

    def x(self):
        return sum(sign * np.exp(s) for sign, s in zip(self.signs, self.s))

    def latent(self):
        """The latent point ``u`` (``(u, v)`` stacked for the signed map)."""
        return np.concatenate([np.exp(s / self.L) for s in self.s])

    def slope(self):
        """``dx/dw`` entrywise (positive)."""
        if self.p is None:
            return sum(np.exp(s) for s in self.s)
        return sum(self.p * np.exp((1.0 + 1.0 / self.p) * s) for s in self.s)

    def _shift(self, s, dw):
        if self.p is None:
            return dw
        with np.errstate(invalid="ignore", divide="ignore"):
            return -self.p * np.log1p(-dw * np.exp(s / self.p))

    def _dphi(self, s, dw, ds):
        """``Phi(w + dw) - Phi(w)`` from increments."""
        if self.p is None:
            return np.exp(s) * np.expm1(dw)
        return 0.5 * (self.L - 2.0) * np.exp(2.0 * s / self.L) * np.expm1(2.0 * ds / self.L)

    def max_step(self, dw):
        """The largest ``t <= 1`` such that no log coordinate grows by more than
        ``_STEP_CAP`` along ``t dw`` (and ``t dw`` stays in the domain)."""
        t = 1.0
        for sign, s in zip(self.signs, self.s):
            d = sign * dw
            up = d > 0
            if not up.any():
                continue
            if self.p is None:
                t = min(t, _STEP_CAP / float(np.max(d[up])))
            else:
                room = -np.expm1(-_STEP_CAP / self.p) * np.exp(-s[up] / self.p)
                t = min(t, float(np.min(room / d[up])))
        return t

    def change(self, dw):
        """``(sum_i Phi(w_i + dw_i) - Phi(w_i), new coordinates)``; the change is inf
        outside the domain."""
        total, new = 0.0, []
        for sign, s in zip(self.signs, self.s):
            ds = self._shift(s, sign * dw)
            if not np.all(np.isfinite(ds)):
                return np.inf, None
            total += float(np.sum(self._dphi(s, sign * dw, ds)))
            new.append(s + ds)
        return total, new


class LimitPoint(NamedTuple):
    """What :func:`flow_limit` and :func:`limit_point` return."""

    #: "converged" (the limit), "max_iter" (the Newton iterations allowed were spent
    #: first: `x` is the last Newton iterate, >= 0 where required but off the set
    #: ``A x = b_hat``) or "failed" (Newton did not converge: `x` and `u` are None)
    status: str
    x: Optional[np.ndarray]
    u: Optional[np.ndarray]
    #: Newton iterations, every attempt counted
    nit: int
    #: least-squares (NNLS) solves
    nfev: int = 0


class _Budget:
    """The Newton iterations every attempt of one limit draws on (None: unbounded)."""

    def __init__(self, total):
        self.total, self.used = total, 0

    def left(self):
        return np.inf if self.total is None else self.total - self.used


class _Columns:
    """``A[:, idx]`` as products, dense or sparse or a LinearOperator."""

    def __init__(self, A, idx):
        self.operator = isinstance(A, LinearOperator)
        self.n_full = A.shape[1]
        self.idx = idx
        if self.operator:
            self.A = A
        elif sp.issparse(A):
            self.A = sp.csc_array(A)[:, idx].tocsr()
        else:
            self.A = np.asarray(A)[:, idx]

    def matvec(self, x):
        if self.operator:
            full = np.zeros(self.n_full)
            full[self.idx] = x
            return np.asarray(self.A.matvec(full)).ravel()
        return self.A @ x

    def rmatvec(self, y):
        if self.operator:
            return np.asarray(self.A.rmatvec(y)).ravel()[self.idx]
        return self.A.T @ y

    def hessian(self, d):
        """``A diag(d) A^T`` as a dense matrix, or None when it should stay implicit."""
        if self.operator or self.A.shape[0] > 4000:
            return None
        if sp.issparse(self.A):
            return np.asarray((self.A @ sp.diags_array(d) @ self.A.T).todense())
        return (self.A * d) @ self.A.T


def _newton_direction(cols, d, r, forcing):
    H = cols.hessian(d)
    if H is None:
        # inexact Newton: conjugate gradients to a relative residual `forcing`
        hess = LinearOperator((r.size, r.size), dtype=float,
                              matvec=lambda v: cols.matvec(d * cols.rmatvec(v)))
        step, _ = cg(hess, r, rtol=forcing, maxiter=500)
        return step
    scale = float(np.max(np.diag(H))) if H.size else 0.0
    if not scale > 0:
        return None
    # the curvature spans many decades (entries of x near alpha**L): a ridge only as
    # large as needed for the factorization, growing from rounding level
    for ridge in (0.0, 1e-15, 1e-13, 1e-11):
        try:
            factor = sla.cho_factor(H + ridge * scale * np.eye(r.size), lower=False,
                                    check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            continue
        step = sla.cho_solve(factor, r, check_finite=False)
        if np.all(np.isfinite(step)):
            return step
    return np.linalg.lstsq(H, r, rcond=None)[0]


def _project(cols, b_hat, coords, rtol, max_iter, amax):
    """Damped Newton on the dual over the columns `cols`, at most `max_iter` steps;
    ``(status, steps)`` with status "converged", "max_iter" or "failed".

    Converged: ``||A x - b_hat||`` below `rtol` relative to ``||b_hat||``, or below the
    rounding of the product ``A x`` (``amax`` is the largest entry of A)."""
    stalled = 0
    history = []
    eps = np.finfo(float).eps
    for it in range(max_iter + 1):
        x = coords.x()
        r = b_hat - cols.matvec(x)
        if not np.all(np.isfinite(r)):
            return "failed", it
        norm_b = max(float(np.linalg.norm(b_hat)),
                     64 * eps * amax * float(np.abs(x).sum()) * np.sqrt(r.size) / rtol,
                     np.finfo(float).tiny)
        relative = float(np.linalg.norm(r)) / norm_b
        if relative <= rtol:
            return "converged", it
        if it == max_iter:
            return "max_iter", it
        history.append(relative)
        if relative <= _STALL_RTOL and len(history) > 10 and relative > 0.5 * history[-11]:
            # Newton has reached the rounding of the directions with the least curvature
            return "converged", it
        new, fraction = _newton_step(cols, b_hat, coords, r, relative)
        if new is None:
            # no descent direction, or no decrease along it: done if nearly converged
            near = fraction is not None and np.linalg.norm(r) <= 1e3 * rtol * norm_b
            return ("converged" if near else "failed"), it
        coords.s = new
        stalled = stalled + 1 if fraction < 1e-3 else 0
        if stalled > 20:
            return "failed", it + 1


def _newton_step(cols, b_hat, coords, r, relative):
    """The damped Newton step from `coords` with residual `r`: ``(new coordinates,
    t / t0)`` with t the step accepted out of the largest one t0; ``(None, None)``
    where Newton gives no direction, ``(None, 0.0)`` where it gives no descent or no
    decrease."""
    step = _newton_direction(cols, coords.slope(), r, min(0.1, max(np.sqrt(relative), 1e-10)))
    if step is None or not np.all(np.isfinite(step)):
        return None, None
    dw = cols.rmatvec(step)
    slope = -float(r @ step)          # directional derivative of Psi, < 0
    if not slope < 0:
        return None, 0.0
    bstep = float(b_hat @ step)
    t = t0 = coords.max_step(dw)
    while t > 1e-12 * t0:
        change, new = coords.change(t * dw)
        if new is not None:
            decrease = change - t * bstep
            slack = 1e-13 * (abs(change) + abs(t * bstep))
            if decrease <= 1e-4 * t * slope + slack:
                return new, t / t0
        t *= 0.5
    return None, 0.0


def _positive_set(A, b_hat, idx):
    """The coordinates of ``idx`` that some ``x >= 0`` with ``A[:, idx] x = b_hat`` makes
    positive (the rest are zero on the whole set), by one linear program:
    ``max sum(y)`` s.t. ``A z = tau b_hat, z >= y, 0 <= y <= 1, tau >= 1``."""
    from scipy.optimize import linprog  # lazy: keeps `import reparamopt` light

    cols = sp.csc_array(A)[:, idx] if sp.issparse(A) else sp.csc_array(np.asarray(A)[:, idx])
    m, k = cols.shape
    eye = sp.eye_array(k, format="csc")
    A_eq = sp.hstack([cols, sp.csc_array((m, k)), sp.csc_array(-b_hat.reshape(-1, 1))])
    A_ub = sp.hstack([-eye, eye, sp.csc_array((k, 1))])
    c = np.concatenate([np.zeros(k), -np.ones(k), [0.0]])
    bounds = [(0, None)] * k + [(0, 1)] * k + [(1, None)]
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(k), A_eq=A_eq, b_eq=np.zeros(m),
                  bounds=bounds, method="highs")
    if res.status != 0:
        return None
    return idx[res.x[k:2 * k] > 0.5]


def flow_limit(A, b_hat, candidates, *, power, init_scale, nonnegative, amax=1.0,
               rtol=1e-12, max_iter=200):
    """The limit of the flow: the Bregman projection of ``x0`` onto
    ``{x (>= 0) : A x = b_hat}`` with ``x = 0`` outside `candidates`.

    Parameters
    ----------
    A : (m, n) array, sparse matrix or LinearOperator
    b_hat : (m,) array
        The fitted value the flow converges to (``b`` when attainable).
    candidates : int array
        Coordinates that may be positive in the limit (those where the NNLS gradient
        vanishes); a linear program removes those forced to zero when Newton stalls.
    amax : float
        The largest entry of A in magnitude (the rounding of ``A x`` bounds the
        accuracy of the residual).
    max_iter : int
        Newton iterations of each of the (at most two) attempts.

    Returns
    -------
    LimitPoint
        Status "failed" when Newton did not converge (the caller falls back to the flow).

    Examples
    --------
    One equation, two unknowns: from ``x0 = alpha**2 (1, 1)`` the flow of power 2 ends
    on ``x1 + 2 x2 = 1`` at the entropic projection, which favours ``x2`` (cheaper in
    l1) more and more as alpha shrinks.

    >>> import numpy as np
    >>> from reparamopt.flagships.implicit_bias import flow_limit
    >>> A = np.array([[1.0, 2.0]])
    >>> point = flow_limit(A, np.array([1.0]), np.arange(2), power=2, init_scale=1e-3,
    ...                    nonnegative=True)
    >>> x = point.x
    >>> point.status, bool(abs(A @ x - 1.0)[0] < 1e-12), bool(x[1] > 0.49), bool(x[0] < 0.02)
    ('converged', True, True, True)
    """
    options = {"power": power, "init_scale": init_scale, "nonnegative": nonnegative, "amax": amax,
               "rtol": rtol}
    return _flow_limit(A, b_hat, np.asarray(candidates), _Budget(None), max_iter, **options)


def _flow_limit(A, b_hat, idx, budget, max_iter, *, power, init_scale, nonnegative, amax, rtol):
    """:func:`flow_limit` drawing its Newton iterations on `budget` (a :class:`_Budget`):
    status "max_iter" with the last iterate where the budget is spent first."""
    n, start = A.shape[1], budget.used
    for attempt in range(2):
        coords = LogCoordinates(n, power, init_scale, nonnegative).take(idx)
        cols = _Columns(A, idx)
        cap = int(min(max_iter, budget.left()))
        status, it = _project(cols, b_hat, coords, rtol, cap, amax)
        budget.used += it
        if status == "max_iter" and budget.left() > 0:
            status = "failed"  # the attempt's own iterations ran out, not the budget
        if status != "failed":
            x = np.zeros(n)
            x[idx] = coords.x()
            full = LogCoordinates(n, power, init_scale, nonnegative)
            # entries outside the set keep u = 0 in the limit
            u = np.zeros((len(full.signs), n))
            u[:, idx] = coords.latent().reshape(len(full.signs), -1)
            return LimitPoint(status, x, u.ravel(), budget.used - start)
        if attempt or not nonnegative or isinstance(A, LinearOperator):
            break
        positive = _positive_set(A, b_hat, idx)
        if positive is None or positive.size == idx.size:
            break
        idx = positive
    return LimitPoint("failed", None, None, budget.used - start)


def limit_point(A, model, *, power, init_scale, nonnegative, max_iter=None):
    """The limit of the flow from ``init_scale`` on the data `model` (a
    :class:`~reparamopt.models.linear.LinearModel` of `A` and b): first the fitted value
    ``b_hat`` (b itself when attainable) and the coordinates that may be positive, then
    :func:`flow_limit` on them -- or the one point of the set when it holds only one.

    `max_iter` bounds the Newton iterations of every attempt together (None: each
    attempt its own 200); where they run out first, status "max_iter" with the last
    iterate (``max_iter=0``: the start ``x0``).

    Returns
    -------
    LimitPoint
        ``nfev`` counts the least-squares (NNLS) solves; status "failed" when Newton
        did not converge.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.flagships.implicit_bias import limit_point
    >>> from reparamopt.models.linear import LinearModel
    >>> A = np.array([[1.0, 2.0]])
    >>> point = limit_point(A, LinearModel(A, np.array([1.0])), power=3, init_scale=1e-3,
    ...                     nonnegative=True)
    >>> point.status, bool(abs(A @ point.x - 1.0)[0] < 1e-12), bool(point.x[1] > 0.49)
    ('converged', True, True)
    """
    n = A.shape[1]
    budget = _Budget(max_iter)
    options = {"power": power, "init_scale": init_scale, "nonnegative": nonnegative,
               "amax": largest_entry(A), "rtol": 1e-12}
    if not budget.left():
        return _flow_limit(A, model.b, np.arange(n), budget, 0, **options)
    if not isinstance(A, LinearOperator) and A.shape[0] < n:
        # wide data: b is usually attainable, and a converged Newton proves it; the
        # least-squares (NNLS) solve is needed only otherwise
        out = _flow_limit(A, model.b, np.arange(n), budget, _OPTIMISTIC_NEWTON, **options)
        if out.status != "failed":
            return out._replace(nit=budget.used)
    if isinstance(A, LinearOperator):
        b_hat, candidates, unique, nfev = model.b, np.arange(n), None, 0
    else:
        b_hat, candidates, unique = _fitted_value(A, model, nonnegative)
        nfev = 1
    if unique is not None:
        # a single point in the set: the flow converges to it
        constraint = NonNegative(n, power=power) if nonnegative else Signed(n, power=power)
        return LimitPoint("converged", unique, np.ravel(resolve(constraint).inverse(unique)),
                          budget.used, nfev)
    out = _flow_limit(A, b_hat, candidates, budget, 200, **options)
    return out._replace(nit=budget.used, nfev=nfev)


def _fitted_value(A, model, nonnegative):
    """``(b_hat, candidates, unique)`` for a matrix: the fitted value of the NNLS
    (least-squares) solutions, the coordinates that may be positive in the limit, and
    the one solution when the set holds a single point (else None)."""
    from .nnls import nnls

    b, n = model.b, A.shape[1]
    x_hat = nnls(A, b).x if nonnegative else _least_squares(A, b)
    b_fit = model.matvec(x_hat)
    candidates = np.arange(n)
    if np.linalg.norm(b_fit - b) <= 1e-10 * float(np.linalg.norm(b)):
        b_hat = b
    else:
        b_hat = b_fit
        if nonnegative:
            g = model.rmatvec(b_fit - b)
            candidates = np.flatnonzero((x_hat > 0) | (g <= 1e-8 * model.atb_norm))
    unique = None
    if candidates.size <= A.shape[0]:
        cols = A[:, candidates] if not sp.issparse(A) else sp.csc_array(A)[:, candidates].toarray()
        if np.linalg.matrix_rank(cols) == candidates.size:
            unique = np.zeros(n)
            unique[candidates] = x_hat[candidates]
    return b_hat, candidates, unique


def _least_squares(A, b):
    """A least-squares solution of ``A x = b`` (minimum norm for dense A)."""
    if sp.issparse(A):
        return lsmr(A, b, atol=1e-14, btol=1e-14, maxiter=20 * min(A.shape))[0]
    return np.linalg.lstsq(A, b, rcond=None)[0]
