"""A property test of reparamopt.nnls against scipy.optimize.nnls.

Shapes 0..80 in both directions, Gaussian, positive, low-rank and SVD-built matrices
with condition numbers up to 1e14, column scales over decades, one or several
right-hand sides, dense input and every scipy.sparse format. No wrong answer is
allowed: the objective is within ``1e-9`` relative of scipy's (floor ``1e-12 ||b||^2``
and the rounding level, see tests/nnls_reference.py), never above ``x = 0``, the KKT check (the
test's own) holds and ``success`` says so.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reparamopt as ro
from tests.nnls_reference import kkt_holds, objective, objective_tolerance, scipy_reference

FORMATS = ["dense", "csr", "csc", "coo", "lil", "dok", "dia", "bsr"]


@st.composite
def problems(draw):
    m = draw(st.integers(0, 80))
    n = draw(st.integers(0, 80))
    kind = draw(st.sampled_from(["gaussian", "positive", "low-rank", "svd"]))
    log_cond = draw(st.floats(0.0, 14.0))
    k = draw(st.sampled_from([None, None, 1, 3]))
    fmt = draw(st.sampled_from(FORMATS))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    r = min(m, n)
    if kind == "gaussian":
        A = rng.standard_normal((m, n))
    elif kind == "positive":
        A = rng.random((m, n)) * 10.0 ** rng.uniform(-log_cond / 2, log_cond / 2, n)
    elif kind == "low-rank":
        rank = draw(st.integers(0, max(r, 0)))
        A = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n))
    else:
        U, _ = np.linalg.qr(rng.standard_normal((m, r)))
        V, _ = np.linalg.qr(rng.standard_normal((n, r)))
        A = (U * np.logspace(0.0, -log_cond, r)) @ V.T
    shape = (n,) if k is None else (n, k)
    x = np.abs(rng.standard_normal(shape)) * (rng.random(shape) < 0.5)
    noise = draw(st.sampled_from([0.0, 1e-3, 1.0]))
    b = A @ x + noise * rng.standard_normal((m,) + shape[1:])
    matrix = A if fmt == "dense" else sp.csr_array(A).asformat(fmt)
    return matrix, A, b


@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")
@settings(max_examples=2000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_no_wrong_answer(problem):
    matrix, A, b = problem
    m, n = A.shape
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = ro.nnls(matrix, b)
    x = res.x
    assert x.shape == (n,) + b.shape[1:]
    assert np.all(np.isfinite(x)) and np.all(x >= 0)
    f = objective(A, b, x)
    assert np.all(f <= objective(A, b, 0 * x) * (1 + 1e-12) + 1e-300)
    if n and m:
        x_ref = scipy_reference(A, b)
        assert np.all(f <= objective(A, b, x_ref) + objective_tolerance(A, b, x, x_ref))
    assert np.all(kkt_holds(A, b, x))
    assert res.success and res.status == 1
    assert not any(issubclass(w.category, ro.exceptions.ConvergenceWarning) for w in caught)
