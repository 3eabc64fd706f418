"""reparamopt.lsq against reference solvers on seeded data.

Tolerances: two exact methods agree on the objective to its rounding level, a few
hundred eps relative (1e-10 leaves a margin); points are compared only where the
solution is unique (full column rank). The sum constraint and the l1 penalty have no
exact scipy peer: there the result is checked by a KKT test written here and must be no
worse than SLSQP / L-BFGS-B, which stop at about 1e-9.
"""

import warnings

import numpy as np
import pytest
import scipy.optimize as so
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import aslinearoperator

import reparamopt as ro
from reparamopt.datasets import make_svd, make_unmixing
from reparamopt.exceptions import ConvergenceWarning, InfeasibleError, InvalidArgumentError

RTOL = 1e-10


def _objective(A, b, x, l1=0.0, l2=0.0):
    r = A @ x - b
    return 0.5 * r @ r + 0.5 * l2 * x @ x + l1 * np.abs(x).sum()


def _random_bounds(rng, n, infinite=0.2):
    lower = rng.standard_normal(n) - 0.5
    upper = lower + 2 * rng.random(n)
    lower[rng.random(n) < infinite] = -np.inf
    upper[rng.random(n) < infinite] = np.inf
    return lower, upper


def _kkt_simplex(A, b, x, l1=0.0, l2=0.0, lower=None):
    """Largest KKT violation of min f(x) + l1 |x| over {x >= lower, sum x = 1}, relative
    to ||A^T b||: written here from the optimality conditions, not from the package."""
    lower = np.zeros_like(x) if lower is None else lower
    g = A.T @ (A @ x - b) + l2 * x + l1 * np.sign(x)
    free = x > lower
    mu = -np.mean(g[free])
    w = g + mu
    violation = np.concatenate([np.abs(w[free]), np.maximum(-w[~free], 0.0)])
    return violation.max() / np.linalg.norm(A.T @ b)


@pytest.mark.parametrize("shape", [(30, 10), (10, 30), (25, 25), (60, 40)])
def test_bounded_matches_scipy_bvls(shape):
    rng = np.random.default_rng(sum(shape))
    A, b = rng.standard_normal(shape), rng.standard_normal(shape[0])
    lower, upper = _random_bounds(rng, shape[1])
    res = ro.lsq(A, b, bounds=(lower, upper))
    ref = so.lsq_linear(A, b, (lower, upper), method="bvls", tol=1e-14)
    assert res.success and res.status == 1
    assert np.all((res.x >= lower) & (res.x <= upper))
    assert res.fun <= ref.cost * (1 + RTOL) + 1e-14
    if shape[0] >= shape[1]:  # full column rank: the solution is unique
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-7, atol=1e-9)


def test_nonnegative_case_matches_scipy_nnls():
    rng = np.random.default_rng(3)
    A, b = rng.random((40, 25)), rng.standard_normal(40)
    res = ro.lsq(A, b, bounds=(0, None))
    x_ref, rnorm_ref = so.nnls(A, b)
    assert res.success
    assert res.rnorm == pytest.approx(rnorm_ref, rel=RTOL)
    np.testing.assert_allclose(res.x, x_ref, rtol=1e-8, atol=1e-10)


def test_simplex_is_optimal_and_no_worse_than_slsqp():
    rng = np.random.default_rng(4)
    A = rng.random((30, 12))
    b = A @ rng.dirichlet(np.ones(12)) + 0.05 * rng.standard_normal(30)
    res = ro.lsq(A, b, bounds=(0, None), sum_to=1)
    assert res.success and res.x.sum() == pytest.approx(1.0, abs=1e-14) and res.x.min() >= 0
    assert _kkt_simplex(A, b, res.x) < 1e-12
    ref = so.minimize(lambda x: _objective(A, b, x), np.full(12, 1 / 12), method="SLSQP",
                      jac=lambda x: A.T @ (A @ x - b), bounds=[(0, None)] * 12,
                      constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}],
                      options={"ftol": 1e-15, "maxiter": 500})
    assert res.fun <= ref.fun + 1e-12
    g = A.T @ (A @ res.x - b)  # the multiplier: g + mu = 0 on the support
    np.testing.assert_allclose(g[res.x > 0] + res.multiplier, 0, atol=1e-12)


