"""nnls on arrays of other array-API libraries: array-api-strict on its emulated
non-CPU device (which refuses any conversion to NumPy, as a GPU array would), torch on
the CPU where it is installed. Results are compared with scipy.optimize.nnls and the
NumPy path on seeded data with unique solutions (tall Gaussian matrices).

Tolerances: the solutions of tall Gaussian 40 x 15 problems have cond(A) below 10, so an
exact solution in float64 is within 1e-12 relative of scipy's, and in float32 within
cond(A^T A) * eps32 ~ 1e-5 (the finish solves the normal equations) of it: 1e-4 stated.
"""

import importlib
import subprocess
import sys

import numpy as np
import pytest
import scipy.optimize

import reparamopt as ro
from reparamopt.exceptions import InvalidArgumentError, InvalidTypeError, NonFiniteError, ShapeError
from tests.device_arrays import DEVICE, assert_placed, on_device, to_numpy, xp

TOLERANCE = {"float64": 1e-12, "float32": 1e-4}
# the module, not the function of the same name that the package exports
device_nnls = importlib.import_module("reparamopt.backends.xp.nnls")


def scipy_columns(A, B):
    return np.stack([scipy.optimize.nnls(A, B[:, j])[0] for j in range(B.shape[1])], axis=1)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_many_right_hand_sides_match_scipy(rng, dtype):
    A, B = rng.standard_normal((40, 15)), rng.standard_normal((40, 6))
    res = ro.nnls(on_device(A, dtype), on_device(B, dtype))
    for key in ("x", "rnorm", "fun", "optimality"):
        assert_placed(res[key], dtype)
    assert res.success is True and res.status == 1
    expected = scipy_columns(A, B)
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(to_numpy(res.x), expected, atol=TOLERANCE[dtype] * scale)
    assert np.all(to_numpy(res.x) >= 0)
    reference = ro.nnls(A, B)
    np.testing.assert_allclose(to_numpy(res.rnorm), reference.rnorm, rtol=TOLERANCE[dtype])
    # the certificate is at the dtype's rounding level: float32 is not certified to 1e-10
    assert np.max(to_numpy(res.optimality)) < (1e-13 if dtype == "float64" else 1e-5)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_one_right_hand_side_gives_python_floats(rng, dtype):
    A, b = rng.standard_normal((30, 12)), rng.standard_normal(30)
    res = ro.nnls(on_device(A, dtype), on_device(b, dtype))
    assert_placed(res.x, dtype)
    assert res.x.shape == (12,)
    for key in ("rnorm", "fun", "optimality"):
        assert type(res[key]) is float, key
    x, rnorm = scipy.optimize.nnls(A, b)
    np.testing.assert_allclose(to_numpy(res.x), x, atol=TOLERANCE[dtype] * np.max(x))
    assert res.rnorm == pytest.approx(rnorm, rel=TOLERANCE[dtype])


def test_wide_rank_deficient_data_are_certified_by_residual(rng):
    """Wide data (many minimizers, singular blocks of A^T A): compare by residual and KKT,
    not by x (PAPER.md, "a trap in the paper's generator")."""
    A, B = rng.standard_normal((15, 30)), rng.standard_normal((15, 4))
    res = ro.nnls(on_device(A), on_device(B))
    expected = np.array([scipy.optimize.nnls(A, B[:, j])[1] for j in range(4)])
    assert res.success is True
    np.testing.assert_allclose(to_numpy(res.rnorm), expected, atol=1e-9 * np.linalg.norm(B))
    assert np.all(to_numpy(res.x) >= 0)


def test_integer_data_compute_in_float64_and_warm_start(rng):
    A = rng.integers(0, 5, size=(20, 8))
    b = rng.integers(-3, 6, size=20)
    x0 = on_device(np.ones(8))
    res = ro.nnls(xp.asarray(A, device=DEVICE), xp.asarray(b, device=DEVICE), x0=x0)
    assert_placed(res.x, "float64")
    expected = scipy.optimize.nnls(A.astype(float), b.astype(float))[0]
    np.testing.assert_allclose(to_numpy(res.x), expected, atol=1e-10 * max(1.0, np.max(expected)))


