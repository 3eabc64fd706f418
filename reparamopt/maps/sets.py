"""Constraint sets: the nodes of the registry graph.

A set knows its geometry in x-space: membership, the Euclidean projection, a first-order
optimality residual and how to sample a point. Maps (the edges) reach a set from another.
"""

import numpy as np

from .._utils.validation import as_float_array, check_scalar
from ..exceptions import InvalidArgumentError, ShapeError

__all__ = [
    "ConstraintSet",
    "RealSet",
    "NonNegativeSet",
    "LowerBoundSet",
    "UpperBoundSet",
    "BoxSet",
    "SimplexSet",
    "SphereSet",
    "project_simplex",
    "check_axis",
]


def check_axis(axis, shape):
    """Validate the `axis` parameter of axis-wise sets against `shape`."""
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise InvalidArgumentError(f"`axis` must be None or an int; got {axis!r}")
    ndim = len(shape)
    if not -ndim <= axis < ndim:
        raise InvalidArgumentError(f"`axis` must be in [{-ndim}, {ndim}) for shape {shape}; got {axis}")
    return int(axis) % ndim


def _check_not_empty(shape, axis, description):
    """Refuse a `shape` whose slices (along `axis`, or the whole array when None) have
    no entries: no point of R^0 lies in the set `description`, which is then empty."""
    length = int(np.prod(shape)) if axis is None else shape[axis]
    slices = int(np.prod([s for i, s in enumerate(shape) if i != axis])) if axis is not None else 1
    if length == 0 and slices > 0:
        where = "" if axis is None else f" along `axis` = {axis}"
        raise ShapeError(f"the set {description} is empty for a variable with no entries{where}: "
                         f"`shape` needs at least one entry there; got shape {tuple(shape)}")


def _bound(value, name, shape):
    arr = as_float_array(value, name, finite=False)
    if np.any(np.isnan(arr)):
        raise InvalidArgumentError(f"`{name}` must not contain NaN; got {value!r}")
    try:
        return np.broadcast_to(arr, shape).copy()
    except ValueError:
        raise ShapeError(f"`{name}` of shape {arr.shape} does not broadcast to the variable "
                         f"shape {shape}") from None


class ConstraintSet:
    """A closed set C in x-space (base class).

    Subclasses implement `project`; `optimality` defaults to the natural residual
    ``x - P_C(x - g)``, which vanishes exactly at first-order stationary points of
    ``min f`` over C (g = grad f(x)).
    """

    name = "set"

    def __init__(self, shape):
        self.shape = tuple(shape)

    @property
    def diameter(self):
        """The largest distance between two points of the set (inf when unbounded; a
        bound is enough): the x-scale of :func:`reparamopt.solve`'s stopping test.

        Examples
        --------
        >>> import numpy as np
        >>> from reparamopt.maps.sets import BoxSet, NonNegativeSet, SimplexSet
        >>> NonNegativeSet((3,)).diameter, BoxSet((4,), lower=0.0, upper=0.5).diameter
        (inf, 1.0)
        >>> round(SimplexSet((5,)).diameter, 6)  # between two vertices: sqrt(2)
        1.414214
        """
        return np.inf

    def project(self, x):
        raise NotImplementedError

    def contains(self, x, atol=1e-8):
        x = np.asarray(x, dtype=float)
        return x.shape == self.shape and bool(np.all(np.abs(self.project(x) - x) <= atol * (1 + np.abs(x))))

    def optimality(self, x, grad):
        x = np.asarray(x, dtype=float)
        return x - self.project(x - np.asarray(grad, dtype=float))

    def sample(self, rng):
        return self.project(rng.standard_normal(self.shape))

    def __repr__(self):
        return f"{type(self).__name__}(shape={self.shape})"


class RealSet(ConstraintSet):
    """All of R^shape (no constraint)."""

    name = "real"

    def project(self, x):
        return np.asarray(x, dtype=float)

    def optimality(self, x, grad):
        return np.asarray(grad, dtype=float)


