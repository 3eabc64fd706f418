"""The Kullback-Leibler fit against scikit-learn's multiplicative update, on word counts
(sparse) and digits (dense), from the same start."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.decomposition import NMF as SklearnNMF

from reparamopt.benchmarks.nmf import topic_counts
from reparamopt.flagships.nmf import NMF
from reparamopt.solvers.nmf import KLMultiplicative, NMFObjective, Relaxation


def _start(X, k, seed):
    rng = np.random.default_rng(seed)
    scale = np.sqrt(X.mean() / k)
    return scale * rng.random((X.shape[0], k)), scale * rng.random((k, X.shape[1]))


def _kl(X, k, **params):
    return dict(n_components=k, beta_loss="kullback-leibler", init="custom", **params)


@pytest.mark.parametrize("seed", [0, 2, 5])
def test_default_fit_of_word_counts_ends_at_most_at_sklearn_error(seed):
    # Both run their defaults (tol=1e-4 on the same "mu" rule, max_iter=200) from the
    # same start; the over-relaxed steps go further per iteration (measured on seeds
    # 0-7: 0.988-0.99997 of scikit-learn's error); stated: at most its error.
    X = topic_counts(200, 300, 6, seed=seed)
    W, H = _start(X, 6, seed)
    ours = NMF(**_kl(X, 6)).fit(X, W=W.copy(), H=H.copy())
    ref = SklearnNMF(**_kl(X, 6), solver="mu").fit(X, W=W.copy(), H=H.copy())
    assert ours.solver_ == "mirror"
    assert ours.reconstruction_err_ <= ref.reconstruction_err_
    assert np.all(np.diff(ours.loss_history_) <= 1e-12 * ours.loss_history_[1:])


def test_penalized_objective_at_most_sklearn_on_digits():
    # the penalties have scikit-learn's scaling: scikit-learn's factors, valued by our
    # objective, are the reference (200 iterations each, same start)
    X = load_digits().data[:400]
    W, H = _start(X, 8, 3)
    params = _kl(X, 8, alpha_W=0.01, l1_ratio=0.5, max_iter=200, tol=0)
    ours = NMF(**params).fit(X, W=W.copy(), H=H.copy())
    ref = SklearnNMF(**params, solver="mu")
    W_ref = ref.fit_transform(X, W=W.copy(), H=H.copy())
    n, m = X.shape
    objective = NMFObjective(X=X, mask=None, beta=1.0, l1_W=0.01 * 0.5 * m, l2_W=0.01 * 0.5 * m,
                             l1_H=0.01 * 0.5 * n, l2_H=0.01 * 0.5 * n, W_map=None, H_map=None)
    assert ours.loss_history_[-1] <= objective.value(W_ref, ref.components_)


def test_uphill_steps_fall_back_to_the_plain_step():
    # an exponent of 3 overshoots (2 already diverges on these data): every such
    # iteration is replaced by the plain majorization-minimization step
    X = topic_counts(100, 150, 4, seed=4)
    objective = NMFObjective(X=X, mask=None, beta=1.0, l1_W=0.0, l2_W=0.0, l1_H=0.0, l2_H=0.0,
                             W_map=None, H_map=None)
    W, H = _start(X, 4, 4)
    reckless = KLMultiplicative(objective, relaxation=Relaxation(start=3.0, grow=1.0, cap=3.0, shrink=1.0))
    state = reckless.init_state(W, H)
    values = [state.value]
    for _ in range(30):
        W, H, state, value = reckless.update(W, H, state)
        values.append(value)
    assert np.all(np.diff(values) <= 1e-12 * values[0])
    assert value == pytest.approx(objective.value(W, H), rel=1e-10)


def test_sparse_and_dense_word_counts_give_the_same_fit():
    X = topic_counts(120, 200, 5, seed=5)
    W, H = _start(X, 5, 5)
    sparse = NMF(**_kl(X, 5, max_iter=40, tol=0)).fit(X, W=W.copy(), H=H.copy())
    dense = NMF(**_kl(X, 5, max_iter=40, tol=0)).fit(X.toarray(), W=W.copy(), H=H.copy())
    assert sp.issparse(X)
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(sparse.loss_history_, dense.loss_history_, rtol=1e-9)
