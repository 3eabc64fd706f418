"""Problems: layout, maps, closed-form oracles and bad input."""

import warnings
from dataclasses import FrozenInstanceError

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import scipy.optimize

import reparamopt as ro
from reparamopt import exceptions as ex
from reparamopt.engines import LBFGS, AcceleratedGradientDescent, GradientDescent, GradientFlow
from reparamopt.flagships.solve import SolveSettings
from reparamopt.flagships.solve import route as solve_route
from reparamopt.models.linear import LeastSquaresOracle, LinearModel


def _nnls_problem(rng, oracle):
    A = rng.standard_normal((12, 5))
    b = rng.standard_normal(12)
    if oracle:
        def value_and_grad(x):
            r = A @ x - b
            return 0.5 * r @ r, A.T @ r
        return A, b, ro.Problem(value_and_grad=value_and_grad, x=ro.NonNegative(5))
    return A, b, ro.Problem(lambda x: 0.5 * anp.sum((anp.dot(A, x) - b) ** 2), x=ro.NonNegative(5))


def test_oracle_and_autograd_agree(rng):
    _, _, p_auto = _nnls_problem(np.random.default_rng(1), oracle=False)
    _, _, p_oracle = _nnls_problem(np.random.default_rng(1), oracle=True)
    u = rng.standard_normal(5)
    f1, g1 = p_auto.value_and_grad(u)
    f2, g2 = p_oracle.value_and_grad(u)
    assert f1 == pytest.approx(f2, rel=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=1e-12)
    assert p_auto.optimality(u) == pytest.approx(p_oracle.optimality(u), rel=1e-12)


def test_latent_round_trip_several_variables(rng):
    problem = ro.Problem(lambda x, w, z: anp.sum(x) + anp.sum(w) + anp.sum(z),
                         x=ro.NonNegative((2, 3)), w=ro.Simplex(4), z=ro.Signed(3))
    assert problem.latent_size == 6 + 4 + 6
    x0 = {"x": np.abs(rng.standard_normal((2, 3))), "w": np.array([0.1, 0.2, 0.3, 0.4]),
          "z": np.array([1.0, -2.0, 0.0])}
    out = problem.to_feasible(problem.to_latent(x0))
    for name in x0:
        np.testing.assert_allclose(out[name], x0[name], atol=1e-12)


def test_optimality_is_not_the_latent_gradient():
    """At u = 0 the latent gradient of a Hadamard problem vanishes, optimality does not."""
    problem = ro.Problem(lambda x: anp.sum((x - 1.0) ** 2), x=ro.NonNegative(3))
    u = np.zeros(3)
    assert np.linalg.norm(problem.value_and_grad(u)[1]) == 0
    assert problem.optimality(u) > 1


def test_warm_start_at_solution_returns_at_once():
    c = np.array([1.0, -1.0, 0.5])
    problem = ro.Problem(lambda x: anp.sum((x - c) ** 2), x=ro.NonNegative(3))
    res = ro.solve(problem, x0=np.maximum(c, 0), tol=1e-12)
    assert res.nit == 0 and res.success


@pytest.mark.parametrize("engine", ["gd", "accelerated", "flow", "accelerated-flow"])
def test_results_are_scipy_style(engine):
    problem = ro.Problem(lambda x: anp.sum((x - 2.0) ** 2), x=ro.Box(0, 1, shape=2))
    res = ro.solve(problem, engine=engine, tol=1e-7, max_iter=5000)
    for key in ("x", "u", "fun", "optimality", "nit", "nfev", "status", "success", "message",
                "history", "time"):
        assert key in res
    assert isinstance(res, ro.OptimizeResult)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-6)
    assert ("t" in res) == ("flow" in engine)


# -- bad input -----------------------------------------------------------------------

def test_power_below_two():
    with pytest.raises(ex.InvalidArgumentError, match=r"`power` must be a number >= 2; got 1.5"):
        ro.resolve(ro.NonNegative(3, power=1.5))


def test_lower_above_upper():
    with pytest.raises(ex.InvalidArgumentError, match="`lower` must be < `upper`"):
        ro.resolve(ro.Box(2.0, 1.0, shape=3))


def test_box_needs_finite_bounds():
    with pytest.raises(ex.InvalidArgumentError, match="finite"):
        ro.resolve(ro.Box(0.0, np.inf, shape=3))


