"""Exceptions raised by reparamopt.

Every error raised at the public boundary names the offending argument and shows the
value received, so that a user can fix the call without reading the source.
"""

__all__ = [
    "ReparamoptError",
    "InvalidArgumentError",
    "ShapeError",
    "NonFiniteError",
    "InfeasibleError",
    "InvalidTypeError",
    "UnknownNameError",
]


class ReparamoptError(Exception):
    """Base class of every error raised by reparamopt."""


class InvalidArgumentError(ReparamoptError, ValueError):
    """An argument has a value outside its valid range."""


class ShapeError(InvalidArgumentError):
    """Array arguments have the wrong number of dimensions or mismatched shapes."""


class NonFiniteError(InvalidArgumentError):
    """An array argument contains NaN or infinite values."""


class InfeasibleError(InvalidArgumentError):
    """A starting point lies outside the constraint set."""


class InvalidTypeError(ReparamoptError, TypeError):
    """An argument has the wrong type (complex data, non-scalar objective, ...)."""


class UnknownNameError(InvalidArgumentError, KeyError):
    """A name looked up in a registry is unknown; the message lists the valid names."""

    def __str__(self):  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""
