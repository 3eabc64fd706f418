"""solve() hands least-squares problems over bounds and simplices to reparamopt.lsq."""

import numpy as np
import pytest
import scipy.optimize as so

import reparamopt as ro


def test_box_problem_is_solved_exactly():
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((30, 12)), rng.standard_normal(30)
    res = ro.solve(ro.Problem(ro.LeastSquares(A, b), x=ro.Box(-0.5, 0.5, shape=12)))
    ref = so.lsq_linear(A, b, (-0.5, 0.5), method="bvls", tol=1e-14)
    assert res.engine == "lsq" and res.success
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("constraint, bounds", [
    (ro.NonNegative(8), (0, np.inf)), (ro.LowerBound(0.1, shape=8), (0.1, np.inf)),
    (ro.UpperBound(0.2, shape=8), (-np.inf, 0.2)), (ro.Real(8), (-np.inf, np.inf)),
])
def test_one_sided_and_free_problems_match_bvls(constraint, bounds):
    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((20, 8)), rng.standard_normal(20)
    res = ro.solve(ro.Problem(ro.LeastSquares(A, b), x=constraint))
    ref = so.lsq_linear(A, b, bounds, method="bvls", tol=1e-14)
    assert res.engine == "lsq"
    assert res.fun == pytest.approx(ref.cost, rel=1e-10)


def test_simplex_problem_matches_lsq_and_other_sets_take_the_engines():
    rng = np.random.default_rng(2)
    A, b = rng.random((15, 6)), rng.random(15)
    res = ro.solve(ro.Problem(ro.LeastSquares(A, b, l2=0.1), w=ro.Simplex(6)))
    direct = ro.lsq(A, b, bounds=(0, None), sum_to=1, l2=0.1)
    assert res.engine == "lsq"
    np.testing.assert_allclose(res.x, direct.x, rtol=1e-12, atol=1e-14)
    # the sphere is not a set of lsq: the latent engines solve it, with the same objective
    sphere = ro.solve(ro.Problem(ro.LeastSquares(A, b), x=ro.Sphere(6)), tol=1e-10)
    assert sphere.engine != "lsq" and np.linalg.norm(sphere.x) == pytest.approx(1.0)
