"""The run loop of the engines: each stopping rule (iteration and time limits, callbacks,
ftol, a non-finite objective) with its status, checkpoints, history and progress, and
engines by name with their settings (step schedules)."""

import autograd.numpy as anp
import numpy as np
import pytest

import reparamopt as ro
from reparamopt.engines import (
    AcceleratedGradientDescent,
    GradientDescent,
    get_engine,
    polynomial_decay,
    run,
)


def test_gradient_flow_reports_time_and_history(rng):
    c = np.array([1.0, -1.0, 2.0])
    problem = ro.Problem(lambda x: anp.sum((x - c) ** 2), x=ro.NonNegative(3))
    res = ro.solve(problem, engine="flow", tol=1e-8, history=True, max_iter=5000)
    assert res.t > 0
    t = np.asarray(res.history["t"])
    assert np.all(np.diff(t) > 0)
    assert len(res.history["fun"]) == res.nit + 1
    # the objective decreases along the flow
    assert np.all(np.diff(res.history["fun"]) <= 1e-12)


def test_decaying_step_schedule_is_used(rng):
    c = np.array([0.5, 2.0])
    problem = ro.Problem(lambda x: anp.sum((x - c) ** 2), x=ro.NonNegative(2))
    res_constant = ro.solve(problem, engine=GradientDescent(step_size=0.05), tol=1e-9, max_iter=50000)
    res_decay = ro.solve(problem, engine=GradientDescent(step_size=0.05, decay=0.5), tol=1e-9,
                         max_iter=50000)
    res_schedule = ro.solve(problem, engine=GradientDescent(step_size=polynomial_decay(0.05, 0.5)),
                            tol=1e-9, max_iter=50000)
    assert res_constant.success and res_decay.success
    assert res_decay.nit == res_schedule.nit
    assert res_decay.nit > res_constant.nit  # decaying steps are slower here


def test_max_iter_returns_status_zero(rng):
    A = rng.standard_normal((20, 10))
    b = rng.standard_normal(20)
    problem = ro.Problem(lambda x: 0.5 * anp.sum((anp.dot(A, x) - b) ** 2), x=ro.NonNegative(10))
    res = ro.solve(problem, engine="gd", max_iter=3, tol=1e-14)
    assert res.status == 0 and not res.success and res.nit == 3
    assert "maximum number of iterations" in res.message
    assert np.all(res.x >= 0)


def test_time_limit_and_callback_stop(rng):
    problem = ro.Problem(lambda x: anp.sum((x - 1.0) ** 2) + anp.sum(x ** 4), x=ro.Real(4))
    res = ro.solve(problem, engine="gd", tol=0, max_iter=10**9, time_limit=0.05)
    assert res.status == 3 and not res.success
    seen = []

    def callback(info):
        seen.append(info.nit)
        return info.nit >= 4

    res = ro.solve(problem, engine="accelerated", tol=0, max_iter=100, callback=callback)
    assert res.status == 4 and seen == [1, 2, 3, 4]


def test_callback_stopiteration(rng):
    problem = ro.Problem(lambda x: anp.sum((x - 1.0) ** 2), x=ro.Real(2))

    def callback(info):
        raise StopIteration

    assert ro.solve(problem, tol=0, callback=callback).status == 4


def test_ftol_stops(rng):
    problem = ro.Problem(lambda x: anp.sum((x - 1.3) ** 2) + anp.sum(x ** 4), x=ro.NonNegative(3))
    # an ftol stop is a success only when the optimality test holds too
    with pytest.warns(ro.exceptions.ConvergenceWarning, match="ftol"):
        res = ro.solve(problem, engine="gd", tol=0, ftol=1e-6, max_iter=10000)
    assert res.status == 2 and not res.success and res.optimality < 1e-3
    res = ro.solve(problem, engine="gd", tol=1e-3, ftol=1e-6, max_iter=10000)
    assert res.status in (1, 2) and res.success and res.optimality <= 1e-3


def test_non_finite_objective_reports_failure():
    problem = ro.Problem(lambda x: anp.sum(anp.log(1.0 - x)), x=ro.NonNegative(2))
    res = ro.solve(problem, engine=GradientDescent(step_size=10.0), tol=0, max_iter=100, x0=np.zeros(2) + 0.5)
    assert res.status == -1 and not res.success
    assert np.all(np.isfinite(res.x))


def test_checkpoint_replaces_iterate_and_stops():
    c = np.array([1.0, -1.0])
    problem = ro.Problem(lambda x: anp.sum((x - c) ** 2), x=ro.NonNegative(2))
    calls = []

    def checkpoint(u, k):
        calls.append(k)
        return problem.to_latent(np.array([1.0, 0.0])), True

    res = run(get_engine("gd"), problem, problem.init(1.0), tol=1e-14, max_iter=100,
              checkpoint=checkpoint, checkpoint_every=3)
    assert calls == [3] and res.status == 1 and res.nit == 3
    np.testing.assert_allclose(res.x, [1.0, 0.0])


def test_engine_by_name_and_object():
    assert isinstance(get_engine("nesterov"), AcceleratedGradientDescent)
    assert get_engine(GradientDescent(), step_size="armijo").step_size == "armijo"
    with pytest.raises(ro.exceptions.UnknownNameError, match="'accelerated-flow'"):
        get_engine("newton")


def test_progress_bar(capsys):
    problem = ro.Problem(lambda x: anp.sum((x - 1.0) ** 2), x=ro.NonNegative(3))
    ro.solve(problem, tol=1e-10, progress=True)
    assert "LBFGS" in capsys.readouterr().err
    ro.solve(problem, tol=1e-10)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
