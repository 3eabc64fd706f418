"""Limited-memory BFGS on the latent variables, built on scipy.optimize's pieces."""

import functools
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .._utils.validation import check_scalar
from .base import Engine, State, fail, probe

__all__ = ["LBFGS", "LBFGSState"]


@dataclass(frozen=True)
class LBFGSState(State):
    """State of :class:`LBFGS`: the last ``memory`` pairs ``(s, y, 1 / s.y)`` of steps
    and gradient changes (newest last)."""

    takes_columns = False

    pairs: Any = ()
    #: the x-space point and gradient (flat) of the previous iterate, for the curvature
    #: of f behind the diagonal initial matrix
    previous_x: Any = None
    #: the last positive x-space curvature estimate ``y.y / s.y`` (None before one)
    curvature: Any = None


class _Cached:
    """``value_and_grad`` with the points already evaluated remembered: the Wolfe line
    search asks for the value and the gradient of a point separately (as two equal
    arrays: points are compared by value, O(n), not hashed)."""

    def __init__(self, problem, shape):
        self.problem, self.shape, self.seen, self.nfev = problem, shape, [], 0

    def _find(self, v):
        for entry in reversed(self.seen):
            if np.array_equal(entry[0], v):
                return entry
        point = v.reshape(self.shape)
        fun, grad = self.problem.value_and_grad(point)
        entry = (v, float(np.sum(fun)), np.ravel(np.asarray(grad, dtype=float)), point)
        self.seen.append(entry)
        self.nfev += 1
        return entry

    def __call__(self, v):
        return self._find(v)[1:3]

    def point(self, v):
        """The array `v` was evaluated as (the problem's cache knows it by identity)."""
        return self._find(v)[3]


def _direction(pairs, g, initial=None):
    """``-H g`` with H the L-BFGS inverse Hessian of `pairs` (``(s, y, 1 / s.y)``,
    oldest first), by the two-loop recursion (Nocedal and Wright, Algorithm 7.4), from
    the initial matrix ``diag(initial)`` or, when `initial` is None, ``gamma I`` with
    ``gamma = s.y / y.y`` of the newest pair. Written out rather than through
    :class:`scipy.optimize.LbfgsInvHessProduct`, which needs the pairs stacked (a copy
    of ``2 m n`` numbers each iteration) and has no initial matrix."""
    ddot, daxpy = _blas()
    q = np.array(g, dtype=float)
    alphas = []
    for s, y, rho in reversed(pairs):
        a = rho * ddot(s, q)
        q = daxpy(y, q, a=-a)  # in place: q is this function's own copy
        alphas.append(a)
    if initial is None:
        s, y, rho = pairs[-1]
        q *= 1.0 / (rho * ddot(y, y))
    else:
        q *= initial
    for (s, y, rho), a in zip(pairs, reversed(alphas)):
        q = daxpy(s, q, a=a - rho * ddot(y, q))
    return -q


@functools.lru_cache(maxsize=None)
def _blas():
    """BLAS ``ddot`` and ``daxpy`` (half the call overhead of numpy's for the short
    vectors of small problems), imported on first use."""
    from scipy.linalg import blas

    return blas.ddot, blas.daxpy


@functools.lru_cache(maxsize=None)
def _line_search():
    """scipy's strong-Wolfe line search and its warning, imported on first use (keeps
    `import reparamopt` light) and once: a ``from scipy.optimize import`` inside the
    step costs more than a small problem's evaluation."""
    from scipy.optimize import line_search
    from scipy.optimize._linesearch import LineSearchWarning

    return line_search, LineSearchWarning


_NON_FINITE_GRADIENT = ("The latent gradient has non-finite entries (NaN or inf): the "
                        "objective or a map is not differentiable at the point returned.")


def _flat(blocks, names):
    if len(names) == 1:
        return np.ravel(blocks[names[0]])
    return np.concatenate([np.ravel(blocks[n]) for n in names])


def _x_point(problem, u):
    """The x-space point and gradient at `u`, flat (the problem's cache knows `u`)."""
    _, _, x, gx = problem.evaluate(u)
    return _flat(x, problem.names), _flat(gx, problem.names)


def _x_curvature(x, gx, previous):
    """``y.y / s.y`` of the x-space pair from `previous` = (x, grad) to (x, gx), or None
    when the pair has no positive curvature or is lost in rounding."""
    s, y = x - previous[0], gx - previous[1]
    sy, yy = float(s.dot(y)), float(y.dot(y))
    if not (sy > 0 and yy > 1e-20 * float(gx.dot(gx))):
        return None
    value = yy / sy
    return value if np.isfinite(value) and value > 0 else None


