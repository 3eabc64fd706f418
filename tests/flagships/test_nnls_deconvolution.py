"""reparamopt.nnls on deconvolution: a matrix-free Convolution and the same blur as a
sparse Kronecker matrix, finished by sparse factorizations of the support's normal
equations (no conjugate gradients, no dense matrix), exact against
scipy.optimize.nnls on the dense matrix and certified by an independent KKT check.

Tolerances: the objective within 1e-9 relative of scipy's (the NNLS objective is
unique), independent KKT at the default 1e-10 (8e-16 is reached here)."""

import numpy as np
import pytest
import scipy.sparse as sp

import reparamopt as ro
from reparamopt.datasets import blur_kernel, make_deconvolution
from reparamopt.finish.least_squares import SupportLeastSquares
from reparamopt.models.linear import LinearModel
from reparamopt.models.operators import Convolution

from ..nnls_reference import kkt_holds, objective, objective_tolerance, scipy_reference


@pytest.fixture
def solves(monkeypatch):
    """Counts of the sparse factorizations and conjugate-gradient solves of the finish."""
    counts = {"sparse": 0, "cg": 0}

    def counted(name, method):
        def wrapper(self, *args):
            counts[name] += 1
            return method(self, *args)
        return wrapper

    monkeypatch.setattr(SupportLeastSquares, "_sparse_cholesky",
                        counted("sparse", SupportLeastSquares._sparse_cholesky))
    monkeypatch.setattr(SupportLeastSquares, "_cg", counted("cg", SupportLeastSquares._cg))
    return counts


def _check_against_scipy(A_dense, b, res):
    x_ref = scipy_reference(A_dense, b)
    assert res.success and res.optimality <= 1e-10
    assert kkt_holds(A_dense, b, res.x)
    assert objective(A_dense, b, res.x) <= objective(A_dense, b, x_ref) + \
        objective_tolerance(A_dense, b, res.x, x_ref)


@pytest.mark.parametrize("form", ["operator", "sparse"])
def test_2d_deconvolution_matches_scipy(form, solves):
    data = make_deconvolution((40, 40), random_state=3)
    dense = data.A.toarray()
    # the sparse form at this size defaults to the Gram matrix: gram=False takes the
    # path of large sparse blurs
    A, gram = (Convolution(blur_kernel(2), (40, 40)), None) if form == "operator" \
        else (data.A, False)
    res = ro.nnls(A, data.b, gram=gram)
    _check_against_scipy(dense, data.b, res)
    assert solves["sparse"] > 0 and solves["cg"] == 0


def test_3d_deconvolution_matches_scipy(solves):
    data = make_deconvolution((10, 10, 10), width=5, sigma=1.0, random_state=4)
    res = ro.nnls(Convolution(blur_kernel(3, width=5, sigma=1.0), (10, 10, 10)), data.b)
    _check_against_scipy(data.A.toarray(), data.b, res)
    assert solves["sparse"] > 0 and solves["cg"] == 0


def test_operator_form_is_certified_on_the_operator():
    A, b = Convolution(blur_kernel(2), (48, 48)), make_deconvolution((48, 48), random_state=5).b
    res = ro.nnls(A, b)
    g = A.rmatvec(A.matvec(res.x) - b)
    assert res.success and res.x.min() >= 0
    assert np.linalg.norm(np.minimum(res.x, g)) <= 1e-10 * np.linalg.norm(A.rmatvec(b))
    assert res.fun <= 0.5 * b @ b  # never worse than x = 0
    assert res.fun == pytest.approx(0.5 * np.sum((A @ res.x - b) ** 2), rel=1e-12)


def test_local_gram_tells_blur_from_random_sparse():
    blur = make_deconvolution((48, 48)).A
    assert LinearModel(blur, np.ones(blur.shape[0])).local_gram
    random = sp.random_array((20000, 2000), density=0.005, rng=np.random.default_rng(0))
    assert not LinearModel(random, np.ones(20000)).local_gram
    sparse_random = sp.random_array((20000, 5000), density=0.001, rng=np.random.default_rng(1))
    assert not LinearModel(sparse_random, np.ones(20000)).local_gram
