"""Constraint specifications: what a user writes to declare a variable's set."""

import numpy as np

from ._validation import as_float_array

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
    >>> Constraint("simplex", shape=4, total=2.0).resolve().path
    ['real', 'nonnegative', 'simplex']
    """

    name = None

    def __init__(self, name, shape=None, **params):
        self.name = name
        self.shape = shape
        self.params = params

    def resolve(self, registry=None, shape=None):
        """The :class:`~reparamopt.maps.ComposedMap` serving this constraint."""
        from .registry import default_registry
        return (registry or default_registry).resolve(self, shape)

    def __repr__(self):
        items = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}(shape={self.shape!r}{items})"


class Real(Constraint):
    """No constraint: ``x = u``."""

    def __init__(self, shape=None):
        super().__init__("real", shape)


class NonNegative(Constraint):
    """``x >= 0`` through ``x = u**power``."""

    def __init__(self, shape=None, power=2):
        super().__init__("nonnegative", shape, power=power)


class Signed(Constraint):
    """Signed x through ``x = u**power - v**power`` (sparse bias from small init)."""

    def __init__(self, shape=None, power=2):
        super().__init__("signed", shape, power=power)


def _bounds_shape(shape, *bounds):
    if shape is not None:
        return shape
    return np.broadcast(*[as_float_array(b, "bound", finite=False) for b in bounds]).shape or None


class Box(Constraint):
    """``lower <= x <= upper`` through ``x = lower + (upper - lower) sin^2(u)``."""

    def __init__(self, lower=0.0, upper=1.0, shape=None):
        super().__init__("box", _bounds_shape(shape, lower, upper), lower=lower, upper=upper)


class LowerBound(Constraint):
    """``x >= lower`` through ``x = lower + u**power``."""

    def __init__(self, lower=0.0, shape=None, power=2):
        super().__init__("lower", _bounds_shape(shape, lower), lower=lower, power=power)


class UpperBound(Constraint):
    """``x <= upper`` through ``x = upper - u**power``."""

    def __init__(self, upper=0.0, shape=None, power=2):
        super().__init__("upper", _bounds_shape(shape, upper), upper=upper, power=power)


class Simplex(Constraint):
    """``x >= 0, sum(x) = total`` (per slice along `axis` if given)."""

    def __init__(self, shape=None, total=1.0, axis=None, power=2):
        super().__init__("simplex", shape, total=total, axis=axis, power=power)


class Sphere(Constraint):
    """``||x||_2 = radius`` (per slice along `axis` if given)."""

    def __init__(self, shape=None, radius=1.0, axis=None):
        super().__init__("sphere", shape, radius=radius, axis=axis)