def _diagonal(problem, u, gx, curvature, gamma):
    """The initial inverse-Hessian diagonal: the inverse of each map's
    ``latent_diagonal`` (``phi'(u)^2 c + |phi''(u) g|`` for entrywise maps, c the
    x-space curvature), ``gamma`` on the variables whose maps give none; None when no
    map gives one."""
    blocks = problem.split_latent(u)
    parts, entrywise = [], False
    for n in problem.names:
        try:
            diagonal = problem.maps[n].latent_diagonal(blocks[n], gx[n], curvature)
        except NotImplementedError:
            parts.append(np.full(blocks[n].size, 1.0 / gamma))
        else:
            entrywise = True
            parts.append(np.ravel(diagonal))
    if not entrywise:
        return None
    hessian = parts[0] if len(parts) == 1 else np.concatenate(parts)
    top = float(hessian.max()) if hessian.size else 0.0
    if not (np.isfinite(top) and top > 0):
        return None
    return 1.0 / np.maximum(hessian, 1e-12 * top)


def _has_diagonal(problem, u):
    """Whether some variable's map gives a diagonal estimate (``latent_diagonal``)."""
    blocks = problem.split_latent(u)
    for n in problem.names:
        try:
            problem.maps[n].latent_diagonal(blocks[n], np.zeros(problem.maps[n].shape), 1.0)
        except NotImplementedError:
            continue
        return True
    return False


