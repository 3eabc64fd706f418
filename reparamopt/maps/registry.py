"""The registry of constraint maps: a networkx graph whose nodes are sets, edges maps.

A constraint that no single map reaches is served by composing the maps along the
cheapest path from ``"real"`` (the unconstrained latent space), so registering one new
edge extends every composition that goes through it.

Sets and maps are held in plain dicts; the networkx graph is built from them when a path
is first asked for, so that ``import reparamopt`` does not import networkx.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import numpy as np

from .._utils.validation import check_scalar, describe
from ..exceptions import (
    InvalidArgumentError,
    InvalidTypeError,
    ShapeError,
    UnknownNameError,
)
from .base import ComposedMap, Map
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
)
from .shift import ShiftLower, ShiftUpper
from .square import SquareToSimplex

if TYPE_CHECKING:
    from .._utils.typing import Any, Callable, Optional, Shape

__all__ = [
    "Registry",
    "default_registry",
    "register_map",
    "register_set",
    "resolve",
    "graph",
    "path",
    "set_names",
]

ROOT = "real"


def _accepted(factory):
    """Keyword parameters a factory accepts besides `shape` (None: any)."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    params = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return {name for name in params if name not in ("self", "shape")}


def _pick(factory, params):
    accepted = _accepted(factory)
    if accepted is None:
        return dict(params)
    return {k: v for k, v in params.items() if k in accepted}


def as_shape(shape, name="shape"):
    """Normalize an int or a sequence of ints to a shape tuple."""
    if shape is None:
        raise ShapeError(f"`{name}` is required to build a constraint from a name; got None")
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise InvalidTypeError(f"`{name}` must be an int or a tuple of ints; got {describe(shape)}") from None
    if any(s < 0 for s in shape):
        raise ShapeError(f"`{name}` must have non-negative entries; got {shape}")
    return shape


