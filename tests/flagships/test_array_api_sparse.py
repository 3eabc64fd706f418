"""sparse_recovery on arrays of other array-API libraries (array-api-strict on its
emulated non-CPU device; torch on the CPU where installed).

The instance is the docstring's: a Gaussian 20 x 60 matrix and a 3-sparse x, which the
small-initialization dynamics recover exactly after the support polish. The NumPy path's
"accelerated" dynamics reach x_true to ~1e-15 and its flow's limit (Newton on the dual)
agrees with the device's to ~1e-15; the device path must match in float64 (1e-10
stated), and in float32 to its rounding level times the conditioning of the 3-column
block (1e-4; 3e-7 measured for the limit).
"""

import numpy as np
import pytest
import scipy.optimize

import reparamopt as ro
from reparamopt.exceptions import InvalidArgumentError
from tests.device_arrays import DEVICE, on_device, to_numpy, xp

TOLERANCE = {"float64": 1e-10, "float32": 1e-4}


@pytest.fixture(scope="module")
def instance():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 60)) / np.sqrt(20)
    x_true = np.zeros(60)
    x_true[[3, 17, 41]] = [1.0, 0.5, 2.0]
    return A, x_true


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("nonnegative", [True, False])
@pytest.mark.parametrize("method", ["auto", "accelerated"])
def test_recovers_what_the_numpy_path_recovers(instance, dtype, nonnegative, method):
    """"auto" is the flow's limit on both paths (Newton on the dual; at init_scale 1e-4
    it is 1.6e-5 from x_true, not polished: the limit itself is compared), "accelerated"
    the dynamics with the support polish."""
    A, x_true = instance
    if not nonnegative:
        x_true = x_true * np.where(np.arange(60) == 17, -1.0, 1.0)
    b = A @ x_true
    res = ro.sparse_recovery(on_device(A, dtype), on_device(b, dtype), nonnegative=nonnegative,
                             init_scale=1e-4, method=method)
    for key in ("x", "u", "support"):
        assert type(res[key]).__module__.startswith("array_api_strict") and res[key].device == DEVICE
    assert res.x.dtype == getattr(xp, dtype) and res.u.dtype == getattr(xp, dtype)
    for key in ("rnorm", "fun", "l1", "optimality", "support_threshold"):
        assert type(res[key]) is float, key
    assert res.success is True
    assert res.method == {"auto": "limit", "accelerated": "accelerated"}[method]
    reference = ro.sparse_recovery(A, b, nonnegative=nonnegative, init_scale=1e-4, method=method)
    np.testing.assert_array_equal(to_numpy(res.support), reference.support)
    np.testing.assert_allclose(to_numpy(res.x), reference.x, atol=TOLERANCE[dtype] * 2.0)
    assert res.l1 == pytest.approx(reference.l1, rel=TOLERANCE[dtype])


@pytest.mark.parametrize("power,init_scale", [(3, 1e-4), (2, 1e-2)])
def test_limit_follows_the_numpy_limit_away_from_x_true(instance, power, init_scale):
    """Where the limit is far from x_true (init_scale 1e-2: 7e-3 away) or of another
    power, it is still the NumPy path's limit, to rounding (1e-12, float64)."""
    A, x_true = instance
    b = A @ x_true
    res = ro.sparse_recovery(on_device(A), on_device(b), power=power, init_scale=init_scale,
                             method="limit", polish=False)
    reference = ro.sparse_recovery(A, b, power=power, init_scale=init_scale, method="limit",
                                   polish=False)
    assert res.success is True and res.method == "limit"
    np.testing.assert_allclose(to_numpy(res.x), reference.x, atol=1e-12)
    # u is x's latent point (its entries off the support, x ~ 1e-13 for power 3, are
    # fixed by the residual only to 1e-12 absolute in x: compared through x)
    np.testing.assert_allclose(to_numpy(res.u) ** power, to_numpy(res.x), rtol=1e-12)


def test_limit_hands_unattainable_data_to_the_dynamics(rng):
    """b outside the range of a tall A: Newton on b cannot converge (the NumPy path
    first fits b by NNLS); the dynamics give the unique NNLS solution, scipy's to 1e-10
    (cond(A) ~ 3), and the result says which method ran."""
    A, b = rng.standard_normal((60, 20)), rng.standard_normal(60)
    res = ro.sparse_recovery(on_device(A), on_device(b))
    assert res.method == "accelerated" and res.success is True
    np.testing.assert_allclose(to_numpy(res.x), scipy.optimize.nnls(A, b)[0], atol=1e-10)


def test_limit_iteration_limit_warns_with_status_zero(instance):
    A, x_true = instance
    with pytest.warns(ro.exceptions.ConvergenceWarning, match="Newton iterations"):
        res = ro.sparse_recovery(on_device(A), on_device(A @ x_true), method="limit", max_iter=3)
    assert res.status == 0 and res.success is False and res.nit == 3


def test_iteration_limit_warns_with_status_zero(instance):
    A, x_true = instance
    with pytest.warns(ro.exceptions.ConvergenceWarning, match="max_iter"):
        res = ro.sparse_recovery(on_device(A), on_device(A @ x_true), max_iter=10,
                                 method="accelerated")
    assert res.status == 0 and res.success is False
    assert np.all(to_numpy(res.x) >= 0)


def test_methods_without_a_device_form_are_refused(instance):
    A, x_true = instance
    with pytest.raises(InvalidArgumentError, match="`method`.*'flow'"):
        ro.sparse_recovery(on_device(A), on_device(A @ x_true), method="flow")
    with pytest.raises(InvalidArgumentError, match="`early_stopping`"):
        ro.sparse_recovery(on_device(A), on_device(A @ x_true), early_stopping=0.1)


def test_torch_vectors_stay_torch(instance):
    torch = pytest.importorskip("torch")
    A, x_true = instance
    res = ro.sparse_recovery(torch.tensor(A), torch.tensor(A @ x_true))
    assert isinstance(res.x, torch.Tensor) and res.x.dtype == torch.float64 and res.success
    reference = ro.sparse_recovery(A, A @ x_true)  # the flow's limit on both paths
    np.testing.assert_allclose(res.x.numpy(), reference.x, atol=1e-12)
