"""What the NMF solvers need to know about a factor's constraint set: whether it acts
entry by entry, column (component) by column, is the non-negative orthant, is a cone;
its entrywise bounds and the projection of one column."""

from typing import NamedTuple

import numpy as np

from ...maps.sets import (
    BoxSet,
    LowerBoundSet,
    NonNegativeSet,
    RealSet,
    SimplexSet,
    SphereSet,
    UpperBoundSet,
)

__all__ = ["SetKind", "set_kind", "is_entrywise", "is_columnwise", "is_nonnegative", "is_cone",
           "entry_bounds", "column_projector", "nonnegative_part", "feasible"]

_ENTRYWISE = (RealSet, NonNegativeSet, LowerBoundSet, UpperBoundSet, BoxSet)


def is_entrywise(cmap):
    """Whether the map's set constrains each entry on its own (projection = clipping)."""
    return isinstance(getattr(cmap, "target_set", None), _ENTRYWISE)


def is_columnwise(cmap):
    """Whether the set constrains each column (component) independently of the others."""
    target = getattr(cmap, "target_set", None)
    if isinstance(target, _ENTRYWISE):
        return True
    return isinstance(target, (SimplexSet, SphereSet)) and target.axis == 0


def is_nonnegative(cmap):
    """Whether the set is the non-negative orthant itself."""
    return type(getattr(cmap, "target_set", None)) is NonNegativeSet


def is_cone(cmap):
    """Whether the set is a cone (``c * x`` stays inside for ``c > 0``), so that the factor
    can carry any scale: the non-negative orthant and the whole space."""
    return type(getattr(cmap, "target_set", None)) in (NonNegativeSet, RealSet)


class SetKind(NamedTuple):
    """The properties of a factor's set that decide which solver and finish apply."""

    entrywise: bool
    columnwise: bool
    nonnegative: bool
    cone: bool


def set_kind(cmap):
    """The :class:`SetKind` of the map `cmap`'s set.

    Examples
    --------
    >>> from reparamopt.maps.registry import resolve
    >>> from reparamopt.solvers.nmf.factor_sets import set_kind
    >>> set_kind(resolve("nonnegative", (5, 2)))
    SetKind(entrywise=True, columnwise=True, nonnegative=True, cone=True)
    >>> set_kind(resolve("column-simplex-matrix", (5, 2))).entrywise
    False
    """
    return SetKind(entrywise=is_entrywise(cmap), columnwise=is_columnwise(cmap),
                   nonnegative=is_nonnegative(cmap), cone=is_cone(cmap))


def entry_bounds(cmap, shape):
    """The entrywise bounds ``(lower, upper)`` of an entrywise set, broadcast to `shape`."""
    target = cmap.target_set
    lower = 0.0 if isinstance(target, NonNegativeSet) else getattr(target, "lower", -np.inf)
    upper = getattr(target, "upper", np.inf)
    return np.broadcast_to(lower, shape), np.broadcast_to(upper, shape)


def nonnegative_part(c, j):
    """The nearest point to ``c`` in the non-negative orthant (the projector of every
    column of a non-negative factor; the sweeps recognize it and project in place)."""
    return np.maximum(c, 0.0)


def column_projector(cmap):
    """``project(c, j)``: the nearest point to ``c`` in the set of column j
    (:func:`nonnegative_part` for the non-negative orthant)."""
    target = cmap.target_set
    if isinstance(target, NonNegativeSet):
        return nonnegative_part
    if isinstance(target, RealSet):
        return lambda c, j: c
    scratch = np.zeros(target.shape)

    def project(c, j):
        scratch[:, j] = c
        return target.project(scratch)[:, j]

    return project


def feasible(cmap, x):
    """`x` itself when it lies in the set of `cmap`, else its projection."""
    return x if cmap.contains(x) else cmap.project(x)
