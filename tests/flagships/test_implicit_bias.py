"""The flow's limit (method="limit", the default on matrices) against the flow itself.

The reference is a test-local integration of the latent gradient flow
``u' = -grad_u 1/2 ||A phi(u) - b||^2`` from ``u = alpha 1`` (scipy's LSODA with the exact
Jacobian, tight tolerances, run long), independent of the package's engines.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.integrate import solve_ivp
from scipy.optimize import linprog
from scipy.sparse.linalg import aslinearoperator

import reparamopt as ro
from reparamopt.engines import GradientFlow
from reparamopt.exceptions import InvalidArgumentError
from reparamopt.models.operators import SubsampledFFT


def _problem(seed, n, m, s, signed=False, noise=0.0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    idx = rng.choice(n, s, replace=False)
    x[idx] = np.abs(rng.standard_normal(s)) * (rng.choice([-1.0, 1.0], s) if signed else 1.0)
    x /= np.linalg.norm(x)
    return A, A @ x + noise * rng.standard_normal(m)


def _reference_flow(A, b, power, alpha, signed, t_end=1e8):
    """The u-flow itself, integrated with its exact Jacobian up to `t_end` (the last
    directions of the residual close slowly, at rates ~ alpha**L: t = 1e4 is too short
    for power 3 at alpha = 1e-2)."""
    L, n = float(power), A.shape[1]
    G, c = A.T @ A, A.T @ b
    k = 2 if signed else 1
    sign = np.array([1.0, -1.0]) if signed else np.array([1.0])

    def parts(y):
        U = y.reshape(k, n)
        x = (sign[:, None] * U ** L).sum(axis=0)
        return U, x, G @ x - c

    def rhs(t, y):
        U, _, g = parts(y)
        return (-L * sign[:, None] * U ** (L - 1) * g).ravel()

    def jac(t, y):
        U, _, g = parts(y)
        d = L * U ** (L - 1)  # dx/du per half, times its sign
        J = np.zeros((k * n, k * n))
        for i in range(k):
            for j in range(k):
                J[i * n:(i + 1) * n, j * n:(j + 1) * n] = (
                    -sign[i] * sign[j] * d[i][:, None] * G * d[j][None, :])
            J[i * n:(i + 1) * n, i * n:(i + 1) * n] -= np.diag(
                sign[i] * L * (L - 1) * U[i] ** (L - 2) * g)
        return J

    y0 = np.full(k * n, alpha)
    sol = solve_ivp(rhs, (0.0, t_end), y0, method="LSODA", jac=jac, rtol=1e-11,
                    atol=1e-6 * alpha ** L)
    assert sol.success
    return parts(sol.y[:, -1])[1]


CASES = [(seed, power, alpha, signed)
         for seed in (11, 12) for power in (2, 3) for alpha in (1e-1, 1e-2)
         for signed in (False, True)]


@pytest.mark.parametrize("seed,power,alpha,signed", CASES)
def test_limit_matches_the_flow_on_the_paper_setup(seed, power, alpha, signed):
    # the paper's n = 50, m = 10, s = 3; agreement to 1e-6 relative (the reference
    # integration's own accuracy), the l1 norms to 1e-7
    A, b = _problem(seed, 50, 10, 3, signed)
    ref = _reference_flow(A, b, power, alpha, signed)
    res = ro.sparse_recovery(A, b, nonnegative=not signed, power=power, init_scale=alpha,
                             polish=False)
    assert res.method == "limit" and res.success
    assert np.linalg.norm(res.x - ref) <= 1e-6 * np.linalg.norm(ref)
    assert res.l1 == pytest.approx(np.abs(ref).sum(), rel=1e-7)


@pytest.mark.parametrize("signed", [False, True])
def test_limit_matches_the_flow_when_b_is_not_attainable(signed):
    # rank-deficient A (rank 8 < m = 20) and noisy b: the flow converges to the set of
    # least-squares (NNLS) solutions, and its limit is the projection onto that set
    rng = np.random.default_rng(5)
    A = rng.standard_normal((20, 8)) @ rng.standard_normal((8, 30)) / 4
    b = A @ (np.abs(rng.standard_normal(30)) * (rng.random(30) < 0.2)) + 0.1 * rng.standard_normal(20)
    ref = _reference_flow(A, b, 2, 0.1, signed)
    res = ro.sparse_recovery(A, b, nonnegative=not signed, init_scale=0.1, polish=False)
    assert res.method == "limit"
    assert np.linalg.norm(res.x - ref) <= 1e-5 * np.linalg.norm(ref)
    scipy_rnorm = ro.nnls(A, b).rnorm if not signed else np.linalg.norm(
        A @ np.linalg.lstsq(A, b, rcond=None)[0] - b)
    assert res.rnorm == pytest.approx(scipy_rnorm, rel=1e-8)


def test_limit_on_a_face_of_the_cone():
    # b = the first column of [I | positive]: x = e_1 is the only non-negative solution,
    # every other coordinate is forced to zero (found by the linear program)
    rng = np.random.default_rng(3)
    A = np.hstack([np.eye(6), rng.random((6, 10)) + 0.1])
    b = A[:, 0].copy()
    res = ro.sparse_recovery(A, b, init_scale=0.1, polish=False)
    assert res.method == "limit" and res.success
    np.testing.assert_allclose(res.x, np.eye(16)[0], atol=1e-9)


@pytest.mark.parametrize("power,signed", [(2, False), (3, False), (3, True)])
def test_limit_on_n300_m80_matches_the_package_flow(power, signed):
    # the package's flow (LSODA on u) run tight, against the limit
    A, b = _problem(21, 300, 80, 8, signed)
    flow = ro.sparse_recovery(A, b, nonnegative=not signed, power=power, init_scale=0.1,
                              method="flow", polish=False, tol=1e-11)
    res = ro.sparse_recovery(A, b, nonnegative=not signed, power=power, init_scale=0.1)
    assert flow.success
    assert np.linalg.norm(res.x - flow.x) <= 1e-6 * np.linalg.norm(flow.x)


@pytest.mark.parametrize("signed", [False, True])
def test_tiny_init_scale_reaches_the_l1_minimum(signed):
    # power 3 at alpha = 1e-30: the limit is the LP minimum-l1 point (eps = alpha)
    A, b = _problem(31, 50, 10, 3, signed)
    n = A.shape[1]
    if signed:
        lp = linprog(np.ones(2 * n), A_eq=np.hstack([A, -A]), b_eq=b, bounds=(0, None))
        x_lp = lp.x[:n] - lp.x[n:]
    else:
        x_lp = linprog(np.ones(n), A_eq=A, b_eq=b, bounds=(0, None)).x
    res = ro.sparse_recovery(A, b, nonnegative=not signed, power=3, init_scale=1e-30)
    assert res.success
    np.testing.assert_allclose(res.x, x_lp, atol=1e-8)


def test_limit_input_kinds_agree():
    A, b = _problem(41, 80, 30, 4)
    dense = ro.sparse_recovery(A, b, init_scale=1e-2, polish=False)
    sparse = ro.sparse_recovery(sp.csr_array(A), b, init_scale=1e-2, polish=False)
    operator = ro.sparse_recovery(aslinearoperator(A), b, init_scale=1e-2, method="limit",
                                  polish=False)
    np.testing.assert_allclose(sparse.x, dense.x, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(operator.x, dense.x, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("power,signed", [(2, False), (3, True)])
def test_log_coordinate_flow_matches_the_limit(power, signed):
    # the flow integrated in log u with an explicit method, no Jacobian
    A, b = _problem(61, 50, 10, 3, signed)
    engine = GradientFlow(method="DOP853", coordinates="log", rtol=1e-10, atol=1e-10)
    flow = ro.sparse_recovery(A, b, nonnegative=not signed, power=power, init_scale=0.1,
                              method=engine, polish=False, tol=1e-10)
    limit = ro.sparse_recovery(A, b, nonnegative=not signed, power=power, init_scale=0.1,
                               polish=False)
    assert flow.success
    assert np.linalg.norm(flow.x - limit.x) <= 1e-7 * np.linalg.norm(limit.x)


def test_flow_on_an_fft_operator_agrees_with_the_limit():
    # matrix-free: the flow runs in log coordinates (DOP853) and the limit by Newton-CG
    n, m = 1024, 400
    A = SubsampledFFT(n, m, random_state=0)
    rng = np.random.default_rng(0)
    x = np.zeros(n)
    x[rng.choice(n, 8, replace=False)] = rng.random(8) + 0.5
    b = A @ x
    # the flow's polish ends it at the exactly sparse least squares on its support,
    # within 3e-4 of the limit at this init_scale (power 2 closes like 1/log(1/alpha))
    flow = ro.sparse_recovery(A, b, init_scale=1e-3, method="flow")
    limit = ro.sparse_recovery(A, b, init_scale=1e-3, method="limit")
    assert flow.success and limit.success
    assert flow.method == "GradientFlow"
    np.testing.assert_allclose(flow.x, x, atol=1e-10)
    assert np.linalg.norm(flow.x - limit.x) <= 1e-3 * np.linalg.norm(limit.x)
    assert flow.l1 == pytest.approx(limit.l1, rel=3e-4)


def test_degenerate_inputs():
    A, b = _problem(51, 40, 15, 3)
    zero = ro.sparse_recovery(A, np.zeros(15))
    assert zero.success and zero.nit == 0 and not np.any(zero.x)
    ref = ro.sparse_recovery(A, b)
    for fa, fb in [(1e-50, 1.0), (1.0, 1e150), (1e-30, 1e-30), (1e150, 1e150)]:
        res = ro.sparse_recovery(A * fa, b * fb, init_scale=1e-4 * (fb / fa) ** 0.5)
        assert res.success, (fa, fb, res.message)
        np.testing.assert_allclose(res.x * fa / fb, ref.x, rtol=1e-6, atol=1e-12)
    for method in ("gd", "accelerated"):
        res = ro.sparse_recovery(A * 1e-50, b, method=method, init_scale=1e21)
        assert res.success and res.nit > 0
        assert np.linalg.norm(A @ res.x * 1e-50 - b) <= 1e-6 * np.linalg.norm(b)


def test_limit_refuses_early_stopping():
    A, b = _problem(52, 40, 15, 3)
    with pytest.raises(InvalidArgumentError, match="early_stopping"):
        ro.sparse_recovery(A, b, method="limit", early_stopping=0.1)
