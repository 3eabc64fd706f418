"""``compiled_lawson_hanson``: scipy's Lawson-Hanson for every right-hand side, on tall
data after reduction to the triangular factor.

The reduction must not change the solutions: they are compared with scipy's on the
original data, ``x`` at 1e-9 relative where the solution is unique (full column rank,
cond(A) < 10: the two computations differ by rounding times cond^2), the objective
within the slack of :func:`tests.nnls_reference.objective_tolerance` elsewhere.
"""

import numpy as np
import pytest
import scipy.optimize

from reparamopt.finish.compiled import compiled_lawson_hanson
from tests.nnls_reference import kkt_holds, objective, objective_tolerance, scipy_reference

from .problems import gaussian, planted, with_condition


@pytest.mark.parametrize("m, n", [(80, 20), (30, 20), (30, 30)])  # reduced (m >= 2 n), direct, square
def test_unique_solutions_are_scipys(m, n):
    rng = np.random.default_rng(m + n)
    A = gaussian(rng, m, n) if m > n else rng.random((m, n)) + np.eye(n)
    B = planted(rng, A, 3)
    X, ok = compiled_lawson_hanson(A, B)
    assert ok.all()
    X_ref = scipy_reference(A, B)
    np.testing.assert_allclose(X, X_ref, rtol=1e-9, atol=1e-9 * np.abs(X_ref).max())


def test_wide_data_reach_scipys_objective():
    rng = np.random.default_rng(2)
    A = gaussian(rng, 20, 50)
    B = planted(rng, A, 3, density=0.2)
    X, ok = compiled_lawson_hanson(A, B)
    X_ref = scipy_reference(A, B)
    assert ok.all() and np.all(X >= 0)
    assert np.all(objective(A, B, X) <= objective(A, B, X_ref) + objective_tolerance(A, B, X, X_ref))


@pytest.mark.parametrize("cond", [1e8, 1e12])
def test_reduction_keeps_the_solutions_of_ill_conditioned_data(cond):
    rng = np.random.default_rng(3)
    A = with_condition(rng, 120, 30, cond)
    B = planted(rng, A, 3)
    X, ok = compiled_lawson_hanson(A, B)
    X_ref = scipy_reference(A, B)
    assert ok.all() and np.all(X >= 0)
    assert np.all(objective(A, B, X) <= objective(A, B, X_ref) + objective_tolerance(A, B, X, X_ref))
    assert np.all(kkt_holds(A, B, X))


def test_a_column_scipy_gives_up_on_comes_back_as_zeros(monkeypatch):
    rng = np.random.default_rng(4)
    A = gaussian(rng, 30, 10)
    B = planted(rng, A, 3)
    solve = scipy.optimize.nnls
    calls = []

    def give_up_on_the_second(M, d, **kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("too many iterations")
        return solve(M, d, **kwargs)

    monkeypatch.setattr(scipy.optimize, "nnls", give_up_on_the_second)
    X, ok = compiled_lawson_hanson(A, B)
    np.testing.assert_array_equal(ok, [True, False, True])
    assert np.all(X[:, 1] == 0)
    np.testing.assert_allclose(X[:, [0, 2]], scipy_reference(A, B[:, [0, 2]]), rtol=1e-9, atol=1e-12)


def test_one_tall_right_hand_side_is_solved_on_A_itself(monkeypatch):
    # the QR pays only when several right-hand sides share it
    rng = np.random.default_rng(5)
    A = gaussian(rng, 80, 20)
    B = planted(rng, A, 1)
    shapes = []
    solve = scipy.optimize.nnls

    def recorded(M, d, **kwargs):
        shapes.append(M.shape)
        return solve(M, d, **kwargs)

    monkeypatch.setattr(scipy.optimize, "nnls", recorded)
    X, ok = compiled_lawson_hanson(A, B)
    assert ok.all() and shapes == [(80, 20)]
    compiled_lawson_hanson(A, np.column_stack([B, B]))
    assert shapes[1:] == [(20, 20), (20, 20)]
    np.testing.assert_allclose(X, scipy_reference(A, B), rtol=1e-9, atol=1e-12)
