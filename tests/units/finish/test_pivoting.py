"""``block_pivoting``: block principal pivoting on the Gram matrix for many right-hand
sides, against scipy's Lawson-Hanson column by column.

Every column must reach scipy's objective within the slack of
:func:`tests.nnls_reference.objective_tolerance` (1e-9 relative, plus rounding) and pass
the independent KKT test of :func:`tests.nnls_reference.kkt_holds`, on tall Gaussian
and Poisson-count NMF data, an ill-conditioned matrix, columns scaled over decades, and
degenerate right-hand sides (zero, in the cone, repeated).
"""

import numpy as np
import pytest

from reparamopt import datasets
from reparamopt.finish.pivoting import (
    RHO_INVERSE,
    _exchanged,
    block_pivoting,
    coordinate_sweeps,
    gram_inverse,
    solve_on_supports,
)
from reparamopt.models.linear import LinearModel
from tests.nnls_reference import kkt_holds, objective, objective_tolerance, scipy_reference

from .problems import gaussian, planted, scaled_columns, with_condition


def solve(A, B, *, complement=None, sweeps=0, start="least-squares", **options):
    """:func:`block_pivoting` as the NNLS path runs it (the complement form when every
    sine allows it, unless `complement` says otherwise)."""
    model = LinearModel(A, B, gram=True)
    _, H, sines = gram_inverse(model.G)
    Y = H @ model.atb
    use = np.min(sines) >= RHO_INVERSE if complement is None else complement
    passive = Y > 0 if start == "least-squares" else np.zeros(Y.shape, bool)
    if sweeps:
        passive = coordinate_sweeps(model.G, model.atb, np.where(passive, Y, 0.0), sweeps) > 0
    extra = dict(H=H, Y=Y) if use else {}
    return block_pivoting(model.G, model.atb, passive, model.abs_products(), **extra, **options)


def assert_exact(A, B, X, converged, share=1.0):
    """The columns that converged (at least `share` of them) are exact; the others zero."""
    assert converged.mean() >= share
    assert np.all(X >= 0) and np.all(X[:, ~converged] == 0)
    A, B, X = A, B[:, converged], X[:, converged]
    X_ref = scipy_reference(A, B)
    f, f_ref = objective(A, B, X), objective(A, B, X_ref)
    assert np.all(f <= f_ref + objective_tolerance(A, B, X, X_ref)), np.max(f - f_ref)
    assert kkt_holds(A, B, X).all()


def nmf_counts(rng, m=400, r=30, k=120):
    W = datasets.make_nmf_subproblem(m, r, 1, width=0.03, random_state=rng)[0]
    H = rng.gamma(0.5, 2.0, (r, k)) * (rng.random((r, k)) < 0.4)
    return W, rng.poisson(5.0 * W @ H).astype(float)


@pytest.mark.parametrize("complement", [False, True])
@pytest.mark.parametrize("start", ["least-squares", "empty"])
def test_tall_gaussian_many_right_hand_sides(complement, start):
    rng = np.random.default_rng(0)
    A = gaussian(rng, 200, 24)
    B = planted(rng, A, 150)
    assert_exact(A, B, *solve(A, B, complement=complement, start=start)[:2])


@pytest.mark.parametrize("sweeps", [0, 4])
def test_poisson_counts_on_overlapping_bumps(sweeps):
    rng = np.random.default_rng(1)
    W, B = nmf_counts(rng)
    X, converged, rounds = solve(W, B, sweeps=sweeps)
    # the bumps overlap: a few columns need Murty's single exchanges, slow to end (the
    # NNLS path hands them to Lawson and Hanson's method after a few rounds)
    assert rounds > 3
    assert_exact(W, B, X, converged, share=0.95)


@pytest.mark.parametrize("make, share", [(lambda rng: with_condition(rng, 120, 20, 1e5), 0.9),
                                         (lambda rng: scaled_columns(rng, 120, 20), 1.0)],
                         ids=["cond 1e5", "scaled columns"])
def test_ill_conditioned_and_badly_scaled(make, share):
    """Scaled columns change nothing (the method equilibrates); on ill-conditioned data
    a few columns are left to the caller."""
    rng = np.random.default_rng(2)
    A = make(rng)
    B = planted(rng, A, 60)
    assert_exact(A, B, *solve(A, B)[:2], share=share)


def test_degenerate_right_hand_sides():
    """Zero columns, columns inside the cone (attainable, several exact zeros of the
    gradient), columns repeated, and columns with ``A^T b <= 0``."""
    rng = np.random.default_rng(3)
    A = rng.random((90, 15))
    inside = A @ (rng.random((15, 10)) * (rng.random((15, 10)) < 0.5))
    B = np.hstack([np.zeros((90, 3)), inside, planted(rng, A, 10), -inside[:, :3]])
    B = np.hstack([B, B[:, 3:13]])
    X, converged, _ = solve(A, B)
    assert_exact(A, B, X, converged)
    assert np.all(X[:, :3] == 0) and np.all(X[:, 23:26] == 0)
    np.testing.assert_array_equal(X[:, 26:], X[:, 3:13])


