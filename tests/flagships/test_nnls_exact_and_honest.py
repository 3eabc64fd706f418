"""reparamopt.nnls on ill-conditioned, realistic data, against scipy.optimize.nnls.

Every family comes from :mod:`reparamopt.datasets` (seeded). The reference is scipy's
Lawson-Hanson. Tolerances, as the NNLS issue states them:

* objective: ``f(x) <= f_scipy (1 + 1e-9) + 1e-12 ||b||^2 + (eps || |A| |x| + |b| ||)^2``
  (the last term, the smaller of its values at ``x`` and at scipy's solution, is the
  rounding level below which no residual can be told from zero: exact fits with huge
  cancelling entries reach it; many problems here have several minimizers, so ``x``
  itself is not compared), with ``f`` evaluated in extended precision;
* KKT, checked independently of the package (own code in tests/nnls_reference.py, the
  data only): the relative projected gradient is below ``tol``, or its part above the
  rounding level ``8 eps |A|^T (|A| x + |b|)`` is;
* invariants: ``x >= 0``, never worse than ``x = 0`` or the warm start, ``success``
  only with the KKT check holding, ``status = 0`` only with a ConvergenceWarning.
"""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import reparamopt as ro
from reparamopt import datasets
from reparamopt.exceptions import InvalidArgumentError, NonFiniteError, UnknownNameError
from reparamopt.flagships.nnls import METHODS
from tests.nnls_reference import dense, kkt_holds, objective, objective_tolerance, scipy_reference


def check_trusted(A, b, res, x_ref=None):
    """The result is exact and honest: the assertions of the module docstring."""
    x_ref = scipy_reference(A, b) if x_ref is None else x_ref
    x = res.x
    assert np.all(np.isfinite(x)) and np.all(x >= 0)
    f, f_ref, f_zero = objective(A, b, x), objective(A, b, x_ref), objective(A, b, 0 * x)
    bb = np.sum(b * b, axis=0)
    assert np.all(f <= f_ref + objective_tolerance(A, b, x, x_ref)), (f, f_ref)
    assert np.all(f <= f_zero)
    np.testing.assert_allclose(res.fun, f, rtol=1e-6, atol=1e-12 * np.max(bb))
    assert res.success == bool(np.all(kkt_holds(A, b, x)))
    assert res.success and res.status == 1


