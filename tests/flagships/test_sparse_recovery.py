"""sparse_recovery: implicit l1 bias, signed recovery, early stopping, bad input."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import reparamopt as ro
from reparamopt.baselines.lp import basis_pursuit, min_l1_nnls
from reparamopt.exceptions import (
    InvalidArgumentError,
    InvalidTypeError,
    NonFiniteError,
    ShapeError,
    UnknownNameError,
)


def gaussian_problem(seed, n, m, s, signed=False, noise=0.0):
    """The paper's generator: A ~ N(0, 1/m), x* s-sparse with unit norm, b = A x* (+ noise)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    support = rng.choice(n, s, replace=False)
    values = rng.standard_normal(s)
    x[support] = values if signed else np.abs(values)
    x /= np.linalg.norm(x)
    return A, A @ x + noise * rng.standard_normal(m), x


@pytest.fixture(scope="module")
def bias_problem():
    A, b, _ = gaussian_problem(0, 50, 10, 3)
    return A, b, min_l1_nnls(A, b).l1


def test_cubic_power_reaches_the_lp_minimum(bias_problem):
    # the limit of the L = 3 flow from alpha = 1e-2 is within 1% of the minimum l1 norm
    A, b, lp = bias_problem
    res = ro.sparse_recovery(A, b, power=3, init_scale=1e-2, method="flow", polish=False, tol=1e-9)
    assert res.success
    assert res.rnorm < 1e-6
    assert res.l1 >= lp * (1 - 1e-6)
    assert res.l1 <= lp * 1.01


def test_quadratic_gap_shrinks_with_alpha(bias_problem):
    A, b, lp = bias_problem
    gaps = []
    for alpha in (1e-1, 1e-2, 1e-3):
        res = ro.sparse_recovery(A, b, init_scale=alpha, method="flow", polish=False, tol=1e-9)
        assert res.success and res.rnorm < 1e-6
        gaps.append(res.l1 - lp)
    assert gaps[0] > gaps[1] > gaps[2] > -1e-6 * lp, gaps


def test_signed_recovery_noiseless():
    A, b, x_true = gaussian_problem(1, 200, 80, 8, signed=True)
    res = ro.sparse_recovery(A, b, nonnegative=False)
    assert res.success
    assert np.linalg.norm(res.x - x_true) < 1e-3 * np.linalg.norm(x_true)
    np.testing.assert_array_equal(res.support, np.flatnonzero(x_true))
    assert res.l1 == pytest.approx(np.abs(res.x).sum())


def test_signed_recovery_without_polish_is_close():
    # the dynamics alone (no exact finish) still land within 1e-3 of x*
    A, b, x_true = gaussian_problem(1, 200, 80, 8, signed=True)
    res = ro.sparse_recovery(A, b, nonnegative=False, polish=False, method="accelerated")
    assert np.linalg.norm(res.x - x_true) < 1e-3 * np.linalg.norm(x_true)


@pytest.mark.parametrize("method", ["flow", "gd", "accelerated", "accelerated-flow"])
def test_every_method_recovers_a_nonnegative_sparse_vector(method):
    A, b, x_true = gaussian_problem(2, 60, 30, 4)
    res = ro.sparse_recovery(A, b, method=method, max_iter=20000)
    assert res.success, res.message
    assert np.linalg.norm(res.x - x_true) < 1e-3
    assert np.all(res.x >= 0)


def test_agrees_with_basis_pursuit_and_sparse_and_operator_input():
    # power 2 at init_scale 1e-4: the flow's limit is within ~2e-4 of the l1 minimum
    # (the entropic bias closes like 1/log(1/alpha)); power 3 at 1e-4 within ~1e-8
    A, b, x_true = gaussian_problem(3, 120, 50, 6)
    bp = basis_pursuit(A, b, nonnegative=True)
    dense = ro.sparse_recovery(A, b)
    assert dense.method == "limit" and dense.success
    np.testing.assert_allclose(dense.x, bp.x, atol=1e-3 * np.linalg.norm(bp.x))
    assert dense.l1 == pytest.approx(np.abs(bp.x).sum(), rel=3e-4)
    np.testing.assert_allclose(ro.sparse_recovery(sp.csr_array(A), b).x, dense.x, atol=1e-10)
    # the operator runs the dynamics with the exact polish: the l1 minimum itself here
    res = ro.sparse_recovery(aslinearoperator(A), b)
    assert res.success
    np.testing.assert_allclose(res.x, bp.x, atol=1e-6)
    cubic = ro.sparse_recovery(A, b, power=3)
    np.testing.assert_allclose(cubic.x, x_true, atol=1e-6)


def test_result_fields():
    A, b, _ = gaussian_problem(4, 40, 20, 3)
    res = ro.sparse_recovery(A, b, history=True)
    for key in ("x", "u", "fun", "rnorm", "l1", "support", "support_threshold", "optimality",
                "nit", "nfev", "status", "success", "message", "time", "history", "method"):
        assert key in res
    assert res.rnorm == pytest.approx(np.linalg.norm(A @ res.x - b), abs=1e-12)
    assert res.fun == pytest.approx(0.5 * res.rnorm ** 2, abs=1e-15)
    assert res.optimality <= 1e-8
    assert np.all(np.abs(np.delete(res.x, res.support)) <= res.support_threshold)
    assert len(res.history["fun"]) >= 1