def test_dependent_columns_are_refused():
    """``A`` with a repeated column has no trusted Gram inverse: the caller must not run
    the method (its subproblems would be singular)."""
    rng = np.random.default_rng(4)
    A = rng.random((50, 8))
    A[:, 5] = A[:, 2]
    inverse = gram_inverse(A.T @ A)
    assert inverse is None or np.min(inverse[2]) < 1e-6


def test_sines_are_distances_to_the_other_columns():
    rng = np.random.default_rng(5)
    A = with_condition(rng, 40, 6, 1e3)
    R, _, sines = gram_inverse(A.T @ A)
    np.testing.assert_allclose(R.T @ R, A.T @ A, atol=1e-14)
    for i in range(6):
        others = np.delete(A, i, axis=1)
        residual = A[:, i] - others @ np.linalg.lstsq(others, A[:, i], rcond=None)[0]
        assert sines[i] == pytest.approx(np.linalg.norm(residual) / np.linalg.norm(A[:, i]),
                                         rel=1e-8)


@pytest.mark.parametrize("inverse", [False, True])
def test_supports_solved_directly_and_by_complement(inverse):
    rng = np.random.default_rng(6)
    A = gaussian(rng, 60, 10)
    B = rng.standard_normal((60, 40))
    G, C = A.T @ A, A.T @ B
    F = rng.random((10, 40)) < 0.6
    F[:, 0], F[:, 1] = False, True
    H = np.linalg.inv(G) if inverse else None
    Z = solve_on_supports(G, C.T, F.T, H, None if H is None else (H @ C).T).T
    for j in range(40):
        expected = np.zeros(10)
        idx = np.flatnonzero(F[:, j])
        if idx.size:
            expected[idx] = np.linalg.lstsq(A[:, idx], B[:, j], rcond=None)[0]
        np.testing.assert_allclose(Z[:, j], expected, rtol=1e-9, atol=1e-11)


def test_exchange_rule_falls_back_to_single_exchanges():
    """All wrong signs are exchanged while their number drops or chances remain, then
    only the largest wrong index (Murty's rule, which ends)."""
    wrong = np.array([[True, False, True, True]])  # one right-hand side per row
    fewest, chances, cols = np.array([5]), np.array([3]), np.array([0])
    np.testing.assert_array_equal(_exchanged(wrong, np.array([3]), fewest, chances, cols), wrong)
    assert fewest[0] == 3 and chances[0] == 3
    for left in (2, 1, 0):
        np.testing.assert_array_equal(_exchanged(wrong, np.array([3]), fewest, chances, cols),
                                      wrong)
        assert chances[0] == left
    single = _exchanged(wrong, np.array([3]), fewest, chances, cols)
    np.testing.assert_array_equal(single[0], [False, False, False, True])


def test_rounds_and_columns_bound_the_work():
    rng = np.random.default_rng(7)
    W, B = nmf_counts(rng, k=60)
    X, converged, rounds = solve(W, B, max_rounds=2)
    assert rounds == 2 and not converged.all()
    assert np.all(X[:, ~converged] == 0)
    _, converged, rounds = solve(W, B, min_columns=30)
    assert 0 < (~converged).sum() < 30


def test_a_given_factor_is_used_and_not_changed():
    rng = np.random.default_rng(6)
    A = with_condition(rng, 40, 6, 1e3)
    R, H, sines = gram_inverse(A.T @ A)
    given = R.copy()
    R2, H2, sines2 = gram_inverse(A.T @ A, given)
    assert R2 is given
    np.testing.assert_array_equal(given, R)
    np.testing.assert_allclose(H2, H, rtol=1e-12)
    np.testing.assert_allclose(sines2, sines, rtol=1e-12)


@pytest.mark.parametrize("order", ["C", "F"])
def test_repeated_supports_and_ties_in_one_round(order):
    """Many right-hand sides drawn from a few support patterns, small ones (solved on
    ``G_FF``) and large ones (through the inverse, the complement form) side by side, a
    third of them attainable (``x_i = 0`` with a zero gradient: ties in the sign test);
    the passive sets given, in either memory order, are not changed."""
    rng = np.random.default_rng(8)
    A = gaussian(rng, 80, 16)
    patterns = rng.random((16, 6)) < np.array([0.15, 0.3, 0.5, 0.7, 0.85, 1.0])
    X_true = rng.random((16, 90)) * patterns[:, rng.integers(0, 6, 90)]
    B = A @ X_true
    B[:, 30:] += 0.05 * rng.standard_normal((80, 60))
    model = LinearModel(A, B, gram=True)
    _, H, _ = gram_inverse(model.G)
    Y = H @ model.atb
    passive = np.asarray(Y > 0, order=order)
    given = passive.copy()
    X, converged, _ = block_pivoting(model.G, model.atb, passive, model.abs_products(),
                                     H=H, Y=Y)
    np.testing.assert_array_equal(passive, given)
    assert_exact(A, B, X, converged)
    # the attainable columns are recovered: their support is the planted one
    np.testing.assert_allclose(X[:, :30], X_true[:, :30], rtol=1e-8, atol=1e-10)