def test_capped_simplex_with_lower_bounds():
    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((20, 8)), rng.standard_normal(20)
    lower, upper = np.full(8, -0.2), np.full(8, 0.4)
    res = ro.lsq(A, b, bounds=(lower, upper), sum_to=1)
    assert res.success and res.x.sum() == pytest.approx(1.0, abs=1e-14)
    assert np.all((res.x >= lower) & (res.x <= upper))
    ref = so.minimize(lambda x: _objective(A, b, x), np.full(8, 1 / 8), method="SLSQP",
                      jac=lambda x: A.T @ (A @ x - b), bounds=list(zip(lower, upper)),
                      constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}],
                      options={"ftol": 1e-15, "maxiter": 500})
    assert res.fun <= ref.fun + 1e-12


def test_l1_and_l2_match_lbfgsb_on_the_split_problem():
    rng = np.random.default_rng(6)
    A, b = rng.standard_normal((30, 15)), rng.standard_normal(30)
    l1, l2 = 0.8, 0.3
    res = ro.lsq(A, b, l1=l1, l2=l2, bounds=(-0.5, 1.0))
    assert res.success and np.sum(res.x == 0) > 0  # the l1 penalty zeroes some entries

    def split(v):  # x = p - q with p in [0, 1], q in [0, 0.5]: l1 is linear there
        x = v[:15] - v[15:]
        r = A @ x - b
        g = A.T @ r + l2 * x
        return 0.5 * r @ r + 0.5 * l2 * x @ x + l1 * v.sum(), np.concatenate([g, -g]) + l1

    ref = so.minimize(split, np.zeros(30), jac=True, method="L-BFGS-B",
                      bounds=[(0, 1.0)] * 15 + [(0, 0.5)] * 15,
                      options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 5000})
    assert res.fun == pytest.approx(_objective(A, b, res.x, l1, l2), rel=1e-14)
    assert res.fun <= ref.fun + 1e-10


def test_ridge_equals_bvls_on_the_augmented_matrix():
    rng = np.random.default_rng(7)
    A, b = rng.standard_normal((20, 30)), rng.standard_normal(20)
    l2 = 0.5
    res = ro.lsq(A, b, l2=l2, bounds=(0, 0.3))
    aug = np.vstack([A, np.sqrt(l2) * np.eye(30)])
    ref = so.lsq_linear(aug, np.append(b, np.zeros(30)), (0, 0.3), method="bvls", tol=1e-14)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-8, atol=1e-11)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), m=st.integers(1, 12), n=st.integers(1, 12),
       infinite=st.floats(0, 1))
def test_property_random_bounds_match_bvls(seed, m, n, infinite):
    rng = np.random.default_rng(seed)
    A, b = rng.standard_normal((m, n)), rng.standard_normal(m)
    lower, upper = _random_bounds(rng, n, infinite)
    res = ro.lsq(A, b, bounds=(lower, upper))
    ref = so.lsq_linear(A, b, (lower, upper), method="bvls", tol=1e-14)
    assert res.success
    assert np.all((res.x >= lower) & (res.x <= upper))
    assert res.fun <= ref.cost * (1 + RTOL) + 1e-13


def test_many_right_hand_sides_equal_a_loop_and_sparse_equals_dense():
    rng = np.random.default_rng(8)
    A, B = rng.standard_normal((25, 10)), rng.standard_normal((25, 4))
    A[rng.random(A.shape) < 0.5] = 0.0
    kw = dict(bounds=(-0.3, 0.5))
    batched = ro.lsq(A, B, **kw)
    looped = np.column_stack([ro.lsq(A, B[:, j], **kw).x for j in range(4)])
    # the batch advances in lockstep on the Gram matrix, the loop on QR factors: the
    # unique solution (full column rank) agrees to rounding
    np.testing.assert_allclose(batched.x, looped, rtol=1e-10, atol=1e-12)
    assert batched.x.shape == (10, 4) and batched.fun.shape == (4,)
    for matrix in (sp.csr_array(A), aslinearoperator(A)):
        np.testing.assert_allclose(ro.lsq(matrix, B, **kw).x, batched.x, rtol=1e-12, atol=1e-13)


def test_float32_input_is_solved_in_double():
    rng = np.random.default_rng(9)
    A, b = rng.standard_normal((20, 6)), rng.standard_normal(20)
    res = ro.lsq(A.astype(np.float32), b.astype(np.float32), bounds=(0, 1))
    ref = ro.lsq(A.astype(np.float32).astype(float), b.astype(np.float32).astype(float),
                 bounds=(0, 1))
    assert res.x.dtype == np.float64 and res.success
    np.testing.assert_array_equal(res.x, ref.x)


