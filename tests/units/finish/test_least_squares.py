"""``SupportLeastSquares``: least squares on a support, the rank guard and its fallback.

References: ``numpy.linalg.lstsq`` on the support's columns, and consistent systems
``b = A_F z`` whose solution is known. Tolerances:

* well-conditioned data (cond(A) < 10) solved directly: 1e-10 relative to the
  reference (the normal equations lose about cond^2 eps = 1e-14);
* conjugate gradients, stopped at 1e-12 of ``||A^T b||``: 1e-8 relative (that
  residual times cond(A)^2, with room);
* ill-conditioned data (cond 1e8 to 1e12): no comparison of ``z`` (its error is about
  cond eps for any stable method); the residual of a consistent system must stay at the
  rounding level of a backward-stable solve, ``1e3 eps ||A||_2 ||z||``, where the normal
  equations would leave about ``cond eps ||A||_2 ||z||``, 1e5 to 1e9 times more.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from reparamopt.finish.least_squares import SupportLeastSquares
from reparamopt.models.linear import LinearModel

from .problems import EPS, KINDS, gaussian, support_least_squares, with_condition


def lstsq_on(A, b, idx):
    z = np.zeros(A.shape[1])
    if idx.size:
        z[idx] = np.linalg.lstsq(A[:, idx], b, rcond=None)[0]
    return z


def supports(rng, n):
    """Four supports: all columns, a random half, the same half again (shared by two
    right-hand sides), and none."""
    half = rng.random(n) < 0.5
    return np.column_stack([np.ones(n, bool), half, half, np.zeros(n, bool)])


@pytest.mark.parametrize("kind", KINDS)
def test_solutions_on_each_support_match_lstsq(kind):
    rng = np.random.default_rng(1)
    A = gaussian(rng, 40, 12)
    B = rng.standard_normal((40, 4))
    F = supports(rng, 12)
    ls = support_least_squares(A, B, kind)
    Z, kept = ls.solve(F, np.arange(4), np.zeros((12, 4)))
    rtol = 1e-8 if ls.cg else 1e-10
    for j in range(4):
        np.testing.assert_allclose(Z[:, j], lstsq_on(A, B[:, j], np.flatnonzero(F[:, j])),
                                   rtol=rtol, atol=rtol * np.linalg.norm(Z[:, j]))
    np.testing.assert_array_equal(kept, F)
    assert ls.nfallback == 0 and not ls.ill.any()


def test_right_hand_sides_are_solved_in_any_order():
    # the same supports, the right-hand sides listed in another order and a subset
    rng = np.random.default_rng(2)
    A = gaussian(rng, 30, 10)
    B = rng.standard_normal((30, 5))
    F = rng.random((10, 3)) < 0.6
    cols = np.array([4, 0, 2])
    ls = support_least_squares(A, B)
    Z, _ = ls.solve(F, cols, np.zeros((10, 3)))
    for j, col in enumerate(cols):
        np.testing.assert_allclose(Z[:, j], lstsq_on(A, B[:, col], np.flatnonzero(F[:, j])), rtol=1e-10)


@pytest.mark.parametrize("cond, fallback", [(1e2, 0), (1e8, 1), (1e10, 1), (1e12, 1)])
def test_ill_conditioned_supports_fall_back_to_the_pivoted_qr(cond, fallback):
    rng = np.random.default_rng(3)
    A = with_condition(rng, 40, 12, cond)
    Z_true = rng.standard_normal((12, 2))
    B = A @ Z_true
    ls = support_least_squares(A, B)
    Z, kept = ls.solve(np.ones((12, 2), bool), np.arange(2), np.zeros((12, 2)))
    # both right-hand sides share the support, hence one factorization
    assert ls.nfallback == fallback
    np.testing.assert_array_equal(ls.ill, [bool(fallback)] * 2)
    assert kept.all()  # the columns are independent: every sine is at least 1 / cond
    residual = np.linalg.norm(A @ Z - B, axis=0)
    assert np.all(residual <= 1e3 * EPS * np.linalg.norm(A, 2) * np.linalg.norm(Z, axis=0)), residual


def test_dependent_columns_are_left_out():
    rng = np.random.default_rng(4)
    A0 = gaussian(rng, 30, 8)
    # column 8 is a combination of columns 2 and 5, column 9 a multiple of column 0
    A = np.column_stack([A0, A0[:, 2] - 0.5 * A0[:, 5], 1e3 * A0[:, 0]])
    b = A0 @ rng.standard_normal(8)
    ls = support_least_squares(A, b[:, None])
    Z, kept = ls.solve(np.ones((10, 1), bool), np.arange(1), np.zeros((10, 1)))
    dropped = set(np.flatnonzero(~kept[:, 0]))
    assert len(dropped) == 2 and dropped & {0, 9} and dropped & {2, 5, 8}, dropped
    assert ls.nfallback == 1 and ls.ill[0]
    assert np.all(Z[~kept] == 0)
    assert np.linalg.matrix_rank(A[:, kept[:, 0]]) == kept.sum()
    assert np.linalg.norm(A @ Z[:, 0] - b) <= 1e3 * EPS * np.linalg.norm(A, 2) * np.linalg.norm(Z)


def test_columns_scaled_over_twelve_decades_need_no_fallback():
    # the rank test is on equilibrated columns: scaling alone is no reason to leave the
    # normal equations, and the solution is exact column by column
    rng = np.random.default_rng(5)
    A0 = gaussian(rng, 30, 10)
    scale = np.logspace(-6, 6, 10)
    z0 = rng.standard_normal(10)
    r = rng.standard_normal(30)
    r -= A0 @ np.linalg.lstsq(A0, r, rcond=None)[0]  # orthogonal to the columns
    b = A0 @ z0 + r
    ls = support_least_squares(A0 * scale, b[:, None])
    Z, kept = ls.solve(np.ones((10, 1), bool), np.arange(1), np.zeros((10, 1)))
    assert ls.nfallback == 0 and kept.all()
    np.testing.assert_allclose(Z[:, 0] * scale, z0, rtol=1e-10)


def test_bordered_update_matches_a_fresh_solve():
    # supports of 400 columns and more are solved from the factor of the previous one,
    # with the added columns bordered in and the removed ones pinned to zero
    rng = np.random.default_rng(6)
    m, n = 560, 450
    A = gaussian(rng, m, n)
    B = rng.standard_normal((m, 2))
    ls = support_least_squares(A, B)
    calls = []
    update = ls._update_solve

    def spy(*args):
        out = update(*args)
        calls.append(out is not None)
        return out

    ls._update_solve = spy
    F0 = np.zeros((n, 1), bool)
    F0[:430] = True
    ls.solve(F0, np.arange(1), np.zeros((n, 1)))
    F1 = F0.copy()
    F1[[3, 50, 100, 200, 429], 0] = False
    F1[[430, 440, 449], 0] = True
    Z, kept = ls.solve(F1, np.array([1]), np.zeros((n, 1)))
    assert calls == [True]
    np.testing.assert_allclose(Z[:, 0], lstsq_on(A, B[:, 1], np.flatnonzero(F1[:, 0])), rtol=1e-9,
                               atol=1e-9 * np.linalg.norm(Z))
    np.testing.assert_array_equal(kept, F1)


def test_the_inverse_solves_supports_missing_few_columns(monkeypatch):
    # with (A^T A)^{-1} at hand, a support missing r columns costs a solve of size r
    rng = np.random.default_rng(7)
    A = gaussian(rng, 40, 12)
    B = rng.standard_normal((40, 2))
    H = np.linalg.inv(A.T @ A)
    model = LinearModel(A, B, gram=True)
    ls = SupportLeastSquares(model, B, model.atb, model.norms, inverse=(H, H @ model.atb))

    def refuse(*args):
        raise AssertionError("the support was solved by Cholesky, not from the inverse")

    monkeypatch.setattr(ls, "_cholesky", refuse)
    F = np.ones((12, 2), bool)
    F[[1, 7], 1] = False  # column 0: nothing missing; column 1: two columns missing
    Z, _ = ls.solve(F, np.arange(2), np.zeros((12, 2)))
    for j in range(2):
        np.testing.assert_allclose(Z[:, j], lstsq_on(A, B[:, j], np.flatnonzero(F[:, j])), rtol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_gradient_quadratic_and_cosines_are_those_of_the_data(kind):
    # plain products: 1e-12 relative covers their rounding
    rng = np.random.default_rng(8)
    A = gaussian(rng, 30, 12)
    B = rng.standard_normal((30, 3))
    ls = support_least_squares(A, B, kind)
    few = np.zeros((12, 2))
    few[[2, 9]] = rng.random((2, 2))  # few non-zero rows: the products gather them
    many = rng.random((12, 2))
    cols = np.array([2, 0])
    for X in (few, many):
        np.testing.assert_allclose(ls.gradient(X, cols), A.T @ (A @ X - B[:, cols]), rtol=1e-12,
                                   atol=1e-12 * np.abs(A.T @ B).max())
        np.testing.assert_allclose(ls.quadratic(X, cols), np.sum((A @ X) ** 2, axis=0), rtol=1e-12)
    idx = np.array([0, 5, 11])
    cosines = ls.cosines(idx)
    if kind == "operator":
        assert cosines is None  # its columns are not at hand
    else:
        unit = A[:, idx] / np.linalg.norm(A[:, idx], axis=0)
        cosines = cosines.toarray() if sp.issparse(cosines) else cosines  # sparse columns
        np.testing.assert_allclose(cosines, unit.T @ unit, rtol=1e-12, atol=1e-15)


def test_sparse_supports_near_the_last_factor_are_solved_from_it(monkeypatch):
    # a 30 x 30 blur given as an operator with sparse columns: the second support
    # differs from the first in 20 columns and is solved from the first factor
    from reparamopt.datasets import blur_kernel
    from reparamopt.finish import least_squares
    from reparamopt.models.operators import Convolution

    rng = np.random.default_rng(9)
    A = Convolution(blur_kernel(2, width=5, sigma=1.0), (30, 30))
    dense = A.tosparse().toarray()
    B = rng.standard_normal((900, 2))
    model = LinearModel(A, B)
    ls = SupportLeastSquares(model, B, model.atb, model.norms)
    assert ls.direct and not ls.cg
    F0 = rng.random(900) < 0.6
    F1 = F0.copy()
    F1[rng.choice(np.flatnonzero(F0), 10, replace=False)] = False
    F1[rng.choice(np.flatnonzero(~F0), 10, replace=False)] = True
    factored = []
    monkeypatch.setattr(least_squares, "splu", lambda *a, **k: factored.append(1) or splu(*a, **k))
    for F in (F0, F1):
        Z, kept = ls.solve(np.column_stack([F, F]), np.arange(2), np.zeros((900, 2)))
        assert kept[F].all()
        for j in range(2):
            np.testing.assert_allclose(Z[:, j], lstsq_on(dense, B[:, j], np.flatnonzero(F)),
                                       rtol=1e-9, atol=1e-9 * np.linalg.norm(Z[:, j]))
    assert len(factored) == 1  # the second support reused the first factor
