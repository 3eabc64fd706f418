"""Contract tests shared by every solver, in the spirit of jaxopt's common tests.

Every registered engine on the same declared problems, and every NNLS method on every
kind of input (dense, sparse, matrix-free, several right-hand sides, Dask), must keep
the same promises: a feasible x, a result with the documented fields, a status among
the documented codes, ``success`` only when the optimality measure meets ``tol`` (for
NNLS, when the KKT check holds), never worse than the starting point (NNLS: than
``x = 0``), and, where they converge, the reference solution (scipy.optimize.nnls or a
projection computed in closed form) to the stated tolerance. A new engine or method is
covered the moment it is registered.
"""

import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import reparamopt as ro
from reparamopt.engines import engine_names, get_engine
from reparamopt.flagships.nnls import METHODS
from reparamopt.maps import project_simplex
from reparamopt.result import STATUS_MESSAGES

FIELDS = ("x", "u", "fun", "optimality", "nit", "nfev", "status", "success", "message", "time")
# engines that move in x-space need one variable, its map's metric or mirror and the
# Lipschitz constant of the gradient
X_SPACE = {"riemannian-gd", "mirror-nesterov"}
FLOWS = {"flow", "accelerated-flow"}


def least_squares(seed=0, m=30, n=10):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    return A, b


def nnls_problem(A, b):
    lipschitz = float(np.linalg.norm(A, 2) ** 2)
    return ro.Problem(value_and_grad=lambda x: (0.5 * float(np.sum((A @ x - b) ** 2)), A.T @ (A @ x - b)),
                      lipschitz=lipschitz, x=ro.NonNegative(A.shape[1]))


def check_result(res, max_iter):
    for field in FIELDS:
        assert field in res, field
    assert res.status in STATUS_MESSAGES
    assert res.success == (res.status in (1, 2))
    assert 0 <= res.nit <= max_iter
    assert isinstance(res.message, str) and res.message


@pytest.mark.parametrize("name", engine_names())
def test_engine_contract_on_nnls(name):
    A, b = least_squares()
    x_ref, _ = scipy.optimize.nnls(A, b)
    problem = nnls_problem(A, b)
    # flows stall at their integrator tolerance; the entropic mirror scheme converges
    # sublinearly near the boundary here (measured: 3e-5 after 20000 iterations)
    tol = {"flow": 1e-6, "accelerated-flow": 1e-6, "mirror-nesterov": 1e-4}.get(name, 1e-9)
    max_iter = 20000
    res = ro.solve(problem, engine=name, tol=tol, max_iter=max_iter, init_scale=1.0, history=True)
    check_result(res, max_iter)
    assert np.all(res.x >= 0)
    start = problem.fun(np.ones(A.shape[1]))
    assert res.fun <= start
    assert len(res.history["fun"]) >= 1 and len(res.history["fun"]) == len(res.history["time"])
    assert res.success, res.message
    assert res.optimality <= tol
    # tol is relative to the gradient norm at the start (res.scale)
    np.testing.assert_allclose(res.x, x_ref, atol=1e-6 if tol <= 1e-9 else 10 * tol * res.scale)


@pytest.mark.parametrize("name", sorted(set(engine_names()) - X_SPACE))
def test_engine_contract_on_the_simplex(name, rng):
    y = rng.standard_normal(8)
    problem = ro.Problem(lambda w: 0.5 * ((w - y) ** 2).sum(), w=ro.Simplex(8))
    tol = 1e-6 if name in FLOWS else 1e-9
    res = ro.solve(problem, engine=name, tol=tol, max_iter=20000)
    check_result(res, 20000)
    assert np.all(res.x >= 0) and abs(res.x.sum() - 1) < 1e-12
    assert res.success, res.message
    np.testing.assert_allclose(res.x, project_simplex(y), atol=1e-4 if name in FLOWS else 1e-6)


@pytest.mark.parametrize("name", sorted(X_SPACE))
def test_x_space_engines_refuse_maps_without_the_geometry(name, rng):
    y = rng.standard_normal(4)
    problem = ro.Problem(value_and_grad=lambda w: (0.5 * float(((w - y) ** 2).sum()), w - y),
                         lipschitz=1.0, w=ro.Simplex(4))
    with pytest.raises(NotImplementedError, match="metric|mirror|composes"):
        ro.solve(problem, engine=name, max_iter=5)


def test_engines_report_status_zero_at_the_iteration_limit():
    A, b = least_squares(1)
    for name in engine_names():
        res = ro.solve(nnls_problem(A, b), engine=get_engine(name), tol=0.0, max_iter=3)
        check_result(res, 3)
        assert res.status == 0 and res.nit == 3


# --- every NNLS method on every input kind --------------------------------------------

def dense_data():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((40, 25)) / np.sqrt(40)
    x = np.abs(rng.standard_normal(25)) * (rng.random(25) < 0.5)
    return A, A @ x + 0.02 * rng.standard_normal(40)


def as_kind(kind, A, b):
    if kind == "dense":
        return A, b
    if kind == "sparse":
        return sp.csr_array(A), b
    if kind == "operator":
        return aslinearoperator(A), b
    if kind == "batched":
        rng = np.random.default_rng(6)
        return A, np.column_stack([b, A @ np.abs(rng.standard_normal(A.shape[1])), -b])
    raise ValueError(kind)


KINDS = ["dense", "sparse", "operator", "batched"]


def objective(A, b, x):
    r = A @ x - b
    return 0.5 * np.sum(r * r, axis=0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", METHODS)
def test_nnls_contract(method, kind):
    A, b = dense_data()
    data, rhs = as_kind(kind, A, b)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = ro.nnls(data, rhs, method=method)
    check_result(res, 100000)
    assert res.method == method
    assert res.x.shape == (A.shape[1],) + rhs.shape[1:]
    assert np.all(res.x >= 0)
    f = objective(A, rhs, res.x)
    assert np.all(f <= objective(A, rhs, 0 * res.x) * (1 + 1e-12))
    columns = [rhs] if rhs.ndim == 1 else [rhs[:, j] for j in range(rhs.shape[1])]
    reference = np.array([objective(A, c, scipy.optimize.nnls(A, c)[0]) for c in columns])
    np.testing.assert_allclose(np.atleast_1d(res.fun), np.atleast_1d(f), rtol=1e-9, atol=1e-15)
    # exact finish: every method reaches scipy's objective
    assert np.all(np.atleast_1d(f) <= reference * (1 + 1e-9) + 1e-12 * np.sum(rhs * rhs, axis=0))
    warned = any(issubclass(w.category, ro.exceptions.ConvergenceWarning) for w in caught)
    assert warned == (res.status in (0, -1))


@pytest.mark.parametrize("method", ["auto", "nesterov", "gd"])
def test_nnls_contract_on_dask_input(method):
    da = pytest.importorskip("dask.array")
    A, b = dense_data()
    res = ro.nnls(da.from_array(A, chunks=(20, 25)), da.from_array(b, chunks=20), method=method)
    check_result(res, 100000)
    assert np.all(res.x >= 0)
    reference = objective(A, b, scipy.optimize.nnls(A, b)[0])
    assert objective(A, b, res.x) <= reference * (1 + 1e-9) + 1e-12 * b @ b