def test_ill_conditioned_unmixing_is_exact():
    A, B, _ = make_unmixing(80, 40, 6, active=4, random_state=1)
    assert np.linalg.cond(A) > 1e12
    res = ro.lsq(A, B, bounds=(0, None), sum_to=1)
    assert np.all(res.success)
    for j in range(B.shape[1]):
        assert _kkt_simplex(A, B[:, j], res.x[:, j]) < 1e-9
        # the augmented-NNLS reformulation with a heavy row of ones: a near-feasible peer
        w = 1e3 * np.linalg.norm(A, 2)
        x_ref = so.nnls(np.vstack([A, w * np.ones(40)]), np.append(B[:, j], w))[0]
        f_ref = _objective(A, B[:, j], x_ref / x_ref.sum())
        assert res.fun[j] <= f_ref * (1 + 1e-9)


def test_ill_conditioned_bounded_matches_bvls():
    A, b, _ = make_svd(120, 50, cond=1e12, random_state=2)
    assert np.linalg.cond(A) > 1e11
    res = ro.lsq(A, b, bounds=(-1.0, 1.0))
    ref = so.lsq_linear(A, b, (-1.0, 1.0), method="bvls", tol=1e-14)
    assert res.success
    assert res.fun <= ref.cost * (1 + 1e-9) + 1e-14


def test_warm_start_is_never_worse_and_checked():
    rng = np.random.default_rng(10)
    A, b = rng.standard_normal((15, 6)), rng.standard_normal(15)
    x0 = np.full(6, 1 / 6)
    res = ro.lsq(A, b, bounds=(0, None), sum_to=1, x0=x0)
    cold = ro.lsq(A, b, bounds=(0, None), sum_to=1)
    assert res.success and res.fun == pytest.approx(cold.fun, rel=RTOL)
    with pytest.raises(InfeasibleError, match="`x0`"):
        ro.lsq(A, b, bounds=(0, None), sum_to=1, x0=np.full(6, 0.5))
    with pytest.raises(InfeasibleError, match="`x0`"):
        ro.lsq(A, b, bounds=(0, 0.1), x0=np.full(6, 0.5))


def test_iteration_limit_returns_status_zero_with_a_warning():
    A, B, _ = make_unmixing(60, 30, 1, active=8, random_state=3)
    b = B[:, 0]
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        res = ro.lsq(A, b, bounds=(0, None), sum_to=1, max_iter=1)
    assert res.status == 0 and not res.success
    assert res.x.sum() == pytest.approx(1.0, abs=1e-13) and res.x.min() >= 0


@pytest.mark.parametrize("kwargs, name", [
    (dict(bounds=(1, 0)), "bounds"), (dict(bounds=([0, 0], 1)), "bounds"),
    (dict(bounds=(0, 1), sum_to=5), "sum_to"), (dict(sum_to=np.inf), "sum_to"),
    (dict(l1=-1), "l1"), (dict(l2=np.nan), "l2"), (dict(tol=-1), "tol"),
    (dict(max_iter=1.5), "max_iter"),
])
def test_bad_input_names_the_argument(kwargs, name):
    A, b = np.eye(3), np.ones(3)
    with pytest.raises(InvalidArgumentError, match=f"`{name}"):
        ro.lsq(A, b, **kwargs)


def test_bad_data_names_the_argument():
    with pytest.raises(InvalidArgumentError, match="`b`"):
        ro.lsq(np.eye(3), np.ones(4))
    with pytest.raises(InvalidArgumentError, match="`A`"):
        ro.lsq(np.array([[np.nan]]), np.ones(1))


