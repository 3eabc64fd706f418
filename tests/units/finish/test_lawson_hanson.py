"""``lawson_hanson``: Lawson and Hanson's method on an updated QR factorization, from a
warm start, for the right-hand sides whose passive sets are ill-conditioned.

References: scipy.optimize.nnls (the same method, compiled) and the KKT check of
tests/nnls_reference.py. Unique solutions (full column rank, cond(A) < 10) are compared
at 1e-9 relative; on ill-conditioned data (cond 1e8 to 1e12, nearly dependent columns,
columns scaled over 12 decades) ``x`` is not unique to working precision, and the
objective must be within the slack of :func:`tests.nnls_reference.objective_tolerance`
of scipy's, with the KKT check holding.
"""

import numpy as np
import pytest

from reparamopt.finish.lawson_hanson import lawson_hanson
from tests.nnls_reference import kkt_holds, objective, objective_tolerance, scipy_reference

from .problems import (
    ILL_CONDITIONED,
    gaussian,
    ill_conditioned,
    planted,
    support_least_squares,
    with_condition,
)


def solve(A, b, x=None, F=None, **kwargs):
    n = A.shape[1]
    ls = support_least_squares(A, b[:, None])
    x = np.zeros(n) if x is None else x
    F = np.zeros(n, bool) if F is None else F
    kwargs.setdefault("max_iter", 3 * n + 50)
    return lawson_hanson(ls, x, F, 0, **kwargs)


def close_to_scipy(A, b, x):
    x_ref = scipy_reference(A, b)
    return objective(A, b, x) <= objective(A, b, x_ref) + objective_tolerance(A, b, x, x_ref)


@pytest.mark.parametrize("block", [False, True])
def test_from_scratch_matches_scipy(block):
    rng = np.random.default_rng(1)
    A = gaussian(rng, 60, 25)
    for b in planted(rng, A, 3).T:
        x, converged, nit = solve(A, b, block=block)
        assert converged
        x_ref = scipy_reference(A, b)
        np.testing.assert_allclose(x, x_ref, rtol=1e-9, atol=1e-9 * x_ref.max())


@pytest.mark.parametrize("block", [False, True])
@pytest.mark.parametrize("name", ILL_CONDITIONED)
def test_ill_conditioned_data_reach_scipys_objective(name, block):
    rng = np.random.default_rng(2)
    A = ill_conditioned(name, rng)
    for b in planted(rng, A, 2).T:
        x, converged, _ = solve(A, b, block=block)
        assert converged and np.all(x >= 0)
        assert close_to_scipy(A, b, x)
        assert kkt_holds(A, b, x)


@pytest.mark.parametrize("seed", [0, 2])
def test_duals_are_priced_from_the_factored_residual(seed):
    # on cond 1e14 data the solution has large entries whose terms cancel: b - A x
    # carries their rounding, the residual b - Q Q^T b of the factored columns does not
    # (priced from b - A x, the method was measured to stop above scipy's objective on
    # these two seeds)
    rng = np.random.default_rng(seed)
    A = with_condition(rng, 80, 60, 1e14)
    for b in planted(rng, A, 2, density=0.6).T:
        x, converged, _ = solve(A, b)
        assert converged and np.all(x >= 0)
        assert close_to_scipy(A, b, x) and kkt_holds(A, b, x)


def test_a_wrong_warm_start_is_corrected():
    # a passive set with indices that must leave and without some that must enter
    rng = np.random.default_rng(3)
    A = gaussian(rng, 50, 20)
    b = planted(rng, A, 1)[:, 0]
    x_ref = scipy_reference(A, b)
    F = (x_ref > 0) ^ (rng.random(20) < 0.4)
    x0 = np.where(F, rng.random(20), 0.0)
    x, converged, _ = solve(A, b, x0, F)
    assert converged
    np.testing.assert_allclose(x, x_ref, rtol=1e-9, atol=1e-9 * x_ref.max())


def test_dependent_columns_are_set_aside():
    rng = np.random.default_rng(4)
    A0 = rng.random((30, 8))
    # exact copies and a combination of other columns: the factor never holds them all
    A = np.column_stack([A0, A0[:, 1], A0[:, 2] + A0[:, 3], 2.0 * A0[:, 5]])
    b = A0 @ (rng.random(8) + 0.1) + 0.01 * rng.standard_normal(30)
    x, converged, _ = solve(A, b)
    assert converged and np.all(x >= 0)
    assert np.linalg.matrix_rank(A[:, x > 0]) == np.count_nonzero(x)
    assert close_to_scipy(A, b, x) and kkt_holds(A, b, x)


def test_no_more_passive_columns_than_rows():
    rng = np.random.default_rng(5)
    A = rng.random((10, 30))
    b = rng.random(10)  # the factor holds at most as many columns as rows (Caratheodory)
    x, converged, _ = solve(A, b, block=True)
    assert converged and np.count_nonzero(x) <= 10
    assert close_to_scipy(A, b, x)


def test_max_iter_bounds_the_pricing_rounds():
    rng = np.random.default_rng(6)
    A = gaussian(rng, 60, 25)
    b = planted(rng, A, 1)[:, 0]
    assert np.count_nonzero(scipy_reference(A, b)) > 3  # needs more than two entries
    x, converged, nit = solve(A, b, max_iter=2)
    assert not converged and nit == 2
    assert np.all(x >= 0) and np.count_nonzero(x) <= 2
    assert objective(A, b, x) < objective(A, b, 0 * x)


def test_nothing_to_enter():
    rng = np.random.default_rng(7)
    A = rng.random((20, 6))
    x, converged, nit = solve(A, -A @ np.ones(6))  # every dual negative: x = 0
    assert converged and nit == 1 and np.all(x == 0)


def test_a_full_passive_set_interpolates_b_and_stops_at_once():
    # 60 x 200 Gaussian, b random: the solution set {x >= 0, A x = b} is not empty and
    # a passive set of 60 independent columns with a positive solution interpolates b.
    # Its duals are rounding (about 1e-15 ||A^T b||, half of them positive): the method
    # stops at the first pricing instead of trying each column, which cannot enter.
    rng = np.random.default_rng(8)
    A = rng.standard_normal((60, 200))
    b = A @ np.abs(rng.standard_normal(200))
    x_ref = scipy_reference(A, b)
    F = x_ref > 0
    assert F.sum() == 60
    x, converged, nit = solve(A, b, x=x_ref, F=F)
    assert converged and nit == 1
    assert np.all(x >= 0) and kkt_holds(A, b, x)
    assert close_to_scipy(A, b, x)
