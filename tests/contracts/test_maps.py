"""Contract tests looping over every registered map and every reachable set.

A map registered in the default registry is tested here the moment it is registered.
"""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import make_vjp
from autograd.test_util import check_grads

from reparamopt import registry

REG = registry.default_registry
GRAPH = REG.graph()
EDGES = sorted(GRAPH.edges)
NODES = sorted(n for n in GRAPH.nodes)
SHAPES = [(5,), (4, 3)]

# parameters that make every set's non-default geometry visible
PARAMS = {
    "lower": {"lower": -0.7},
    "upper": {"upper": 1.3},
    "box": {"lower": -2.0, "upper": 0.5},
    "simplex": {"total": 2.5},
    "sphere": {"radius": 1.7},
}
POWERS = {"power": 3}


def _edge_map(source, target, shape):
    factory = GRAPH.edges[source, target]["factory"]
    params = {**PARAMS.get(target, {}), **PARAMS.get(source, {}), **POWERS}
    return factory(shape, **registry._pick(factory, params))


def _set(node, shape):
    return REG.make_set(node, shape, **PARAMS.get(node, {}))


def _latent_point(m, source, rng):
    """A point of the map's source set (interior, away from singular points)."""
    if source == "real":
        u = rng.standard_normal(m.latent_shape)
        return u + 0.1 * np.sign(u)
    sample = _set(source, m.latent_shape).sample(rng)
    if source == "nonnegative":
        sample = sample + 0.1  # normalizations are undefined at 0
    return sample


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("edge", EDGES, ids=lambda e: f"{e[0]}->{e[1]}")
def test_edge_forward_is_feasible(edge, shape, rng):
    source, target = edge
    m = _edge_map(source, target, shape)
    for _ in range(5):
        x = np.asarray(m.forward(_latent_point(m, source, rng)))
        assert x.shape == tuple(shape)
        assert _set(target, shape).contains(x, atol=1e-10)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("edge", EDGES, ids=lambda e: f"{e[0]}->{e[1]}")
def test_edge_round_trip(edge, shape, rng):
    source, target = edge
    m = _edge_map(source, target, shape)
    for _ in range(5):
        x = _set(target, shape).sample(rng)
        u = m.inverse(x)
        assert u.shape == m.latent_shape
        np.testing.assert_allclose(m.forward(u), x, atol=1e-10, rtol=1e-10)
        if source != "real":
            assert _set(source, m.latent_shape).contains(u, atol=1e-10)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("edge", EDGES, ids=lambda e: f"{e[0]}->{e[1]}")
def test_edge_pullback_matches_autograd(edge, shape, rng):
    source, target = edge
    m = _edge_map(source, target, shape)
    u = _latent_point(m, source, rng)
    g = rng.standard_normal(shape)
    vjp, _ = make_vjp(m.forward)(u)
    np.testing.assert_allclose(m.pullback(u, g), vjp(g), rtol=1e-10, atol=1e-12)
    # and autograd's own derivative of the forward map against finite differences
    check_grads(lambda v: anp.sum(m.forward(v) * g), modes=["rev"], order=1)(u)


REACHABLE = [n for n in NODES if n != "real"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("node", REACHABLE)
def test_composition_contract(node, shape, rng):
    m = REG.resolve(node, shape, **PARAMS.get(node, {}), **({"power": 3} if "nonnegative" in REG.path(node)
                                                          or node == "signed" else {}))
    assert m.path == REG.path(node)
    # feasibility of forward(random u)
    u = m.init(None, rng) + 0.3 * rng.standard_normal(m.latent_shape)
    assert m.contains(np.asarray(m.forward(u)), atol=1e-10)
    # round trip
    x = m.target_set.sample(rng)
    np.testing.assert_allclose(m.forward(m.inverse(x)), x, atol=1e-10)
    # the chained closed-form pullback equals autograd's
    g = rng.standard_normal(shape)
    vjp, _ = make_vjp(m.forward)(u)
    np.testing.assert_allclose(m.pullback(u, g), vjp(g), rtol=1e-9, atol=1e-12)
    # optimality vanishes at the projection of c (minimizer of ||x - c||^2 / 2 over the
    # set) and does not vanish at another feasible point
    c = 2.0 * rng.standard_normal(shape)
    x_star = m.project(c)
    assert m.contains(x_star)
    assert np.linalg.norm(m.optimality(x_star, x_star - c)) <= 1e-10
    other = m.project(c + rng.standard_normal(shape))
    assert np.linalg.norm(m.optimality(other, other - c)) > 1e-6


@pytest.mark.parametrize("node", REACHABLE)
def test_init_is_feasible_and_identical(node):
    m = REG.resolve(node, (6,), **PARAMS.get(node, {}))
    u0 = m.init(0.01)
    assert np.all(u0 == u0.flat[0])
    assert m.contains(np.asarray(m.forward(u0)))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("node", REACHABLE)
def test_entrywise_derivatives_match_autograd(node, shape, rng):
    """A map that gives ``derivatives`` has a diagonal Jacobian with phi' on it and
    phi'' its entrywise derivative; one that does not give them couples entries."""
    from autograd import elementwise_grad, jacobian

    m = REG.resolve(node, shape, **PARAMS.get(node, {}), **({"power": 3} if "nonnegative" in REG.path(node)
                                                          or node == "signed" else {}))
    u = m.init(None, rng) + 0.3 * rng.standard_normal(m.latent_shape)
    J = jacobian(lambda v: m.forward(v))(u).reshape(int(np.prod(shape)), u.size)
    try:
        first, second = m.derivatives(u)
    except NotImplementedError:
        assert J.shape[0] != J.shape[1] or np.abs(J - np.diag(np.diag(J))).max() > 1e-8
        return
    assert np.abs(J - np.diag(np.diag(J))).max() == 0.0
    np.testing.assert_allclose(first.ravel(), np.diag(J), rtol=1e-10, atol=1e-12)
    want = elementwise_grad(lambda v: elementwise_grad(lambda w: m.forward(w))(v))(u)
    np.testing.assert_allclose(second, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", [(30,), (6, 5)])
@pytest.mark.parametrize("node", REACHABLE)
def test_latent_diagonal_estimates_the_latent_hessian(node, shape, rng):
    """Against autograd's Hessian of ``F(u) = g.x + c/2 ||x - x0||^2`` at u0 (x-space
    gradient g, curvature c): never below the size of the exact diagonal (the
    curvature term counts by its absolute value), close to it in the median."""
    from autograd import hessian

    m = REG.resolve(node, shape, **PARAMS.get(node, {}))
    u0 = m.init(None, rng) * np.exp(0.3 * rng.standard_normal(m.latent_shape))
    g, c = rng.standard_normal(shape), 3.0
    try:
        estimate = m.latent_diagonal(u0, g, c)
    except NotImplementedError:
        return  # the variable keeps the engine's scalar scaling
    x0 = np.asarray(m.forward(u0))

    def F(u):
        x = m.forward(u)
        return anp.sum(g * x) + c / 2 * anp.sum((x - x0) ** 2)

    size = u0.size
    exact = np.abs(np.diag(hessian(F)(u0).reshape(size, size))).reshape(u0.shape)
    assert estimate.shape == u0.shape and np.all(np.isfinite(estimate))
    assert np.all(estimate >= 0.9 * exact - 1e-12)
    assert 0.8 <= np.median(estimate / np.maximum(exact, 1e-300)) <= 1.5
