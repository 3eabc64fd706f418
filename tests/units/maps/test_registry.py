"""The registry graph: paths, parameters, user-registered edges and errors."""

import re

import autograd.numpy as anp
import networkx as nx
import numpy as np
import pytest

import reparamopt as ro
from reparamopt.exceptions import (
    InvalidArgumentError,
    InvalidTypeError,
    UnknownNameError,
)
from reparamopt.maps import Map, NonNegativeSet, RealSet
from reparamopt.maps.registry import Registry


def test_default_paths():
    reg = Registry.default()
    assert reg.path("nonnegative") == ["real", "nonnegative"]
    assert reg.path("simplex") == ["real", "nonnegative", "simplex"]  # cheaper than via sphere
    assert reg.path("lower") == ["real", "nonnegative", "lower"]
    assert reg.path("box") == ["real", "box"]


def test_graph_is_a_networkx_copy():
    g = ro.registry.graph()
    assert isinstance(g, nx.DiGraph)
    assert {"real", "nonnegative", "simplex", "box", "sphere", "signed"} <= set(g.nodes)
    g.remove_node("simplex")
    assert "simplex" in ro.registry.graph().nodes


def test_parameters_are_routed_to_the_maps_that_accept_them():
    m = ro.resolve("simplex", shape=4, power=3, total=2.0)
    assert m.maps[0].power == 3 and m.maps[1].total == 2.0
    x = np.asarray(m.forward(np.array([1.0, 2.0, 3.0, 4.0])))
    np.testing.assert_allclose(x.sum(), 2.0)
    with pytest.raises(InvalidArgumentError, match="'radius'"):
        ro.resolve("simplex", shape=4, radius=2.0)


class ExpMap(Map):
    """x = exp(u) onto the positive orthant (used as a user extension)."""

    source, target = "real", "positive"

    def forward(self, u):
        return anp.exp(u)

    def inverse(self, x):
        return np.log(x)


class PositiveSet(NonNegativeSet):
    name = "positive"


class LogMap(Map):
    """x = log(y) from the positive orthant onto R (a second user edge)."""

    source, target = "positive", "logspace"

    def forward(self, y):
        return anp.log(y)

    def inverse(self, x):
        return np.exp(x)


class LogSpaceSet(RealSet):
    name = "logspace"


def test_user_edge_makes_new_composition_reachable():
    reg = Registry.default()
    reg.register_set("positive", PositiveSet)
    reg.register_set("logspace", LogSpaceSet)
    reg.register_map("positive", "logspace", LogMap)
    with pytest.raises(InvalidArgumentError, match="no chain of maps reaches 'logspace'"):
        reg.resolve("logspace", shape=3)
    reg.register_map("real", "positive", ExpMap)  # one edge unlocks the composition
    m = reg.resolve("logspace", shape=3)
    assert m.path == ["real", "positive", "logspace"]
    u = np.array([0.1, -0.2, 0.3])
    np.testing.assert_allclose(m.forward(u), u)
    # the default registry is untouched
    with pytest.raises(UnknownNameError):
        ro.registry.path("logspace")


def test_user_edge_extends_existing_compositions():
    """Registering real -> sphere into a registry without it opens sphere -> simplex."""
    reg = Registry()
    reg.register_set("sphere", ro.maps.SphereSet)
    reg.register_set("simplex", ro.maps.SimplexSet)
    reg.register_map("sphere", "simplex", ro.maps.SquareToSimplex)
    with pytest.raises(InvalidArgumentError):
        reg.resolve("simplex", shape=3)
    reg.register_map("real", "sphere", ro.maps.NormalizeToSphere)
    m = reg.resolve("simplex", shape=3)
    assert m.path == ["real", "sphere", "simplex"]
    problem = ro.Problem(lambda w: anp.sum((w - np.array([0.2, 0.9, -0.4])) ** 2), w=m)
    res = ro.solve(problem, tol=1e-10)
    np.testing.assert_allclose(res.x, [0.15, 0.85, 0.0], atol=1e-8)