class NonNegativeSet(ConstraintSet):
    """The non-negative orthant {x : x >= 0}.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.maps import NonNegativeSet
    >>> s = NonNegativeSet((2,))
    >>> s.optimality(np.array([0.0, 2.0]), np.array([3.0, 0.0]))  # x1 = 0 with g1 > 0: optimal
    array([0., 0.])
    """

    name = "nonnegative"

    def project(self, x):
        return np.maximum(x, 0.0)

    def sample(self, rng):
        x = np.abs(rng.standard_normal(self.shape))
        x[rng.random(self.shape) < 0.3] = 0.0
        return x


class LowerBoundSet(ConstraintSet):
    """{x : x >= lower} (entrywise)."""

    name = "lower"

    def __init__(self, shape, lower=0.0):
        super().__init__(shape)
        self.lower = _bound(lower, "lower", self.shape)
        if np.any(np.isinf(self.lower) & (self.lower > 0)):
            raise InvalidArgumentError(f"`lower` must be < inf; got {lower!r}")

    def project(self, x):
        return np.maximum(x, self.lower)

    def sample(self, rng):
        return self.lower + np.abs(rng.standard_normal(self.shape))


class UpperBoundSet(ConstraintSet):
    """{x : x <= upper} (entrywise)."""

    name = "upper"

    def __init__(self, shape, upper=0.0):
        super().__init__(shape)
        self.upper = _bound(upper, "upper", self.shape)
        if np.any(np.isinf(self.upper) & (self.upper < 0)):
            raise InvalidArgumentError(f"`upper` must be > -inf; got {upper!r}")

    def project(self, x):
        return np.minimum(x, self.upper)

    def sample(self, rng):
        return self.upper - np.abs(rng.standard_normal(self.shape))


class BoxSet(ConstraintSet):
    """The box {x : lower <= x <= upper} with finite bounds, lower < upper."""

    name = "box"

    def __init__(self, shape, lower=0.0, upper=1.0):
        super().__init__(shape)
        self.lower = _bound(lower, "lower", self.shape)
        self.upper = _bound(upper, "upper", self.shape)
        if not (np.all(np.isfinite(self.lower)) and np.all(np.isfinite(self.upper))):
            raise InvalidArgumentError(
                f"`lower` and `upper` of a box must be finite (use LowerBound/UpperBound for "
                f"half-bounded variables); got lower={lower!r}, upper={upper!r}")
        if np.any(self.lower >= self.upper):
            raise InvalidArgumentError(f"`lower` must be < `upper` entrywise; got lower={lower!r}, "
                                       f"upper={upper!r}")

    @property
    def diameter(self):
        return float(np.linalg.norm(np.broadcast_to(self.upper - self.lower, self.shape)))

    def project(self, x):
        return np.clip(x, self.lower, self.upper)

    def sample(self, rng):
        return self.lower + (self.upper - self.lower) * rng.random(self.shape)


def _slices(shape, axis):
    """The number of slices along `axis` (1 for the whole array)."""
    return 1 if axis is None else int(np.prod([s for i, s in enumerate(shape) if i != axis]))


# above this size a single vector is projected by pivots rather than a sort
_PIVOT_SIZE = 4096


def _michelot_threshold(v, total):
    """tau with ``sum(max(v - tau, 0)) = total`` (Michelot 1986): tau only grows, and
    the entries below it never come back."""
    while True:
        tau = (v.sum() - total) / v.size
        kept = v[v > tau]
        if kept.size == v.size or kept.size == 0:
            return tau
        v = kept


