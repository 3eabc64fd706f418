"""The top layer: what a user declares. Constraint specifications and problems.

A :class:`~reparamopt.declare.problem.Problem` names its variables and their sets; the
registry graph of :mod:`reparamopt.maps` resolves each set to a map, and the problem
becomes the latent objective the engines iterate on.
"""

from .constraints import (
           Box,
           Constraint,
           LowerBound,
           NonNegative,
           Real,
           Signed,
           Simplex,
           Sphere,
           UpperBound,
)
from .objectives import LeastSquares
from .problem import Problem

__all__ = ["Problem", "LeastSquares", "Constraint", "Real", "NonNegative", "Signed", "Box", "LowerBound",
           "UpperBound", "Simplex", "Sphere"]
