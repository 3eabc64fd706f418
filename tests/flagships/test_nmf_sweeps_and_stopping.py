"""The "cd" solver's sweeps and the fit's stopping rule: both sweeps (numpy's and
scikit-learn's compiled one) are the same exact coordinate steps, the solver reaches
scikit-learn's "cd" error at the same budget and at the defaults, and the W finish is
paid by fit_transform only, with its cost reported. All data are seeded."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import NMF as SklearnNMF
from sklearn.exceptions import ConvergenceWarning

from reparamopt.flagships.nmf import NMF
from reparamopt.maps.registry import resolve
from reparamopt.solvers.nmf import column_projector, initialize, nonnegative_part, sweeps
from reparamopt.solvers.nmf import coordinate_descent as cd


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def digits():
    return load_digits().data


def _low_rank_plus_noise(seed=0, shape=(300, 200), rank=10):
    rng = np.random.default_rng(seed)
    X = rng.random((shape[0], rank)) @ rng.random((rank, shape[1]))
    return X + 0.1 * np.abs(rng.standard_normal(shape))


def _block(seed, k=6, length=40):
    """A block problem ``1/2 <Q F, F> - <B, F>``: Q a Gram matrix, F and B of k rows."""
    rng = np.random.default_rng(seed)
    G = rng.random((30, k))
    return G.T @ G, rng.random((k, length)) * 5, rng.random((k, length))


def _reference_sweeps(F, Q, B, lower, upper, count):
    """Exact coordinate minimization entry by entry, written out (no vectorization)."""
    F = F.copy()
    for _ in range(count):
        for j in range(F.shape[0]):
            for i in range(F.shape[1]):
                gradient = Q[j] @ F[:, i] - B[j, i]
                F[j, i] = min(max(F[j, i] - gradient / Q[j, j], lower), upper)
    return F


@pytest.mark.parametrize("compiled", [True, False])
def test_both_sweeps_are_the_exact_coordinate_steps(compiled, monkeypatch):
    # the compiled sweep serves short non-negative blocks, numpy's the others; forced
    # here both ways, each must take the written-out exact steps (rounding: 1e-12)
    monkeypatch.setattr(cd, "_compiled_pays", lambda k, length: compiled)
    Q, B, F0 = _block(seed=1)
    F = F0.copy()
    assert sweeps(F, Q, B, nonnegative_part, 3) == 3  # B far from F: no early stop
    np.testing.assert_allclose(F, _reference_sweeps(F0, Q, B, 0.0, np.inf, 3), rtol=1e-12, atol=1e-12)


def test_box_sets_take_the_numpy_sweep_with_their_projection():
    Q, B, F0 = _block(seed=2)
    project = column_projector(resolve("box", (40, 6), lower=0.0, upper=0.3))
    assert project is not nonnegative_part
    F = F0.copy()
    sweeps(F, Q, B, project, 2)
    np.testing.assert_allclose(F, _reference_sweeps(F0, Q, B, 0.0, 0.3, 2), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("compiled", [True, False])
def test_sweeps_stop_once_they_barely_move(compiled, monkeypatch):
    # components that do not interact (diagonal Q): the first sweep is exact, the second
    # moves nothing, and the sweeps stop there
    monkeypatch.setattr(cd, "_compiled_pays", lambda k, length: compiled)
    Q, B, F = _block(seed=3)
    Q = np.diag(np.diag(Q))
    assert sweeps(F, Q, B, nonnegative_part, 200) == 2
    np.testing.assert_allclose(F, np.maximum(B / np.diag(Q)[:, None], 0.0), rtol=1e-12)


@pytest.mark.parametrize("rows", [None, np.array([0, 2, 3])])
def test_kkt_violation_in_chunks_is_the_projected_gradient_norm(rows, monkeypatch):
    # a factor longer than a few chunks, zeros included; the reference is the definition
    # written out on the whole factor (sums in another order: rounding, rtol 1e-12)
    monkeypatch.setattr(cd, "_CHUNK", 7)
    rng = np.random.default_rng(4)
    F = np.maximum(rng.standard_normal((5, 40)), 0.0)
    A = rng.random((5, 5))
    Q, B = A @ A.T, rng.standard_normal((5, 40))
    gradient = Q @ F - B
    projected = np.where(F > 0, gradient, np.minimum(gradient, 0.0))
    expected = np.abs(projected if rows is None else projected[rows]).sum()
    assert np.isclose(cd.kkt_violation(F, Q, B, rows), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("data, k", [("digits", 16), ("low rank plus noise", 10)])
def test_cd_reaches_sklearn_cd_error_at_the_same_budget(data, k, digits):
    # same init ("nndsvda"), 200 iterations, tol=0; measured: 0.987 (digits) and 0.91
    # (300 x 200, rank 10 + noise) of scikit-learn's error: stated bound, at most its error
    X = digits if data == "digits" else _low_rank_plus_noise()
    ours = NMF(k, init="nndsvda", random_state=0, max_iter=200, tol=0).fit(X)
    ref = SklearnNMF(k, solver="cd", init="nndsvda", random_state=0, max_iter=200, tol=0).fit(X)
    assert ours.solver_ == "cd" and ours.n_iter_ == 200
    assert ours.reconstruction_err_ <= ref.reconstruction_err_


@pytest.mark.parametrize("data, k", [("digits", 10), ("digits", 12), ("digits", 13), ("digits", 16),
                                     ("low rank plus noise", 10)])
def test_default_run_reaches_sklearn_cd_default_error(data, k, digits):
    # both at their defaults (tol=1e-4, max_iter=200) from scikit-learn's "nndsvda" start
    # (the fit's own "nndsvda" start differs: it is drawn from X / max(X), so that c X
    # fits as X does, and scikit-learn's fill value mean(X) is not scale-free): "cd"
    # stops on scikit-learn's KKT rule alone (measured every 10 iterations) or at
    # max_iter, as scikit-learn's does; stated: at most its error (measured 0.95-0.996)
    X = digits if data == "digits" else _low_rank_plus_noise()
    W, H = initialize(X, k, "nndsvda", np.random.RandomState(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = NMF(k, init="custom").fit(X, W=W.copy(), H=H.copy())
        ref = SklearnNMF(k, solver="cd", init="custom").fit(X, W=W.copy(), H=H.copy())
    assert ours.reconstruction_err_ <= ref.reconstruction_err_
    assert ours.n_iter_ == 200 or ours.n_iter_ % cd.CHECK_EVERY == 1  # stopped on a check


def test_nndsvda_start_is_sklearn_start(digits):
    from sklearn.decomposition._nmf import _initialize_nmf

    W_ref, H_ref = _initialize_nmf(digits, 12, init="nndsvda", random_state=0)
    W, H = initialize(digits, 12, "nndsvda", np.random.RandomState(0))
    np.testing.assert_allclose(W, W_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H, H_ref, rtol=1e-10, atol=1e-12)


def test_fit_skips_the_w_finish_that_fit_transform_pays_and_reports(digits):
    X = digits[:500]
    fitted = NMF(10, init="nndsvda", random_state=0).fit(X)
    model = NMF(10, init="nndsvda", random_state=0)
    W = model.fit_transform(X)
    # the same iterations and H; only fit_transform finishes W, and says what it cost
    np.testing.assert_array_equal(fitted.components_, model.components_)
    assert fitted.finish_time_ == 0.0 and model.finish_time_ > 0.0
    assert model.time_history_[-1] >= model.time_history_[-2] + model.finish_time_
    # the finished W is transform's, and only lowers the objective of the fit's own W
    np.testing.assert_allclose(fitted.transform(X), W, rtol=1e-9, atol=1e-12)
    assert model.loss_history_[-1] <= fitted.loss_history_[-1]
    # the reported losses are those of the returned factors (1e-9: rounding of the
    # expanded ||X||^2-sized terms)
    value = 0.5 * np.linalg.norm(X - W @ model.components_) ** 2
    assert model.loss_history_[-1] == pytest.approx(value, rel=1e-9)
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(2 * value), rel=1e-9)
