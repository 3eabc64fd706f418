"""Drop-in replacements with scipy's signatures and return values.

The one-line switch from scipy::

    from reparamopt.compat import nnls      # instead of: from scipy.optimize import nnls
    x, rnorm = nnls(A, b)
    from reparamopt.compat import lsq_linear    # instead of scipy.optimize's
    res = lsq_linear(A, b, bounds=(lb, ub))
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from ._lsq_linear import lsq_linear

if TYPE_CHECKING:
    from .._utils.typing import Any, ArrayLike, Matrix, Optional

__all__ = ["nnls", "lsq_linear"]


def nnls(A: Matrix, b: ArrayLike, *args: Any, maxiter: Optional[int] = None,
         atol: Optional[float] = None) -> tuple[np.ndarray, float]:
    """``scipy.optimize.nnls`` with reparamopt's solver: ``(x, rnorm)``.

    Parameters
    ----------
    A : (m, n) array_like
        Coefficient matrix.
    b : (m,) array_like
        Right-hand side; a column ``(m, 1)`` is accepted, other 2-D shapes are refused as
        scipy does.
    maxiter : int, optional
        scipy's iteration limit; None or 0 (the default): no limit but the solver's own
        (scipy's default is ``3 * n``). Passed by
        position (``nnls(A, b, 300)``) it is accepted with scipy's DeprecationWarning.
        It bounds the least-squares solves
        of the exact finish, and, as in Lawson-Hanson, where each iteration adds one
        index to the positive set, a solution with more than `maxiter` positive entries
        counts as not reached: RuntimeError, as scipy raises.
    atol : float, optional
        Deprecated in scipy and without effect there; accepted with the same
        DeprecationWarning.

    Returns
    -------
    x : (n,) ndarray
        Solution vector.
    rnorm : float
        ``||A x - b||_2``.

    Raises
    ------
    ValueError
        `b` two-dimensional and not a single column.
    RuntimeError
        `maxiter` reached before the solution was certified.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.compat import nnls
    >>> A = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> x, rnorm = nnls(A, np.array([2.0, 1.0, 1.0]))
    >>> np.round(x, 12), round(rnorm, 12)
    (array([1.5, 1. ]), 0.707106781187)
    """
    from ..flagships.nnls import nnls as _nnls

    maxiter, atol = _positional(args, maxiter, atol)
    if atol is not None:
        warnings.warn("{'atol'} is deprecated in scipy.optimize.nnls and has no effect",
                      DeprecationWarning, stacklevel=2)
    A = np.asarray(A)
    b = np.asarray(b)
    if b.ndim == 2:
        if b.shape[1] != 1:
            raise ValueError(f"Expected a 1D array (or a single column) for `b`; got shape {b.shape}")
        b = b[:, 0]
    if not maxiter:  # None or 0: scipy's default, which is no limit here: the solver's own
        res = _nnls(A, b)
        return np.asarray(res.x, dtype=float), float(res.rnorm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = _nnls(A, b, options={"max_solves": max(int(maxiter), 1)})
    if not res.success or np.count_nonzero(res.x) > maxiter:
        raise RuntimeError("Maximum number of iterations reached.")
    return np.asarray(res.x, dtype=float), float(res.rnorm)


def _positional(args, maxiter, atol):
    """``(maxiter, atol)`` with the ones given by position, as scipy still takes them
    (with its DeprecationWarning); more than two, or one given twice, is a TypeError."""
    if not args:
        return maxiter, atol
    names = ("maxiter", "atol")
    if len(args) > len(names):
        raise TypeError(f"nnls() takes at most 4 positional arguments; got {2 + len(args)}")
    given = dict(zip(names, args))
    for name in given:
        if (maxiter if name == "maxiter" else atol) is not None:
            raise TypeError(f"nnls() got multiple values for argument {name!r}")
    warnings.warn(f"You are passing as positional arguments: {', '.join(given)}. Please change "
                  "your invocation to use keyword arguments.", DeprecationWarning, stacklevel=3)
    return given.get("maxiter", maxiter), given.get("atol", atol)
