r"""Objectives that :func:`reparamopt.solve` recognizes and hands to an exact solver.

:class:`LeastSquares` is the objective

.. math:: f(x) = \tfrac12 \|A x - b\|_2^2 + \tfrac{l_2}{2} \|x\|_2^2 + l_1 \|x\|_1 ;

a :class:`~reparamopt.declare.problem.Problem` with it and one vector variable under
``Real``, ``NonNegative``, ``Box``, ``LowerBound``, ``UpperBound`` or ``Simplex`` is
solved by :func:`reparamopt.lsq` (exact, certified) instead of the latent engines. With
other constraints it is an ordinary objective, evaluated by autograd.
"""

import autograd.numpy as anp
import numpy as np

from .._utils.validation import as_float_array, check_scalar, describe
from ..exceptions import InvalidTypeError, ShapeError

__all__ = ["LeastSquares"]


class LeastSquares:
    """The least-squares objective of `A` and `b` (with optional l1/l2 penalties), for a
    :class:`~reparamopt.declare.problem.Problem` of one variable.

    Parameters
    ----------
    A : ndarray, shape (m, n)
    b : array_like, shape (m,)
    l1, l2 : float, default 0
        Penalties ``l1 ||x||_1`` and ``l2 ||x||^2 / 2``.

    Examples
    --------
    >>> import numpy as np
    >>> import reparamopt as ro
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> problem = ro.Problem(ro.LeastSquares(A, [2.0, -1.0, 1.0]), x=ro.Simplex(2))
    >>> res = ro.solve(problem)
    >>> res.x, res.engine
    (array([1., 0.]), 'lsq')
    """

    def __init__(self, A, b, *, l1=0.0, l2=0.0):
        self.A = as_float_array(A, "A", ndim=2, allow_sparse=True, allow_operator=True)
        self.b = as_float_array(b, "b", ndim=1)
        if self.b.shape[0] != self.A.shape[0]:
            raise ShapeError(f"`b` must have as many rows as `A` ({self.A.shape[0]}); got "
                             f"shape {self.b.shape}")
        self.l1 = check_scalar(l1, "l1", lower=0)
        self.l2 = check_scalar(l2, "l2", lower=0)

    def __call__(self, **variables):
        (x,) = variables.values()
        if not isinstance(self.A, np.ndarray):
            raise InvalidTypeError("`A` must be a dense array for a LeastSquares objective "
                                   "that autograd differentiates (constraints that "
                                   f"reparamopt.lsq does not take); got {describe(self.A)}")
        r = anp.dot(self.A, x) - self.b
        return (0.5 * anp.sum(r * r) + 0.5 * self.l2 * anp.sum(x * x)
                + self.l1 * anp.sum(anp.abs(x)))

    def __repr__(self):
        return f"LeastSquares(A of shape {self.A.shape}, l1={self.l1:g}, l2={self.l2:g})"


def exact_arguments(problem):
    """The keyword arguments of :func:`reparamopt.lsq` for `problem`, or None when it is
    not a least-squares objective over constraints that lsq takes."""
    from . import constraints as c

    objective = problem.objective
    if not isinstance(objective, LeastSquares) or problem.batch or len(problem.names) != 1:
        return None
    spec = problem.constraints[problem.names[0]]
    n = objective.A.shape[1]
    shape = problem.maps[problem.names[0]].shape
    if tuple(np.atleast_1d(shape)) != (n,):
        return None
    kind = type(spec)
    params = getattr(spec, "params", {})
    if kind is c.Real:
        bounds, total = None, None
    elif kind is c.NonNegative:
        bounds, total = (0.0, np.inf), None
    elif kind is c.Box:
        bounds, total = (params["lower"], params["upper"]), None
    elif kind is c.LowerBound:
        bounds, total = (params["lower"], np.inf), None
    elif kind is c.UpperBound:
        bounds, total = (-np.inf, params["upper"]), None
    elif kind is c.Simplex and params.get("axis") is None:
        bounds, total = (0.0, np.inf), params["total"]
    else:
        return None
    return dict(A=objective.A, b=objective.b, bounds=bounds, sum_to=total, l1=objective.l1,
                l2=objective.l2)