def test_max_iter_returns_status_zero():
    A, b, _ = gaussian_problem(5, 40, 20, 3)
    res = ro.sparse_recovery(A, b, method="gd", max_iter=3, polish=False)
    assert res.status == 0 and not res.success and res.nit == 3


def test_discrepancy_principle_stops_before_fitting_the_noise():
    sigma = 0.02
    A, b, x_true = gaussian_problem(6, 200, 80, 8, signed=True, noise=sigma)
    delta = sigma * np.sqrt(80)
    full = ro.sparse_recovery(A, b, nonnegative=False, polish=False, max_iter=3000,
                              method="accelerated")
    early = ro.sparse_recovery(A, b, nonnegative=False, early_stopping=delta)
    assert early.stopped_early and early.success and early.status == 1
    assert early.rnorm <= delta
    assert early.nit < full.nit
    # stopping at the noise level beats fitting the noise (errors measured: 0.139 vs 0.260)
    assert np.linalg.norm(early.x - x_true) < 0.7 * np.linalg.norm(full.x - x_true)


def test_validation_split_keeps_the_best_iterate():
    sigma = 0.02
    A, b, x_true = gaussian_problem(7, 200, 100, 8, signed=True, noise=sigma)
    res = ro.sparse_recovery(A, b, nonnegative=False,
                             early_stopping={"rule": "validation", "fraction": 0.2, "patience": 100})
    full = ro.sparse_recovery(A, b, nonnegative=False, polish=False, max_iter=3000)
    assert res.stopped_early and res.success
    assert np.linalg.norm(res.x - x_true) < np.linalg.norm(full.x - x_true)


# -- bad input -----------------------------------------------------------------------

@pytest.fixture
def small():
    A, b, _ = gaussian_problem(8, 10, 5, 2)
    return A, b


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_data(small, bad):
    A, b = small
    A_bad = A.copy()
    A_bad[0, 0] = bad
    b_bad = b.copy()
    b_bad[1] = bad
    with pytest.raises(NonFiniteError, match="`A`"):
        ro.sparse_recovery(A_bad, b)
    with pytest.raises(NonFiniteError, match="`b`"):
        ro.sparse_recovery(A, b_bad)


def test_shapes(small):
    A, b = small
    with pytest.raises(ShapeError, match="`b` must have shape"):
        ro.sparse_recovery(A, b[:-1])
    with pytest.raises(ShapeError, match="`A`"):
        ro.sparse_recovery(A[0], b)
    with pytest.raises(ShapeError, match="`b`"):
        ro.sparse_recovery(A, b[:, None])
    with pytest.raises(ShapeError, match="at least one"):
        ro.sparse_recovery(np.zeros((5, 0)), b)


def test_complex_data(small):
    A, b = small
    with pytest.raises(InvalidTypeError, match="`A` must be real"):
        ro.sparse_recovery(A + 1j, b)
    with pytest.raises(InvalidTypeError, match="`b` must be real"):
        ro.sparse_recovery(A, b + 0j)


@pytest.mark.parametrize("kwargs, match", [
    ({"power": 1.5}, "`power` must be a number >= 2; got 1.5"),
    ({"power": np.inf}, "`power`"),
    ({"init_scale": 0}, "`init_scale` must be a number > 0; got 0"),
    ({"init_scale": -1e-3}, "`init_scale`"),
    ({"init_scale": np.inf}, "`init_scale`"),
    ({"tol": -1}, "`tol`"),
    ({"max_iter": 2.5}, "`max_iter`"),
    ({"early_stopping": -1.0}, "noise_level"),
    ({"early_stopping": "sometimes"}, "`early_stopping`"),
    ({"early_stopping": {"rule": "discrepancy"}}, "noise_level"),
    ({"early_stopping": {"rule": "validation", "fraction": 1.5}}, "fraction"),
    ({"early_stopping": {"rule": "validation", "folds": 3}}, "unknown keys"),
])
def test_bad_parameters(small, kwargs, match):
    A, b = small
    with pytest.raises(InvalidArgumentError, match=match):
        ro.sparse_recovery(A, b, **kwargs)


@pytest.mark.parametrize("kwargs", [{"nonnegative": "yes"}, {"polish": 1}, {"power": "2"},
                                    {"tol": 1e-8 + 0j}, {"early_stopping": [0.1]}])
def test_bad_types(small, kwargs):
    A, b = small
    with pytest.raises(InvalidTypeError):
        ro.sparse_recovery(A, b, **kwargs)


def test_unknown_method_lists_the_valid_ones(small):
    A, b = small
    with pytest.raises(UnknownNameError) as info:
        ro.sparse_recovery(A, b, method="newton")
    for name in ("'auto'", "'flow'", "'gd'", "'accelerated'", "'accelerated-flow'", "'newton'"):
        assert name in str(info.value)


def test_engine_object_is_accepted(small):
    A, b = small
    res = ro.sparse_recovery(A, b, method=ro.engines.GradientDescent(step_size="armijo"),
                             max_iter=20000)
    assert res.method == "GradientDescent" and res.success
