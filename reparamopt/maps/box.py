"""Box constraints through the squared sine."""

import autograd.numpy as anp
import numpy as np

from .base import Map
from .sets import BoxSet

__all__ = ["SineBox"]


class SineBox(Map):
    r"""The box ``[lower, upper]`` as the image of the squared sine.

    .. math::

        x = l + (h - l) \sin^2(u).

    The default start ``u0 = pi/4`` is the box's centre.

    Parameters
    ----------
    shape : tuple of int
        Shape of x.
    lower, upper : float or array_like
        Finite bounds with ``lower < upper``, broadcast to `shape`.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.maps import SineBox
    >>> m = SineBox((2,), lower=-1.0, upper=3.0)
    >>> m.forward(np.array([0.0, np.pi / 2]))
    array([-1.,  3.])
    """

    source = "real"
    target = "box"
    default_scale = np.pi / 4

    def __init__(self, shape, lower=0.0, upper=1.0):
        super().__init__(shape)
        box = BoxSet(shape, lower, upper)
        self.lower, self.upper = box.lower, box.upper

    def forward(self, u):
        return self.lower + (self.upper - self.lower) * anp.sin(u) ** 2

    def inverse(self, x):
        ratio = (np.asarray(x, dtype=float) - self.lower) / (self.upper - self.lower)
        return np.arcsin(np.sqrt(np.clip(ratio, 0.0, 1.0)))

    def pullback(self, u, grad_x):
        return (self.upper - self.lower) * np.sin(2 * np.asarray(u, dtype=float)) * grad_x

    def derivatives(self, u):
        """``((h - l) sin 2u, 2 (h - l) cos 2u)``."""
        u = np.asarray(u, dtype=float)
        width = self.upper - self.lower
        return width * np.sin(2 * u), 2.0 * width * np.cos(2 * u)