FAMILIES = {
    "peaks 600x120": lambda: datasets.make_peak_library(600, 120, active=12),
    "peaks 2000x400": lambda: datasets.make_peak_library(),
    "blur 200 sigma 1.5": lambda: datasets.make_blur(200, sigma=1.5),
    "blur 200 sigma 4": lambda: datasets.make_blur(200, sigma=4.0),
    "blur 500 sigma 4": lambda: datasets.make_blur(500, sigma=4.0),
    "hilbert 12": lambda: datasets.make_hilbert(12),
    "hilbert 60x30": lambda: datasets.NNLSData(
        datasets.make_hilbert(60).A[:, :30], datasets.make_hilbert(60).b, None),
    "vandermonde 100x12": lambda: datasets.make_vandermonde(),
    "vandermonde 200x20": lambda: datasets.make_vandermonde(200, 20),
    "near duplicates": lambda: datasets.make_near_duplicates(),
    "near duplicates 1e-14": lambda: datasets.make_near_duplicates(80, 30, eps=1e-14),
    "monotone 300": lambda: datasets.make_monotone(),
    "monotone 600, 10 decades": lambda: datasets.make_monotone(600, decades=10),
    "scaled columns, 12 decades": lambda: datasets.make_scaled_columns(),
    "scaled columns, wide": lambda: datasets.make_scaled_columns(40, 90),
    "rank deficient tall": lambda: datasets.make_rank_deficient(),
    "svd cond 1e6": lambda: datasets.make_svd(cond=1e6),
    "svd cond 1e10 wide": lambda: datasets.make_svd(40, 80, cond=1e10),
    "svd cond 1e14": lambda: datasets.make_svd(cond=1e14),
    "svd cond 1e14 300x200": lambda: datasets.make_svd(300, 200, cond=1e14),
    "sparse, 6 decades": lambda: datasets.make_sparse(),
    "sparse, 12 decades": lambda: datasets.make_sparse(800, 150, density=0.03, decades=12),
    "gaussian square noisy": lambda: datasets.make_gaussian(300, 300, zeros=0.3, noise=0.05),
    "gaussian wide": lambda: datasets.make_gaussian(100, 400, support=20),
}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_matches_scipy(name):
    A, b, _ = FAMILIES[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a converged result emits no warning
        res = ro.nnls(A, b)
    check_trusted(A, b, res)


def test_families_are_ill_conditioned():
    # the generators deliver the conditioning the tests rely on
    conds = {name: np.linalg.cond(dense(FAMILIES[name]().A))
             for name in ("peaks 2000x400", "blur 200 sigma 4", "hilbert 12",
                          "vandermonde 200x20", "scaled columns, 12 decades", "svd cond 1e14")}
    assert all(c >= 1e12 for c in conds.values()), conds


@pytest.mark.parametrize("n", [200, 800])
def test_blur_deconvolution_sizes(n):
    A, b, _ = datasets.make_blur(n, sigma=3.0 + n / 400, random_state=n)
    check_trusted(A, b, ro.nnls(A, b))


def test_nmf_subproblem_many_right_hand_sides():
    W, B, _ = datasets.make_nmf_subproblem(300, 15, 500)
    res = ro.nnls(W, B)
    assert res.x.shape == (15, 500) and res.rnorm.shape == (500,)
    check_trusted(W, B, res)


def test_batched_ill_conditioned_equals_columns():
    A, B, _ = datasets.make_peak_library(400, 80, k=12)
    res = ro.nnls(A, B)
    check_trusted(A, B, res)
    for j in range(0, 12, 5):
        single = ro.nnls(A, B[:, j])
        assert objective(A, B[:, j], res.x[:, j]) <= single.fun * (1 + 1e-9) + 1e-12 * B[:, j] @ B[:, j]


def test_batched_large_support_tall():
    A, B, _ = datasets.make_gaussian(400, 150, zeros=0.3, noise=1e-2, k=40)
    check_trusted(A, B, ro.nnls(A, B))


# --- the paper's methods: slow on ill-conditioned data, but honest -------------------

@pytest.mark.parametrize("method", [m for m in METHODS if m not in ("flow", "accelerated-flow")])
def test_paper_methods_on_hilbert_are_exact_or_say_so(method):
    A = datasets.make_hilbert(60).A[:, :30]
    b = datasets.make_hilbert(60).b
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = ro.nnls(A, b, method=method)
    assert np.all(res.x >= 0)
    assert objective(A, b, res.x) <= objective(A, b, 0 * res.x)
    if res.success:
        check_trusted(A, b, res)
    else:
        assert res.status == 0
        assert any(issubclass(w.category, ro.exceptions.ConvergenceWarning) for w in caught)


@pytest.mark.parametrize("method", ["nesterov", "riemannian-gd", "mirror-nesterov"])
def test_paper_methods_polished_on_hilbert_match_scipy(method):
    # the finish at the last iteration is exact whatever the dynamics reached
    A = datasets.make_hilbert(60).A[:, :30]
    b = datasets.make_hilbert(60).b
    check_trusted(A, b, ro.nnls(A, b, method=method, max_iter=200))


# --- invariants ---------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_never_worse_than_zero_or_the_warm_start(seed):
    rng = np.random.default_rng(seed)
    A, b, _ = datasets.make_svd(50, 30, cond=10.0 ** rng.uniform(2, 14), random_state=seed)
    x0 = np.abs(rng.standard_normal(30)) * (rng.random(30) < 0.5)
    for method in ("auto", "nesterov", "gd"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = ro.nnls(A, b, method=method, x0=x0, max_iter=5)
        assert objective(A, b, res.x) <= objective(A, b, x0) * (1 + 1e-12)
        assert objective(A, b, res.x) <= objective(A, b, np.zeros(30)) * (1 + 1e-12)


def test_never_worse_than_the_iterate_before_the_finish():
    A, b, _ = datasets.make_blur(120, sigma=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dynamics = ro.nnls(A, b, method="nesterov", polish=False, max_iter=40)
        polished = ro.nnls(A, b, method="nesterov", max_iter=40)
    assert polished.fun <= dynamics.fun * (1 + 1e-12)


def test_warm_start_at_the_solution_is_kept():
    A, b, _ = datasets.make_peak_library(300, 60, active=6)
    x_ref = scipy_reference(A, b)
    res = ro.nnls(A, b, x0=x_ref)
    assert res.fun <= objective(A, b, x_ref) * (1 + 1e-12)
    check_trusted(A, b, res, x_ref)


def test_status_zero_comes_with_a_warning_that_says_what_to_try():
    A, b, _ = datasets.make_blur(100, sigma=3.0)
    with pytest.warns(ro.exceptions.ConvergenceWarning, match="Try") as caught:
        res = ro.nnls(A, b, method="nesterov", polish=False, max_iter=10)
    assert res.status == 0 and not res.success
    # attributed to this file, the caller's line
    assert caught[0].filename == __file__


def test_success_requires_the_kkt_check():
    # stopped by the callback: never a success, whatever the point
    A, b, _ = datasets.make_hilbert(20)
    res = ro.nnls(A, b, method="nesterov", polish=False, callback=lambda r: True)
    assert res.status == 4 and not res.success


def test_convergence_warning_derives_from_scikit_learn():
    from sklearn.exceptions import ConvergenceWarning

    assert issubclass(ro.exceptions.ConvergenceWarning, ConvergenceWarning)


def test_convergence_warning_without_scikit_learn_is_a_user_warning():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "import reparamopt.exceptions as e\n"
            "assert issubclass(e.ConvergenceWarning, UserWarning)\n"
            "assert e.ConvergenceWarning.__mro__[1] is UserWarning\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- input handling -----------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok", "dia", "bsr"])
@pytest.mark.parametrize("kind", ["matrix", "array"])
def test_every_sparse_format(fmt, kind):
    A, b, _ = datasets.make_sparse(200, 40, density=0.1)
    maker = sp.csr_matrix if kind == "matrix" else sp.csr_array
    converted = maker(A).asformat(fmt)
    res = ro.nnls(converted, b)
    check_trusted(A, b, res)


def test_masked_array_with_masked_entries_is_refused():
    A, b, _ = datasets.make_gaussian(20, 5)
    masked = np.ma.masked_array(A, mask=np.zeros(A.shape, bool))
    masked[3, 2] = np.ma.masked
    with pytest.raises(InvalidArgumentError, match="`A`.*masked"):
        ro.nnls(masked, b)
    with pytest.raises(InvalidArgumentError, match="`b`.*masked"):
        ro.nnls(A, np.ma.masked_array(b, mask=b > 0))


def test_masked_array_without_masked_entries_is_its_data():
    A, b, _ = datasets.make_gaussian(20, 5, noise=0.1)
    res = ro.nnls(np.ma.masked_array(A), np.ma.masked_array(b, mask=False))
    np.testing.assert_allclose(res.x, ro.nnls(A, b).x)


@pytest.mark.parametrize("a, c", [(1e300, 1.0), (1.0, 1e300), (1e-300, 1.0), (1.0, 1e-300),
                                  (1e300, 1e300), (1e-300, 1e-300), (1.0, 1e154)])
def test_extreme_magnitudes_do_not_overflow(a, c):
    A, b, _ = datasets.make_peak_library(100, 20, active=4)
    x_ref = scipy_reference(A, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ro.nnls(A * a, b * c)
    assert res.success and np.all(np.isfinite(res.x))
    np.testing.assert_allclose(res.x * a / c, x_ref, rtol=1e-7, atol=1e-9 * np.max(x_ref))
    assert res.rnorm == pytest.approx(c * np.linalg.norm(A @ x_ref - b), rel=1e-7)
    with np.errstate(over="ignore"):
        assert res.fun == pytest.approx(0.5 * res.rnorm ** 2)


def test_unknown_option_names_the_key():
    A, b, _ = datasets.make_gaussian(10, 4)
    with pytest.raises(UnknownNameError, match="'chek_every'"):
        ro.nnls(A, b, options={"chek_every": 5})
    with pytest.raises(UnknownNameError, match="'step'"):
        ro.nnls(A, b, method="nesterov", options={"step": 0.1})


@pytest.mark.parametrize("options", [{"check_every": 0}, {"check_every": 2.5},
                                     {"max_solves": -1}, {"polish_from": 0.0}])
def test_bad_option_values_name_the_key(options):
    A, b, _ = datasets.make_gaussian(10, 4)
    key = next(iter(options))
    with pytest.raises(InvalidArgumentError, match=key):
        ro.nnls(A, b, method="nesterov", options=options)


def test_non_dict_options():
    A, b, _ = datasets.make_gaussian(10, 4)
    with pytest.raises(TypeError, match="`options`"):
        ro.nnls(A, b, options=[("check_every", 3)])


def test_non_finite_sparse_data():
    A, b, _ = datasets.make_sparse(50, 10, density=0.3)
    A = A.tolil()
    A[0, 0] = np.nan
    with pytest.raises(NonFiniteError, match="`A`"):
        ro.nnls(A, b)


def test_empty_support_during_the_finish():
    # x = 0 optimal for some columns of a batch, positive least squares for others
    rng = np.random.default_rng(3)
    A = rng.random((6, 3))
    B = np.column_stack([-A @ np.ones(3), A @ np.ones(3), rng.standard_normal(6)])
    res = ro.nnls(A, B)
    check_trusted(A, B, res)
    assert np.all(res.x[:, 0] == 0)
