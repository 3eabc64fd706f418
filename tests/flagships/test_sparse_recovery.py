"""sparse_recovery: implicit l1 bias, signed recovery, early stopping, bad input, and
its settings, measured properties and routing plan."""

from dataclasses import FrozenInstanceError

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import reparamopt as ro
from reparamopt.baselines.lp import basis_pursuit, min_l1_nnls
from reparamopt.datasets import make_gaussian
from reparamopt.engines import (
    AcceleratedFlow,
    AcceleratedGradientDescent,
    GradientDescent,
    GradientFlow,
)
from reparamopt.exceptions import (
    InvalidArgumentError,
    InvalidTypeError,
    NonFiniteError,
    ShapeError,
    UnknownNameError,
)
from reparamopt.flagships.early_stopping import Discrepancy, Validation, parse_early_stopping
from reparamopt.flagships.sparse import DataProperties, SparseSettings, measure, route


def gaussian_problem(seed, n, m, s, signed=False, noise=0.0):
    """The paper's generator: A ~ N(0, 1/m), x* s-sparse with unit norm, b = A x* (+ noise)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    support = rng.choice(n, s, replace=False)
    values = rng.standard_normal(s)
    x[support] = values if signed else np.abs(values)
    x /= np.linalg.norm(x)
    return A, A @ x + noise * rng.standard_normal(m), x


@pytest.fixture(scope="module")
def bias_problem():
    A, b, _ = gaussian_problem(0, 50, 10, 3)
    return A, b, min_l1_nnls(A, b).l1


def test_cubic_power_reaches_the_lp_minimum(bias_problem):
    # the limit of the L = 3 flow from alpha = 1e-2 is within 1% of the minimum l1 norm
    A, b, lp = bias_problem
    res = ro.sparse_recovery(A, b, power=3, init_scale=1e-2, method="flow", polish=False, tol=1e-9)
    assert res.success
    assert res.rnorm < 1e-6
    assert res.l1 >= lp * (1 - 1e-6)
    assert res.l1 <= lp * 1.01


def test_quadratic_gap_shrinks_with_alpha(bias_problem):
    A, b, lp = bias_problem
    gaps = []
    for alpha in (1e-1, 1e-2, 1e-3):
        res = ro.sparse_recovery(A, b, init_scale=alpha, method="flow", polish=False, tol=1e-9)
        assert res.success and res.rnorm < 1e-6
        gaps.append(res.l1 - lp)
    assert gaps[0] > gaps[1] > gaps[2] > -1e-6 * lp, gaps


def test_signed_recovery_noiseless():
    A, b, x_true = gaussian_problem(1, 200, 80, 8, signed=True)
    res = ro.sparse_recovery(A, b, nonnegative=False)
    assert res.success
    assert np.linalg.norm(res.x - x_true) < 1e-3 * np.linalg.norm(x_true)
    np.testing.assert_array_equal(res.support, np.flatnonzero(x_true))
    assert res.l1 == pytest.approx(np.abs(res.x).sum())


def test_signed_recovery_without_polish_is_close():
    # the dynamics alone (no exact finish) still land within 1e-3 of x*
    A, b, x_true = gaussian_problem(1, 200, 80, 8, signed=True)
    res = ro.sparse_recovery(A, b, nonnegative=False, polish=False, method="accelerated")
    assert np.linalg.norm(res.x - x_true) < 1e-3 * np.linalg.norm(x_true)


@pytest.mark.parametrize("method", ["flow", "gd", "accelerated", "accelerated-flow"])
def test_every_method_recovers_a_nonnegative_sparse_vector(method):
    A, b, x_true = gaussian_problem(2, 60, 30, 4)
    res = ro.sparse_recovery(A, b, method=method, max_iter=20000)
    assert res.success, res.message
    assert np.linalg.norm(res.x - x_true) < 1e-3
    assert np.all(res.x >= 0)


def test_agrees_with_basis_pursuit_and_sparse_and_operator_input():
    # power 2 at init_scale 1e-4: the flow's limit is within ~2e-4 of the l1 minimum
    # (the entropic bias closes like 1/log(1/alpha)); power 3 at 1e-4 within ~1e-8
    A, b, x_true = gaussian_problem(3, 120, 50, 6)
    bp = basis_pursuit(A, b, nonnegative=True)
    dense = ro.sparse_recovery(A, b)
    assert dense.method == "limit" and dense.success
    np.testing.assert_allclose(dense.x, bp.x, atol=1e-3 * np.linalg.norm(bp.x))
    assert dense.l1 == pytest.approx(np.abs(bp.x).sum(), rel=3e-4)
    np.testing.assert_allclose(ro.sparse_recovery(sp.csr_array(A), b).x, dense.x, atol=1e-10)
    # the operator runs the dynamics with the exact polish: the l1 minimum itself here
    res = ro.sparse_recovery(aslinearoperator(A), b)
    assert res.success
    np.testing.assert_allclose(res.x, bp.x, atol=1e-6)
    cubic = ro.sparse_recovery(A, b, power=3)
    np.testing.assert_allclose(cubic.x, x_true, atol=1e-6)


def test_result_fields():
    A, b, _ = gaussian_problem(4, 40, 20, 3)
    res = ro.sparse_recovery(A, b, history=True)
    for key in ("x", "u", "fun", "rnorm", "l1", "support", "support_threshold", "optimality",
                "nit", "nfev", "status", "success", "message", "time", "history", "method"):
        assert key in res
    assert res.rnorm == pytest.approx(np.linalg.norm(A @ res.x - b), abs=1e-12)
    assert res.fun == pytest.approx(0.5 * res.rnorm ** 2, abs=1e-15)
    assert res.optimality <= 1e-8
    assert np.all(np.abs(np.delete(res.x, res.support)) <= res.support_threshold)
    assert len(res.history["fun"]) >= 1


@pytest.mark.parametrize("method", ["gd", "accelerated"])
def test_max_iter_returns_status_zero_with_a_warning(method):
    A, b, _ = gaussian_problem(5, 40, 20, 3)
    with pytest.warns(ro.exceptions.ConvergenceWarning, match="max_iter"):
        res = ro.sparse_recovery(A, b, method=method, max_iter=3, polish=False)
    assert res.status == 0 and not res.success and res.nit == 3


@pytest.mark.parametrize("case", ["wide", "signed", "operator", "outside the cone"])
def test_the_limit_honours_max_iter(case):
    # the limit's Newton iterations are its iterations, every attempt counted: fewer
    # than it needs end with status 0, the last iterate and a warning
    A, b, _ = gaussian_problem(9, 40, 20, 3)
    options = {"signed": {"nonnegative": False}, "operator": {"method": "limit"}}.get(case, {})
    if case == "operator":
        A = aslinearoperator(A)
    if case == "outside the cone":
        b = -b  # Newton on b fails first, then goes on with the NNLS fit
    full = ro.sparse_recovery(A, b, **options)
    assert full.method == "limit" and full.success and full.nit > 5
    for max_iter in (0, 5):
        with pytest.warns(ro.exceptions.ConvergenceWarning, match="max_iter"):
            res = ro.sparse_recovery(A, b, max_iter=max_iter, **options)
        assert (res.method, res.status, res.success, res.nit) == ("limit", 0, False, max_iter)
        assert res.optimality > 1e-8 and (case == "signed" or np.all(res.x >= 0))
    # just enough iterations: the same limit
    res = ro.sparse_recovery(A, b, max_iter=full.nit, **options)
    assert res.success and res.nit == full.nit
    np.testing.assert_array_equal(res.x, full.x)


def test_discrepancy_principle_stops_before_fitting_the_noise():
    sigma = 0.02
    A, b, x_true = gaussian_problem(6, 200, 80, 8, signed=True, noise=sigma)
    delta = sigma * np.sqrt(80)
    full = ro.sparse_recovery(A, b, nonnegative=False, polish=False, max_iter=3000,
                              method="accelerated")
    early = ro.sparse_recovery(A, b, nonnegative=False, early_stopping=delta)
    assert early.stopped_early and early.success and early.status == 1
    assert early.rnorm <= delta
    assert early.nit < full.nit
    # stopping at the noise level beats fitting the noise (errors measured: 0.139 vs 0.260)
    assert np.linalg.norm(early.x - x_true) < 0.7 * np.linalg.norm(full.x - x_true)


def test_validation_split_keeps_the_best_iterate():
    sigma = 0.02
    A, b, x_true = gaussian_problem(7, 200, 100, 8, signed=True, noise=sigma)
    res = ro.sparse_recovery(A, b, nonnegative=False,
                             early_stopping={"rule": "validation", "fraction": 0.2, "patience": 100})
    full = ro.sparse_recovery(A, b, nonnegative=False, polish=False, max_iter=3000)
    assert res.stopped_early and res.success
    assert np.linalg.norm(res.x - x_true) < np.linalg.norm(full.x - x_true)


# -- bad input -----------------------------------------------------------------------

@pytest.fixture
def small():
    A, b, _ = gaussian_problem(8, 10, 5, 2)
    return A, b


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_data(small, bad):
    A, b = small
    A_bad = A.copy()
    A_bad[0, 0] = bad
    b_bad = b.copy()
    b_bad[1] = bad
    with pytest.raises(NonFiniteError, match="`A`"):
        ro.sparse_recovery(A_bad, b)
    with pytest.raises(NonFiniteError, match="`b`"):
        ro.sparse_recovery(A, b_bad)


def test_shapes(small):
    A, b = small
    with pytest.raises(ShapeError, match="`b` must have shape"):
        ro.sparse_recovery(A, b[:-1])
    with pytest.raises(ShapeError, match="`A`"):
        ro.sparse_recovery(A[0], b)
    with pytest.raises(ShapeError, match="`b`"):
        ro.sparse_recovery(A, b[:, None])
    with pytest.raises(ShapeError, match="at least one"):
        ro.sparse_recovery(np.zeros((5, 0)), b)


def test_complex_data(small):
    A, b = small
    with pytest.raises(InvalidTypeError, match="`A` must be real"):
        ro.sparse_recovery(A + 1j, b)
    with pytest.raises(InvalidTypeError, match="`b` must be real"):
        ro.sparse_recovery(A, b + 0j)


BAD_PARAMETERS = [
    ({"power": 1.5}, "`power` must be a number >= 2; got 1.5"),
    ({"power": np.inf}, "`power`"),
    ({"init_scale": 0}, "`init_scale` must be a number > 0; got 0"),
    ({"init_scale": -1e-3}, "`init_scale`"),
    ({"init_scale": np.inf}, "`init_scale`"),
    ({"tol": -1}, "`tol`"),
    ({"max_iter": 2.5}, "`max_iter`"),
    ({"early_stopping": -1.0}, "noise_level"),
    ({"early_stopping": "sometimes"}, "`early_stopping`"),
    ({"early_stopping": {"rule": "discrepancy"}}, "noise_level"),
    ({"early_stopping": {"rule": "validation", "fraction": 1.5}}, "fraction"),
    ({"early_stopping": {"rule": "validation", "folds": 3}}, "unknown keys"),
]


@pytest.mark.parametrize("kwargs, match", BAD_PARAMETERS)
def test_bad_parameters(small, kwargs, match):
    A, b = small
    with pytest.raises(InvalidArgumentError, match=match):
        ro.sparse_recovery(A, b, **kwargs)


@pytest.mark.parametrize("kwargs", [{"nonnegative": "yes"}, {"polish": 1}, {"power": "2"},
                                    {"tol": 1e-8 + 0j}, {"early_stopping": [0.1]}])
def test_bad_types(small, kwargs):
    A, b = small
    with pytest.raises(InvalidTypeError):
        ro.sparse_recovery(A, b, **kwargs)


def test_unknown_method_lists_the_valid_ones(small):
    A, b = small
    with pytest.raises(UnknownNameError) as info:
        ro.sparse_recovery(A, b, method="newton")
    for name in ("'auto'", "'flow'", "'gd'", "'accelerated'", "'accelerated-flow'", "'newton'",
                 "'nesterov'"):
        assert name in str(info.value)


def test_engine_object_is_accepted(small):
    A, b = small
    res = ro.sparse_recovery(A, b, method=ro.engines.GradientDescent(step_size="armijo"),
                             max_iter=20000)
    assert res.method == "GradientDescent" and res.success


# -- settings, measured properties, routing --------------------------------------------

@pytest.mark.parametrize("kwargs, match", BAD_PARAMETERS + [
    ({"time_limit": -1.0}, "`time_limit` must be a number >= 0; got -1.0"),
    ({"method": "limit", "early_stopping": 0.1}, "`early_stopping` needs the dynamics"),
])
def test_settings_validate_once_and_name_the_argument(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        SparseSettings(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"nonnegative": "yes"}, "`nonnegative` must be True or False; got 'yes'"),
    ({"polish": 1}, "`polish` must be True or False; got 1"),
    ({"callback": 3}, "`callback` must be callable; got 3"),
])
def test_settings_reject_wrong_types_by_name(kwargs, match):
    with pytest.raises(InvalidTypeError, match=match):
        SparseSettings(**kwargs)


def test_settings_are_frozen_and_normalized():
    settings = SparseSettings(method="nesterov", power=3, early_stopping=0.5)
    assert settings.method == "accelerated" and settings.power == 3.0
    assert settings.max_iter == 100000
    assert settings.early_stopping == Discrepancy(0.5)
    with pytest.raises(FrozenInstanceError):
        settings.tol = 1.0
    with pytest.raises(FrozenInstanceError):
        settings.early_stopping.tau = 2.0
    assert not SparseSettings().wants_iterates and SparseSettings(progress=True).wants_iterates


def test_early_stopping_rules_are_settings_and_the_split_is_seeded():
    assert parse_early_stopping(Validation(patience=5)) == Validation(patience=5)
    assert parse_early_stopping({"noise_level": 0.1, "tau": 2.0}).threshold == pytest.approx(0.2)
    first, second = Validation(random_state=3).split(50), Validation(random_state=3).split(50)
    np.testing.assert_array_equal(first[0], second[0])
    assert first[0].size == 10 and np.union1d(*first).size == 50
    with pytest.raises(InvalidArgumentError, match="fraction"):
        Validation(fraction=0.2).split(2)


DENSE = DataProperties(n=500, operator=False, zero=False, scale_A=1.0, scale_b=1.0)


def test_measure_reads_the_kind_size_scale_and_zero_of_the_data():
    A, b, _ = make_gaussian(20, 60, support=3)
    assert measure(A, b) == DataProperties(60, False, False, 1.0, 1.0)
    assert measure(aslinearoperator(A), b).operator
    assert measure(A, 0.0 * b).zero
    big = measure(A * 1e8, b * 1e16)
    c = np.abs(A * 1e8).max()
    assert big.scale_A == c and big.scale_b == np.abs(b * 1e16 / c).max()


def test_route_dense_data_take_the_limit_with_the_flow_as_fallback():
    plan = route(SparseSettings(), DENSE)
    assert plan.path == "limit"
    # the flow integrated if Newton on the dual fails, its atol resolving alpha = 1e-4
    assert plan.engine == GradientFlow(rtol=1e-8, atol=1e-12)
    assert (plan.checkpoint, plan.checkpoint_every) == ("polish", 25)
    assert plan.init_scale == 1e-4 and plan.scale == (1.0, 1.0)


def test_route_a_linear_operator_runs_nesterov():
    plan = route(SparseSettings(), DENSE._replace(operator=True))
    assert plan.path == "dynamics" and plan.engine == AcceleratedGradientDescent()
    assert (plan.checkpoint, plan.checkpoint_every) == ("polish", 25)


@pytest.mark.parametrize("kwargs", [{"history": True}, {"callback": lambda result: None},
                                    {"progress": True}, {"time_limit": 10.0},
                                    {"early_stopping": 0.1}, {"early_stopping": "validation"}])
def test_route_runs_the_dynamics_when_iterates_are_asked_for(kwargs):
    plan = route(SparseSettings(**kwargs), DENSE)
    assert plan.path == "dynamics" and plan.engine == AcceleratedGradientDescent()
    early = "early_stopping" in kwargs
    assert (plan.checkpoint, plan.checkpoint_every) == (("early-stopping", 1) if early else ("polish", 25))


def test_route_builds_each_method_with_its_sparse_settings():
    assert route(SparseSettings(method="gd"), DENSE).engine == GradientDescent(step_size="bb")
    assert route(SparseSettings(method="accelerated-flow"), DENSE).engine == AcceleratedFlow()
    assert route(SparseSettings(method="nesterov"), DENSE).engine == AcceleratedGradientDescent()
    # LSODA on u while small, its atol at most 1e-6 alpha; DOP853 on log u beyond 2000
    # unknowns and for an operator
    small = route(SparseSettings(method="flow", init_scale=1e-8), DENSE)
    assert small.engine == GradientFlow(rtol=1e-8, atol=1e-14)
    log = GradientFlow(method="DOP853", coordinates="log", rtol=1e-8, atol=1e-8)
    assert route(SparseSettings(method="flow"), DENSE._replace(n=2001)).engine == log
    assert route(SparseSettings(method="flow"), DENSE._replace(operator=True)).engine == log
    engine = GradientDescent(step_size="armijo")
    assert route(SparseSettings(method=engine), DENSE).engine is engine
    assert route(SparseSettings(method="gd", polish=False), DENSE).checkpoint is None


def test_route_zero_data_and_the_rescaled_initialization():
    plan = route(SparseSettings(), DENSE._replace(zero=True))
    assert plan.path == "zero" and plan.engine is None
    # b divided by d = 1e8: the flow from alpha d^(-1/L) is the same up to the clock
    plan = route(SparseSettings(init_scale=1e-4), DENSE._replace(scale_A=1e3, scale_b=1e8))
    assert plan.scale == (1e3, 1e8) and plan.init_scale == pytest.approx(1e-8, rel=1e-14)


def test_nesterov_is_an_alias_of_accelerated():
    A, b, _ = gaussian_problem(2, 60, 30, 4)
    accelerated = ro.sparse_recovery(A, b, method="accelerated")
    nesterov = ro.sparse_recovery(A, b, method="nesterov")
    np.testing.assert_array_equal(nesterov.x, accelerated.x)
    assert (nesterov.nit, nesterov.method) == (accelerated.nit, "AcceleratedGradientDescent")


def test_every_route_of_the_sparsity_table_problem_ends_at_the_lp_minimum():
    # the paper's sparsity-table size, n = 500, m = 200, s = 25: the limit (dense), and
    # Nesterov with the polish (operator, and dense with a history) all end at the
    # minimum-l1 point of linprog; the polish makes them exact, so 1e-8 relative holds
    A, b, _ = make_gaussian(200, 500, support=25, random_state=1)
    bp = basis_pursuit(A, b, nonnegative=True)
    runs = {"limit": ro.sparse_recovery(A, b),
            "operator": ro.sparse_recovery(aslinearoperator(A), b),
            "history": ro.sparse_recovery(A, b, history=True)}
    assert runs["limit"].method == "limit"
    assert runs["operator"].method == runs["history"].method == "AcceleratedGradientDescent"
    for res in runs.values():
        assert res.success
        np.testing.assert_allclose(res.x, bp.x, atol=1e-8 * np.linalg.norm(bp.x))


def test_an_m_plus_matrix_gives_the_nnls_solution_of_lawson_hanson():
    # entries uniform on [0, 1] (the M+ criterion holds) and a 4-sparse x*: the only
    # non-negative solution, which scipy's Lawson-Hanson, the limit and the dynamics
    # reach to rounding (1e-8 relative leaves room for the conditioning of the support)
    rng = np.random.default_rng(11)
    A = rng.uniform(0.0, 1.0, (60, 150))
    x_true = np.zeros(150)
    x_true[rng.choice(150, 4, replace=False)] = rng.uniform(0.5, 2.0, 4)
    b = A @ x_true
    reference = scipy.optimize.nnls(A, b)[0]
    for method in ("auto", "accelerated", "gd"):
        res = ro.sparse_recovery(A, b, method=method)
        assert res.success, (method, res.message)
        np.testing.assert_allclose(res.x, reference, atol=1e-8 * np.linalg.norm(reference))
