"""Single sets and maps against closed forms and brute force: the simplex projection
(SLSQP, the sort, per axis), set diameters, the sphere at zero, Hadamard powers, the
difference map and the column/row simplex aliases."""

import numpy as np
import pytest

from reparamopt import maps, registry
from reparamopt.maps import project_simplex

REG = registry.default_registry


def test_project_simplex_matches_brute_force(rng):
    from scipy.optimize import minimize

    for total in (1.0, 3.0):
        y = rng.standard_normal(6)
        x = project_simplex(y, total)
        cons = ({"type": "eq", "fun": lambda z: z.sum() - total},)
        ref = minimize(lambda z: 0.5 * np.sum((z - y) ** 2), np.full(6, total / 6),
                       constraints=cons, bounds=[(0, None)] * 6, method="SLSQP",
                       options={"ftol": 1e-14, "maxiter": 500}).x
        np.testing.assert_allclose(x, ref, atol=1e-6)
        assert abs(x.sum() - total) < 1e-12 and x.min() >= 0


def test_project_simplex_axis(rng):
    y = rng.standard_normal((4, 3))
    cols = project_simplex(y, 1.0, axis=0)
    for j in range(3):
        np.testing.assert_allclose(cols[:, j], project_simplex(y[:, j]))
    rows = project_simplex(y, 2.0, axis=1)
    for i in range(4):
        np.testing.assert_allclose(rows[i], project_simplex(y[i], 2.0))


@pytest.mark.parametrize("n", [5000, 200000])
def test_long_simplex_projection_by_pivots_matches_the_sort(n):
    from reparamopt.maps import sets

    rng = np.random.default_rng(n)
    for y, total in ((rng.standard_normal(n), 1.0), (rng.exponential(size=n) * 1e-3, 7.0),
                     (np.full(n, 0.5), 2.0)):
        sorted_rows = sets.project_simplex(y.reshape(1, -1), total, axis=1).ravel()
        fast = sets.project_simplex(y, total)
        np.testing.assert_allclose(fast, sorted_rows, atol=1e-14, rtol=1e-12)
        assert np.all(fast >= 0) and abs(fast.sum() - total) < 1e-9 * total


def test_set_diameters_bound_every_distance_in_the_set():
    from reparamopt.maps import sets

    rng = np.random.default_rng(3)
    cases = [sets.BoxSet((4,), lower=-1.0, upper=np.array([0.5, 2.0, 1.0, 3.0])),
             sets.SimplexSet((5,), total=2.0), sets.SimplexSet((3, 4), axis=0),
             sets.SphereSet((6,), radius=1.5)]
    for s in cases:
        points = [s.sample(rng) for _ in range(200)]
        farthest = max(np.linalg.norm(a - b) for a in points[:100] for b in points[100:])
        assert farthest <= s.diameter * (1 + 1e-12)
    # attained: opposite corners of the box, two vertices of the simplex
    assert cases[0].diameter == pytest.approx(np.linalg.norm([1.5, 3.0, 2.0, 4.0]))
    assert cases[1].diameter == pytest.approx(np.linalg.norm([2.0, -2.0]))
    assert np.isinf(sets.NonNegativeSet((3,)).diameter)


def test_zero_is_not_on_the_sphere():
    sphere = maps.sets.SphereSet((4,), radius=2.0)
    assert not sphere.contains(np.zeros(4))
    np.testing.assert_allclose(sphere.project(np.zeros(4)), np.ones(4))
    rows = maps.sets.SphereSet((3, 2), axis=0)
    x = np.array([[0.0, 3.0], [0.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(rows.project(x), [[3 ** -0.5, 0.6], [3 ** -0.5, 0.8], [3 ** -0.5, 0.0]])


def test_hadamard_power_noninteger_and_odd_stay_nonnegative(rng):
    u = rng.standard_normal(50)
    for power in (2.5, 3, 4):
        x = maps.HadamardPower((50,), power=power).forward(u)
        assert np.all(x >= 0)
        np.testing.assert_allclose(x, np.abs(u) ** power)


def test_difference_map_reaches_signed_values():
    m = maps.HadamardDifference((3,), power=2)
    x = np.array([1.5, -2.0, 0.0])
    u = m.inverse(x)
    assert u.shape == (2, 3)
    np.testing.assert_allclose(m.forward(u), x)


def test_column_simplex_alias(rng):
    m = REG.resolve("column-simplex-matrix", (5, 3))
    x = np.asarray(m.forward(rng.standard_normal(m.latent_shape)))
    np.testing.assert_allclose(x.sum(axis=0), np.ones(3))
    m = REG.resolve("row-simplex", (5, 3), total=2.0)
    x = np.asarray(m.forward(rng.standard_normal(m.latent_shape)))
    np.testing.assert_allclose(x.sum(axis=1), np.full(5, 2.0))
