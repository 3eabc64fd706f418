"""Limited-memory BFGS on the latent variables, built on scipy.optimize's pieces."""

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._utils.validation import check_scalar
from .base import Engine, State

__all__ = ["LBFGS", "LBFGSState"]


@dataclass(frozen=True)
class LBFGSState(State):
    """State of :class:`LBFGS`: the last ``memory`` pairs ``(s, y)`` of steps and
    gradient changes (newest last)."""

    takes_columns = False

    pairs: Any = ()


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


def _direction(pairs, g):
    """``-H g`` with H the L-BFGS inverse Hessian of `pairs` (oldest first), by the
    two-loop recursion, its initial matrix ``gamma I`` with ``gamma = s.y / y.y`` of the
    newest pair (Nocedal and Wright, Algorithm 7.4). Written out rather than through
    :class:`scipy.optimize.LbfgsInvHessProduct`, which needs the pairs stacked (a copy
    of ``2 m n`` numbers each iteration) and has no initial scaling."""
    q = np.array(g, dtype=float)
    rhos = [1.0 / float(s @ y) for s, y in pairs]
    alphas = []
    for (s, y), rho in zip(reversed(pairs), reversed(rhos)):
        a = rho * float(s @ q)
        q -= a * y
        alphas.append(a)
    s, y = pairs[-1]
    q *= float(s @ y) / float(y @ y)
    for (s, y), rho, a in zip(pairs, rhos, reversed(alphas)):
        q += (a - rho * float(y @ q)) * s
    return -q


@dataclass(frozen=True)
class LBFGS(Engine):
    r"""L-BFGS on the latent problem ``min_u F(u) = f(phi(u))``.

    The direction is the limited-memory inverse-Hessian product over the last `memory`
    pairs (the two-loop recursion, with the usual scaling ``s.y / y.y`` of the initial
    matrix), the step the strong-Wolfe line search of :func:`scipy.optimize.line_search`.
    Near the minimum, where changes of F fall below its rounding and the line search
    cannot decide, the full step is taken
    when F does not rise beyond that rounding; otherwise the memory is dropped and a
    backtracking steepest-descent step is taken. Needs a scalar objective (no batch).

    Parameters
    ----------
    memory : int, default 10
        Number of ``(s, y)`` pairs kept.
    c1, c2 : float, default 1e-4 and 0.9
        Wolfe constants.

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

    def __post_init__(self):
        check_scalar(self.memory, "memory", lower=1, integer=True)
        check_scalar(self.c1, "c1", lower=0, upper=1, lower_inclusive=False, upper_inclusive=False)
        check_scalar(self.c2, "c2", lower=self.c1, upper=1, lower_inclusive=False,
                     upper_inclusive=False)

    def init_state(self, problem, u0):
        state = super().init_state(problem, u0)
        if np.ndim(state.fun) != 0:
            from ..exceptions import InvalidArgumentError

            raise InvalidArgumentError("the L-BFGS engine needs a scalar objective; got a "
                                       "batch of columns (use 'gd' or 'accelerated')")
        return LBFGSState(u=state.u, fun=state.fun, grad=state.grad, nfev=state.nfev)

    def step(self, problem, state):
        from scipy.optimize import line_search  # lazy: keeps `import reparamopt` light
        from scipy.optimize._linesearch import LineSearchWarning

        shape = state.u.shape
        u, g, f = state.u.ravel(), state.grad.ravel(), float(state.fun)
        cached = _Cached(problem, shape)
        pairs = state.pairs
        gnorm = max(float(np.linalg.norm(g)), np.finfo(float).tiny)
        direction = _direction(pairs, g) if pairs else -g / gnorm * min(1.0, 1.0 / gnorm)
        if not float(direction @ g) < 0:
            pairs, direction = (), -g / gnorm * min(1.0, 1.0 / gnorm)
        slack = 16 * np.finfo(float).eps * abs(f)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", LineSearchWarning)
            alpha = line_search(lambda v: cached(v)[0], lambda v: cached(v)[1], u, direction,
                                gfk=g, old_fval=f, c1=self.c1, c2=self.c2, maxiter=20)[0]
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
                return state.replace(k=state.k + 1, nfev=state.nfev + cached.nfev, pairs=())
        u_new = u + alpha * direction
        f_new, g_new = cached(u_new)
        if not (np.isfinite(f_new) and f_new <= f + slack):
            return state.replace(k=state.k + 1, nfev=state.nfev + cached.nfev, pairs=())
        s, y = u_new - u, g_new - g
        if float(s @ y) > 1e-12 * float(np.linalg.norm(s) * np.linalg.norm(y)):
            pairs = (tuple(pairs) + ((s, y),))[-self.memory:]
        return state.replace(u=cached.point(u_new), fun=f_new, grad=g_new.reshape(shape),
                             k=state.k + 1, nfev=state.nfev + cached.nfev, pairs=pairs)
