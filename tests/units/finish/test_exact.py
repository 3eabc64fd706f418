"""``exact_finish``: every strategy on every form of the data, several right-hand sides at
once, well- and ill-conditioned; and ``dual_tolerance``, the rounding level it prices at.

References: scipy.optimize.nnls and the KKT check of tests/nnls_reference.py. The
objective must be within the slack of :func:`tests.nnls_reference.objective_tolerance`
of scipy's. The KKT check is the package's default tolerance, 1e-10, for direct solves;
for the conjugate-gradient forms (sparse without a Gram matrix, matrix-free), whose
least squares are exact only to 0.01 tol and whose pricing ignores gradients below
0.1 tol ||A^T b|| / sqrt(n), it is 1e-9.
"""

import numpy as np
import pytest

from reparamopt.finish.exact import STRATEGIES, dual_tolerance, exact_finish
from reparamopt.finish.kkt import gradient_floor
from reparamopt.finish.support import support_of
from tests.nnls_reference import kkt_holds, objective, objective_tolerance, scipy_reference

from .problems import ILL_CONDITIONED, KINDS, as_kind, gaussian, ill_conditioned, model_of, planted

TOL = 1e-10


def finish(A, B, kind="dense-gram", X0=None, support=None, **kwargs):
    n, k = A.shape[1], B.shape[1]
    X0 = np.zeros((n, k)) if X0 is None else X0
    support = np.zeros((n, k), bool) if support is None else support
    return exact_finish(model_of(A, B, kind), X0, support, tol=TOL, **kwargs)


def assert_solved(A, B, X, kkt_tol=TOL):
    X_ref = scipy_reference(A, B)
    assert np.all(X >= 0)
    assert np.all(objective(A, B, X) <= objective(A, B, X_ref) + objective_tolerance(A, B, X, X_ref))
    assert np.all(kkt_holds(A, B, X, kkt_tol))


def with_degenerate_columns(A, B):
    """B with two more right-hand sides: zero, and one with ``A^T b = -1`` (x = 0 the
    solution)."""
    return np.column_stack([B, np.zeros(A.shape[0]), -A @ np.linalg.solve(A.T @ A, np.ones(A.shape[1]))])


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_strategy_on_every_kind(kind, strategy):
    rng = np.random.default_rng(1)
    A = gaussian(rng, 50, 20)
    B = with_degenerate_columns(A, planted(rng, A, 3))
    X, converged, nsolves, nfallback = finish(A, B, kind, strategy=strategy)
    assert converged.all() and nfallback == 0
    assert_solved(A, B, X, TOL if kind in ("dense-gram", "dense-columns", "sparse-gram") else 1e-9)
    assert np.all(X[:, 3:] == 0)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("name", ILL_CONDITIONED)
def test_ill_conditioned_data(name, strategy):
    rng = np.random.default_rng(2)
    A = ill_conditioned(name, rng)
    B = planted(rng, A, 3)
    X, converged, nsolves, nfallback = finish(A, B, strategy=strategy)
    assert converged.all()
    assert_solved(A, B, X)
    if name == "scaled columns":  # scaling alone is no reason for the pivoted QR
        assert nfallback == 0


def test_a_warm_start_from_the_dynamics():
    # an iterate of the dynamics: close to the solution, small but not zero elsewhere
    rng = np.random.default_rng(3)
    A = gaussian(rng, 60, 30)
    B = planted(rng, A, 4)
    X_ref = scipy_reference(A, B)
    X0 = X_ref * (1 + 1e-3 * rng.standard_normal(X_ref.shape)) + 1e-7
    support = support_of(X0)
    missing = np.count_nonzero((X_ref > 0) & ~support, axis=0)  # small entries of X_ref
    for strategy in STRATEGIES:
        X, converged, nsolves, _ = finish(A, B, X0=X0, support=support, strategy=strategy)
        assert converged.all()
        np.testing.assert_allclose(X, X_ref, rtol=1e-9, atol=1e-9 * np.abs(X_ref).max())
        # one solve on the warm support, then one per index it misses at most (the block
        # strategies take them together)
        assert np.all(nsolves <= 1 + np.maximum(missing, 1)), (strategy, nsolves, missing)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_max_solves_bounds_the_work_and_never_raises_the_objective(strategy):
    rng = np.random.default_rng(4)
    A = gaussian(rng, 50, 25)
    B = planted(rng, A, 4)
    X0 = np.abs(rng.standard_normal((25, 4)))
    support = rng.random((25, 4)) < 0.5
    X, converged, nsolves, _ = finish(A, B, X0=X0, support=support, strategy=strategy, max_solves=1)
    assert not converged.all()
    assert np.all(nsolves <= 2)  # the active set's bound, then Lawson and Hanson's
    assert np.all(X >= 0)
    assert np.all(objective(A, B, X) <= objective(A, B, np.where(support, X0, 0.0)) * (1 + 1e-12))


@pytest.mark.parametrize("kind", ["dense-gram", "dense-columns", "sparse-cg"])
def test_dual_tolerance_is_the_rounding_level_of_the_gradient(kind):
    # two implementations: the model's (by row blocks) and kkt.gradient_floor
    rng = np.random.default_rng(5)
    A = rng.standard_normal((30, 12)) * (rng.random((30, 12)) < 0.5)
    B = rng.standard_normal((30, 3))
    X = rng.standard_normal((12, 3))
    np.testing.assert_allclose(dual_tolerance(model_of(A, B, kind), X),
                               gradient_floor(as_kind(A, kind), X, B), rtol=1e-13)
