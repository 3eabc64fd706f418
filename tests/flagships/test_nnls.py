"""Tests of reparamopt.nnls against scipy.optimize.nnls and linprog, on seeded data.

Tolerances: KKT residuals are asked at the default 1e-10 and checked at 1e-10; x is
compared with scipy only where the NNLS solution is unique (full column rank or an M+
matrix with a sparse planted solution), at atol 1e-10 relative to ||x||; elsewhere the
residual norm is compared (rtol 1e-9), since many minimizers exist.
"""

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import reparamopt as ro
from reparamopt.exceptions import (
    InfeasibleError,
    InvalidArgumentError,
    InvalidTypeError,
    NonFiniteError,
    ShapeError,
    UnknownNameError,
)
from reparamopt.flagships.nnls import METHODS

TOL = 1e-10


def gaussian(m, n, seed, s=None, noise=0.0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.abs(rng.standard_normal(n))
    if s is not None:
        x[rng.permutation(n)[s:]] = 0.0
    x /= np.linalg.norm(x)
    return A, A @ x + noise * rng.standard_normal(m)


def kkt(A, b, x):
    g = A.T @ (A @ x - b)
    p = np.where(x > 0, g, np.minimum(g, 0.0))
    return np.linalg.norm(p) / max(np.linalg.norm(A.T @ b), np.finfo(float).tiny)


def check_against_scipy(A, b, res, unique):
    x_ref, r_ref = scipy.optimize.nnls(A, b)
    assert res.success and res.status == 1
    assert np.all(res.x >= 0)
    assert res.optimality <= TOL
    assert kkt(A, b, res.x) <= TOL
    assert res.rnorm == pytest.approx(np.linalg.norm(A @ res.x - b), rel=1e-9,
                                      abs=1e-13 * np.linalg.norm(b))
    assert res.fun == pytest.approx(0.5 * res.rnorm ** 2)
    assert res.rnorm <= r_ref * (1 + 1e-9) + 1e-12 * np.linalg.norm(b)
    if unique:
        np.testing.assert_allclose(res.x, x_ref, atol=1e-10 * max(np.linalg.norm(x_ref), 1))


@pytest.mark.parametrize("m, n, noise, unique", [
    (120, 40, 0.05, True),    # tall, full column rank: unique solution
    (60, 60, 0.05, True),     # square, non-singular
    (30, 90, 0.0, False),     # wide Gaussian: many minimizers
    (200, 150, 0.1, True),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_scipy_gaussian(m, n, noise, unique, seed):
    A, b = gaussian(m, n, seed, s=n // 3, noise=noise)
    check_against_scipy(A, b, ro.nnls(A, b), unique)


def test_negative_least_squares_part_needs_active_set():
    # noise makes the unconstrained solution leave the orthant: the finish must act
    A, b = gaussian(300, 100, 3, s=30, noise=0.3)
    assert np.any(np.linalg.lstsq(A, b, rcond=None)[0] < 0)
    check_against_scipy(A, b, ro.nnls(A, b), unique=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_sparse_unique_solution(seed):
    # uniform [0, 1] entries make A an M+ matrix: the sparse planted point is the
    # only non-negative solution, so x is compared with it and with scipy
    rng = np.random.default_rng(seed)
    A = rng.random((40, 100))
    x_true = np.zeros(100)
    x_true[rng.permutation(100)[:4]] = rng.random(4) + 0.5
    b = A @ x_true
    res = ro.nnls(A, b)
    check_against_scipy(A, b, res, unique=True)
    np.testing.assert_allclose(res.x, x_true, atol=1e-10)


def test_rank_deficient():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((50, 8)) @ rng.standard_normal((8, 30))
    b = rng.standard_normal(50)
    check_against_scipy(A, b, ro.nnls(A, b), unique=False)


def test_ill_conditioned_hilbert():
    n = 10
    A = 1.0 / (np.arange(n)[:, None] + np.arange(n)[None, :] + 1.0)
    b = A @ np.array([1, 0, 2, 0, 0, 1, 0, 0, 3, 0.0]) + 1e-3 * np.sin(np.arange(n))
    res = ro.nnls(A, b)
    x_ref, r_ref = scipy.optimize.nnls(A, b)
    assert np.all(res.x >= 0)
    assert res.optimality <= TOL
    # cond(A) ~ 1e13: residual norms agree to what double precision can resolve
    assert res.rnorm <= r_ref + 1e-8 * np.linalg.norm(b)


def test_zero_columns():
    A, b = gaussian(40, 12, 5, noise=0.1)
    A[:, [2, 7]] = 0.0
    res = ro.nnls(A, b)
    check_against_scipy(A, b, res, unique=False)
    x_ref, _ = scipy.optimize.nnls(A, b)
    keep = np.ones(12, bool)
    keep[[2, 7]] = False
    np.testing.assert_allclose(res.x[keep], x_ref[keep], atol=1e-10)


def test_b_zero():
    A, _ = gaussian(20, 10, 6)
    res = ro.nnls(A, np.zeros(20))
    assert np.array_equal(res.x, np.zeros(10))
    assert res.rnorm == 0.0 and res.optimality == 0.0 and res.success


def test_zero_columns_matrix():
    res = ro.nnls(np.zeros((3, 0)), np.array([1.0, 2.0, 2.0]))
    assert res.x.shape == (0,)
    assert res.rnorm == pytest.approx(3.0)
    assert res.success


@pytest.mark.parametrize("scale", [1e-150, 1e150])
@pytest.mark.parametrize("which", ["A", "b", "both"])
def test_extreme_scales(scale, which):
    A, b = gaussian(60, 30, 7, s=10, noise=0.1)
    x_ref, r_ref = scipy.optimize.nnls(A, b)
    a = scale if which in ("A", "both") else 1.0
    c = scale if which in ("b", "both") else 1.0
    res = ro.nnls(A * a, b * c)
    assert np.all(np.isfinite(res.x)) and res.optimality <= TOL
    np.testing.assert_allclose(res.x * a / c, x_ref, atol=1e-10)
    assert res.rnorm / c == pytest.approx(r_ref, rel=1e-9)


def test_sparse_equals_dense():
    rng = np.random.default_rng(8)
    A = sp.random(300, 80, density=0.1, random_state=9, format="csr")
    b = A @ np.maximum(rng.standard_normal(80), 0) + 0.05 * rng.standard_normal(300)
    dense = ro.nnls(A.toarray(), b)
    for matrix in (A, sp.csc_array(A), sp.coo_matrix(A)):
        res = ro.nnls(matrix, b)
        assert res.optimality <= TOL
        np.testing.assert_allclose(res.x, dense.x, atol=1e-9)


def test_linear_operator_equals_dense():
    A, b = gaussian(80, 50, 10, s=15, noise=0.05)
    dense = ro.nnls(A, b)
    res = ro.nnls(aslinearoperator(A), b)
    assert res.optimality <= TOL
    np.testing.assert_allclose(res.x, dense.x, atol=1e-9)


@pytest.mark.parametrize("shape", [(90, 30), (30, 90)])
def test_batched_equals_columns(shape):
    m, n = shape
    rng = np.random.default_rng(11)
    A = rng.standard_normal((m, n))
    X = np.maximum(rng.standard_normal((n, 6)), 0.0)
    B = A @ X + 0.05 * rng.standard_normal((m, 6))
    B[:, 0] = A @ (np.abs(X[:, 0]) + 1.0)  # a column whose least squares is positive
    res = ro.nnls(A, B)
    assert res.x.shape == (n, 6) and res.rnorm.shape == (6,)
    for j in range(6):
        single = ro.nnls(A, B[:, j])
        assert res.optimality[j] <= TOL
        assert res.rnorm[j] == pytest.approx(single.rnorm, rel=1e-9, abs=1e-12)
        if m >= n:
            np.testing.assert_allclose(res.x[:, j], single.x, atol=1e-9)


def test_warm_start_from_solution_returns_at_once():
    A, b = gaussian(70, 40, 12, s=15, noise=0.1)
    first = ro.nnls(A, b)
    again = ro.nnls(A, b, x0=first.x)
    assert again.nit == 0 and again.success
    np.testing.assert_array_equal(again.x, first.x)


def test_warm_start_with_zeros():
    A, b = gaussian(70, 40, 13, s=15, noise=0.1)
    res = ro.nnls(A, b, x0=np.zeros(40), method="nesterov")
    check_against_scipy(A, b, res, unique=True)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(40, 25), (20, 45)])
def test_every_method_reaches_tol(method, shape):
    A, b = gaussian(*shape, seed=14, s=8, noise=0.02)
    res = ro.nnls(A, b, method=method)
    assert res.method == method
    check_against_scipy(A, b, res, unique=shape[0] >= shape[1])


@pytest.mark.parametrize("power", [3, 4, 2.5])
def test_other_powers(power):
    A, b = gaussian(40, 25, 15, s=8, noise=0.02)
    for method in ("nesterov", "auto"):
        res = ro.nnls(A, b, method=method, power=power)
        check_against_scipy(A, b, res, unique=True)


def test_without_polish_dynamics_alone():
    A, b = gaussian(40, 20, 16, s=6, noise=0.02)
    res = ro.nnls(A, b, method="nesterov", polish=False, tol=1e-6, max_iter=50000)
    assert res.success and res.optimality <= 1e-6 and np.all(res.x >= 0)


def test_iteration_limit_reports_status_zero():
    A, b = gaussian(40, 20, 17, s=6, noise=0.02)
    with pytest.warns(ro.exceptions.ConvergenceWarning, match="max_iter"):
        res = ro.nnls(A, b, method="gd", polish=False, max_iter=3)
    assert res.status == 0 and not res.success and res.nit == 3


@pytest.mark.parametrize("seed", [0, 1, 3])
@pytest.mark.parametrize("method", ["gd", "nesterov"])
def test_implicit_bias_small_init_finds_minimum_l1(seed, method):
    # n > 2m Gaussian: {x >= 0 : A x = b} is unbounded; small init selects (nearly)
    # its minimum-l1 point. For power 2 the gap decays like 1 / log(1 / alpha): at
    # alpha = 1e-3 it is below 1% on these seeds (seed 2 gives 1.8% with "gd").
    rng = np.random.default_rng(seed)
    m, n, s = 10, 50, 3
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    x[rng.permutation(n)[:s]] = np.abs(rng.standard_normal(s))
    b = A @ (x / np.linalg.norm(x))
    lp = scipy.optimize.linprog(np.ones(n), A_eq=A, b_eq=b, bounds=(0, None), method="highs")
    res = ro.nnls(A, b, method=method, init_scale=1e-3, max_iter=20000)
    assert res.success and res.rnorm <= 1e-9
    assert res.x.sum() <= 1.01 * lp.fun


def test_float32_input_computed_in_float64():
    A, b = gaussian(50, 20, 18, s=8, noise=0.05)
    res = ro.nnls(A.astype(np.float32), b.astype(np.float32))
    assert res.x.dtype == np.float64
    assert kkt(A.astype(np.float32).astype(float), b.astype(np.float32).astype(float),
               res.x) <= TOL


def test_history_and_callback():
    A, b = gaussian(40, 60, 19, s=6)
    seen = []
    res = ro.nnls(A, b, method="nesterov", history=True, callback=lambda r: seen.append(r.nit))
    assert res.history is not None and len(res.history["fun"]) >= 1
    assert seen
    stopped = ro.nnls(A, b, method="riemannian-gd", polish=False, callback=lambda r: True)
    assert stopped.status == 4


# --- bad input -----------------------------------------------------------------------

@pytest.fixture
def small():
    return gaussian(6, 4, 20)


@pytest.mark.parametrize("bad, where", [(np.nan, "A"), (np.inf, "A"), (np.nan, "b"), (-np.inf, "b")])
def test_non_finite(small, bad, where):
    A, b = small
    A, b = A.copy(), b.copy()
    (A if where == "A" else b)[0] = bad
    with pytest.raises(NonFiniteError, match=f"`{where}`"):
        ro.nnls(A, b)


def test_shape_errors(small):
    A, b = small
    with pytest.raises(ShapeError, match="`b`"):
        ro.nnls(A, b[:-1])
    with pytest.raises(ShapeError, match="`b`"):
        ro.nnls(A, b.reshape(6, 1, 1))
    with pytest.raises(ShapeError, match="`A`"):
        ro.nnls(A[0], b)
    with pytest.raises(ShapeError, match="`x0`"):
        ro.nnls(A, b, x0=np.ones(3))


def test_complex_input(small):
    A, b = small
    with pytest.raises(InvalidTypeError, match="`A`"):
        ro.nnls(A + 1j, b)
    with pytest.raises(InvalidTypeError, match="`b`"):
        ro.nnls(A, b + 0j)


@pytest.mark.parametrize("tol", [-1.0, np.nan])
def test_bad_tol(small, tol):
    with pytest.raises(InvalidArgumentError, match="`tol`"):
        ro.nnls(*small, tol=tol)


@pytest.mark.parametrize("power", [1.5, 1, -2, np.nan])
def test_bad_power(small, power):
    with pytest.raises(InvalidArgumentError, match="`power`"):
        ro.nnls(*small, power=power)


def test_unknown_method_lists_methods(small):
    with pytest.raises(UnknownNameError, match="`method`") as info:
        ro.nnls(*small, method="newton")
    for name in METHODS:
        assert repr(name) in str(info.value)


def test_mirror_needs_power_two(small):
    with pytest.raises(InvalidArgumentError, match="`power`"):
        ro.nnls(*small, method="mirror-nesterov", power=3)


def test_negative_x0(small):
    A, b = small
    with pytest.raises(InfeasibleError, match="`x0`"):
        ro.nnls(A, b, x0=-np.ones(4))


def test_gram_flag_rejected_for_operator(small):
    A, b = small
    with pytest.raises(InvalidArgumentError, match="`gram`"):
        ro.nnls(aslinearoperator(A), b, gram=True)


def test_gram_flag_accepted_for_sparse():
    A, b = gaussian(60, 20, 21, s=8, noise=0.05)
    res = ro.nnls(sp.csr_array(A), b, gram=True)
    check_against_scipy(A, b, res, unique=True)
