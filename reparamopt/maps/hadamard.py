"""Hadamard power: the non-negative orthant as the image of x = u**L."""

import autograd.numpy as anp
import numpy as np

from .._utils.arrays import as_float, namespace_of
from .base import Map, _power_derivatives, check_power

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
    >>> import numpy as np
    >>> from reparamopt.maps import HadamardPower
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
        return namespace_of(u, default=anp).abs(u) ** self.power

    def inverse(self, x):
        xp = namespace_of(x)
        return xp.maximum(as_float(x, xp), 0.0) ** (1.0 / self.power)

    def pullback(self, u, grad_x):
        xp = namespace_of(u, grad_x)
        u = as_float(u, xp)
        if self._even:
            return self.power * u ** (int(self.power) - 1) * grad_x
        return self.power * xp.abs(u) ** (self.power - 1) * xp.sign(u) * grad_x

    def derivatives(self, u):
        """``(L |u|^(L-1) sign(u), L (L-1) |u|^(L-2))``."""
        return _power_derivatives(u, self.power)

    def latent_lipschitz(self, u, grad_x, lipschitz):
        r"""``L^2 lambda max |u|^{2L-2} + L (L-1) max |u|^{L-2} |g|`` per column: the
        Hessian of ``F(u) = f(|u|^L)`` is ``L^2 diag(|u|^{L-1}) H diag(|u|^{L-1}) +
        L (L-1) diag(|u|^{L-2} g)`` with ``||H|| <= lambda``."""
        L = self.power
        xp = namespace_of(u, grad_x)
        if L == 2:  # the common case, without powers
            return 4.0 * lipschitz * _colmax(u * u, xp) + 2.0 * _colmax(xp.abs(grad_x), xp)
        au = xp.abs(u)
        return (L * L * lipschitz * _colmax(au ** (2 * L - 2), xp)
                + L * (L - 1) * _colmax(au ** (L - 2) * xp.abs(grad_x), xp))

    def metric(self, x):
        """``L^2 x^(2 - 2/L)``: the flow ``u' = -grad F(u)`` moves x as
        ``x' = -L^2 x^(2-2/L) grad f(x)``."""
        L = self.power
        return L * L * np.asarray(x, dtype=float) ** (2.0 - 2.0 / L)

    def mirror(self, x):
        """``log x`` for power 2 (the entropy, Shahshahani metric ``1 / (4 x)``)."""
        self._entropic()
        return np.log(np.maximum(x, np.finfo(float).tiny))

    def mirror_inverse(self, z):
        self._entropic()
        return np.exp(z)

    def _entropic(self):
        if self.power != 2:
            raise NotImplementedError(f"the entropic mirror map needs power 2; got {self.power:g}")

    def __repr__(self):
        return f"HadamardPower(shape={self.shape}, power={self.power:g})"


def _colmax(v, xp=np):
    """Largest entry of each column (of a batch), or of the vector."""
    if xp is np:
        return v.max(axis=0) if v.size else np.zeros(v.shape[1:])
    return xp.max(v, axis=0) if v.shape[0] else xp.zeros(v.shape[1:], dtype=v.dtype)
