"""Hadamard difference: signed x = u**L - v**L (signed sparse recovery)."""

import autograd.numpy as anp
import numpy as np

from .base import Map, _diagonal_estimate, _power_derivatives, check_power

__all__ = ["HadamardDifference"]


class HadamardDifference(Map):
    r"""Signed vectors as a difference of two Hadamard powers.

    .. math::

        x = |u|^{\odot L} - |v|^{\odot L},

    with latent variable ``(u, v)`` stacked along a new first axis. From the identical
    small initialization ``u0 = v0 = scale * 1`` gradient descent is biased to sparse
    (minimum-l1) signed solutions.

    Parameters
    ----------
    shape : tuple of int
        Shape of x; the latent shape is ``(2, *shape)``.
    power : float, default 2
        The exponent L >= 2.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.maps import HadamardDifference
    >>> m = HadamardDifference((2,))
    >>> m.forward(np.array([[1.0, 0.0], [0.0, 2.0]]))
    array([ 1., -4.])
    """

    source = "real"
    target = "signed"

    def __init__(self, shape, power=2):
        super().__init__(shape)
        self.power = check_power(power)
        self._even = float(self.power).is_integer() and int(self.power) % 2 == 0

    @property
    def latent_shape(self):
        return (2,) + self.shape

    def _pow(self, u):
        if self._even:
            return u ** int(self.power)
        return anp.abs(u) ** self.power

    def forward(self, u):
        return self._pow(u[0]) - self._pow(u[1])

    def inverse(self, x):
        x = np.asarray(x, dtype=float)
        return np.stack([np.maximum(x, 0.0), np.maximum(-x, 0.0)]) ** (1.0 / self.power)

    def pullback(self, u, grad_x):
        u = np.asarray(u, dtype=float)
        if self._even:
            d = self.power * u ** (int(self.power) - 1)
        else:
            d = self.power * np.abs(u) ** (self.power - 1) * np.sign(u)
        return np.stack([d[0] * grad_x, -d[1] * grad_x])

    def latent_diagonal(self, u, grad_x, curvature):
        """``phi'(u_j)^2 c + |phi''(u_j) g|`` for both halves (x = phi(u_0) - phi(u_1),
        entrywise in each)."""
        return _diagonal_estimate(*_power_derivatives(u, self.power), grad_x, curvature)

    def __repr__(self):
        return f"HadamardDifference(shape={self.shape}, power={self.power:g})"