@pytest.mark.parametrize("total", [0.0, -1.0, np.nan])
def test_simplex_total(total):
    with pytest.raises(ex.InvalidArgumentError, match="`total`"):
        ro.resolve(ro.Simplex(3, total=total))


def test_negative_step():
    with pytest.raises(ex.InvalidArgumentError, match="`step_size`.*got -0.1"):
        GradientDescent(step_size=-0.1)
    with pytest.raises(ex.InvalidArgumentError, match="`step_size`"):
        AcceleratedGradientDescent(step_size=0.0)
    with pytest.raises(ex.UnknownNameError, match="'armijo'"):
        GradientDescent(step_size="wolfe")
    with pytest.raises(ex.UnknownNameError, match="'LSODA'"):
        GradientFlow(method="euler")


def test_objective_not_scalar():
    problem = ro.Problem(lambda x: x ** 2, x=ro.NonNegative(3))
    with pytest.raises(ex.InvalidTypeError, match="real scalar"):
        ro.solve(problem)


def test_objective_not_callable():
    with pytest.raises(ex.InvalidTypeError, match="`objective` must be callable"):
        ro.Problem(3.0, x=ro.NonNegative(3))


def test_missing_shape_and_variables():
    with pytest.raises(ex.ShapeError, match="variable `x` needs a shape"):
        ro.Problem(lambda x: anp.sum(x), x=ro.NonNegative())
    with pytest.raises(ex.InvalidArgumentError, match="at least one variable"):
        ro.Problem(lambda: 0.0)


def test_objective_arguments_must_be_the_declared_variables():
    with pytest.raises(ex.InvalidArgumentError,
                       match=r"`objective` takes the arguments \['y'\].*variables declared are \['x'\]"):
        ro.Problem(lambda y: anp.sum(y ** 2), x=ro.NonNegative(3))
    with pytest.raises(ex.InvalidArgumentError,
                       match=r"`value_and_grad` takes the arguments \['W', 'H'\].*\['W', 'h'\]"):
        ro.Problem(value_and_grad=lambda W, H: (0.0, {}), W=ro.NonNegative((2, 2)),
                   h=ro.NonNegative(2))
    # keyword catch-alls and arguments with defaults are fine
    for objective in (lambda **v: anp.sum(v["x"] ** 2), lambda x, c=1.0: c * anp.sum(x ** 2)):
        assert ro.solve(ro.Problem(objective, x=ro.NonNegative(2))).success


def test_infeasible_x0():
    problem = ro.Problem(lambda x: anp.sum(x ** 2), x=ro.NonNegative(3))
    with pytest.raises(ex.InfeasibleError, match="`x0`.*'nonnegative'"):
        ro.solve(problem, x0=np.array([1.0, -1.0, 0.0]))
    simplex = ro.Problem(lambda w: anp.sum(w ** 2), w=ro.Simplex(3))
    with pytest.raises(ex.InfeasibleError):
        ro.solve(simplex, x0=np.array([0.5, 0.5, 0.5]))


def test_x0_shape_and_values():
    problem = ro.Problem(lambda x: anp.sum(x ** 2), x=ro.NonNegative(3))
    with pytest.raises(ex.ShapeError, match="shape"):
        ro.solve(problem, x0=np.ones(4))
    with pytest.raises(ex.NonFiniteError, match="`x0`"):
        ro.solve(problem, x0=np.array([1.0, np.nan, 0.0]))
    with pytest.raises(ex.InvalidTypeError, match="complex"):
        ro.solve(problem, x0=np.ones(3) + 1j)


@pytest.mark.parametrize("name,value", [("tol", -1.0), ("tol", np.nan), ("max_iter", -3),
                                        ("max_iter", 2.5), ("ftol", -1e-3)])
def test_bad_run_settings(name, value):
    problem = ro.Problem(lambda x: anp.sum(x ** 2), x=ro.NonNegative(3))
    with pytest.raises(ex.InvalidArgumentError, match=f"`{name}`"):
        ro.solve(problem, **{name: value})


def test_bad_problem_type():
    with pytest.raises(ex.InvalidTypeError, match="`problem`"):
        ro.solve(lambda x: x)