def project_simplex(y, total=1.0, axis=None):
    """Euclidean projection onto {x >= 0, sum(x) = total}, along `axis` (all entries if None).

    The threshold tau with ``sum(max(y - tau, 0)) = total`` comes from a sort, or, for
    one long vector, from Michelot's pivots (drop the entries below the mean excess
    until none is dropped: a few O(n) passes instead of an O(n log n) sort).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.maps import project_simplex
    >>> project_simplex(np.array([0.5, 2.0, -1.0]))
    array([0., 1., 0.])
    """
    y = np.asarray(y, dtype=float)
    if axis is None and y.size > _PIVOT_SIZE:
        return np.maximum(y - _michelot_threshold(y.ravel(), total), 0.0)
    if axis is None:
        flat = y.reshape(1, -1)
    else:
        flat = np.moveaxis(y, axis, -1).reshape(-1, y.shape[axis])
    s = -np.sort(-flat, axis=1)
    cumulative = np.cumsum(s, axis=1) - total
    index = np.arange(1, flat.shape[1] + 1)
    active = s - cumulative / index > 0
    rho = flat.shape[1] - 1 - np.argmax(active[:, ::-1], axis=1)
    tau = cumulative[np.arange(flat.shape[0]), rho] / (rho + 1)
    out = np.maximum(flat - tau[:, None], 0.0)
    if axis is None:
        return out.reshape(y.shape)
    moved = np.moveaxis(y, axis, -1).shape
    return np.moveaxis(out.reshape(moved), -1, axis)


class SimplexSet(ConstraintSet):
    """{x >= 0 : sum(x) = total}; with `axis`, every slice along `axis` on the simplex.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.maps import SimplexSet
    >>> s = SimplexSet((3,))
    >>> s.project(np.array([0.5, 2.0, -1.0])), s.contains(np.array([0.2, 0.3, 0.5]))
    (array([0., 1., 0.]), True)
    >>> s.optimality(np.array([0.0, 1.0, 0.0]), np.array([1.0, -1.0, 0.5]))  # a vertex, KKT holds
    array([0., 0., 0.])
    """

    name = "simplex"

    def __init__(self, shape, total=1.0, axis=None):
        super().__init__(shape)
        self.total = check_scalar(total, "total", lower=0.0, lower_inclusive=False)
        if not np.isfinite(self.total):
            raise InvalidArgumentError(f"`total` must be finite; got {total!r}")
        self.axis = check_axis(axis, self.shape)
        _check_not_empty(self.shape, self.axis, f"{{x >= 0 : sum(x) = {self.total:g}}}")

    @property
    def diameter(self):
        return float(self.total * np.sqrt(2 * _slices(self.shape, self.axis)))

    def project(self, x):
        return project_simplex(x, self.total, self.axis)

    def sample(self, rng):
        x = rng.exponential(size=self.shape)
        x[rng.random(self.shape) < 0.3] = 0.0
        # guarantee a positive entry in every slice before normalizing
        if self.axis is None:
            x.reshape(-1)[0] += 1.0
        else:
            index = [slice(None)] * x.ndim
            index[self.axis] = 0
            x[tuple(index)] += 1.0
        return self.total * x / x.sum(axis=self.axis, keepdims=self.axis is not None)


class SphereSet(ConstraintSet):
    """{x : ||x||_2 = radius}; with `axis`, every slice along `axis` on the sphere."""

    name = "sphere"

    def __init__(self, shape, radius=1.0, axis=None):
        super().__init__(shape)
        self.radius = check_scalar(radius, "radius", lower=0.0, lower_inclusive=False)
        self.axis = check_axis(axis, self.shape)
        _check_not_empty(self.shape, self.axis, f"{{x : ||x|| = {self.radius:g}}}")

    def _norm(self, x):
        return np.sqrt(np.sum(x * x, axis=self.axis, keepdims=self.axis is not None))

    @property
    def diameter(self):
        return float(2 * self.radius * np.sqrt(_slices(self.shape, self.axis)))

    def project(self, x):
        x = np.asarray(x, dtype=float)
        norm = self._norm(x)
        out = self.radius * x / np.where(norm == 0, 1.0, norm)
        if np.any(norm == 0):
            # every point of the sphere is nearest to 0: take the constant one (0 itself
            # is not on the sphere, and `contains` must say so)
            length = x.size if self.axis is None else self.shape[self.axis]
            out = np.where(norm == 0, self.radius / np.sqrt(max(length, 1)), out)
        return out

    def optimality(self, x, grad):
        # Riemannian gradient: the component of grad tangent to the sphere at x.
        x = np.asarray(x, dtype=float)
        grad = np.asarray(grad, dtype=float)
        inner = np.sum(x * grad, axis=self.axis, keepdims=self.axis is not None)
        return grad - inner * x / self.radius**2
