"""NNLS against scipy over random problems of every kind, and the edge cases a user
meets: extreme scales, consistent ill-conditioned systems, empty and degenerate input.

The randomized comparison draws shapes 0..80, every sparse format, one or several
right-hand sides, conditioning up to 1e14 and scales 1e-300..1e300, and checks what a
user relies on: a finite, non-negative x (or a clear error when the solution is beyond
the double range), a status that holds for every column (checked by
``reparamopt.finish.check`` on the data alone), and on consistent systems a residual
within 10x of scipy's (plus rounding at ``1e-14 ||b||``).
"""

import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp

import reparamopt as ro
from reparamopt.exceptions import InvalidArgumentError
from reparamopt.finish import check

FORMATS = ("dense", "csr", "csc", "coo", "bsr", "dia", "lil", "dok")
METHODS = ("auto", "bb", "gd", "nesterov", "riemannian-gd", "mirror-nesterov")


def random_problem(seed):
    """``(A, b, consistent, method)``: A = U diag(s) V^T with singular values over up
    to 14 decades (sometimes made positive), b = A x* with x* >= 0 or random, both
    scaled over 1e-300..1e300 half of the time."""
    rng = np.random.default_rng(seed)
    m, n = max(int(rng.integers(0, 81)), 1), int(rng.integers(0, 81))
    k = int(rng.choice([0, 0, 1, 2, 4]))
    r = min(m, n)
    if r:
        U = np.linalg.qr(rng.standard_normal((m, r)))[0]
        V = np.linalg.qr(rng.standard_normal((n, r)))[0]
        A = (U * np.logspace(0, -rng.uniform(0, 14), r)) @ V.T
        if rng.random() < 0.3:
            A = np.abs(A) + 1e-3 * rng.random((m, n))
    else:
        A = np.zeros((m, n))
    consistent = rng.random() < 0.5
    if consistent:
        b = A @ np.maximum(rng.standard_normal((n,) if k == 0 else (n, k)), 0)
    else:
        b = rng.standard_normal((m,) if k == 0 else (m, k))
    if rng.random() < 0.5:
        A, b = A * 10.0 ** rng.uniform(-300, 300), b * 10.0 ** rng.uniform(-300, 300)
    form = FORMATS[int(rng.integers(len(FORMATS)))]
    method = METHODS[int(rng.integers(len(METHODS)))] if rng.random() < 0.4 else "auto"
    matrix = A if form == "dense" else sp.csr_array(A).asformat(form)
    return A, matrix, b, consistent, method


def scipy_residual(A, b):
    """scipy's residual norm per column, on data scaled to unit magnitude (scipy
    cannot take extreme magnitudes itself); inf where its solution is beyond the
    double range (its largest entry above 1e308 or, non-zero, below 1e-308)."""
    B = b[:, None] if b.ndim == 1 else b
    s = np.abs(A).max() if A.size and np.abs(A).max() > 0 else 1.0
    out = []
    for j in range(B.shape[1]):
        t = np.abs(B[:, j]).max() if np.abs(B[:, j]).max() > 0 else 1.0
        x = scipy.optimize.nnls(A / s, B[:, j] / t, maxiter=50 * max(A.shape[1], 1))[0] \
            if A.shape[1] else np.zeros(0)
        top = np.max(x, initial=0.0)
        magnitude = np.log10(top) + np.log10(t) - np.log10(s) if top > 0 else 0.0
        if abs(magnitude) > 307:
            out.append(np.inf)
            continue
        out.append(np.linalg.norm(A @ (x * (t / s)) - B[:, j]))
    return np.array(out)


def normalized_check(A, b, x, tol=1e-10):
    """:func:`reparamopt.finish.check` on the data divided by powers of two that bring
    their largest entries to about 1 (exact: the certificate does not change, and its
    products neither overflow nor underflow)."""
    e_a = np.frexp(np.abs(A).max())[1] if A.size and np.abs(A).max() > 0 else 0
    e_b = np.frexp(np.abs(b).max())[1] if b.size and np.abs(b).max() > 0 else 0
    return check(np.ldexp(A, -e_a), np.ldexp(b, -e_b), np.ldexp(x, e_a - e_b), tol)[1]