def test_iteration_limit_is_status_zero_with_a_warning(rng):
    """One solve of the finish and one step are not enough on a wide problem: status 0, a
    ConvergenceWarning, and a result never worse than x = 0."""
    A, B = rng.standard_normal((15, 30)), rng.standard_normal((15, 3))
    with pytest.warns(ro.exceptions.ConvergenceWarning, match="max_solves"):
        res = ro.nnls(on_device(A), on_device(B), max_iter=1, options={"max_solves": 1})
    assert res.status == 0 and res.success is False
    assert np.all(to_numpy(res.rnorm) <= np.linalg.norm(B, axis=0) * (1 + 1e-12))
    assert np.all(to_numpy(res.x) >= 0)


def test_bad_input_names_the_argument(rng):
    A = on_device(rng.standard_normal((5, 3)))
    with pytest.raises(InvalidTypeError, match=r"`A` a array_api_strict.Array on .*device1.*`b` a numpy"):
        ro.nnls(A, np.ones(5))
    with pytest.raises(ShapeError, match="`b` must have 5 rows"):
        ro.nnls(A, on_device(np.ones(4)))
    with pytest.raises(NonFiniteError, match="`b`"):
        ro.nnls(A, on_device(np.full(5, np.nan)))
    with pytest.raises(InvalidArgumentError, match="`method`.*'gd'"):
        ro.nnls(A, on_device(np.ones(5)), method="gd")
    with pytest.raises(InvalidArgumentError, match="`x0` must be non-negative"):
        ro.nnls(A, on_device(np.ones(5)), x0=on_device(-np.ones(3)))


