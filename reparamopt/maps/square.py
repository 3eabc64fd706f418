"""The entrywise square from the sphere onto the simplex."""

import numpy as np

from .base import Map
from .sets import SimplexSet

__all__ = ["SquareToSimplex"]


class SquareToSimplex(Map):
    r"""``x = total * y * y`` maps the unit sphere onto the simplex of sum `total`.

    .. math::

        x = t \, y \odot y, \qquad \|y\|_2 = 1.

    Parameters
    ----------
    shape : tuple of int
        Shape of x.
    total : float, default 1
        The simplex sum.
    axis : int or None, default None
        Slice-wise version, matching a sphere with the same `axis`.

    Examples
    --------
    >>> SquareToSimplex((2,)).forward(np.array([0.6, -0.8]))
    array([0.36, 0.64])
    """

    source = "sphere"
    target = "simplex"

    def __init__(self, shape, total=1.0, axis=None):
        super().__init__(shape)
        simplex = SimplexSet(shape, total, axis)
        self.total, self.axis = simplex.total, simplex.axis

    def forward(self, y):
        return self.total * y * y

    def inverse(self, x):
        return np.sqrt(np.maximum(np.asarray(x, dtype=float), 0.0) / self.total)

    def pullback(self, y, grad_x):
        return 2.0 * self.total * np.asarray(y, dtype=float) * grad_x
