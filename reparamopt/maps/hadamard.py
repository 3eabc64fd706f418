"""Hadamard power: the non-negative orthant as the image of x = u**L."""

import autograd.numpy as anp
import numpy as np

from .base import Map, check_power

__all__ = ["HadamardPower"]


class HadamardPower(Map):
    r"""Entrywise power onto the non-negative orthant.

    .. math::

        x = |u|^{\odot L}, \qquad L \ge 2,

    written ``u**L`` for even integer L (smooth everywhere). Gradient descent on u is a
    Riemannian gradient descent on x for the metric ``1 / (L^2 x^{2-2/L})``; from the
    identical initialization ``u0 = scale * 1`` a small scale biases it to sparse,
    minimum-l1 solutions.

    Parameters
    ----------
    shape : tuple of int
        Shape of x.
    power : float, default 2
        The exponent L >= 2.

    Examples
    --------
    >>> m = HadamardPower((3,), power=2)
    >>> m.forward(np.array([1.0, -2.0, 0.5]))
    array([1.  , 4.  , 0.25])
    """

    source = "real"
    target = "nonnegative"

    def __init__(self, shape, power=2):
        super().__init__(shape)
        self.power = check_power(power)
        self._even = float(self.power).is_integer() and int(self.power) % 2 == 0

    def forward(self, u):
        if self._even:
            return u ** int(self.power)
        return anp.abs(u) ** self.power

    def inverse(self, x):
        return np.maximum(np.asarray(x, dtype=float), 0.0) ** (1.0 / self.power)

    def pullback(self, u, grad_x):
        u = np.asarray(u, dtype=float)
        if self._even:
            return self.power * u ** (int(self.power) - 1) * grad_x
        return self.power * np.abs(u) ** (self.power - 1) * np.sign(u) * grad_x

    def __repr__(self):
        return f"HadamardPower(shape={self.shape}, power={self.power:g})"
