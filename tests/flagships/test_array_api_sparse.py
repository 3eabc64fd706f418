"""sparse_recovery on arrays of other array-API libraries (array-api-strict on its
emulated non-CPU device; torch on the CPU where installed).

The instance is the docstring's: a Gaussian 20 x 60 matrix and a 3-sparse x, which the
small-initialization dynamics recover exactly after the support polish. The NumPy path's
"accelerated" dynamics reach x_true to ~1e-15; the device path must too in float64
(1e-10 stated), and in float32 to its rounding level times the conditioning of the
3-column block (1e-4).
"""

import numpy as np
import pytest

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
def test_recovers_what_the_numpy_path_recovers(instance, dtype, nonnegative):
    A, x_true = instance
    if not nonnegative:
        x_true = x_true * np.where(np.arange(60) == 17, -1.0, 1.0)
    b = A @ x_true
    res = ro.sparse_recovery(on_device(A, dtype), on_device(b, dtype), nonnegative=nonnegative,
                             init_scale=1e-4)
    for key in ("x", "u", "support"):
        assert type(res[key]).__module__.startswith("array_api_strict") and res[key].device == DEVICE
    assert res.x.dtype == getattr(xp, dtype) and res.u.dtype == getattr(xp, dtype)
    for key in ("rnorm", "fun", "l1", "optimality", "support_threshold"):
        assert type(res[key]) is float, key
    assert res.success is True
    # the same dynamics on NumPy (the default there is the flow's limit, 1.6e-5 away)
    reference = ro.sparse_recovery(A, b, nonnegative=nonnegative, init_scale=1e-4,
                                   method="accelerated")
    np.testing.assert_array_equal(to_numpy(res.support), reference.support)
    np.testing.assert_allclose(to_numpy(res.x), reference.x, atol=TOLERANCE[dtype] * 2.0)
    assert res.l1 == pytest.approx(reference.l1, rel=TOLERANCE[dtype])


def test_iteration_limit_warns_with_status_zero(instance):
    A, x_true = instance
    with pytest.warns(ro.exceptions.ConvergenceWarning, match="max_iter"):
        res = ro.sparse_recovery(on_device(A), on_device(A @ x_true), max_iter=10)
    assert res.status == 0 and res.success is False
    assert np.all(to_numpy(res.x) >= 0)


def test_methods_without_a_device_form_are_refused(instance):
    A, x_true = instance
    with pytest.raises(InvalidArgumentError, match="`method`.*'limit'"):
        ro.sparse_recovery(on_device(A), on_device(A @ x_true), method="limit")
    with pytest.raises(InvalidArgumentError, match="`early_stopping`"):
        ro.sparse_recovery(on_device(A), on_device(A @ x_true), early_stopping=0.1)


def test_torch_vectors_stay_torch(instance):
    torch = pytest.importorskip("torch")
    A, x_true = instance
    res = ro.sparse_recovery(torch.tensor(A), torch.tensor(A @ x_true))
    assert isinstance(res.x, torch.Tensor) and res.x.dtype == torch.float64 and res.success
    np.testing.assert_allclose(res.x.numpy(), x_true, atol=1e-10)