@pytest.mark.parametrize("block", range(6))
def test_randomized_comparison_with_scipy(block):
    for seed in range(40 * block, 40 * (block + 1)):
        A, matrix, b, consistent, method = random_problem(seed)
        reference = scipy_residual(A, b)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = ro.nnls(matrix, b, method=method)
        except InvalidArgumentError as error:
            # only a solution beyond the double range may be refused
            assert "beyond the range of double" in str(error), (seed, error)
            assert not np.all(np.isfinite(reference)), seed
            continue
        x = np.asarray(res.x)
        assert np.all(np.isfinite(x)) and np.all(x >= 0), seed
        ok = np.atleast_1d(normalized_check(A, b, x))
        if res.status == 1:
            assert ok.all(), (seed, method, res.optimality)
        if consistent and np.all(np.isfinite(reference)):
            with np.errstate(over="ignore"):
                ours = np.atleast_1d(np.linalg.norm(A @ x - b, axis=0))
                scale = np.atleast_1d(np.linalg.norm(b, axis=0))
            assert np.all(ours <= 10 * reference + 1e-14 * scale), (seed, method, ours, reference)


def test_extreme_ratio_with_zero_answer_is_finite():
    """max|b| / max|A| beyond 1e308 where x = 0 is exact (A^T b < 0): x = 0, certified."""
    A = np.random.default_rng(0).random((5, 3)) * 1e-180
    res = ro.nnls(A, -1e160 * np.ones(5))
    np.testing.assert_array_equal(res.x, np.zeros(3))
    assert res.success and np.isfinite(res.rnorm)


def test_a_solution_beyond_the_double_range_is_a_clear_error():
    A = np.random.default_rng(1).random((6, 3)) * 5e-320  # subnormal entries
    with pytest.raises(InvalidArgumentError, match="beyond the range of double"):
        ro.nnls(A, np.ones(6))


@pytest.mark.parametrize("exponent", [-578, -1000, -1060])
def test_tiny_and_subnormal_matrices_are_solved_like_any_other(exponent):
    """A scaled by 2**exponent (2e-174, 1e-301 and a subnormal 5e-320) with a
    representable solution: the same answer as scipy on the same numbers scaled back
    by the same power of two (exact), to rounding."""
    rng = np.random.default_rng(2)
    A = np.ldexp(rng.random((11, 5)), exponent)
    b = np.ldexp(rng.standard_normal(11), exponent + 20)
    res = ro.nnls(A, b)
    x_ref = np.ldexp(scipy.optimize.nnls(np.ldexp(A, -exponent), np.ldexp(b, -exponent))[0], 0)
    assert res.success
    np.testing.assert_allclose(res.x, x_ref, rtol=1e-6, atol=1e-9 * np.abs(x_ref).max())


@pytest.mark.parametrize("method", ["auto", "bb", "nesterov", "riemannian-gd"])
@pytest.mark.parametrize("cond", [1e9, 1e12, 1e14])
def test_consistent_ill_conditioned_systems_reach_scipys_residual(method, cond):
    """b = A x* with x* >= 0: the residual within 10x of scipy's (the KKT test alone
    cannot see a residual of 1e-10 here)."""
    rng = np.random.default_rng(int(np.log10(cond)))
    for m, n in [(40, 25), (25, 40)]:
        U = np.linalg.qr(rng.standard_normal((m, min(m, n))))[0]
        V = np.linalg.qr(rng.standard_normal((n, min(m, n))))[0]
        A = (U * np.logspace(0, -np.log10(cond), min(m, n))) @ V.T
        B = A @ np.maximum(rng.standard_normal((n, 3)), 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = ro.nnls(A, B, method=method)
        ours = np.linalg.norm(A @ res.x - B, axis=0)
        reference = scipy_residual(A, B)
        assert np.all(ours <= 10 * reference + 1e-14 * np.linalg.norm(B, axis=0)), (m, n, ours)


def test_a_batch_names_the_columns_that_failed():
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((30, 60)), rng.standard_normal((30, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = ro.nnls(A, B, method="gd", max_iter=5, polish=False)
    failing = np.flatnonzero(res.optimality > 1e-10)
    assert res.status == 0 and not res.success and failing.size
    listed = ", ".join(map(str, failing))
    assert f"{failing.size} of the 3 right-hand sides (columns {listed})" in res.message
    assert any(res.message in str(w.message) for w in caught)


def test_empty_and_degenerate_input():
    A = np.random.default_rng(4).random((20, 10))
    res = ro.nnls(A, np.zeros((20, 0)))
    assert res.x.shape == (10, 0) and res.success
    with pytest.raises(InvalidArgumentError, match="`init_scale`.*1e\\+200"):
        ro.nnls(A, np.ones(20), init_scale=1e200, method="nesterov")
    with pytest.raises(InvalidArgumentError, match=r"minimum of -1\.0$"):
        ro.nnls(A, np.ones(20), x0=-np.ones(10))
