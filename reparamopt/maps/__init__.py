"""Constraint maps x = phi(u) and the constraint sets they reach."""

from .base import ComposedMap, IdentityMap, Map
from .box import SineBox
from .difference import HadamardDifference
from .hadamard import HadamardPower
from .normalize import NormalizeToSimplex, NormalizeToSphere
from .sets import (
    BoxSet,
    ConstraintSet,
    LowerBoundSet,
    NonNegativeSet,
    RealSet,
    SimplexSet,
    SphereSet,
    UpperBoundSet,
    project_simplex,
)
from .shift import ShiftLower, ShiftUpper
from .square import SquareToSimplex

__all__ = [
    "Map", "IdentityMap", "ComposedMap", "HadamardPower", "HadamardDifference", "SineBox",
    "ShiftLower", "ShiftUpper", "NormalizeToSimplex", "NormalizeToSphere", "SquareToSimplex",
    "ConstraintSet", "RealSet", "NonNegativeSet", "LowerBoundSet", "UpperBoundSet", "BoxSet",
    "SimplexSet", "SphereSet", "project_simplex",
]
