"""The entrywise square from the sphere onto the simplex."""

import numpy as np

from .base import Map
from .sets import SimplexSet, SphereSet

__all__ = ["SquareToSimplex"]


class SquareToSimplex(Map):
    r"""``x = total * (y / radius)**2`` maps the sphere onto the simplex of sum `total`.

    .. math::

        x = t \, \frac{y \odot y}{r^2}, \qquad \|y\|_2 = r.

    Parameters
    ----------
    shape : tuple of int
        Shape of x.
    total : float, default 1
        The simplex sum.
    radius : float, default 1
        Radius of the source sphere.
    axis : int or None, default None
        Slice-wise version, matching a sphere with the same `axis`.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.maps import SquareToSimplex
    >>> SquareToSimplex((2,)).forward(np.array([0.6, -0.8]))
    array([0.36, 0.64])
    """

    source = "sphere"
    target = "simplex"

    def __init__(self, shape, total=1.0, radius=1.0, axis=None):
        super().__init__(shape)
        simplex = SimplexSet(shape, total, axis)
        self.total, self.axis = simplex.total, simplex.axis
        self.radius = SphereSet(shape, radius, axis).radius
        self._scale = self.total / self.radius**2

    def forward(self, y):
        return self._scale * y * y

    def inverse(self, x):
        return np.sqrt(np.maximum(np.asarray(x, dtype=float), 0.0) / self._scale)

    def pullback(self, y, grad_x):
        return 2.0 * self._scale * np.asarray(y, dtype=float) * grad_x
