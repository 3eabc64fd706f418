"""Constraint specifications: what a user writes to declare a variable's set."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._utils.validation import as_float_array

if TYPE_CHECKING:
    from .._utils.typing import Any, Optional, Shape

__all__ = ["Constraint", "Real", "NonNegative", "Signed", "Box", "LowerBound", "UpperBound",
           "Simplex", "Sphere"]


class Constraint:
    """A named registry set with a shape and parameters, resolved to a map on use.

    Parameters
    ----------
    name : str
        A set registered in the registry graph (``"nonnegative"``, ``"simplex"``...).
    shape : int or tuple of int, optional
        Shape of the variable.
    **params
        Parameters of the set and of the maps reaching it.

    Examples
    --------
    >>> from reparamopt import Constraint
    >>> Constraint("simplex", shape=4, total=2.0).resolve().path
    ['real', 'nonnegative', 'simplex']
    """

    name = None

    def __init__(self, name: str, shape: Optional[Shape] = None, **params: Any) -> None:
        self.name = name
        self.shape = shape
        self.params = params

    def resolve(self, registry: Any = None, shape: Optional[Shape] = None) -> Any:
        """The :class:`~reparamopt.maps.ComposedMap` serving this constraint."""
        from ..maps.registry import default_registry
        return (registry or default_registry).resolve(self, shape)

    def __repr__(self):
        items = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}(shape={self.shape!r}{items})"


class Real(Constraint):
    """No constraint: ``x = u``.

    Examples
    --------
    >>> from reparamopt import Real
    >>> Real(3).resolve().path
    ['real']
    """

    def __init__(self, shape: Optional[Shape] = None) -> None:
        super().__init__("real", shape)


class NonNegative(Constraint):
    """``x >= 0`` through ``x = u**power``.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt import NonNegative
    >>> m = NonNegative(2, power=3).resolve()
    >>> m.forward(np.array([2.0, -1.0]))
    array([8., 1.])
    """

    def __init__(self, shape: Optional[Shape] = None, power: float = 2) -> None:
        super().__init__("nonnegative", shape, power=power)


class Signed(Constraint):
    """Signed x through ``x = u**power - v**power`` (sparse bias from small init).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt import Signed
    >>> m = Signed(2).resolve()
    >>> m.latent_shape
    (2, 2)
    >>> m.forward(np.array([[1.0, 0.0], [0.0, 3.0]]))
    array([ 1., -9.])
    """

    def __init__(self, shape: Optional[Shape] = None, power: float = 2) -> None:
        super().__init__("signed", shape, power=power)


def _bounds_shape(shape, *bounds):
    if shape is not None:
        return shape
    return np.broadcast(*[as_float_array(b, "bound", finite=False) for b in bounds]).shape or None


class Box(Constraint):
    """``lower <= x <= upper`` through ``x = lower + (upper - lower) sin^2(u)``.

    The shape defaults to the broadcast shape of the bounds.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt import Box
    >>> m = Box([0.0, -1.0], [1.0, 1.0]).resolve()
    >>> np.round(m.forward(m.init()), 12) + 0.0  # the box centre
    array([0.5, 0. ])
    """

    def __init__(self, lower: Any = 0.0, upper: Any = 1.0, shape: Optional[Shape] = None) -> None:
        super().__init__("box", _bounds_shape(shape, lower, upper), lower=lower, upper=upper)


class LowerBound(Constraint):
    """``x >= lower`` through ``x = lower + u**power``.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt import LowerBound
    >>> LowerBound(1.0, shape=2).resolve().forward(np.array([0.0, 2.0]))
    array([1., 5.])
    """

    def __init__(self, lower: Any = 0.0, shape: Optional[Shape] = None, power: float = 2) -> None:
        super().__init__("lower", _bounds_shape(shape, lower), lower=lower, power=power)


class UpperBound(Constraint):
    """``x <= upper`` through ``x = upper - u**power``.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt import UpperBound
    >>> UpperBound(1.0, shape=2).resolve().forward(np.array([0.0, 2.0]))
    array([ 1., -3.])
    """

    def __init__(self, upper: Any = 0.0, shape: Optional[Shape] = None, power: float = 2) -> None:
        super().__init__("upper", _bounds_shape(shape, upper), upper=upper, power=power)


class Simplex(Constraint):
    """``x >= 0, sum(x) = total`` (per slice along `axis` if given).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt import Simplex
    >>> m = Simplex(3, total=2.0).resolve()
    >>> m.forward(np.array([1.0, 1.0, 2.0]))
    array([0.33333333, 0.33333333, 1.33333333])
    """

    def __init__(self, shape: Optional[Shape] = None, total: float = 1.0,
                 axis: Optional[int] = None, power: float = 2) -> None:
        super().__init__("simplex", shape, total=total, axis=axis, power=power)


class Sphere(Constraint):
    """``||x||_2 = radius`` (per slice along `axis` if given).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt import Sphere
    >>> Sphere(2, radius=5.0).resolve().forward(np.array([3.0, 4.0]))
    array([3., 4.])
    """

    def __init__(self, shape: Optional[Shape] = None, radius: float = 1.0,
                 axis: Optional[int] = None) -> None:
        super().__init__("sphere", shape, radius=radius, axis=axis)
