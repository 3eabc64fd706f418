"""The flagships on JAX arrays (CPU), where JAX is installed: its arrays are immutable,
so any in-place write of the device path fails here. Tolerances as in the
array-api-strict tests of the same flagship (test_array_api_nnls, _nmf, _sparse)."""

import numpy as np
import pytest
import scipy.optimize

import reparamopt as ro

jax = pytest.importorskip("jax")
pytest.importorskip("array_api_compat")
jnp = pytest.importorskip("jax.numpy")


@pytest.fixture(autouse=True, scope="module")
def double_precision():
    """JAX computes in float32 unless told otherwise; restored afterwards."""
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)


def test_nnls(rng):
    A, B = rng.standard_normal((40, 15)), rng.standard_normal((40, 3))
    res = ro.nnls(jnp.asarray(A), jnp.asarray(B))
    assert isinstance(res.x, jax.Array) and res.x.dtype == jnp.float64 and res.success
    expected = np.stack([scipy.optimize.nnls(A, B[:, j])[0] for j in range(3)], axis=1)
    np.testing.assert_allclose(np.asarray(res.x), expected, atol=1e-12 * np.max(expected))


@pytest.mark.filterwarnings("ignore:Maximum number of iterations")
def test_nmf_mu_matches_the_numpy_path():
    rng = np.random.default_rng(0)
    X = rng.random((60, 5)) @ rng.random((5, 40)) + 0.05 * rng.random((60, 40))
    options = dict(n_components=5, solver="mu", tol=1e-6, max_iter=1000, random_state=0)
    model = ro.NMF(**options)
    W = model.fit_transform(jnp.asarray(X, dtype=jnp.float32))
    assert isinstance(W, jax.Array) and W.dtype == jnp.float32
    assert model.reconstruction_err_ <= 1.01 * ro.NMF(**options).fit(X).reconstruction_err_


@pytest.mark.filterwarnings("ignore:Maximum number of iterations")
def test_nmf_cd_takes_the_steps_of_array_api_strict():
    """HALS writes one component at a time: on JAX it must build new arrays, and take
    the same steps as on array-api-strict (float64: equal to rounding)."""
    xp = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(0)
    X = rng.random((30, 4)) @ rng.random((4, 20))
    options = dict(n_components=4, solver="cd", max_iter=5, tol=0.0, random_state=0)
    on_jax = ro.NMF(**options)
    W = on_jax.fit_transform(jnp.asarray(X))
    strict = ro.NMF(**options)
    W_strict = strict.fit_transform(xp.asarray(X))
    assert isinstance(W, jax.Array)
    np.testing.assert_allclose(np.asarray(W), np.asarray(W_strict), rtol=1e-8, atol=1e-12)
    assert on_jax.reconstruction_err_ == pytest.approx(strict.reconstruction_err_, rel=1e-10)


def test_sparse_recovery():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 60)) / np.sqrt(20)
    x_true = np.zeros(60)
    x_true[[3, 17, 41]] = [1.0, 0.5, 2.0]
    res = ro.sparse_recovery(jnp.asarray(A), jnp.asarray(A @ x_true))
    assert isinstance(res.x, jax.Array) and res.success and res.method == "limit"
    # the flow's limit on both paths (1.6e-5 from x_true at the default init_scale)
    np.testing.assert_allclose(np.asarray(res.x), ro.sparse_recovery(A, A @ x_true).x, atol=1e-12)


def test_nnls_finish_groups_repeated_passive_sets(rng):
    """The grouped solves of the finish (gathers only: JAX arrays cannot be written)
    equal the solves column by column, 1e-12 relative (cond(G) < 10)."""
    import importlib

    device_nnls = importlib.import_module("reparamopt.backends.xp.nnls")
    A = rng.standard_normal((40, 10))
    G, C = A.T @ A, rng.standard_normal((10, 200))
    passive = (rng.random((10, 5)) < 0.6)[:, rng.integers(0, 5, size=200)]
    X = device_nnls.masked_solve(jnp, jnp.asarray(G), jnp.asarray(C), jnp.asarray(passive), 2.2e-16)
    assert isinstance(X, jax.Array) and device_nnls._groups(jnp, jnp.asarray(passive)) is not None
    expected = np.zeros_like(C)
    for j in range(200):
        F = passive[:, j]
        expected[F, j] = np.linalg.solve(G[np.ix_(F, F)], C[F, j])
    np.testing.assert_allclose(np.asarray(X), expected, atol=1e-12 * np.max(np.abs(expected)))
