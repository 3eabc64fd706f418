"""``active_set``: the monotone block active-set method, warm-started, for many right-hand
sides at once; and ``spread``, its choice of entering indices.

References: scipy.optimize.nnls, and the KKT check of tests/nnls_reference.py (written
from the data alone). Where the solution is unique (full column rank, cond(A) < 10)
``x`` is compared at 1e-9 relative (a least-squares solve on the final support loses
about cond^2 eps); elsewhere the objective, within the slack of
:func:`tests.nnls_reference.objective_tolerance`.
"""

import numpy as np
import pytest

from reparamopt.finish.active_set import active_set, spread
from reparamopt.finish.exact import dual_tolerance
from tests.nnls_reference import kkt_holds, objective, objective_tolerance, scipy_reference

from .problems import gaussian, model_of, near_duplicates, planted, support_least_squares, with_condition


def solve(A, B, X0=None, passive=None, kind="dense-gram", **kwargs):
    n, k = A.shape[1], B.shape[1]
    X0 = np.zeros((n, k)) if X0 is None else X0
    passive = np.zeros((n, k), bool) if passive is None else passive
    ls = support_least_squares(A, B, kind)
    thr = dual_tolerance(model_of(A, B, kind), X0)
    kwargs.setdefault("max_solves", 3 * n + 50)
    return (*active_set(ls, X0, passive, thr, **kwargs), ls)


@pytest.mark.parametrize("kind", ["dense-gram", "dense-columns", "sparse-gram"])
@pytest.mark.parametrize("conservative", [False, True])
def test_from_scratch_matches_scipy(kind, conservative):
    rng = np.random.default_rng(1)
    A = gaussian(rng, 60, 20)
    B = planted(rng, A, 5)
    X, converged, nsolves, _ = solve(A, B, kind=kind, conservative=conservative)
    assert converged.all() and np.all(X >= 0)
    X_ref = scipy_reference(A, B)
    np.testing.assert_allclose(X, X_ref, rtol=1e-9, atol=1e-9 * np.abs(X_ref).max())
    assert np.all(nsolves >= 2)


def test_a_warm_start_at_the_solution_settles_in_one_solve():
    rng = np.random.default_rng(2)
    A = gaussian(rng, 60, 20)
    B = planted(rng, A, 4)
    X_ref = scipy_reference(A, B)
    X, converged, nsolves, _ = solve(A, B, X_ref, X_ref > 0)
    assert converged.all()
    np.testing.assert_array_equal(nsolves, 1)
    np.testing.assert_allclose(X, X_ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("max_solves", [1, 3, None])
def test_never_worse_than_the_warm_start(max_solves):
    # a poor warm start: random values on a random passive set
    rng = np.random.default_rng(3)
    A = gaussian(rng, 50, 25)
    B = planted(rng, A, 6)
    X0 = np.abs(rng.standard_normal((25, 6)))
    passive = rng.random((25, 6)) < 0.5
    start = np.where(passive, X0, 0.0)
    kwargs = {} if max_solves is None else {"max_solves": max_solves}
    X, converged, nsolves, _ = solve(A, B, X0, passive, **kwargs)
    assert np.all(X >= 0)
    assert np.all(objective(A, B, X) <= objective(A, B, start) * (1 + 1e-12))
    if max_solves is None:
        assert converged.all() and np.all(kkt_holds(A, B, X))
    else:
        assert np.all(nsolves <= max_solves)
        assert not converged.all()


def test_degenerate_right_hand_sides_and_columns():
    rng = np.random.default_rng(4)
    A = rng.random((30, 10)) + 0.1
    A[:, 6] = 0.0  # a zero column never enters, even from the passive set
    b = A @ (rng.random(10) * (np.arange(10) != 6))
    B = np.column_stack([np.zeros(30), -A @ np.ones(10), b])  # x = 0, x = 0, positive
    passive = np.zeros((10, 3), bool)
    passive[6] = True
    X, converged, nsolves, _ = solve(A, B, np.ones((10, 3)), passive)
    assert converged.all()
    assert np.all(X[:, :2] == 0) and np.all(X[6] == 0)
    np.testing.assert_array_equal(nsolves[:2], 1)
    assert kkt_holds(A, B[:, 2], X[:, 2])


def test_room_bounds_the_passive_set_of_a_wide_problem():
    rng = np.random.default_rng(5)
    A = gaussian(rng, 15, 40)
    B = planted(rng, A, 3, density=0.2)
    X, converged, _, _ = solve(A, B, room=15)
    X_ref = scipy_reference(A, B)
    assert converged.all()
    assert np.all((X > 0).sum(axis=0) <= 15)
    assert np.all(objective(A, B, X) <= objective(A, B, X_ref) + objective_tolerance(A, B, X, X_ref))


@pytest.mark.parametrize("make", [lambda rng: with_condition(rng, 60, 30, 1e10),
                                  lambda rng: near_duplicates(rng, 60, 30)],
                         ids=["cond 1e10", "near duplicates"])
def test_ill_conditioned_passive_sets_are_handed_over(make):
    # handover: a right-hand side stops as soon as one of its passive sets needs the
    # pivoted QR, for Lawson and Hanson's method to finish it; it is not reported
    # converged, and is still never worse than its start
    rng = np.random.default_rng(6)
    A = make(rng)
    B = planted(rng, A, 4)
    X, converged, _, ls = solve(A, B, handover=True)
    assert ls.ill.any() and ls.nfallback > 0
    assert not converged[ls.ill].any()
    assert np.all(X >= 0) and np.all(objective(A, B, X) <= objective(A, B, 0 * X))


def test_spread_takes_the_most_violating_and_no_two_nearly_parallel():
    rng = np.random.default_rng(7)
    base = rng.standard_normal((40, 6))
    # three nearly parallel copies of each of six columns
    A = np.repeat(base, 3, axis=1) + 1e-3 * rng.standard_normal((40, 18))
    ls = support_least_squares(A, rng.standard_normal((40, 1)))
    cand = np.arange(18)
    score = rng.standard_normal(18)
    unit = A / np.linalg.norm(A, axis=0)
    cosine = np.abs(unit.T @ unit)
    for size in (1, 3, 6, 10):
        chosen = spread(ls, cand, score, size)
        assert 1 <= len(chosen) <= size
        assert chosen[0] == np.argmin(score)
        assert np.all(np.diff(score[chosen]) >= 0)  # most violating first
        pairs = cosine[np.ix_(chosen, chosen)][~np.eye(len(chosen), dtype=bool)]
        assert np.all(pairs < 0.9)
        # every better-scored candidate left out is nearly parallel to one taken before it
        for j in np.flatnonzero(score < score[chosen[-1]]):
            if j not in chosen:
                assert np.any(cosine[j, chosen[score[chosen] < score[j]]] >= 0.9)
    assert len(spread(ls, cand, score, 6)) == 6  # one from each group
    # a matrix-free operator has no columns at hand: the best scores, whatever their angle
    op = support_least_squares(A, rng.standard_normal((40, 1)), "operator")
    np.testing.assert_array_equal(spread(op, cand, score, 4), np.argsort(score)[:4])