def test_result_fields_as_nnls():
    rng = np.random.default_rng(11)
    A, b = rng.standard_normal((10, 4)), rng.standard_normal(10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ro.lsq(A, b, bounds=(0, None))
    nnls = ro.nnls(A, b)
    assert set(nnls) <= set(res)
    assert res.rnorm == pytest.approx(nnls.rnorm, rel=RTOL)
    assert res.fun == pytest.approx(0.5 * res.rnorm ** 2)


def test_edge_cases_no_column_and_fixed_variables():
    b = np.array([1.0, -2.0, 2.0])
    res = ro.lsq(np.zeros((3, 0)), b, bounds=(0, 1))
    assert res.x.shape == (0,) and res.success and res.rnorm == pytest.approx(np.linalg.norm(b))
    # a variable with equal bounds stays there; the others solve the rest exactly
    A = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    res = ro.lsq(A, b, bounds=([0.5, -1, -1], [0.5, 1, 1]))
    ref = so.lsq_linear(A[:, 1:], b - 0.5 * A[:, 0], (-1, 1), method="bvls", tol=1e-14)
    assert res.x[0] == 0.5 and res.success
    np.testing.assert_allclose(res.x[1:], ref.x, rtol=1e-10, atol=1e-12)


def test_lockstep_finish_in_chunks_matches_bvls_and_the_qr_finish(monkeypatch):
    from reparamopt.finish import bounded_batch as batch
    from reparamopt.finish.bounded import bounded_active_set

    monkeypatch.setattr(batch, "_CHUNK", 3)  # several chunks, the last one partial
    rng = np.random.default_rng(12)
    A, B = rng.standard_normal((40, 15)), 2 * rng.standard_normal((40, 7))
    lower, upper = np.full(15, -0.2), np.full(15, 0.3)
    H, C = A.T @ A, A.T @ B
    # from zero every variable starts free: most leave (factored afresh each time)
    X, done, _ = batch.bounded_batch(H, C, lower, upper, np.zeros((15, 7)), max_iter=200)
    assert done.all() and np.mean((X == -0.2) | (X == 0.3)) > 0.3
    for j in range(7):
        ref = so.lsq_linear(A, B[:, j], (lower, upper), method="bvls", tol=1e-12).x
        np.testing.assert_allclose(X[:, j], ref, atol=1e-10)
    # the simplex from a vertex: variables enter one by one (appended factor rows)
    ones, start = np.ones(15), np.zeros((15, 7))
    start[0] = 1.0
    X, done, _ = batch.bounded_batch(H, C, np.zeros(15), np.full(15, np.inf), start,
                                     weights=ones, total=1.0, max_iter=200)
    assert done.all()
    for j in range(7):
        ref = bounded_active_set(A, B[:, j], np.zeros(15), np.full(15, np.inf), start[:, j],
                                 weights=ones, total=1.0)[0]
        np.testing.assert_allclose(X[:, j], ref, atol=1e-10)
        assert _kkt_simplex(A, B[:, j], X[:, j]) < 1e-12


def test_lockstep_hands_back_a_column_whose_entering_variable_is_dependent():
    from reparamopt.finish.bounded_batch import bounded_batch

    rng = np.random.default_rng(13)
    A = rng.standard_normal((30, 6))
    # a sine of 1e-8 to the column before it: below the test's 1e-6, yet it helps the fit
    A[:, 5] = A[:, 3] + 1e-8 * rng.standard_normal(30)
    b = rng.standard_normal(30) + A[:, 3]
    B = np.column_stack([b, b])
    start = np.zeros((6, 2))
    start[3] = 0.5  # x3 starts free; x5 then enters (nearly) in its span
    X, done, _ = bounded_batch(A.T @ A, A.T @ B, np.zeros(6), np.full(6, np.inf), start,
                               max_iter=50)
    assert not done.all()
    assert np.all(X >= 0)
    assert _objective(A, b, X[:, 0]) <= _objective(A, b, start[:, 0])
    res = ro.lsq(A, B, bounds=(0, None))  # the QR-based finish takes over and certifies
    assert np.all(res.success)
    assert res.fun[0] <= _objective(A, b, so.nnls(A, b)[0]) * (1 + 1e-9)


@pytest.mark.parametrize("half_width", [0.05, 10.0])
def test_sparse_path_matches_bvls_with_and_without_active_bounds(half_width):
    from reparamopt.flagships.lsq.route import SPARSE_FROM

    rng = np.random.default_rng(14)
    m, n = 3 * SPARSE_FROM, SPARSE_FROM
    A = sp.random_array((m, n), density=0.03, rng=rng, format="csr")
    b = rng.standard_normal(m)
    bounds = (np.full(n, -half_width), np.full(n, half_width))
    res = ro.lsq(A, b, bounds=bounds)
    ref = so.lsq_linear(A.toarray(), b, bounds, method="bvls", tol=1e-12)
    assert res.success and res.nit > 0
    assert np.all((res.x >= -half_width) & (res.x <= half_width))
    assert res.fun <= 0.5 * float(ref.fun @ ref.fun) * (1 + 1e-12)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-8)
    g = A.T @ (A @ res.x - b)
    kkt = np.linalg.norm(res.x - np.clip(res.x - g, *bounds)) / np.linalg.norm(A.T @ b)
    assert kkt < 1e-10


