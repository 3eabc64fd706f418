"""The factors the finish keeps for wide dense data: ``GramCache`` (Gram entries among the
columns visited) and ``UpdatedCholesky`` (a factor of ``A_F^T A_F`` updated as ``F``
changes), and the exact finish that uses them on wide, coherent, rank-deficient and
degenerate data.

References: the products of the columns themselves and ``numpy.linalg.lstsq`` for the
pieces; scipy.optimize.nnls (objective within :func:`tests.nnls_reference.objective_tolerance`,
KKT at the package's default 1e-10) for the finish.
"""

import numpy as np
import pytest

from reparamopt.finish import gram, updated_cholesky
from reparamopt.finish.exact import exact_finish
from reparamopt.finish.gram import GramCache
from reparamopt.finish.least_squares import RHO_CHOLESKY
from reparamopt.finish.updated_cholesky import UpdatedCholesky
from reparamopt.models.linear import LinearModel
from tests.nnls_reference import kkt_holds, objective, objective_tolerance, scipy_reference


def test_gram_cache_blocks_are_the_products_of_the_columns():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 300))
    cache = GramCache(A)
    for _ in range(6):  # growing in steps, blocks of cached and new columns mixed
        rows = rng.choice(300, 50, replace=False)
        cols = rng.choice(300, 30, replace=False)
        # the same dot products in another order: equal to rounding (40 terms of size 1)
        np.testing.assert_allclose(cache.block(rows, cols), A[:, rows].T @ A[:, cols],
                                   rtol=0, atol=1e-12)
        np.testing.assert_array_equal(cache.transposed_columns(rows), A[:, rows].T)
    assert cache.size == np.count_nonzero(cache.position >= 0) <= 300


def test_gram_cache_refuses_what_would_pass_its_memory_bound(monkeypatch):
    A = np.ones((10, 100))
    monkeypatch.setattr(gram, "CACHE_MAX_ENTRIES", 30 * (30 + 10))
    cache = GramCache(A)
    assert cache.fits(np.arange(30)) and not cache.fits(np.arange(31))


def _solve_sequence(A, b, rng, steps=40, churn=12, size=128):
    """Solves on a passive set of about `size` columns that loses and gains up to
    `churn` columns per step; the relative error of each against lstsq."""
    n = A.shape[1]
    chol = UpdatedCholesky(lambda r, c: A[:, r].T @ A[:, c], np.linalg.norm(A, axis=0),
                           RHO_CHOLESKY)
    F = np.sort(rng.choice(n, size, replace=False))
    errors = []
    for _ in range(steps):
        z = chol.solve(F, A.T @ b)
        ref = np.linalg.lstsq(A[:, F], b, rcond=None)[0]
        errors.append(np.max(np.abs(z - ref)) / np.max(np.abs(ref)))
        out = rng.choice(F, rng.integers(0, churn), replace=False)
        inn = rng.choice(np.setdiff1d(np.arange(n), F), rng.integers(0, churn), replace=False)
        F = np.sort(np.union1d(np.setdiff1d(F, out), inn))
    return np.array(errors)


def test_updated_cholesky_solves_match_lstsq_along_many_updates(monkeypatch):
    # updates from 64 columns on (the default waits for 400: the algebra is the same)
    monkeypatch.setattr(updated_cholesky, "UPDATE_FROM", 64)
    fresh = []
    factor = UpdatedCholesky._factor
    monkeypatch.setattr(UpdatedCholesky, "_factor",
                        lambda self, idx: fresh.append(idx.size) or factor(self, idx))
    # 400 x 200 Gaussian columns, passive sets near 128: cond(A_F) about 4, so normal
    # equations lose eps cond^2, 1e-14; 1e-10 leaves room for 40 steps of updates
    rng = np.random.default_rng(1)
    A = rng.standard_normal((400, 200))
    b = rng.standard_normal(400)
    errors = _solve_sequence(A, b, rng)
    assert errors.max() <= 1e-10
    assert len(fresh) < 10  # most of the 40 solves were updates


def test_updated_cholesky_refuses_a_dependent_column(monkeypatch):
    rng = np.random.default_rng(2)
    A = rng.standard_normal((100, 120))
    A[:, 119] = A[:, 3] + A[:, 70]  # in the span of two others
    chol = UpdatedCholesky(lambda r, c: A[:, r].T @ A[:, c], np.linalg.norm(A, axis=0),
                           RHO_CHOLESKY)
    F = np.arange(0, 100)
    monkeypatch.setattr(updated_cholesky, "UPDATE_FROM", 64)
    assert chol.solve(F, A.T @ A[:, 0]) is not None
    assert chol.solve(np.append(F[1:], 119), A.T @ A[:, 0]) is None  # an update
    assert chol.solve(np.append(F, 119), A.T @ A[:, 0]) is None  # afresh


def _smooth(m, n, width=0.05):
    t = np.linspace(0.0, 1.0, m)[:, None]
    return np.exp(-0.5 * ((t - np.linspace(0.0, 1.0, n)) / width) ** 2)


def _wide_problems():
    rng = np.random.default_rng(3)
    uniform = rng.random((80, 400))
    gaussian = rng.standard_normal((80, 400))
    duplicated = np.repeat(rng.random((80, 100)), 4, axis=1)  # exact ties, rank 80
    low_rank = rng.random((80, 30)) @ rng.random((30, 400))  # rank 30 < m
    smooth = _smooth(80, 400)
    sparse_x = rng.random(400) * (rng.random(400) < 0.1)
    return {
        "uniform, noisy": (uniform, uniform @ sparse_x + 0.01 * rng.random(80)),
        "gaussian, b attainable with a full support": (gaussian, rng.standard_normal(80)),
        "duplicated columns (ties)": (duplicated, duplicated @ sparse_x + 0.01 * rng.random(80)),
        "rank 30": (low_rank, low_rank @ sparse_x + 0.01 * rng.standard_normal(80)),
        "smooth bumps (coherent)": (smooth, smooth @ sparse_x + 1e-3 * rng.standard_normal(80)),
    }


@pytest.mark.parametrize("case", sorted(_wide_problems()))
def test_finish_on_wide_dense_data_matches_scipy(case):
    A, b = _wide_problems()[case]
    model = LinearModel(A, b[:, None])
    assert model.G is None  # wide: no stored Gram matrix, the cache serves the blocks
    n = A.shape[1]
    X, _, _, _ = exact_finish(model, np.zeros((n, 1)), np.zeros((n, 1), bool), tol=1e-10)
    x_ref = scipy_reference(A, b)
    B = b[:, None]
    assert np.all(X >= 0)
    assert objective(A, B, X)[0] <= objective(A, B, x_ref[:, None])[0] + \
        objective_tolerance(A, B, X, x_ref[:, None])[0]
    assert kkt_holds(A, B, X, 1e-10)[0]