def test_costs_choose_the_cheapest_path():
    reg = Registry.default()
    reg.register_map("sphere", "simplex", ro.maps.SquareToSimplex, cost=0.1, replace=True)
    assert reg.path("simplex") == ["real", "sphere", "simplex"]


def test_replacing_an_existing_edge_needs_replace_true():
    reg = Registry.default()
    with pytest.raises(InvalidArgumentError, match="replace=True"):
        reg.register_map("real", "nonnegative", ro.maps.SineBox)
    # nnls's edge is untouched, and an explicit replacement is honoured
    assert type(reg.resolve("nonnegative", 3).maps[0]) is ro.maps.HadamardPower
    reg.register_map("real", "nonnegative", ro.maps.HadamardPower, cost=2.0, replace=True)
    assert reg.path("nonnegative") == ["real", "nonnegative"]


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(UnknownNameError) as info:
        ro.resolve("simplx", shape=3)
    message = str(info.value)
    assert "'simplex'" in message and "'nonnegative'" in message and "'simplx'" in message


def test_register_errors():
    reg = Registry.default()
    with pytest.raises(UnknownNameError, match="`target`"):
        reg.register_map("real", "nowhere", ExpMap)
    with pytest.raises(InvalidTypeError, match="`factory`"):
        reg.register_map("real", "simplex", 3)
    with pytest.raises(InvalidArgumentError, match="`cost`"):
        reg.register_map("real", "simplex", ExpMap, cost=-1)
    with pytest.raises(InvalidTypeError, match="`set_class`"):
        reg.register_set("thing", dict)


def test_map_object_as_constraint():
    m = ro.resolve(ro.maps.HadamardPower((3,), power=4))
    assert m.path == ["real", "nonnegative"]
    with pytest.raises(InvalidArgumentError, match="must start from 'real'"):
        ro.resolve(ro.maps.NormalizeToSimplex((3,)))


def test_shape_is_required_for_names():
    with pytest.raises(ro.exceptions.ShapeError, match="`shape`"):
        ro.resolve("simplex")


def test_a_cost_that_is_not_a_number_is_named():
    reg = Registry.default()
    with pytest.raises(InvalidTypeError, match="`cost` must be a number; got 'cheap'"):
        reg.register_map("real", "simplex", ExpMap, cost="cheap")
    with pytest.raises(InvalidArgumentError, match="`cost` must be a positive finite number; got inf"):
        reg.register_map("real", "simplex", ExpMap, cost=float("inf"))


def test_an_unknown_engine_is_reported_with_the_right_article():
    problem = ro.Problem(lambda x: anp.sum(x ** 2), x=ro.NonNegative(2))
    with pytest.raises(UnknownNameError, match=r"`engine` must be an engine object or one of .*got 3"):
        ro.solve(problem, engine=3)


@pytest.mark.parametrize("constraint, shape", [
    (ro.Simplex(0), (0,)), (ro.Simplex((3, 0), axis=1), (3, 0)), (ro.Sphere(0), (0,)),
])
def test_an_empty_simplex_or_sphere_is_refused_naming_the_variable(constraint, shape):
    # no point of R^0 has entries summing to 1 (or norm 1): the set is empty
    with pytest.raises(ro.exceptions.ShapeError,
                       match=rf"variable `w`.*empty.*got shape {re.escape(str(shape))}"):
        ro.Problem(lambda w: anp.sum(w ** 2), w=constraint)


def test_a_variable_with_no_entries_in_a_bounded_set_is_solved():
    # nothing to move: the stopping test's step is not bounded by a diameter of 0
    for constraint in (ro.Box(0, 1, shape=0), ro.Simplex((3, 0), axis=0)):
        res = ro.solve(ro.Problem(lambda x: anp.sum(x ** 2), x=constraint))
        assert res.success and res.x.size == 0
