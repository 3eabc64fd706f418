"""Normalizations: the simplex from the orthant, the sphere from R^n."""

import autograd.numpy as anp
import numpy as np

from .base import Map
from .sets import SimplexSet, SphereSet

__all__ = ["NormalizeToSimplex", "NormalizeToSphere"]


def _sum(y, axis):
    return anp.sum(y, axis=axis, keepdims=axis is not None)


class NormalizeToSimplex(Map):
    r"""``x = total * y / sum(y)`` maps the non-negative orthant (minus 0) onto the simplex.

    .. math::

        x = t \, \frac{y}{\mathbf{1}^\top y}.

    Parameters
    ----------
    shape : tuple of int
        Shape of x.
    total : float, default 1
        The simplex sum t > 0.
    axis : int or None, default None
        Normalize every slice along `axis` (e.g. ``axis=0``: columns of a matrix on the
        simplex) instead of the whole array.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.maps import NormalizeToSimplex
    >>> NormalizeToSimplex((3,)).forward(np.array([1.0, 1.0, 2.0]))
    array([0.25, 0.25, 0.5 ])
    """

    source = "nonnegative"
    target = "simplex"

    def __init__(self, shape, total=1.0, axis=None):
        super().__init__(shape)
        simplex = SimplexSet(shape, total, axis)
        self.total, self.axis = simplex.total, simplex.axis

    def forward(self, y):
        return self.total * y / _sum(y, self.axis)

    def inverse(self, x):
        return np.array(x, dtype=float)

    def pullback(self, y, grad_x):
        y = np.asarray(y, dtype=float)
        s = _sum(y, self.axis)
        inner = np.sum(y * grad_x, axis=self.axis, keepdims=self.axis is not None)
        return self.total * (grad_x / s - inner / s**2)

    def latent_diagonal(self, y, grad_x, curvature):
        """``(total / sum(y))^2 c``: the diagonal of the Jacobian, ``total / sum(y)``,
        squared (its rank-one part, which keeps the sum, is left out)."""
        y = np.asarray(y, dtype=float)
        factor = (self.total / _sum(y, self.axis)) ** 2
        return np.broadcast_to(factor * curvature, y.shape).copy()


class NormalizeToSphere(Map):
    r"""``x = radius * u / ||u||`` maps R^n minus 0 onto the sphere.

    Parameters
    ----------
    shape : tuple of int
        Shape of x.
    radius : float, default 1
        The sphere's radius.
    axis : int or None, default None
        Normalize every slice along `axis` instead of the whole array.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.maps import NormalizeToSphere
    >>> NormalizeToSphere((2,)).forward(np.array([3.0, 4.0]))
    array([0.6, 0.8])
    """

    source = "real"
    target = "sphere"

    def __init__(self, shape, radius=1.0, axis=None):
        super().__init__(shape)
        sphere = SphereSet(shape, radius, axis)
        self.radius, self.axis = sphere.radius, sphere.axis

    def forward(self, u):
        return self.radius * u / anp.sqrt(_sum(u * u, self.axis))

    def inverse(self, x):
        return np.array(x, dtype=float) / self.radius

    def pullback(self, u, grad_x):
        u = np.asarray(u, dtype=float)
        norm = np.sqrt(_sum(u * u, self.axis))
        inner = np.sum(u * grad_x, axis=self.axis, keepdims=self.axis is not None)
        return self.radius * (grad_x / norm - u * inner / norm**3)