class Registry:
    """A graph of constraint sets (nodes) and maps between them (edges).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.maps.registry import Registry
    >>> reg = Registry.default()
    >>> reg.path("simplex")
    ['real', 'nonnegative', 'simplex']
    >>> m = reg.resolve("simplex", shape=3)
    >>> m.forward(np.ones(3))
    array([0.33333333, 0.33333333, 0.33333333])
    """

    def __init__(self):
        self._nodes = {}  # name -> {"set_class", "description"}
        self._edges = {}  # (source, target) -> {"factory", "cost"}
        self._aliases = {}
        self._cached_graph = None
        self.register_set(ROOT, RealSet, description="unconstrained R^n (the latent space)")

    @classmethod
    def default(cls):
        """A new registry holding the sets and maps reparamopt ships."""
        reg = cls()
        reg.register_set("nonnegative", NonNegativeSet, description="x >= 0",
                         aliases={"nonnegative-matrix": {}, "nonneg": {}})
        reg.register_set("signed", RealSet, description="R^n reached by u**L - v**L (sparse bias)")
        reg.register_set("lower", LowerBoundSet, description="x >= lower")
        reg.register_set("upper", UpperBoundSet, description="x <= upper")
        reg.register_set("box", BoxSet, description="lower <= x <= upper")
        reg.register_set("simplex", SimplexSet, description="x >= 0, sum(x) = total",
                         aliases={"column-simplex-matrix": {"axis": 0}, "column-simplex": {"axis": 0},
                                  "row-simplex-matrix": {"axis": 1}, "row-simplex": {"axis": 1}})
        reg.register_set("sphere", SphereSet, description="||x||_2 = radius")
        reg.register_map("real", "nonnegative", HadamardPower)
        reg.register_map("real", "signed", HadamardDifference)
        reg.register_map("real", "box", SineBox)
        reg.register_map("nonnegative", "lower", ShiftLower)
        reg.register_map("nonnegative", "upper", ShiftUpper)
        reg.register_map("nonnegative", "simplex", NormalizeToSimplex)
        reg.register_map("real", "sphere", NormalizeToSphere)
        reg.register_map("sphere", "simplex", SquareToSimplex, cost=1.5)
        return reg

    def copy(self):
        """An independent copy (registering into it leaves this registry unchanged)."""
        new = Registry.__new__(Registry)
        new._nodes = {name: dict(data) for name, data in self._nodes.items()}
        new._edges = {edge: dict(data) for edge, data in self._edges.items()}
        new._aliases = dict(self._aliases)
        new._cached_graph = None
        return new

    # -- building -----------------------------------------------------------------
    def register_set(self, name, set_class, *, description="", aliases=None):
        """Add a node: a constraint set class ``set_class(shape, **params)``.

        `aliases` maps extra names to preset parameters, e.g.
        ``{"column-simplex": {"axis": 0}}``.
        """
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"`name` must be a non-empty string; got {name!r}")
        if not (isinstance(set_class, type) and issubclass(set_class, ConstraintSet)):
            raise InvalidTypeError(f"`set_class` must be a ConstraintSet subclass; got {describe(set_class)}")
        self._nodes[name] = {"set_class": set_class, "description": description}
        self._cached_graph = None
        for alias, preset in (aliases or {}).items():
            self._aliases[alias] = (name, dict(preset))

    def register_map(self, source, target, factory, *, cost=1.0, replace=False):
        """Add an edge ``source -> target`` carrying maps built by ``factory(shape, **params)``.

        Every composition through the new edge becomes available at once: a target that
        only this edge connects to ``"real"`` can be resolved right after the call.

        Parameters
        ----------
        source, target : str
            Node names; both must be registered sets (see :meth:`register_set`).
        factory : callable
            ``factory(shape, **params) -> Map``, usually a :class:`~reparamopt.maps.Map`
            subclass.
        cost : float, default 1
            Edge weight; resolution takes the cheapest path.
        replace : bool, default False
            An edge ``source -> target`` that exists already (a built-in one such as
            ``"real" -> "nonnegative"``, which ``nnls`` relies on) is replaced only when
            this is True; otherwise registering it again raises.

        Examples
        --------
        >>> from reparamopt.maps import HadamardPower, NonNegativeSet
        >>> from reparamopt.maps.registry import Registry
        >>> reg = Registry()
        >>> reg.register_set("nonnegative", NonNegativeSet)
        >>> reg.register_map("real", "nonnegative", HadamardPower)
        >>> reg.path("nonnegative")
        ['real', 'nonnegative']
        """
        for arg, node in (("source", source), ("target", target)):
            if node not in self._nodes:
                raise UnknownNameError(
                    f"`{arg}` must be a registered set, one of {self._valid()}; got {node!r}")
        if not callable(factory):
            raise InvalidTypeError(f"`factory` must be callable; got {describe(factory)}")
        if source == target:
            raise InvalidArgumentError(f"`source` and `target` must differ; got {source!r} twice")
        cost = check_scalar(cost, "cost")
        if not np.isfinite(cost) or cost <= 0:
            raise InvalidArgumentError(f"`cost` must be a positive finite number; got {cost!r}")
        if (source, target) in self._edges and not replace:
            current = self._edges[source, target]["factory"]
            raise InvalidArgumentError(
                f"an edge {source!r} -> {target!r} exists already ({getattr(current, '__name__', current)}); "
                "pass replace=True to replace it")
        self._edges[source, target] = {"factory": factory, "cost": cost}
        self._cached_graph = None

    # -- queries ------------------------------------------------------------------
    def set_names(self):
        """Registered node names and aliases, sorted."""
        return sorted(list(self._nodes) + list(self._aliases))

    def _valid(self):
        return ", ".join(repr(n) for n in self.set_names())

    def _node(self, name):
        if name in self._nodes:
            return name, {}
        if name in self._aliases:
            node, preset = self._aliases[name]
            return node, dict(preset)
        raise UnknownNameError(f"`constraint` must be one of {self._valid()}; got {name!r}")

    def path(self, target):
        """Cheapest list of nodes from ``"real"`` to `target` (a name or alias)."""
        import networkx as nx

        node, _ = self._node(target)
        if self._cached_graph is None:
            self._cached_graph = self.graph()
        try:
            return nx.shortest_path(self._cached_graph, ROOT, node, weight="cost")
        except nx.NetworkXNoPath:
            raise InvalidArgumentError(
                f"no chain of maps reaches {target!r} from 'real'; register a map into it "
                f"with register_map") from None

    def graph(self):
        """A new networkx graph of the registry (nodes carry `set_class` and
        `description`, edges `factory` and `cost`); changing it leaves the registry as is."""
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from((name, dict(data)) for name, data in self._nodes.items())
        graph.add_edges_from((source, target, dict(data)) for (source, target), data in self._edges.items())
        return graph

    def make_set(self, name, shape, **params):
        """Instantiate the set `name` with the parameters it accepts."""
        node, preset = self._node(name)
        set_class = self._nodes[node]["set_class"]
        return set_class(as_shape(shape), **_pick(set_class, {**preset, **params}))

    def resolve(self, spec: Any, shape: Optional[Shape] = None, **params: Any) -> ComposedMap:
        """Turn a constraint spec into a :class:`~reparamopt.maps.ComposedMap`.

        Parameters
        ----------
        spec : str, Constraint, Map or tuple
            A registered name (with `shape`), a :class:`~reparamopt.declare.constraints.Constraint`
            such as ``Box(0, 1, shape=3)``, a map object, or a ``(name, shape)`` pair.
        shape : int or tuple of int, optional
            Shape of x; required with a bare name.
        **params
            Parameters of the set and of the maps on the path (``power``, ``total``,
            ``lower``, ``upper``, ``axis``, ``radius``...). Each goes to every map and set
            that accepts it; one that none accepts is an error.
        """
        if isinstance(spec, ComposedMap):
            if shape is not None and as_shape(shape) != spec.shape:
                raise ShapeError(f"`shape` {as_shape(shape)} does not match the map's shape {spec.shape}")
            return spec
        if isinstance(spec, Map):
            return self._wrap_map(spec)
        if _is_constraint(spec):
            return self.resolve(spec.name, spec.shape if shape is None else shape,
                                **{**spec.params, **params})
        if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
            return self.resolve(spec[0], spec[1], **params)
        if not isinstance(spec, str):
            raise InvalidTypeError(
                f"`constraint` must be a name, a Constraint, a Map or a (name, shape) pair; "
                f"got {describe(spec)}")
        node, preset = self._node(spec)
        params = {**preset, **params}
        shape = as_shape(shape)
        nodes = self.path(node)
        target_set = self.make_set(node, shape, **params)
        used = set(_pick(type(target_set), params))
        maps = []
        current = shape
        for source, target in reversed(list(zip(nodes[:-1], nodes[1:]))):
            factory = self._edges[source, target]["factory"]
            kwargs = _pick(factory, params)
            used |= set(kwargs)
            m = factory(current, **kwargs)
            maps.append(m)
            current = m.latent_shape
        unused = sorted(set(params) - used)
        if unused:
            raise InvalidArgumentError(
                f"parameter(s) {', '.join(repr(p) for p in unused)} are accepted by no map on "
                f"the path {' -> '.join(nodes)}")
        return ComposedMap(list(reversed(maps)), target_set)

    def _wrap_map(self, m):
        if m.source != ROOT:
            prefix = self.path(m.source)
            raise InvalidArgumentError(
                f"a map used as a constraint must start from 'real'; {type(m).__name__} starts "
                f"from {m.source!r} (compose it along {' -> '.join(prefix)})")
        node = m.target if m.target in self._nodes else ROOT
        set_class = self._nodes[node]["set_class"]
        accepted = _accepted(set_class) or set()
        params = {k: getattr(m, k) for k in accepted if hasattr(m, k)}
        return ComposedMap([m], set_class(m.shape, **params))