@dataclass(frozen=True)
class LBFGS(Engine):
    r"""L-BFGS on the latent problem ``min_u F(u) = f(phi(u))``.

    The direction is the limited-memory inverse-Hessian product over the last `memory`
    pairs (the two-loop recursion), the step the strong-Wolfe line search of
    :func:`scipy.optimize.line_search`. Near the minimum, where changes of F fall below
    its rounding and the line search cannot decide, the full step is taken when F does
    not rise beyond that rounding; otherwise the memory is dropped and a backtracking
    steepest-descent step is taken. Needs a scalar objective (no batch).

    **The initial matrix knows the map.** For a variable whose map acts entry by entry
    (``x_i = phi(u_i)``: Hadamard powers, the sine box, shifts), the latent Hessian is
    ``J^T H J + diag(phi''(u) g)`` with ``J = diag(phi'(u))`` and ``g`` the x-space
    gradient. The recursion starts from the inverse of its diagonal estimate
    ``phi'(u)^2 c + |phi''(u) g|``, with ``c = y.y / s.y`` the curvature of f along the
    last x-space step. On a free entry this makes the step an x-space quasi-Newton step
    (the reparametrization's rescaling by ``phi'(u)`` undone); on an entry that goes to
    a bound, where ``phi'(u) -> 0``, it is a Newton step on ``g u^2`` that lands next
    to the bound instead of creeping to it (the slow, curvature-``g`` approach that
    the scalar ``s.y / y.y`` gives). The absolute value keeps the matrix positive
    where an entry leaves a bound (``phi'' g < 0``). The estimate is each map's
    :meth:`~reparamopt.maps.Map.latent_diagonal`, chained through compositions (the
    simplex's normalization contributes the square of its Jacobian's diagonal part);
    variables whose maps give none (the sphere) get the scalar ``s.y / y.y``. With
    ``diagonal=False`` every variable does.

    Parameters
    ----------
    memory : int, default 10
        Number of ``(s, y)`` pairs kept.
    c1, c2 : float, default 1e-4 and 0.9
        Wolfe constants.
    diagonal : bool, default True
        Start the recursion from the map's diagonal (above) where the maps allow it.
    curvature : float, optional
        The curvature of f at the start in x-space, for the first step's diagonal
        (:func:`~reparamopt.solve` passes the one its stopping measure has probed);
        when None, a probe step measures it (one to three evaluations).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.engines import LBFGS
    >>> import reparamopt as ro
    >>> c = np.array([1.0, -1.0])
    >>> problem = ro.Problem(value_and_grad=lambda x: (((x - c) ** 2).sum(), 2 * (x - c)),
    ...                      x=ro.NonNegative(2))
    >>> res = ro.solve(problem, engine=LBFGS(), tol=1e-10)
    >>> res.success, np.round(res.x, 6)
    (True, array([1., 0.]))
    """

    memory: int = 10
    c1: float = 1e-4
    c2: float = 0.9
    diagonal: bool = True
    curvature: Optional[float] = None

    #: every accepted step lowers F (the line search's sufficient decrease)
    monotone = True

    def __post_init__(self):
        check_scalar(self.memory, "memory", lower=1, integer=True)
        check_scalar(self.c1, "c1", lower=0, upper=1, lower_inclusive=False, upper_inclusive=False)
        check_scalar(self.c2, "c2", lower=self.c1, upper=1, lower_inclusive=False,
                     upper_inclusive=False)
        if not isinstance(self.diagonal, (bool, np.bool_)):
            from ..exceptions import InvalidTypeError

            raise InvalidTypeError(f"`diagonal` must be True or False; got {self.diagonal!r}")
        check_scalar(self.curvature, "curvature", lower=0, lower_inclusive=False, allow_none=True)

    def init_state(self, problem, u0):
        state = super().init_state(problem, u0)
        if np.ndim(state.fun) != 0:
            from ..exceptions import InvalidArgumentError

            raise InvalidArgumentError("the L-BFGS engine needs a scalar objective; got a "
                                       "batch of columns (use 'gd' or 'accelerated')")
        state = LBFGSState(u=state.u, fun=state.fun, grad=state.grad, nfev=state.nfev)
        if self.diagonal and _has_diagonal(problem, state.u):
            if self.curvature is not None and np.isfinite(self.curvature):
                return state.replace(previous_x=_x_point(problem, state.u),
                                     curvature=float(self.curvature))
            state = self._probe(problem, state)
        return state

    @staticmethod
    def _probe(problem, state):
        """The x-space curvature at the start, from a short latent gradient step that
        grows until the gradient change is above rounding (at most three evaluations)."""
        here = _x_point(problem, state.u)

        def curvature(point, h):
            with np.errstate(all="ignore"):
                there = _x_point(problem, point)
            return _x_curvature(here[0], here[1], there)

        value, nfev = probe(curvature, state.u, state.grad, tries=3)
        return state.replace(previous_x=here, curvature=value, nfev=state.nfev + nfev)

    def _initial(self, problem, state, pairs):
        """The diagonal initial matrix at `state` (None: the scalar scaling), and the
        state's x-space point and curvature after this iteration."""
        if not self.diagonal or state.previous_x is None:
            return None, None, None
        _, _, x, gx = problem.evaluate(state.u)
        here = (_flat(x, problem.names), _flat(gx, problem.names))
        curvature = state.curvature
        if state.k > 0:
            new = _x_curvature(here[0], here[1], state.previous_x)
            curvature = new or curvature
        if curvature is None:
            return None, here, None
        if pairs:
            _, y, rho = pairs[-1]
            gamma = 1.0 / (rho * float(y @ y))
        else:
            gamma = 1.0 / curvature
        return _diagonal(problem, state.u, gx, curvature, gamma), here, curvature

    @staticmethod
    def _failed(state, cached, memo):
        """No decrease found: the memory is dropped, and so is the curvature (a wrong
        one would repeat the same failed step); the next step is a scaled gradient step
        whose pair measures it again."""
        if memo:
            memo = {**memo, "curvature": None}
        return state.replace(k=state.k + 1, nfev=state.nfev + cached.nfev, pairs=(), **memo)

    def step(self, problem, state):
        line_search, LineSearchWarning = _line_search()
        shape = state.u.shape
        u, g, f = state.u.ravel(), state.grad.ravel(), float(state.fun)
        if not np.all(np.isfinite(g)):
            # no direction from it: the loop ends with status -1 at this point
            return fail(state, _NON_FINITE_GRADIENT)
        cached = _Cached(problem, shape)
        pairs = state.pairs
        gnorm = max(float(np.linalg.norm(g)), np.finfo(float).tiny)
        initial, here, curvature = self._initial(problem, state, pairs)
        memo = {"previous_x": here, "curvature": curvature} if here is not None else {}
        if pairs:
            direction = _direction(pairs, g, initial)
        elif initial is not None:
            direction = -initial * g
        else:
            direction = -g / gnorm * min(1.0, 1.0 / gnorm)
        if not float(direction @ g) < 0:
            pairs, direction = (), -g / gnorm * min(1.0, 1.0 / gnorm)
        slack = 16 * np.finfo(float).eps * abs(f)
        slope = float(direction @ g)
        with np.errstate(all="ignore"):
            f_one, g_one = cached(u + direction)
        if f_one <= f + self.c1 * slope and abs(float(g_one @ direction)) <= -self.c2 * slope:
            # the full step meets the strong Wolfe conditions: the line search's first
            # trial, accepted without its machinery (most iterations)
            alpha = 1.0
        else:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", LineSearchWarning)
                alpha = line_search(lambda v: cached(v)[0], lambda v: cached(v)[1], u,
                                    direction, gfk=g, old_fval=f, c1=self.c1, c2=self.c2,
                                    maxiter=20)[0]
        if alpha is None or not np.isfinite(alpha) or alpha <= 0:
            alpha = 1.0 if cached(u + direction)[0] <= f + slack else None
        if alpha is None:
            # steepest descent with backtracking, memory dropped
            pairs, direction, alpha = (), -g, 1.0 / gnorm
            for _ in range(40):
                if cached(u + alpha * direction)[0] <= f - 1e-4 * alpha * gnorm ** 2 + slack:
                    break
                alpha *= 0.5
            else:
                return self._failed(state, cached, memo)
        u_new = u + alpha * direction
        f_new, g_new = cached(u_new)
        if not (np.isfinite(f_new) and f_new <= f + slack):
            return self._failed(state, cached, memo)
        s, y = u_new - u, g_new - g
        sy = float(s.dot(y))
        if sy > 1e-12 * np.sqrt(float(s.dot(s)) * float(y.dot(y))):
            pairs = (tuple(pairs) + ((s, y, 1.0 / sy),))[-self.memory:]
        return state.replace(u=cached.point(u_new), fun=f_new, grad=g_new.reshape(shape),
                             k=state.k + 1, nfev=state.nfev + cached.nfev, pairs=pairs, **memo)