def test_errors_are_standard_exceptions():
    assert issubclass(ex.InvalidArgumentError, ValueError)
    assert issubclass(ex.InvalidTypeError, TypeError)
    assert issubclass(ex.UnknownNameError, KeyError)


def test_matrix_factors_do_not_stall_at_the_symmetric_saddle():
    # W and H from the identical start stay with identical columns (a saddle, f = 7.48
    # here with status 1 before the start was perturbed); the perturbed start reaches
    # the exact factorization, as a random start does
    import autograd.numpy as anp

    rng = np.random.default_rng(0)
    X = rng.random((30, 4)) @ rng.random((4, 20))
    problem = ro.Problem(lambda W, H: 0.5 * anp.sum((W @ H - X) ** 2),
                         W=ro.NonNegative((30, 4)), H=ro.NonNegative((4, 20)))
    for seed in (None, 1):
        res = ro.solve(problem, engine="gd", max_iter=5000, init_scale=0.3, random_state=seed)
        assert res.success
        assert res.fun < 1e-10 * 0.5 * np.sum(X ** 2)
        assert np.ptp(res.x["W"], axis=1).max() > 0.1  # columns differ


def test_random_state_perturbs_and_vectors_start_identical_by_default():
    problem = ro.Problem(lambda x: ((x - 1.0) ** 2).sum(), x=ro.NonNegative(5))
    start = ro.solve(problem, max_iter=0, init_scale=0.1)
    np.testing.assert_array_equal(start.u, np.full(5, 0.1))  # identical: the implicit-bias start
    perturbed = ro.solve(problem, max_iter=0, init_scale=0.1, random_state=3)
    assert np.ptp(perturbed.u) > 0
    u_a = problem.init(0.1, np.random.default_rng(3))
    u_b = problem.init(0.1, np.random.default_rng(3))
    np.testing.assert_array_equal(u_a, u_b)
    assert np.ptp(u_a) > 0 and np.all(u_a > 0)


@pytest.mark.parametrize("scale", [0.0, -1.0, np.inf])
def test_solve_rejects_a_non_positive_init_scale(scale):
    problem = ro.Problem(lambda x: ((x - 1.0) ** 2).sum(), x=ro.NonNegative(3))
    with pytest.raises(ro.exceptions.InvalidArgumentError, match="init_scale"):
        ro.solve(problem, init_scale=scale)


def test_solve_limits_end_with_status_0_and_a_convergence_warning():
    import autograd.numpy as anp

    problem = ro.Problem(lambda x: anp.sum((x - 2.0) ** 2), x=ro.NonNegative(3))
    with pytest.warns(ro.exceptions.ConvergenceWarning, match="max_iter"):
        res = ro.solve(problem, max_iter=2)
    assert res.status == 0 and not res.success
    # the flow's t_max is a limit, not a failure: every value is finite
    with pytest.warns(ro.exceptions.ConvergenceWarning, match="t_max"):
        res = ro.solve(problem, engine="flow", t_max=0.1)
    assert res.status == 0 and "t_max" in res.message and "Non-finite" not in res.message
    assert np.all(np.isfinite(res.x)) and res.t == pytest.approx(0.1)


def test_a_list_of_constraints_is_refused_with_a_hint():
    with pytest.raises(ro.exceptions.InvalidTypeError, match="one constraint"):
        ro.Problem(lambda x: (x ** 2).sum(), x=ro.NonNegative(3), constraints=[ro.Simplex(3)])


def test_a_name_shape_pair_is_a_variable():
    import autograd.numpy as anp

    c = np.array([0.3, -1.0, 2.0])
    problem = ro.Problem(lambda x: anp.sum((x - c) ** 2), x=("nonnegative", (3,)))
    res = ro.solve(problem, tol=1e-10)
    np.testing.assert_allclose(res.x, np.maximum(c, 0), atol=1e-8)
    with pytest.raises(ro.exceptions.InvalidTypeError, match="one constraint"):
        ro.Problem(lambda x: (x ** 2).sum(), x=("nonnegative", (3,), "extra"))


