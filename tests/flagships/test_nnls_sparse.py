"""Tall sparse data take the sparse path of "auto" (projected Newton steps by conjugate
gradients, :mod:`reparamopt.flagships.nnls.sparse`): the route, the answer against
scipy on the densified matrix, and the hand-over when the conjugate gradients cannot
finish.

The objective must be within 1e-9 relative of scipy's Lawson-Hanson (plus 1e-13
||b||^2 of rounding), and the KKT residual, measured here on the dense matrix, within
the default `tol` of 1e-10 (with a margin of 10 for the rounding of the two products).
"""

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp

import reparamopt as ro
from reparamopt import datasets
from reparamopt.flagships.nnls import sparse
from reparamopt.flagships.nnls.api import solve_scaled
from reparamopt.flagships.nnls.route import Facts, NNLSPlan, default_gram, route
from reparamopt.flagships.nnls.settings import NNLSSettings
from reparamopt.models.linear import LinearModel


def _problem(m, n, density, seed, fmt="csr", decades=0.0, k=None, noise=1e-2):
    rng = np.random.default_rng(seed)
    A = sp.random_array((m, n), density=density, rng=rng, format="csr")
    A = A @ sp.diags_array(10.0 ** rng.uniform(-decades / 2, decades / 2, n))
    shape = (n,) if k is None else (n, k)
    x = np.abs(rng.standard_normal(shape)) * (rng.random(shape) < 0.3)
    x = x / sp.linalg.norm(A, axis=0).reshape((n,) + (1,) * (x.ndim - 1)).clip(1e-300)
    b = A @ x + noise * rng.standard_normal((m,) + shape[1:])
    return A.asformat(fmt), b


def _assert_as_good_as_scipy(A, b, res):
    dense = A.toarray()
    B, X = (b[:, None], res.x[:, None]) if b.ndim == 1 else (b, res.x)
    assert np.all(res.success) and X.min() >= 0
    for j in range(B.shape[1]):
        x_ref = scipy.optimize.nnls(dense, B[:, j], maxiter=50 * dense.shape[1])[0]
        f, f_ref = (0.5 * np.sum((dense @ x - B[:, j]) ** 2) for x in (X[:, j], x_ref))
        assert f <= f_ref * (1 + 1e-9) + 1e-13 * np.sum(B[:, j] ** 2)
        g = dense.T @ (dense @ X[:, j] - B[:, j])
        kkt = np.linalg.norm(np.minimum(X[:, j], g)) / np.linalg.norm(dense.T @ B[:, j])
        assert kkt <= 1e-9


def _plan(A, b, gram=None):
    B = b[:, None] if b.ndim == 1 else b
    model = LinearModel(A, B, gram=default_gram(A) if gram is None else gram)
    return route(NNLSSettings(gram=gram), Facts(model))


CASES = {
    "csr 3000x400 d=0.02": dict(m=3000, n=400, density=0.02, seed=1),
    "csc 2000x300 d=0.05": dict(m=2000, n=300, density=0.05, seed=2, fmt="csc"),
    "coo 1500x500 d=0.01": dict(m=1500, n=500, density=0.01, seed=3, fmt="coo"),
    "square 600x600 d=0.02": dict(m=600, n=600, density=0.02, seed=4),
    "scales over 8 decades": dict(m=2500, n=300, density=0.03, seed=5, decades=8.0),
    "attainable b": dict(m=2000, n=250, density=0.03, seed=6, noise=0.0),
    "3 right-hand sides": dict(m=2000, n=300, density=0.03, seed=7, k=3),
}


@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")
@pytest.mark.parametrize("case", sorted(CASES))
def test_tall_sparse_data_take_the_sparse_path_and_match_scipy(case):
    A, b = _problem(**CASES[case])
    assert _plan(A, b) == NNLSPlan("sparse")
    _assert_as_good_as_scipy(A, b, ro.nnls(A, b))


def test_the_newton_iteration_alone_converges_without_the_gram_matrix():
    """On well-conditioned data the iteration certifies in a handful of Newton steps and
    the Gram matrix is never formed."""
    A, b = _problem(4000, 500, 0.01, seed=8)
    model = LinearModel(A, b[:, None], gram=default_gram(A))
    assert model.use_gram
    x, converged, nit = sparse.projected_newton(model, 1e-10, model.norms)
    assert converged and nit <= 15
    res = solve_scaled(model, NNLSSettings(), None, start=0.0)
    assert res.success and not model.gram_formed
    _assert_as_good_as_scipy(A, b, ro.nnls(A, b))


def test_ill_conditioned_sparse_data_stay_exact():
    """Column scales over 12 decades and near copies of columns (the benchmark's sparse
    ill-conditioned family): certified and as good as scipy, whatever path finishes."""
    A, b, _ = datasets.make_sparse(1200, 200, density=0.02, decades=12, random_state=3)
    assert _plan(A, b) == NNLSPlan("sparse")
    _assert_as_good_as_scipy(A, b, ro.nnls(A, b))


@pytest.mark.parametrize("gram", [None, False])
def test_the_hand_over_when_the_conjugate_gradients_run_out(monkeypatch, gram):
    """A budget too small to converge hands every right-hand side over: to the Gram
    route by default, to the exact finish from the point reached with ``gram=False``;
    both give scipy's answer."""
    monkeypatch.setattr(sparse, "MAX_CG_TOTAL", 3)
    A, b = _problem(1500, 300, 0.03, seed=9, k=2)
    model = LinearModel(A, b)
    assert not any(sparse.projected_newton(model.take([j]), 1e-10, model.norms)[1] for j in range(2))
    _assert_as_good_as_scipy(A, b, ro.nnls(A, b, gram=gram))


def test_an_ill_conditioned_matrix_stalls_the_solve_and_is_handed_over():
    """A sparse Gaussian blur (cond 1e17, its spectrum spread over all scales): the
    conjugate gradients stall and say so, the iteration does not claim convergence,
    and the Gram route gives scipy's answer."""
    A, b, _ = datasets.make_blur(300)
    A = sp.csr_array(np.where(np.abs(A) > 1e-8 * np.abs(A).max(), A, 0.0))
    model = LinearModel(A, b[:, None])
    F = np.arange(A.shape[1])
    ok = sparse._cgls(model.columns(F), model.norms, np.zeros(F.size), b.copy(),
                      model.atb[:, 0], 1e-11 * np.linalg.norm(model.atb), 400)[3]
    assert not ok
    assert not sparse.projected_newton(model, 1e-10, model.norms)[1]
    _assert_as_good_as_scipy(A, b, ro.nnls(A, b))


def test_gram_true_takes_the_route_of_dense_data():
    A, b = _problem(3000, 400, 0.02, seed=11)
    assert _plan(A, b, gram=True) == NNLSPlan("least-squares")
    assert _plan(A, b, gram=False) == NNLSPlan("sparse")
