"""The numerical kernels take their array namespace from the data
(:func:`reparamopt._utils.arrays.namespace_of`): run on array-api-strict arrays (a
strict, NumPy-backed implementation of the standard), they give NumPy's numbers and
return arrays of the caller's library."""

import numpy as np
import pytest

from reparamopt._utils.arrays import column_norms, namespace_of
from reparamopt.engines import AcceleratedGradientDescent, LocalLipschitz
from reparamopt.finish.kkt import kkt_residual
from reparamopt.maps import HadamardPower

xp = pytest.importorskip("array_api_strict")


def test_numpy_data_get_numpy_itself():
    import autograd.numpy as anp

    assert namespace_of(np.ones(2), 1.0, [1.0]) is np
    assert namespace_of(np.ones(2), default=anp) is anp
    assert namespace_of(xp.ones(2), np.ones(2)).__name__.startswith("array_api_strict")


def test_column_norms_match_numpy(rng):
    v = rng.standard_normal((6, 3))
    np.testing.assert_allclose(np.asarray(column_norms(xp.asarray(v), xp)),
                               np.linalg.norm(v, axis=0), rtol=1e-15)


def test_kkt_residual_in_the_callers_library(rng):
    x = np.maximum(rng.standard_normal((7, 4)), 0.0)
    g = rng.standard_normal((7, 4))
    scale = np.abs(rng.standard_normal(4)) + 0.5
    expected = np.linalg.norm(np.minimum(x, g), axis=0) / scale
    got = kkt_residual(xp.asarray(x), xp.asarray(g), xp.asarray(scale))
    assert type(got).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-14)
    np.testing.assert_allclose(kkt_residual(x, g, scale), expected, rtol=1e-14)


@pytest.mark.parametrize("power", [2, 3, 2.5])
def test_hadamard_map_kernels(rng, power):
    hmap = HadamardPower((5, 2), power=power)
    u, g = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    for name, args in (("forward", (u,)), ("inverse", (np.abs(u),)), ("pullback", (u, g))):
        ours = getattr(hmap, name)(*(xp.asarray(a) for a in args))
        assert type(ours).__module__.startswith("array_api_strict"), name
        np.testing.assert_allclose(np.asarray(ours), getattr(hmap, name)(*args), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(hmap.latent_lipschitz(xp.asarray(u), xp.asarray(g), 3.0)),
                               hmap.latent_lipschitz(u, g, 3.0), rtol=1e-14)


class _BatchedLeastSquares:
    """NNLS on ``x = u * u`` for three right-hand sides, in the namespace of its data."""

    def __init__(self, A, B, lipschitz):
        self.A, self.B, self.lipschitz = A, B, lipschitz
        self.map = HadamardPower((A.shape[1], B.shape[1]))
        self.xp = namespace_of(A)

    def gradient_x(self, u):
        return self.A.T @ (self.A @ self.map.forward(u) - self.B)

    def value_and_grad(self, u):
        r = self.A @ self.map.forward(u) - self.B
        return 0.5 * self.xp.sum(r * r, axis=0), self.map.pullback(u, self.A.T @ r)

    def local_lipschitz(self, u):
        return self.map.latent_lipschitz(u, self.gradient_x(u), self.lipschitz)


def test_accelerated_steps_follow_numpy(rng):
    """The NNLS dynamics' engine (FISTA momentum, local Lipschitz steps, gradient
    restart) takes the same steps on array-api-strict arrays as on NumPy's."""
    A, B = rng.standard_normal((8, 5)), rng.standard_normal((8, 3))
    lipschitz = float(np.linalg.norm(A, 2) ** 2)
    engine = AcceleratedGradientDescent(step_size=LocalLipschitz(), momentum="fista",
                                        restart="gradient")
    runs = []
    for a, b, u0 in ((A, B, np.full((5, 3), 0.1)),
                     (xp.asarray(A), xp.asarray(B), xp.full((5, 3), 0.1, dtype=xp.float64))):
        problem = _BatchedLeastSquares(a, b, lipschitz)
        state = engine.init_state(problem, u0)
        for _ in range(40):
            state = engine.step(problem, state)
        runs.append(state.u)
    assert type(runs[1]).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(runs[1]), runs[0], rtol=1e-12, atol=1e-15)
    # and the steps went somewhere: the objective decreased from the start
    start = _BatchedLeastSquares(A, B, lipschitz).value_and_grad(np.full((5, 3), 0.1))[0]
    end = _BatchedLeastSquares(A, B, lipschitz).value_and_grad(runs[0])[0]
    assert np.all(end < start)