def test_plain_numpy_objective_warns_with_a_hint():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 12))
    b = A @ np.abs(rng.standard_normal(12))
    problem = ro.Problem(lambda x: np.sum((np.dot(A, x) - b) ** 2), x=ro.NonNegative(12))
    with pytest.warns(ro.exceptions.PerformanceWarning, match="autograd.numpy") as record:
        res = ro.solve(problem, max_iter=5)
    assert record[0].filename == __file__
    assert np.isfinite(res.fun)
    import autograd.numpy as anp

    fine = ro.Problem(lambda x: anp.sum((anp.dot(A, x) - b) ** 2), x=ro.NonNegative(12))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ro.exceptions.PerformanceWarning)
        ro.solve(fine, max_iter=5)


def _in_place(x):
    y = x * 2.0
    y[0] = 0.0
    return (y ** 2).sum()


@pytest.mark.parametrize("objective, hint", [
    (_in_place, "anp.concatenate"),
    (lambda x: float((x ** 2).sum()), "float"),
    (lambda x: __import__("scipy.special").special.expit(x).sum(), "autograd.scipy.special"),
])
def test_autograd_errors_come_with_a_hint(objective, hint):
    problem = ro.Problem(objective, x=ro.NonNegative(3))
    with pytest.raises(ro.exceptions.InvalidTypeError, match="cannot be differentiated") as info:
        ro.solve(problem, max_iter=3)
    assert hint in str(info.value)