default_registry = Registry.default()


def register_map(source: str, target: str, factory: Callable[..., Any], *, cost: float = 1.0,
                 replace: bool = False) -> None:
    """Add an edge to the default registry; see :meth:`Registry.register_map`.

    Every composition through the new edge is available at once, to every
    :class:`~reparamopt.declare.problem.Problem` built afterwards.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt import register_map, register_set, resolve
    >>> import autograd.numpy as anp
    >>> from reparamopt.maps import Map, NonNegativeSet
    >>> class PositiveSet(NonNegativeSet):
    ...     name = "positive"
    >>> class Exp(Map):
    ...     source, target = "real", "positive"
    ...     def forward(self, u):
    ...         return anp.exp(u)
    ...     def inverse(self, x):
    ...         return np.log(x)
    >>> register_set("positive", PositiveSet)
    >>> register_map("real", "positive", Exp)
    >>> resolve("positive", shape=2).forward(np.zeros(2))
    array([1., 1.])
    """
    default_registry.register_map(source, target, factory, cost=cost, replace=replace)


def register_set(name: str, set_class: type, *, description: str = "",
                 aliases: Optional[list] = None) -> None:
    """Add a node to the default registry; see :meth:`Registry.register_set`.

    Examples
    --------
    >>> from reparamopt import register_set
    >>> from reparamopt.maps.registry import set_names
    >>> from reparamopt.maps import BoxSet
    >>> register_set("unit-box", BoxSet)
    >>> "unit-box" in set_names()
    True
    """
    default_registry.register_set(name, set_class, description=description, aliases=aliases)


def _is_constraint(spec):
    """A constraint specification (:class:`~reparamopt.declare.constraints.Constraint`):
    recognized by its fields, so that this layer does not import the one above it."""
    return isinstance(getattr(spec, "name", None), str) and isinstance(getattr(spec, "params", None), dict)


def resolve(spec: Any, shape: Optional[Shape] = None, **params: Any) -> ComposedMap:
    """Resolve a constraint spec with the default registry; see :meth:`Registry.resolve`.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt import resolve
    >>> m = resolve("nonnegative", shape=2, power=3)
    >>> m.forward(np.array([2.0, -1.0]))
    array([8., 1.])
    """
    return default_registry.resolve(spec, shape, **params)


def graph():
    """A copy of the default registry's graph, e.g. for ``networkx.draw``.

    Examples
    --------
    >>> from reparamopt.maps.registry import graph
    >>> g = graph()
    >>> g.has_edge("real", "nonnegative"), g.edges["nonnegative", "simplex"]["cost"]
    (True, 1.0)
    """
    return default_registry.graph()


def path(target):
    """Cheapest path of node names from ``"real"`` to `target` in the default registry.

    Examples
    --------
    >>> from reparamopt.maps.registry import path
    >>> path("lower")
    ['real', 'nonnegative', 'lower']
    """
    return default_registry.path(target)


def set_names():
    """Names (and aliases) of the sets in the default registry.

    Examples
    --------
    >>> from reparamopt.maps.registry import set_names
    >>> {"real", "nonnegative", "simplex", "box"} <= set(set_names())
    True
    """
    return default_registry.set_names()
