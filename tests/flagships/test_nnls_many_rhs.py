"""reparamopt.nnls with many right-hand sides on a small matrix (the NMF subproblem and
sparse coding on a learned dictionary), against scipy.optimize.nnls column by column.

These go to block principal pivoting on the Gram matrix, all columns at once, where
the columns of ``A`` are far from dependent (the columns it leaves, and all of them
elsewhere, go to scipy's compiled method, on the Cholesky factor of ``A^T A`` where that
is trusted). Every column must be exact and
honest: its objective within the slack of
:func:`tests.nnls_reference.objective_tolerance` of scipy's (1e-9 relative, plus
rounding), the independent KKT test of :func:`tests.nnls_reference.kkt_holds` holding,
``success`` and ``status = 1``.
"""

import numpy as np
import pytest

import reparamopt as ro
from reparamopt import datasets
from reparamopt.flagships.nnls import direct
from tests.nnls_reference import kkt_holds, objective, objective_tolerance, scipy_reference


@pytest.fixture
def pivoting_runs(monkeypatch):
    """How many columns each call of block principal pivoting was given."""
    calls = []
    original = direct.block_pivoting

    def spy(G, C, *args, **kwargs):
        calls.append(C.shape[1])
        return original(G, C, *args, **kwargs)

    monkeypatch.setattr(direct, "block_pivoting", spy)
    return calls


def check_exact(A, B, res):
    X = res.x
    assert X.shape == (A.shape[1], B.shape[1]) and np.all(X >= 0)
    X_ref = scipy_reference(A, B)
    f, f_ref = objective(A, B, X), objective(A, B, X_ref)
    assert np.all(f <= f_ref + objective_tolerance(A, B, X, X_ref)), np.max(f - f_ref)
    np.testing.assert_allclose(res.fun, f, rtol=1e-6, atol=1e-12 * np.max(np.sum(B * B, 0)))
    assert kkt_holds(A, B, X).all()
    assert res.success and res.status == 1 and np.all(res.optimality <= 1e-10)


def nmf_counts(rng, m, r, k, width):
    W = datasets.make_nmf_subproblem(m, r, 1, width=width, random_state=rng)[0]
    H = rng.gamma(0.5, 2.0, (r, k)) * (rng.random((r, k)) < 0.4)
    return W, rng.poisson(5.0 * W @ H).astype(float)


@pytest.mark.parametrize("r, width, pivoting", [(20, 0.02, True), (40, 0.01, True),
                                                (40, 0.02, False), (20, 0.05, False)])
def test_poisson_counts_on_a_tall_basis(pivoting_runs, r, width, pivoting):
    """Bumps that overlap little go to block principal pivoting; wide ones (a column
    with a sine below 1e-3 to the others) to the compiled method."""
    rng = np.random.default_rng(r)
    W, B = nmf_counts(rng, 800, r, 150, width)
    check_exact(W, B, ro.nnls(W, B))
    assert bool(pivoting_runs) == pivoting


def test_digit_images_on_a_learned_dictionary(pivoting_runs):
    """Real images (scikit-learn's digits, shipped with it) coded on 24 non-negative
    parts: a dictionary fitted by a few multiplicative updates, well conditioned."""
    load_digits = pytest.importorskip("sklearn.datasets").load_digits
    images = load_digits().data.T[:, :400]
    rng = np.random.default_rng(0)
    D = rng.random((64, 24))
    for _ in range(30):  # Lee and Seung's updates: parts of the images
        codes = np.linalg.lstsq(D, images, rcond=None)[0].clip(1e-3)
        D *= (images @ codes.T) / np.maximum(D @ codes @ codes.T, 1e-12)
    check_exact(D, images, ro.nnls(D, images))
    assert pivoting_runs == [400]


def test_ill_conditioned_basis():
    rng = np.random.default_rng(5)
    U, _ = np.linalg.qr(rng.standard_normal((300, 25)))
    V, _ = np.linalg.qr(rng.standard_normal((25, 25)))
    W = (U * np.logspace(0, -7, 25)) @ V.T
    B = W @ (rng.random((25, 80)) * (rng.random((25, 80)) < 0.5)) + 1e-3 * \
        rng.standard_normal((300, 80))
    check_exact(W, B, ro.nnls(W, B))


@pytest.mark.parametrize("width, pivoting", [(0.03, True), (0.1, False)])
def test_degenerate_right_hand_sides(pivoting_runs, width, pivoting):
    """Zero columns, columns inside the cone, repeated columns and columns with
    ``A^T b <= 0``, mixed with ordinary ones; on a basis for the pivoting, and on one
    whose columns overlap more (the compiled method on the Cholesky factor, whose
    attainable columns the certification refines)."""
    rng = np.random.default_rng(6)
    W, noisy = nmf_counts(rng, 200, 15, 30, width)
    inside = W @ (rng.random((15, 20)) * (rng.random((15, 20)) < 0.5))
    B = np.hstack([np.zeros((200, 2)), inside, noisy, -inside[:, :2], inside[:, :5], noisy[:, :5]])
    res = ro.nnls(W, B)
    check_exact(W, B, res)
    assert np.all(res.x[:, :2] == 0) and np.all(res.x[:, 52:54] == 0)
    np.testing.assert_allclose(res.x[:, 54:59], res.x[:, 2:7], rtol=1e-9, atol=1e-12)
    assert bool(pivoting_runs) == pivoting


def test_dependent_columns_go_to_the_compiled_method(pivoting_runs):
    """A repeated column of ``A`` makes the Gram subproblems singular: no pivoting."""
    rng = np.random.default_rng(7)
    W, B = nmf_counts(rng, 300, 12, 40, 0.1)
    W = np.hstack([W, W[:, :1]])
    check_exact(W, B, ro.nnls(W, B))
    assert not pivoting_runs


def test_few_right_hand_sides_go_to_the_compiled_method(pivoting_runs, monkeypatch):
    """Below PIVOTING_FROM columns: the compiled method, on the Cholesky factor of
    ``A^T A`` (12 x 12 here), not on ``A``."""
    shapes = []
    original = direct.compiled_lawson_hanson
    monkeypatch.setattr(direct, "compiled_lawson_hanson",
                        lambda M, D: shapes.append(M.shape) or original(M, D))
    rng = np.random.default_rng(8)
    W, B = nmf_counts(rng, 300, 12, direct.PIVOTING_FROM - 1, 0.1)
    check_exact(W, B, ro.nnls(W, B))
    assert not pivoting_runs and shapes == [(12, 12)]


@pytest.mark.parametrize("layout", ["fortran", "strided"])
def test_repeated_supports_in_any_memory_layout(pivoting_runs, layout):
    """Right-hand sides in Fortran order or a strided view, many of them sharing a
    support, some attainable with zeros in ``x`` (a zero gradient there: degenerate
    ties), some repeated exactly: every column exact, repeats equal."""
    rng = np.random.default_rng(9)
    W, noisy = nmf_counts(rng, 400, 20, 60, 0.02)
    patterns = rng.random((20, 5)) < 0.5
    inside = W @ (rng.random((20, 60)) * patterns[:, rng.integers(0, 5, 60)])
    B = np.hstack([inside, noisy, inside[:, :10]])
    B = np.asfortranarray(B) if layout == "fortran" else np.repeat(B, 2, axis=1)[:, ::2]
    res = ro.nnls(W, B)
    check_exact(W, B, res)
    np.testing.assert_allclose(res.x[:, 120:], res.x[:, :10], rtol=1e-9, atol=1e-12)
    assert pivoting_runs