@pytest.mark.parametrize("engine", ["lbfgs", "gd", "accelerated", "flow", "accelerated-flow"])
def test_default_settings_converge_for_every_engine(engine):
    # the README's two-variable example (at a smaller size); the accelerated flow's
    # default t0 included
    import autograd.numpy as anp

    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((60, 8)), rng.standard_normal(60)
    problem = ro.Problem(lambda x, w: anp.sum((A[:, :5] @ x + A[:, 5:8] @ w - b) ** 2),
                         x=ro.NonNegative(5), w=ro.Simplex(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ro.exceptions.ConvergenceWarning)
        res = ro.solve(problem, engine=engine)
    assert res.status == 1 and res.success
    reference = ro.solve(problem, tol=1e-12)
    assert res.fun <= reference.fun * (1 + 1e-6)


def _stop(*args):
    raise StopIteration


@pytest.mark.parametrize("engine", ["lbfgs", "gd", "accelerated", "flow", "accelerated-flow"])
def test_stopiteration_from_a_callback_gives_status_4(engine):
    import autograd.numpy as anp

    c = np.array([1.0, -2.0, 0.5, 3.0])
    problem = ro.Problem(lambda x: anp.sum((x - c) ** 2) + anp.sum(x ** 4), x=ro.NonNegative(4))
    res = ro.solve(problem, engine=engine, callback=_stop)
    assert res.status == 4 and res.nit == 1 and np.all(res.x >= 0)


@pytest.mark.parametrize("method", ["gd", "nesterov", "flow", "mirror-nesterov"])
def test_stopiteration_in_the_flagships_gives_status_4(method):
    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((30, 10)), rng.standard_normal(30)
    assert ro.nnls(A, b, method=method, callback=_stop).status == 4
    if method in ("gd", "flow"):
        wide = A.T
        assert ro.sparse_recovery(wide, wide @ np.ones(30), method=method, callback=_stop).status == 4


@pytest.mark.parametrize("factor", [1e-6, 1e6])
def test_the_stopping_test_is_scale_free(factor):
    from reparamopt.flagships.solve import _RelativeResidual

    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((40, 12)), rng.standard_normal(40)

    def make(f_scale, x_scale):
        # f_scale * ||A (x / x_scale) - b||^2 over x >= 0: the same problem in other units
        return ro.Problem(lambda x: f_scale * anp.sum((anp.dot(A, x / x_scale) - b) ** 2),
                          x=ro.NonNegative(12))

    base, scaled_f, scaled_x = make(1.0, 1.0), make(factor, 1.0), make(1.0, factor)
    measures = [_RelativeResidual.of(p, init, 1e-8, 0.0)
                for p, init in ((base, None), (scaled_f, None), (scaled_x, np.sqrt(factor)))]
    for _ in range(5):
        x = np.abs(rng.standard_normal(12)) * (rng.random(12) < 0.6)
        u = base.to_latent(x)
        value = measures[0](u)
        assert measures[1](scaled_f.to_latent(x)) == pytest.approx(value, rel=1e-6)
        assert measures[2](scaled_x.to_latent(factor * x)) == pytest.approx(value, rel=1e-4)
    for problem in (scaled_f, base):
        res = ro.solve(problem)
        assert res.success
        np.testing.assert_allclose(res.x, scipy_nnls(A, b), atol=1e-6)


def scipy_nnls(A, b):
    import scipy.optimize

    return scipy.optimize.nnls(A, b)[0]


def test_a_large_gradient_at_the_start_does_not_pass_the_test():
    # min(x, g) saturates at x = 1 when g ~ 1e10: an unscaled residual relative to
    # ||g0|| would hold at the start; the gradient mapping does not
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    H = (Q * np.array([1e2, 1e6, 3e10])) @ Q.T
    H = (H + H.T) / 2
    c = np.array([1.0, -55.0, -5.0])
    problem = ro.Problem(lambda x: 0.5 * anp.dot(x, anp.dot(H, x)) - anp.dot(c, x), x=ro.NonNegative(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ro.exceptions.ConvergenceWarning)
        res = ro.solve(problem)
    assert res.nit > 0
    f = lambda x: 0.5 * x @ H @ x - c @ x  # noqa: E731
    # never worse than the start (x = 1) or x = 0
    assert f(res.x) <= min(f(np.ones(3)), f(np.zeros(3))) + 1e-15
    import scipy.optimize

    ref = scipy.optimize.minimize(lambda z: (f(z), H @ z - c), np.zeros(3), jac=True, method="L-BFGS-B",
                                  bounds=[(0, None)] * 3, options={"ftol": 1e-16, "gtol": 1e-14})
    if res.success:
        assert f(res.x) <= ref.fun + 1e-6 * abs(f(np.ones(3)) - ref.fun)


def test_evaluations_are_cached_by_value_and_the_objective_traced_once():
    calls = []
    c = np.array([1.0, -2.0, 0.5])

    def f(x):
        calls.append(1)
        return anp.sum((x - c) ** 2)

    problem = ro.Problem(f, x=ro.NonNegative(3))
    u = problem.init()
    first = problem.value_and_grad(u)
    assert len(calls) == 1  # the graph check shares the one trace
    again = problem.value_and_grad(u.copy())  # an equal array, not the same object
    assert len(calls) == 1 and again[0] == first[0]
    problem.value_and_grad(u + 1e-3)
    assert len(calls) == 2


class _OwnMeasureOracle:
    """Least squares with its own relative optimality measure (as the flagships')."""

    def __init__(self, A, b):
        self.A, self.b = A, b
        self.scale = np.linalg.norm(A.T @ b)

    def __call__(self, x):
        r = self.A @ x - self.b
        return 0.5 * float(r @ r), self.A.T @ r

    def optimality(self, x, g):
        return float(np.linalg.norm(x - np.maximum(x - g, 0.0))) / self.scale


@pytest.mark.parametrize("tol, atol", [(1e-3, 1e-300), (0.0, None)])
def test_atol_is_a_floor_beside_tol_for_problems_with_their_own_measure(tol, atol):
    rng = np.random.default_rng(8)
    A, b = rng.standard_normal((40, 15)), rng.standard_normal(40)
    oracle = _OwnMeasureOracle(A, b)
    problem = ro.Problem(value_and_grad=oracle, x=ro.NonNegative(15))
    start = problem.set_residual(*problem.evaluate(problem.init())[2:])
    if atol is None:
        atol = 1e-3 * start
    res = ro.solve(problem, tol=tol, atol=atol, max_iter=3000)
    assert res.success and res.status == 1 and res.nit < 3000
    _, _, x, gx = problem.evaluate(res.u)
    met_tol = oracle.optimality(x["x"], gx["x"]) <= tol
    met_atol = problem.set_residual(x, gx) <= atol
    assert met_tol or met_atol
    assert met_tol if tol > 0 else met_atol


def test_a_small_init_scale_with_gd_keeps_the_implicit_l1_bias():
    # the documented engine for the bias through solve: gd from init_scale=1e-3 ends
    # within 2% of the minimum l1 norm (scipy's linprog) among the exact solutions
    import scipy.optimize

    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 120))
    x_true = np.zeros(120)
    x_true[rng.choice(120, 5, replace=False)] = rng.uniform(1, 2, 5)
    b = A @ x_true
    lp = scipy.optimize.linprog(np.ones(120), A_eq=A, b_eq=b, bounds=[(0, None)] * 120)
    problem = ro.Problem(lambda x: 0.5 * anp.sum((anp.dot(A, x) - b) ** 2), x=ro.NonNegative(120))
    res = ro.solve(problem, engine="gd", init_scale=1e-3, tol=1e-10)
    assert res.success
    assert np.linalg.norm(A @ res.x - b) <= 1e-6 * np.linalg.norm(b)
    assert np.sum(res.x) <= 1.02 * lp.fun


