"""The settings of one :func:`~reparamopt.lsq` call, validated once.

:class:`LSQSettings` holds the constraints (bounds, the sum), the penalties and the
stopping settings; every check of the public boundary lives here, each error naming the
argument and the value received. It is frozen: the route, the finish and the
certification read it and never change it.
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..._utils.validation import as_float_array, check_scalar, describe
from ...exceptions import InfeasibleError, InvalidArgumentError, InvalidTypeError, ShapeError

__all__ = ["LSQSettings", "check_bounds"]


def check_bounds(bounds, n):
    """``(lower, upper)``, float arrays of length `n`, from `bounds`: None, a pair of
    numbers or arrays, or an object with ``lb`` and ``ub`` (scipy's ``Bounds``).

    Examples
    --------
    >>> from reparamopt.flagships.lsq.settings import check_bounds
    >>> check_bounds((0, [1, 2]), 2)
    (array([0., 0.]), array([1., 2.]))
    """
    if bounds is None:
        return np.full(n, -np.inf), np.full(n, np.inf)
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        bounds = (bounds.lb, bounds.ub)
    if isinstance(bounds, np.ndarray) and bounds.ndim == 2 and bounds.shape[0] == 2:
        bounds = (bounds[0], bounds[1])
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise InvalidTypeError(f"`bounds` must be a pair (lower, upper) or a Bounds object; "
                               f"got {describe(bounds)}")
    pair = []
    for name, value in zip(("lower", "upper"), bounds):
        arr = as_float_array(value, f"bounds ({name})", finite=False)
        if np.any(np.isnan(arr)):
            raise InvalidArgumentError(f"`bounds` ({name}) must not contain NaN; got {value!r}")
        if arr.ndim > 1 or (arr.ndim == 1 and arr.size != n):
            raise ShapeError(f"`bounds` ({name}) must be a number or have shape ({n},); "
                             f"got shape {arr.shape}")
        pair.append(np.broadcast_to(arr, (n,)).astype(float))
    lower, upper = pair
    if np.any(lower > upper) or np.any(lower == np.inf) or np.any(upper == -np.inf):
        bad = int(np.flatnonzero((lower > upper) | (lower == np.inf) | (upper == -np.inf))[0])
        raise InvalidArgumentError(f"`bounds` must have lower <= upper, lower < inf and "
                                   f"upper > -inf; got lower[{bad}] = {lower[bad]!r}, "
                                   f"upper[{bad}] = {upper[bad]!r}")
    return lower, upper


@dataclass(frozen=True)
class LSQSettings:
    """Every setting of one :func:`~reparamopt.lsq` call (see its parameters), validated
    when the object is built.

    ``lower`` and ``upper`` are the bounds as arrays of length ``n``; ``sum_to`` is None or
    the value of ``sum(x)``, checked to be reachable within the bounds.

    Examples
    --------
    >>> from reparamopt.flagships.lsq.settings import LSQSettings
    >>> s = LSQSettings.build(3, bounds=(0, None), sum_to=1)
    >>> s.lower, s.upper, s.sum_to, s.max_iter
    (array([0., 0., 0.]), array([inf, inf, inf]), 1.0, 59)
    """

    lower: np.ndarray
    upper: np.ndarray
    sum_to: Optional[float] = None
    l1: float = 0.0
    l2: float = 0.0
    tol: float = 1e-10
    max_iter: Optional[int] = None

    @classmethod
    def build(cls, n, *, bounds=None, sum_to=None, l1=0.0, l2=0.0, tol=1e-10, max_iter=None):
        """The settings of a problem with `n` variables from the user's arguments."""
        if isinstance(bounds, (tuple, list)) and len(bounds) == 2:
            bounds = tuple(-np.inf if v is None and i == 0 else np.inf if v is None else v
                           for i, v in enumerate(bounds))
        lower, upper = check_bounds(bounds, n)
        l1 = check_scalar(l1, "l1", lower=0)
        l2 = check_scalar(l2, "l2", lower=0)
        tol = check_scalar(tol, "tol", lower=0)
        max_iter = 3 * n + 50 if max_iter is None else max_iter
        max_iter = check_scalar(max_iter, "max_iter", lower=0, integer=True)
        if sum_to is not None:
            sum_to = float(check_scalar(sum_to, "sum_to"))
            if not np.isfinite(sum_to):
                raise InvalidArgumentError(f"`sum_to` must be a finite number; got {sum_to!r}")
            low, high = float(np.sum(lower)), float(np.sum(upper))
            if not low <= sum_to <= high:
                raise InfeasibleError(f"`sum_to` must lie between the sums of the lower and "
                                      f"upper bounds ({low:g} and {high:g}); got {sum_to!r}")
        return cls(lower, upper, sum_to, float(l1), float(l2), float(tol), int(max_iter))

    def checked_x0(self, x0, b):
        """The warm start `x0` validated (shape, bounds, sum), 2-D, or None."""
        if x0 is None:
            return None
        n = self.lower.size
        x0 = as_float_array(x0, "x0", ndim=b.ndim)
        expected = (n,) + b.shape[1:]
        if x0.shape != expected:
            raise ShapeError(f"`x0` must have shape {expected}; got {x0.shape}")
        X0 = x0[:, None] if b.ndim == 1 else x0
        outside = (X0 < self.lower[:, None]) | (X0 > self.upper[:, None])
        if outside.any():
            i = int(np.flatnonzero(outside.any(axis=1))[0])
            raise InfeasibleError(f"`x0` must lie within `bounds`; got x0[{i}] = "
                                  f"{X0[i].tolist()!r} outside [{self.lower[i]}, {self.upper[i]}]")
        if self.sum_to is not None:
            sums = X0.sum(axis=0)
            gap = np.abs(sums - self.sum_to)
            if np.any(gap > 1e-9 * max(1.0, abs(self.sum_to))):
                raise InfeasibleError(f"`x0` must sum to `sum_to` = {self.sum_to!r}; got a "
                                      f"sum of {float(sums[np.argmax(gap)])!r}")
        return X0
