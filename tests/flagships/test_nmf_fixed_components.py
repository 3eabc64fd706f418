"""Fixed components (learning some rows of H while the others stay as given) and the
iteration control of transform."""

import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from reparamopt.benchmarks.nmf import topic_counts
from reparamopt.exceptions import InvalidArgumentError
from reparamopt.flagships.nmf import NMF


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((60, 5)) @ rng.random((5, 30)) + 0.01 * rng.random((60, 30))
    return X, rng.random((5, 30))


def _fixed_only_error(X, H):
    """The Frobenius error with W solved exactly (scipy's NNLS, row by row) against H alone."""
    return np.sqrt(sum(scipy.optimize.nnls(H.T, row)[1] ** 2 for row in X))


@pytest.mark.parametrize("solver, beta_loss, masked", [
    ("cd", "frobenius", False), ("cd", "frobenius", True), ("mirror", "frobenius", False),
    ("mirror", "kullback-leibler", False), ("mirror", "itakura-saito", False)])
def test_fixed_components_stay_bit_identical_and_the_others_learn(solver, beta_loss, masked):
    X, H = _data()
    X = X + 0.1  # Itakura-Saito needs positive entries
    if masked:
        X[np.random.default_rng(1).random(X.shape) < 0.1] = np.nan
    model = NMF(5, solver=solver, beta_loss=beta_loss, fixed_components=[0, 3], max_iter=50, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, H=H)
    np.testing.assert_array_equal(model.components_[[0, 3]], H[[0, 3]])
    assert not np.allclose(model.components_[[1, 2, 4]], H[[1, 2, 4]])
    assert np.all(np.diff(model.loss_history_) <= 1e-9 * model.loss_history_[1:])


def test_learnt_components_beat_the_fixed_ones_alone():
    # reference: W solved exactly by scipy.optimize.nnls against the two fixed rows
    # alone; three learnt components must fit the rank-5 data far better (stated: half
    # the error, measured about a tenth)
    X, H = _data(2)
    fixed = np.array([True, False, True, False, False])
    model = NMF(5, fixed_components=fixed, max_iter=200, random_state=0)
    W = model.fit_transform(X, H=H)
    np.testing.assert_array_equal(model.components_[fixed], H[fixed])
    error = np.linalg.norm(X - W @ model.components_)
    assert error == pytest.approx(model.reconstruction_err_, rel=1e-9)
    assert error <= 0.5 * _fixed_only_error(X, H[fixed])


def test_fixed_components_with_custom_start_and_sparse_word_counts():
    X = topic_counts(80, 120, 4, seed=3)
    rng = np.random.default_rng(3)
    W, H = rng.random((80, 4)), rng.random((4, 120))
    params = dict(beta_loss="kullback-leibler", init="custom", fixed_components=[1], max_iter=30, tol=0)
    sparse = NMF(4, **params).fit(X, W=W.copy(), H=H.copy())
    dense = NMF(4, **params).fit(X.toarray(), W=W.copy(), H=H.copy())
    assert sp.issparse(X)
    np.testing.assert_array_equal(sparse.components_[1], H[1])
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("fixed", [[5], [-1], [0, 0], [0.5], [[0, 1]], [True, False], "0"])
def test_bad_fixed_components_are_named(fixed):
    X, H = _data()
    with pytest.raises(InvalidArgumentError, match="`fixed_components` must be distinct component indices"):
        NMF(5, fixed_components=fixed).fit(X, H=H)


def test_fixed_components_need_H_and_a_solver_that_keeps_them():
    X, H = _data()
    with pytest.raises(InvalidArgumentError, match="`fixed_components` needs `H`"):
        NMF(5, fixed_components=[0]).fit(X)
    with pytest.raises(InvalidArgumentError, match="needs `solver` 'cd' or 'mirror'; got 'accelerated'"):
        NMF(5, solver="nesterov", fixed_components=[0]).fit(X, H=H)


def test_transform_max_iter_limits_transform_alone():
    X = topic_counts(60, 90, 3, seed=6).toarray()
    model = NMF(3, beta_loss="kullback-leibler", random_state=0, max_iter=300, tol=1e-8).fit(X)
    full = model.transform(X)
    model.set_params(transform_max_iter=2)
    with pytest.warns(ConvergenceWarning, match="Increase `transform_max_iter`"):
        short = model.transform(X)
    # two multiplicative steps from each row's own start fit worse than the converged rows
    H = model.components_
    assert np.linalg.norm(X - short @ H) > np.linalg.norm(X - full @ H)
    assert model.n_iter_ == NMF(3, beta_loss="kullback-leibler", random_state=0, max_iter=300,
                                tol=1e-8).fit(X).n_iter_  # the fit's own iterations are untouched


@pytest.mark.parametrize("value", [0, -3, 1.5, "10"])
def test_bad_transform_max_iter_is_named(value):
    X, _ = _data()
    with pytest.raises((InvalidArgumentError, TypeError), match="`transform_max_iter`"):
        NMF(3, transform_max_iter=value).fit(X)