def test_residual_is_the_sets_unscaled_residual_whatever_the_measure():
    rng = np.random.default_rng(9)
    A, b = rng.standard_normal((20, 6)), rng.standard_normal(20)
    oracle = _OwnMeasureOracle(A, b)
    own = ro.Problem(value_and_grad=oracle, x=ro.NonNegative(6))
    plain = ro.Problem(lambda x: 0.5 * anp.sum((anp.dot(A, x) - b) ** 2), x=ro.NonNegative(6))
    u = rng.standard_normal(6)
    x = u ** 2
    g = A.T @ (A @ x - b)
    expected = np.linalg.norm(x - np.maximum(x - g, 0.0))
    assert own.residual(u) == pytest.approx(expected, rel=1e-12)
    assert plain.residual(u) == pytest.approx(expected, rel=1e-12)
    assert plain.optimality(u) == plain.residual(u)
    assert own.optimality(u) == pytest.approx(expected / oracle.scale, rel=1e-12)


# -- solve: settings validated once, the routing plan ------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    ({"tol": -1.0}, "`tol` must be a number >= 0; got -1.0"),
    ({"atol": np.nan}, "`atol` must be a number; got nan"),
    ({"ftol": -1e-3}, "`ftol` must be a number >= 0; got -0.001"),
    ({"max_iter": 2.5}, "`max_iter` must be an integer; got 2.5"),
    ({"init_scale": 0.0}, "`init_scale` must be a number > 0; got 0.0"),
    ({"init_scale": np.inf}, "`init_scale` must be a finite number > 0; got inf"),
    ({"time_limit": -1.0}, "`time_limit` must be a number >= 0; got -1.0"),
])
def test_solve_settings_validate_once_and_name_the_argument(kwargs, match):
    with pytest.raises(ex.InvalidArgumentError, match=match):
        SolveSettings(**kwargs)


def test_solve_settings_are_frozen_and_name_the_engine():
    settings = SolveSettings(engine="nesterov", engine_settings={"restart": None})
    assert settings.engine == "accelerated"
    with pytest.raises(FrozenInstanceError):
        settings.tol = 1.0
    with pytest.raises(TypeError):
        settings.engine_settings["restart"] = "function"
    with pytest.raises(ex.UnknownNameError, match="'lbfgs'.*got 'newton'"):
        SolveSettings(engine="newton")
    with pytest.raises(ex.InvalidTypeError, match="`callback` must be callable; got 3"):
        SolveSettings(callback=3)


def _batch_problem():
    rng = np.random.default_rng(2)
    model = LinearModel(rng.standard_normal((8, 4)), rng.standard_normal((8, 3)))
    return ro.Problem(value_and_grad=LeastSquaresOracle(model), batch=True, x=ro.NonNegative((4, 3)))


class _BatchOracle:
    """A batch's least squares with its own relative measure, and no take()."""

    def __init__(self, A, B):
        self.A, self.B = A, B

    def __call__(self, x):
        r = self.A @ x - self.B
        return 0.5 * np.sum(r ** 2, axis=0), self.A.T @ r

    def optimality(self, x, grad):
        scale = np.linalg.norm(self.A.T @ self.B, axis=0)
        return np.linalg.norm(x - np.maximum(x - grad, 0.0), axis=0) / scale


@pytest.mark.parametrize("engine, own", [("gd", False), ("accelerated", False), ("flow", False),
                                         ("gd", True)])
def test_a_batch_oracle_without_take_gives_each_columns_solution(engine, own):
    # a plain function has no take(): the columns converge at very different times
    # (the first one is at once near b = 0) and the others must go on unharmed
    rng = np.random.default_rng(5)
    A = rng.standard_normal((10, 4))
    B = np.column_stack([1e-3 * rng.standard_normal(10), rng.standard_normal((10, 2))])
    oracle = _BatchOracle(A, B)
    if not own:
        oracle = oracle.__call__  # a bound method: no take(), no optimality()
    res = ro.solve(ro.Problem(value_and_grad=oracle, batch=True, x=ro.NonNegative((4, 3))),
                   engine=engine, tol=1e-9, max_iter=50000)
    assert res.success and res.x.shape == (4, 3) and res.converged.all()
    for j in range(3):
        # the residual test at 1e-9 leaves x within ~1e-8 of the NNLS solution here
        np.testing.assert_allclose(res.x[:, j], scipy.optimize.nnls(A, B[:, j])[0], atol=1e-7)


