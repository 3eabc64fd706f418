"""Half-bounded variables from the non-negative orthant by a shift."""

import numpy as np

from .base import Map, _linear_derivatives
from .sets import LowerBoundSet, UpperBoundSet

__all__ = ["ShiftLower", "ShiftUpper"]


class ShiftLower(Map):
    """``x = lower + y`` maps y >= 0 onto x >= lower.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.maps import ShiftLower
    >>> ShiftLower((2,), lower=1.5).forward(np.array([0.0, 2.0]))
    array([1.5, 3.5])
    """

    source = "nonnegative"
    target = "lower"

    def __init__(self, shape, lower=0.0):
        super().__init__(shape)
        self.lower = LowerBoundSet(shape, lower).lower

    def forward(self, y):
        return self.lower + y

    def inverse(self, x):
        return np.asarray(x, dtype=float) - self.lower

    def pullback(self, y, grad_x):
        return np.asarray(grad_x, dtype=float)

    def derivatives(self, y):
        return _linear_derivatives(y, 1.0)


class ShiftUpper(Map):
    """``x = upper - y`` maps y >= 0 onto x <= upper.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.maps import ShiftUpper
    >>> ShiftUpper((2,), upper=1.0).forward(np.array([0.0, 2.0]))
    array([ 1., -1.])
    """

    source = "nonnegative"
    target = "upper"

    def __init__(self, shape, upper=0.0):
        super().__init__(shape)
        self.upper = UpperBoundSet(shape, upper).upper

    def forward(self, y):
        return self.upper - y

    def inverse(self, x):
        return self.upper - np.asarray(x, dtype=float)

    def pullback(self, y, grad_x):
        return -np.asarray(grad_x, dtype=float)

    def derivatives(self, y):
        return _linear_derivatives(y, -1.0)