def test_numpy_calls_do_not_load_the_backend():
    script = ("import sys, numpy as np, reparamopt as ro\n"
              "ro.nnls(np.eye(3), np.ones(3)); ro.nnls(np.ones((300, 20)), np.ones((300, 2)))\n"
              "print(sorted(m for m in ('array_api_compat', 'reparamopt.backends.xp') "
              "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_torch_tensors_stay_torch(rng):
    torch = pytest.importorskip("torch")
    A, B = rng.standard_normal((40, 15)), rng.standard_normal((40, 3))
    for dtype, tolerance in ((torch.float64, 1e-12), (torch.float32, 1e-4)):
        res = ro.nnls(torch.tensor(A, dtype=dtype), torch.tensor(B, dtype=dtype))
        assert isinstance(res.x, torch.Tensor) and res.x.dtype == dtype and res.success
        assert isinstance(res.rnorm, torch.Tensor) and res.rnorm.dtype == dtype
        expected = scipy_columns(A, B)
        np.testing.assert_allclose(res.x.numpy(), expected, atol=tolerance * np.max(expected))
    with pytest.raises(InvalidTypeError, match="half precision"):
        ro.nnls(torch.tensor(A, dtype=torch.float16), torch.tensor(B, dtype=torch.float16))
    with pytest.raises(InvalidTypeError, match="`A` a torch.Tensor on cpu, `b` a numpy.ndarray"):
        ro.nnls(torch.tensor(A), B)
    with pytest.raises(InvalidTypeError, match="`b` must be float32 or float64; got dtype torch.bfloat16"):
        ro.nnls(torch.tensor(A), torch.tensor(B, dtype=torch.bfloat16))


def test_dynamics_alone_stop_when_certified(rng):
    """polish=False: the accelerated steps alone, stopped once the KKT residual meets
    `tol` (1e-10 relative; with cond(A) < 10, x is then within 1e-8 of scipy's)."""
    A, B = rng.standard_normal((40, 15)), rng.standard_normal((40, 3))
    res = ro.nnls(on_device(A), on_device(B), polish=False)
    assert res.success is True and res.nit < 1000
    assert np.max(to_numpy(res.optimality)) <= 1e-10
    expected = scipy_columns(A, B)
    np.testing.assert_allclose(to_numpy(res.x), expected, atol=1e-8 * np.max(expected))


def test_mixed_devices_of_one_library_are_refused(rng):
    A = on_device(rng.standard_normal((5, 3)))
    b = xp.asarray(rng.standard_normal(5))  # on the CPU device
    with pytest.raises(InvalidTypeError, match=r"device1.*CPU_DEVICE"):
        ro.nnls(A, b)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_data_of_extreme_magnitude(rng, dtype):
    """A and b scaled by powers of ten whose squares leave the dtype's range: the
    solution scales as x -> x * (b's factor / A's factor), as the unscaled one does."""
    A, B = rng.standard_normal((30, 10)), rng.standard_normal((30, 2))
    big = {"float64": 1e160, "float32": 1e25}[dtype]
    small = {"float64": 1e-160, "float32": 1e-15}[dtype]
    res = ro.nnls(on_device(A * big, dtype), on_device(B * small, dtype))
    assert res.success is True
    expected = scipy_columns(A, B) * (small / big)
    np.testing.assert_allclose(to_numpy(res.x), expected, atol=TOLERANCE[dtype] * np.max(expected))


def _solved_on_sets(G, C, passive):
    """The normal equations on each column's passive set, one column at a time (NumPy)."""
    X = np.zeros_like(C)
    for j in range(C.shape[1]):
        F = passive[:, j]
        X[F, j] = np.linalg.solve(G[np.ix_(F, F)], C[F, j])
    return X


def _check_grouped_solve(rng, passive, expected_groups):
    A = rng.standard_normal((40, passive.shape[0]))
    G, C = A.T @ A, rng.standard_normal(passive.shape)
    on = on_device(passive, "bool")
    groups = device_nnls._groups(xp, on)
    assert groups is not None and int(groups.counts.shape[0]) == expected_groups
    X = device_nnls.masked_solve(xp, on_device(G), on_device(C), on, 2.2e-16)
    assert_placed(X, "float64")
    expected = _solved_on_sets(G, C, passive)
    # cond(G) < 10: the grouped and the single solves agree to 1e-12 relative
    np.testing.assert_allclose(to_numpy(X), expected, atol=1e-12 * np.max(np.abs(expected)))


def test_columns_sharing_a_passive_set_are_solved_once_per_set(rng):
    """Seven passive sets over 300 columns, and five columns with sets of their own:
    one solve per set, equal to the column-by-column solves."""
    passive = (rng.random((12, 7)) < 0.6)[:, rng.integers(0, 7, size=300)]
    passive[:, :5] = rng.random((12, 5)) < 0.5
    _check_grouped_solve(rng, passive, len({column.tobytes() for column in passive.T}))


def test_colliding_keys_of_unequal_sets_are_split(rng, monkeypatch):
    """Every key equal (a collision of every set): the check against each group's
    first column keeps the 240 columns of its set together and solves the 60 others
    (two other sets) one by one; the solutions stay exact."""
    monkeypatch.setattr(device_nnls, "set_keys",
                        lambda xp, passive: xp.zeros_like(passive[0, :], dtype=xp.int64))
    sets = rng.random((12, 3)) < 0.6
    passive = sets[:, np.repeat([0, 1, 2], [240, 30, 30])]
    _check_grouped_solve(rng, passive, 1 + 60)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_nmf_subproblem_with_repeated_supports_matches_scipy(rng, dtype):
    """The NMF subproblem: 200 x 8 non-negative W, 400 right-hand sides from four
    supports, so most passive sets repeat; every column as scipy's (tolerances of the
    module: cond(W) ~ 10)."""
    W = rng.random((200, 8))
    supports = rng.random((8, 4)) < 0.5
    H = supports[:, rng.integers(0, 4, size=400)] * rng.random((8, 400))
    B = W @ H - 0.05 * rng.random((200, 400))
    res = ro.nnls(on_device(W, dtype), on_device(B, dtype))
    assert_placed(res.x, dtype)
    assert res.success is True
    expected = scipy_columns(W, B)
    np.testing.assert_allclose(to_numpy(res.x), expected, atol=TOLERANCE[dtype] * np.max(expected))
    assert device_nnls._groups(xp, res.x > 0) is not None  # the finish grouped them