def test_solve_route_picks_the_documented_engine_start_and_measure():
    vector = ro.Problem(lambda x: anp.sum((x - 1.0) ** 2), x=ro.NonNegative(3))
    plan = solve_route(SolveSettings(), vector)
    assert plan.engine == LBFGS() and plan.start == "identical" and plan.measure == "relative"
    # the default L-BFGS takes the curvature the measure probes; a set one is kept
    assert plan.pass_curvature
    assert not solve_route(SolveSettings(engine_settings={"curvature": 2.0}), vector).pass_curvature
    assert solve_route(SolveSettings(engine="gd"), vector).engine == GradientDescent()
    assert solve_route(SolveSettings(x0=np.ones(3)), vector).start == "x0"
    assert solve_route(SolveSettings(random_state=1), vector).start == "seeded"
    factors = ro.Problem(lambda W, h: anp.sum(anp.dot(W, h) ** 2), W=ro.NonNegative((3, 2)),
                         h=ro.NonNegative(2))
    plan = solve_route(SolveSettings(), factors)
    assert (plan.start, plan.perturb) == ("perturbed", ("W",))
    batch = _batch_problem()
    plan = solve_route(SolveSettings(), batch)
    assert plan.engine == GradientDescent() and plan.measure == "own" and not plan.pass_curvature
    assert solve_route(SolveSettings(atol=1e-9), batch).measure == "floor"
    rng = np.random.default_rng(3)
    own = ro.Problem(value_and_grad=_OwnMeasureOracle(rng.standard_normal((6, 3)),
                                                      rng.standard_normal(6)),
                     x=ro.NonNegative(3))
    assert solve_route(SolveSettings(), own).measure == "own"


def test_solve_nesterov_is_an_alias_of_accelerated():
    rng = np.random.default_rng(4)
    A, b = rng.standard_normal((30, 10)), rng.standard_normal(30)
    problem = ro.Problem(lambda x: 0.5 * anp.sum((anp.dot(A, x) - b) ** 2), x=ro.NonNegative(10))
    accelerated = ro.solve(problem, engine="accelerated", tol=1e-9)
    nesterov = ro.solve(problem, engine="nesterov", tol=1e-9)
    assert accelerated.success and nesterov.engine == "AcceleratedGradientDescent"
    np.testing.assert_array_equal(nesterov.x, accelerated.x)
    assert nesterov.nit == accelerated.nit
    # the KKT point of scipy's NNLS, to the tolerance's reach (1e-9 relative of the
    # gradient measure: 1e-6 absolute in x on this well-conditioned problem)
    np.testing.assert_allclose(accelerated.x, scipy_nnls(A, b), atol=1e-6)


def test_x_value_and_grad_takes_the_point_of_several_variables_as_a_dict():
    def f(x, w):
        return anp.sum((x - 1.0) ** 2) + anp.sum(w * anp.arange(3.0))

    problem = ro.Problem(f, x=ro.NonNegative(2), w=ro.Simplex(3))
    point = {"x": np.array([0.5, 2.0]), "w": np.array([0.2, 0.3, 0.5])}
    value, grad = problem.x_value_and_grad(point)
    assert value == pytest.approx(f(**point), rel=1e-15)
    np.testing.assert_allclose(grad["x"], autograd.grad(f, 0)(point["x"], point["w"]))
    np.testing.assert_allclose(grad["w"], np.arange(3.0))
    assert problem.as_dict(point) is point
    with pytest.raises(ex.InvalidArgumentError, match="keys"):
        problem.as_dict({"x": point["x"]})
    single = ro.Problem(lambda x: anp.sum(x ** 2), x=ro.NonNegative(2))
    value, grad = single.x_value_and_grad(np.array([1.0, 2.0]))
    assert value == 5.0 and isinstance(grad, np.ndarray)