def test_sparse_path_hands_a_stalled_solve_to_the_exact_path():
    from reparamopt.flagships.lsq import sparse as sparse_path
    from reparamopt.flagships.lsq.route import SPARSE_FROM

    n = SPARSE_FROM
    A, b, _ = make_svd(2 * n, n, cond=1e10, random_state=3)
    A[np.abs(A) < 0.5 * np.abs(A).mean()] = 0.0
    A = sp.csr_array(A)
    x, converged, _ = sparse_path.projected_newton(
        A, b, ro.flagships.lsq.LSQSettings.build(n, bounds=(-1, 1)),
        np.linalg.norm(A.T @ b), sp.linalg.norm(A, axis=0))
    assert not converged and np.all(np.abs(x) <= 1)  # conjugate gradients stall here
    res = ro.lsq(A, b, bounds=(-1, 1))
    ref = so.lsq_linear(A.toarray(), b, (-1, 1), method="bvls", tol=1e-14, max_iter=5000)
    assert res.success
    assert res.fun <= 0.5 * float(ref.fun @ ref.fun) * (1 + 1e-9)


@pytest.mark.parametrize("m,n,k", [(2, 17, 1), (3, 20, 1), (4, 24, 1), (3, 20, 6)])
def test_wide_simplex_with_more_nonzeros_than_rows(m, n, k):
    """b inside the hull of the columns of a wide A: the fit is exact, with up to m + 1
    non-zeros on m rows, whose columns are independent only together with the row of
    the sum. The objective must reach 0 (to rounding) and the KKT test hold."""
    rng = np.random.default_rng(m * n + k)
    A = rng.standard_normal((m, n))
    B = A @ rng.dirichlet(np.ones(n), size=k).T
    res = ro.lsq(A, B if k > 1 else B[:, 0], bounds=(0, None), sum_to=1)
    X = res.x.reshape(n, k)
    assert np.all(res.success) and X.min() >= 0
    np.testing.assert_allclose(X.sum(axis=0), 1.0, atol=1e-14)
    for j in range(k):
        assert _objective(A, B[:, j], X[:, j]) <= 1e-24 * (1 + np.sum(B[:, j] ** 2))
        assert _kkt_simplex(A, B[:, j], X[:, j]) < 1e-12


@pytest.mark.parametrize("seed", range(4))
def test_capped_simplex_from_a_vertex_matches_slsqp(seed):
    """Caps of 0.5 with a sum of 1 on a wide A: the start can be a vertex (two variables
    at their cap, no free one), from which a variable can only enter with a partner."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((4, 10))
    b = A @ rng.dirichlet(np.ones(10))
    res = ro.lsq(A, b, bounds=(0, 0.5), sum_to=1)
    assert res.success and res.x.min() >= 0 and res.x.max() <= 0.5
    assert res.x.sum() == pytest.approx(1.0, abs=1e-14)
    ref = so.minimize(lambda x: _objective(A, b, x), np.full(10, 0.1), method="SLSQP",
                      jac=lambda x: A.T @ (A @ x - b), bounds=[(0, 0.5)] * 10,
                      constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}],
                      options={"ftol": 1e-15, "maxiter": 1000})
    assert res.fun <= ref.fun + 1e-12


def test_too_large_an_operator_is_refused_naming_a():
    """The exact finish needs the entries of A: a LinearOperator beyond the size it may
    make dense is refused before any product, with its shape in the message."""
    from scipy.sparse.linalg import LinearOperator

    shape = (100_000, 1_000)
    calls = []
    A = LinearOperator(shape, matvec=lambda v: calls.append(1) or np.zeros(shape[0]),
                       rmatvec=lambda v: calls.append(1) or np.zeros(shape[1]), dtype=float)
    with pytest.raises(InvalidArgumentError, match=r"`A` of shape \(100000, 1000\) is too large"):
        ro.lsq(A, np.zeros(shape[0]), bounds=(0, 1))
    assert not calls
