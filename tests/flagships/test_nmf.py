"""Tests of reparamopt.NMF: accuracy against scikit-learn, masks, graphs, sparse input,
constraints, solvers and input validation. All data are seeded."""

import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.decomposition import NMF as SklearnNMF
from sklearn.exceptions import ConvergenceWarning

from reparamopt.exceptions import (
    InfeasibleError,
    InvalidArgumentError,
    InvalidTypeError,
    ShapeError,
    UnknownNameError,
)
from reparamopt.flagships.nmf import NMF
from reparamopt.solvers.nmf import NMFObjective


def low_rank(n_samples, n_features, rank, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n_samples, rank)) @ rng.random((rank, n_features))


@pytest.fixture(scope="module")
def digits():
    return load_digits().data


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# --- accuracy ---------------------------------------------------------------------


def test_exact_low_rank_reaches_relative_error_1e_4():
    # 200 x 100, rank 5, noiseless: the fit must be essentially exact (bound from the issue).
    X = low_rank(200, 100, 5)
    model = NMF(n_components=5, max_iter=2000, tol=1e-12, random_state=0).fit(X)
    assert model.solver_ == "cd"
    assert model.reconstruction_err_ / np.linalg.norm(X) < 1e-4


def test_digits_frobenius_within_one_percent_of_sklearn_cd(digits):
    # Same init ("nndsvda", random_state=0) and the same budget: 200 iterations, tol=0.
    ours = NMF(16, init="nndsvda", random_state=0, max_iter=200, tol=0).fit(digits)
    ref = SklearnNMF(16, solver="cd", init="nndsvda", random_state=0, max_iter=200, tol=0).fit(digits)
    assert ours.n_iter_ == 200
    assert ours.reconstruction_err_ <= 1.01 * ref.reconstruction_err_
    # and it is a real fit of the same problem, not a degenerate one
    assert ours.reconstruction_err_ >= 0.95 * ref.reconstruction_err_
    W = ours.transform(digits)
    assert np.linalg.norm(digits - ours.inverse_transform(W)) < 1.05 * ref.reconstruction_err_


def test_kl_monotone_and_at_most_sklearn_mu(digits):
    # The over-relaxed multiplicative step falls back to the plain one (a
    # majorization-minimization step for 1 <= beta <= 2) when it would go uphill, so the
    # objective never increases (up to rounding, 1e-12 relative); from the same start and
    # in as many iterations it ends at most at scikit-learn's error, and within 10% of it
    # (the same local fit, not a degenerate one).
    X = digits[:600]
    ours = NMF(10, beta_loss="kullback-leibler", init="nndsvda", random_state=0, max_iter=200, tol=0).fit(X)
    ref = SklearnNMF(10, beta_loss="kullback-leibler", solver="mu", init="nndsvda", random_state=0,
                     max_iter=200, tol=0).fit(X)
    assert ours.solver_ == "mirror"
    steps = np.diff(ours.loss_history_)
    assert np.all(steps <= 1e-12 * ours.loss_history_[1:])
    assert ours.reconstruction_err_ <= ref.reconstruction_err_
    assert ours.reconstruction_err_ >= 0.9 * ref.reconstruction_err_


@pytest.mark.parametrize("beta_loss", ["itakura-saito", 1.5, 3.0])
def test_other_beta_losses_decrease(beta_loss, digits):
    X = digits[:300] + 1.0  # Itakura-Saito needs positive entries
    model = NMF(5, beta_loss=beta_loss, init="nndsvda", random_state=0, max_iter=50, tol=0).fit(X)
    assert model.loss_history_[-1] < 0.8 * model.loss_history_[0]
    assert np.all(np.isfinite(model.components_))


def test_regularization_matches_sklearn_objective(digits):
    # scikit-learn's scaling: l1_W = alpha_W * l1_ratio * n_features, l1_H = ... * n_samples.
    X = digits[:500]
    params = dict(alpha_W=1e-3, l1_ratio=0.5, init="nndsvda", random_state=0, max_iter=300, tol=0)
    ours = NMF(8, **params)
    W = ours.fit_transform(X)
    ref = SklearnNMF(8, solver="cd", **params)
    W_ref = ref.fit_transform(X)
    problem = NMFObjective(
        X=X, mask=None, beta=2.0, l1_W=1e-3 * 0.5 * 64, l2_W=1e-3 * 0.5 * 64,
        l1_H=1e-3 * 0.5 * 500, l2_H=1e-3 * 0.5 * 500, W_map=None, H_map=None)
    ours_value = problem.value(W, ours.components_)
    # the returned W is finished row by row against the final H: never above the last step
    assert ours_value <= ours.loss_history_[-1] * (1 + 1e-12)
    assert ours_value >= 0.99 * ours.loss_history_[-1]
    assert ours_value <= 1.01 * problem.value(W_ref, ref.components_)
    plain = NMF(8, init="nndsvda", random_state=0, max_iter=300, tol=0).fit_transform(X)
    assert np.mean(W == 0) > np.mean(plain == 0)


# --- missing data -------------------------------------------------------------------


def test_mask_ignores_hidden_entries_and_predicts_them():
    X = low_rank(100, 60, 4, seed=1)
    rng = np.random.default_rng(2)
    hidden = rng.random(X.shape) < 0.2
    params = dict(n_components=4, random_state=0, max_iter=500, tol=1e-10)

    model = NMF(**params)
    W = model.fit_transform(X, mask=~hidden)
    masked_error = np.linalg.norm((W @ model.components_ - X)[hidden])

    X_garbage = np.where(hidden, 100 * rng.random(X.shape), X)
    W_garbage = NMF(**params).fit_transform(X_garbage, mask=~hidden)
    np.testing.assert_allclose(W_garbage, W, rtol=1e-10, atol=1e-12)  # hidden values unused

    zeros = NMF(**params)
    W_zeros = zeros.fit_transform(np.where(hidden, 0.0, X))
    zero_error = np.linalg.norm((W_zeros @ zeros.components_ - X)[hidden])
    # stated: hidden entries predicted 10x better than by fitting zeros in their place
    assert masked_error < 0.1 * zero_error
    assert masked_error / np.linalg.norm(X[hidden]) < 1e-2


def test_nan_entries_are_missing_entries():
    X = low_rank(40, 30, 3, seed=3)
    hidden = np.random.default_rng(4).random(X.shape) < 0.2
    with_nan = np.where(hidden, np.nan, X)
    a = NMF(3, random_state=0, max_iter=50).fit(with_nan)
    b = NMF(3, random_state=0, max_iter=50).fit(X, mask=~hidden)
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-10)
    assert np.all(np.isfinite(a.transform(with_nan)))


@pytest.mark.parametrize("solver", ["mirror", "nesterov"])
def test_mask_with_other_solvers(solver):
    X = low_rank(50, 30, 3, seed=5)
    hidden = np.random.default_rng(6).random(X.shape) < 0.2
    model = NMF(3, solver=solver, random_state=0, max_iter=200, tol=0)
    W = model.fit_transform(X, mask=~hidden)
    assert np.linalg.norm((W @ model.components_ - X)[hidden]) < 0.1 * np.linalg.norm(X[hidden])


# --- graph regularization -------------------------------------------------------------


def _two_clusters(seed=0):
    rng = np.random.default_rng(seed)
    n, p = 120, 40
    labels = np.repeat([0, 1], n // 2)
    marker = np.zeros((2, p))
    marker[0, :10] = marker[1, -10:] = 0.25
    profiles = 0.5 * rng.random((2, p)) + marker
    X = profiles[labels] + rng.random((n, p))
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for i in range(n):
        for j in rng.choice(np.flatnonzero(labels == labels[i]), 5, replace=False):
            if j != i:
                graph.add_edge(i, int(j))
    return X, labels, graph


def _separation(W, labels):
    """Between-cluster distance over within-cluster spread of the normalized rows of W."""
    Z = W / np.linalg.norm(W, axis=1, keepdims=True)
    centers = [Z[labels == c].mean(axis=0) for c in (0, 1)]
    spread = np.mean([np.sum((Z[labels == c] - centers[c]) ** 2, axis=1).mean() for c in (0, 1)])
    return np.sum((centers[0] - centers[1]) ** 2) / spread


@pytest.mark.parametrize("solver", ["cd", "mirror", "nesterov"])
def test_graph_separates_clusters_better(solver):
    X, labels, graph = _two_clusters()
    plain = NMF(2, solver=solver, random_state=0, max_iter=300).fit_transform(X)
    # weight 10: at weight 1 the converged "cd" and "nesterov" fits separate the clusters
    # only 1.6-1.7 times better (a threefold gain there came from fits that stopped
    # after about 13 iterations, before the stopping rule of scikit-learn's meaning)
    regularized = NMF(2, solver=solver, random_state=0, max_iter=300,
                      graph_weight=10.0).fit_transform(X, graph=graph)
    # stated measure: the Fisher-type ratio above at least triples
    assert _separation(regularized, labels) > 3 * _separation(plain, labels)


def test_graph_objective_decreases_with_cd():
    X, _, graph = _two_clusters()
    model = NMF(2, random_state=0, max_iter=100, tol=0, graph_weight=10.0).fit(X, graph=graph)
    assert np.all(np.diff(model.loss_history_) <= 1e-10 * model.loss_history_[1:])


# --- sparse input, constraints, solvers -------------------------------------------


@pytest.mark.parametrize("beta_loss", ["frobenius", "kullback-leibler"])
def test_sparse_input_is_never_densified(monkeypatch, beta_loss):
    X = sp.random(300, 200, density=0.05, random_state=0, format="csr")
    params = dict(beta_loss=beta_loss, init="random", random_state=0, max_iter=30, tol=0)
    dense = NMF(5, **params).fit(X.toarray())

    def refuse(*args, **kwargs):
        raise AssertionError("sparse X was densified")

    for cls in (sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array):
        monkeypatch.setattr(cls, "toarray", refuse)
        monkeypatch.setattr(cls, "todense", refuse)
    model = NMF(5, **params).fit(X)
    np.testing.assert_allclose(model.components_, dense.components_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.loss_history_, dense.loss_history_, rtol=1e-8)
    assert model.reconstruction_err_ == pytest.approx(dense.reconstruction_err_, rel=1e-8)
    assert model.transform(X).shape == (300, 5)


def test_column_simplex_components_topic_style():
    rng = np.random.default_rng(7)
    topics = rng.dirichlet(0.3 * np.ones(50), size=4)
    counts = rng.poisson(200 * rng.dirichlet(np.ones(4), size=80) @ topics).astype(float)
    model = NMF(4, H_constraint="column-simplex-matrix", random_state=0, max_iter=300)
    W = model.fit_transform(counts)
    assert model.solver_ == "cd"
    np.testing.assert_allclose(model.components_.sum(axis=1), 1.0, atol=1e-10)
    assert model.components_.min() >= 0 and W.min() >= 0
    free = NMF(4, random_state=0, max_iter=300).fit(counts)
    assert model.reconstruction_err_ < 1.02 * free.reconstruction_err_  # scale moves to W


def test_row_simplex_W_uses_latent_engine():
    X = low_rank(60, 20, 3, seed=8)
    model = NMF(3, W_constraint="row-simplex-matrix", random_state=0, max_iter=100)
    W = model.fit_transform(X)
    assert model.solver_ == "accelerated"  # "nesterov" is its alias
    np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-8)
    assert model.loss_history_[-1] < 0.1 * model.loss_history_[0]


@pytest.mark.parametrize("solver, power", [("gd", 2), ("nesterov", 2), ("nesterov", 3), ("mirror", 2)])
def test_latent_solvers_fit_low_rank(solver, power):
    X = low_rank(60, 40, 3, seed=9)
    model = NMF(3, solver=solver, power=power, random_state=0, max_iter=300, tol=0).fit(X)
    assert model.reconstruction_err_ < 0.05 * np.linalg.norm(X)
    assert model.components_.min() >= 0


def test_transform_custom_init_and_history(digits, capsys):
    X = digits[:200]
    model = NMF(6, random_state=0, max_iter=400, tol=1e-8, progress=True)
    W = model.fit_transform(X)
    assert "NMF" in capsys.readouterr().err  # the tqdm bar
    assert len(model.loss_history_) == len(model.time_history_) == model.n_iter_ + 1
    assert np.all(np.diff(model.time_history_) >= 0)
    np.testing.assert_allclose(model.transform(X), W, atol=1e-2 * W.max())
    again = NMF(6, init="custom", max_iter=5, tol=0).fit(X, W=W, H=model.components_)
    assert again.reconstruction_err_ <= model.reconstruction_err_ * (1 + 1e-9)
    assert model.get_feature_names_out().tolist() == [f"nmf{i}" for i in range(6)]


def test_verbose_prints_the_objective(capsys):
    NMF(2, random_state=0, max_iter=20, tol=0, verbose=1).fit(low_rank(20, 10, 2))
    out = capsys.readouterr().out
    assert "NMF iteration 10: objective" in out and "NMF iteration 20: objective" in out


# --- bad input ------------------------------------------------------------------------


def test_negative_entries_are_rejected():
    X = low_rank(10, 5, 2)
    X[3, 2] = -1.0
    with pytest.raises(InvalidArgumentError, match="Negative values in data passed to NMF"):
        NMF(2).fit(X)


@pytest.mark.parametrize("X, error, received", [
    ("X", ValueError, "'X'"), ([1.0, 2.0], ValueError, r"\[1.0, 2.0\]"),
    (object(), TypeError, "<object object at"), (np.ones((3, 3), dtype=complex), ValueError,
                                                  "array of shape \\(3, 3\\) and dtype complex128")])
def test_X_that_is_no_data_matrix_is_named(X, error, received):
    # the message names `X` and what it got, and keeps scikit-learn's reason and kind
    with pytest.raises(error, match=rf"`X` must be a 2-d array-like .*; got {received}") as caught:
        NMF().fit(X)
    assert isinstance(caught.value, (InvalidArgumentError, InvalidTypeError))
    with pytest.raises(ValueError, match=r"`X` .* got array of shape \(3, 5\) .*expecting 4 features"):
        NMF(2).fit(low_rank(6, 4, 2)).transform(np.ones((3, 5)))


@pytest.mark.parametrize("missing", ["nan", "masked", "mask"])
def test_X_without_observed_entries_is_refused(missing):
    # all missing: nothing to fit (it used to return zero factors, and numpy's
    # "All-NaN slice" warning)
    X = low_rank(10, 5, 2)
    data = {"nan": np.full_like(X, np.nan), "masked": np.ma.masked_all(X.shape), "mask": X}[missing]
    mask = np.zeros(X.shape, dtype=bool) if missing == "mask" else None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidArgumentError, match=r"`X` must have an observed entry to fit; "
                                                       r"got an array of shape \(10, 5\)"):
            NMF(2).fit(data, mask=mask)
    # one observed entry is enough, and transform keeps a missing row's W at zero
    data = np.full_like(X, np.nan)
    data[0, 0] = 1.0
    model = NMF(1, max_iter=20).fit(data)
    assert model.reconstruction_err_ <= 1e-6
    np.testing.assert_array_equal(model.transform(np.full((2, 5), np.nan)), 0.0)


@pytest.mark.parametrize("n_components", [0, -3])
def test_n_components_below_one(n_components):
    with pytest.raises(InvalidArgumentError, match="`n_components` must be an int >= 1"):
        NMF(n_components).fit(low_rank(10, 5, 2))


@pytest.mark.parametrize("init", ["nndsvd", "nndsvda", "nndsvdar"])
def test_n_components_above_svd_rank(init):
    with pytest.raises(InvalidArgumentError, match="n_components"):
        NMF(6, init=init).fit(low_rank(10, 5, 2))


def test_mask_of_wrong_shape():
    with pytest.raises(ShapeError, match="`mask` must have the shape of X"):
        NMF(2).fit(low_rank(10, 5, 2), mask=np.ones((5, 10), dtype=bool))


def test_graph_with_wrong_nodes():
    X = low_rank(10, 5, 2)
    with pytest.raises(InvalidArgumentError, match="`graph` nodes must be the sample indices"):
        NMF(2).fit(X, graph=nx.path_graph(9))
    with pytest.raises(InvalidArgumentError, match="`graph` nodes"):
        NMF(2).fit(X, graph=nx.relabel_nodes(nx.path_graph(10), {0: "a"}))


@pytest.mark.parametrize("params, error", [
    (dict(solver="newton"), UnknownNameError),
    (dict(beta_loss="poisson"), UnknownNameError),
    (dict(H_constraint="no-such-set"), UnknownNameError),
    (dict(solver="cd", beta_loss="kullback-leibler"), InvalidArgumentError),
    (dict(solver="mirror", H_constraint="column-simplex-matrix"), InvalidArgumentError),
    (dict(power=1.5), InvalidArgumentError),
    (dict(l1_ratio=2.0), InvalidArgumentError),
])
def test_bad_parameters(params, error):
    with pytest.raises(error):
        NMF(2, **params).fit(low_rank(10, 5, 2) + 0.1)


def test_itakura_saito_needs_positive_entries():
    X = low_rank(10, 5, 2)
    X[0, 0] = 0.0
    with pytest.raises(InvalidArgumentError, match="positive observed entries"):
        NMF(2, beta_loss="itakura-saito").fit(X)


def test_infeasible_custom_factors():
    X = low_rank(10, 5, 2)
    W = np.ones((10, 2))
    with pytest.raises(InfeasibleError):
        NMF(2, init="custom").fit(X, W=-W, H=np.ones((2, 5)))
    with pytest.raises(ShapeError):
        NMF(2, init="custom").fit(X, W=W, H=np.ones((3, 5)))


def test_sklearn_names_mu_and_shuffle():
    # scikit-learn's "mu" is the multiplicative (mirror) update here; shuffle is accepted
    rng = np.random.default_rng(0)
    X = rng.random((30, 4)) @ rng.random((4, 20))
    mu = NMF(4, solver="mu", max_iter=300, random_state=0).fit(X)
    mirror = NMF(4, solver="mirror", max_iter=300, random_state=0).fit(X)
    np.testing.assert_allclose(mu.components_, mirror.components_)
    assert mu.get_params()["solver"] == "mu"
    cd = NMF(4, solver="cd", shuffle=True, max_iter=300, random_state=0).fit(X)
    assert cd.get_params()["shuffle"] is True
    assert cd.reconstruction_err_ < 1e-2 * np.linalg.norm(X)


@pytest.mark.parametrize("which", ["W", "H"])
def test_all_zero_custom_factor_is_refused(which):
    rng = np.random.default_rng(0)
    X = rng.random((20, 10))
    W, H = rng.random((20, 3)), rng.random((3, 10))
    factors = {"W": W, "H": H}
    factors[which] = np.zeros_like(factors[which])
    with pytest.raises(InvalidArgumentError, match=f"`{which}"):
        NMF(3, init="custom", solver="mirror").fit_transform(X, **factors)


def test_reconstruction_error_at_an_exact_fit_is_finite():
    rng = np.random.default_rng(5)
    W, H = rng.random((40, 3)) * 1e3, rng.random((3, 30)) * 1e3
    X = W @ H
    for solver in ("cd", "mirror", "nesterov", "gd"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = NMF(3, init="custom", solver=solver, max_iter=3).fit(X, W=W.copy(), H=H.copy())
        assert np.isfinite(model.reconstruction_err_) and model.reconstruction_err_ >= 0
        assert model.reconstruction_err_ <= 1e-6 * np.linalg.norm(X)


# --- scikit-learn parity: dtype, custom init, subset invariance, scale, masks, warnings --


def _noisy(seed=0, shape=(40, 30), rank=5):
    rng = np.random.default_rng(seed)
    return rng.random((shape[0], rank)) @ rng.random((rank, shape[1])) + 0.05 * rng.random(shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_dtype_is_preserved_like_sklearn(dtype):
    X = (10 * _noisy()).astype(dtype)
    ours, ref = NMF(5, random_state=0, max_iter=300), SklearnNMF(5, random_state=0, max_iter=300)
    W, W_ref = ours.fit_transform(X), ref.fit_transform(X)
    assert W.dtype == W_ref.dtype == ours.components_.dtype == ref.components_.dtype
    assert ours.transform(X).dtype == ref.transform(X).dtype == W_ref.dtype
    expected = np.float32 if dtype == np.float32 else np.float64
    assert W.dtype == expected
    # same fit quality as in float64 (the solvers compute in float64)
    full = NMF(5, random_state=0, max_iter=300)
    full.fit_transform(X.astype(np.float64))
    assert ours.reconstruction_err_ == pytest.approx(full.reconstruction_err_, rel=1e-5)
    assert "float32" in NMF().__sklearn_tags__().transformer_tags.preserves_dtype


@pytest.mark.parametrize("which", ["W", "H"])
def test_custom_init_of_another_dtype_is_a_type_error(which):
    X = _noisy()
    factors = {"W": np.full((40, 3), 0.5), "H": np.full((3, 30), 0.5)}
    factors[which] = factors[which].astype(np.float32)
    got = {name: f.dtype for name, f in factors.items()}
    with pytest.raises(TypeError, match=rf"`W` and `H` should have the same dtype as X \(float64\); "
                                        rf"got W.dtype = {got['W']} and H.dtype = {got['H']}"):
        NMF(3, init="custom").fit(X, **factors)
    with pytest.raises(TypeError, match="same dtype as X"):  # scikit-learn agrees
        SklearnNMF(3, init="custom").fit(X, **factors)
    # the same factors in X's dtype fit
    factors[which] = factors[which].astype(np.float64)
    NMF(3, init="custom", max_iter=5).fit(X, **factors)


def test_custom_init_shape_error_names_the_argument_and_shape():
    X = _noisy()
    with pytest.raises(ShapeError, match=r"`H` must have shape \(3, 30\); got shape \(3, 29\)"):
        NMF(3, init="custom").fit(X, W=np.ones((40, 3)), H=np.ones((3, 29)))
    with pytest.raises(ShapeError, match=r"`W` must have shape \(40, 3\); got shape \(39, 3\)"):
        NMF(3, init="custom").fit(X, W=np.ones((39, 3)), H=np.ones((3, 30)))


@pytest.mark.parametrize("solver, beta_loss", [
    ("cd", "frobenius"), ("mirror", "frobenius"), ("gd", "frobenius"), ("nesterov", "frobenius"),
    ("mirror", "kullback-leibler"), ("mirror", "itakura-saito")])
def test_transform_is_subset_invariant(solver, beta_loss):
    X = _noisy(seed=1, shape=(60, 25)) + 0.01
    model = NMF(4, solver=solver, beta_loss=beta_loss, random_state=0, max_iter=100).fit(X)
    idx = np.random.default_rng(2).permutation(60)[:17]
    np.testing.assert_allclose(model.transform(X[idx]), model.transform(X)[idx], rtol=1e-7, atol=1e-12)
    # one row at a time too, and fit_transform's W is transform's W
    np.testing.assert_allclose(model.transform(X[3:4]), model.transform(X)[3:4], rtol=1e-7, atol=1e-12)


def test_transform_is_the_exact_least_squares_row_solution():
    # Frobenius: each row of transform(X) is the NNLS solution against components_
    from scipy.optimize import nnls

    X = _noisy(seed=3)
    for solver in ("cd", "gd"):
        model = NMF(5, solver=solver, random_state=0, max_iter=50).fit(X)
        W = model.transform(X)
        for i in range(0, 40, 7):
            np.testing.assert_allclose(W[i], nnls(model.components_.T, X[i])[0], rtol=1e-8, atol=1e-12)


def _fitted_error(model, X):
    """The relative error of `model.fit_transform(X)` (fit skips the W finish)."""
    model.fit_transform(X)
    return model.reconstruction_err_ / np.linalg.norm(X)


@pytest.mark.parametrize("solver", ["cd", "mirror", "nesterov", "gd"])
def test_extreme_scales_fit_like_the_unscaled_data(solver):
    X = _noisy(seed=4)
    params = dict(n_components=5, solver=solver, random_state=0, max_iter=200, tol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("error", RuntimeWarning)
        reference = _fitted_error(NMF(**params), X)
        for c in (1e-300, 1e-150, 1e160, 1e300):
            model = NMF(**params)
            W = model.fit_transform(c * X)
            relative = model.reconstruction_err_ / (c * np.linalg.norm(X))
            # gd's Armijo search is not exactly scale-invariant (measured: 5e-6)
            assert relative == pytest.approx(reference, abs=1e-5 if solver == "gd" else 1e-6)
            assert np.all(np.isfinite(W)) and np.all(np.isfinite(model.components_))
            assert np.all(np.isfinite(model.transform(c * X)))
            # the factors carry the scale: W H reconstructs c X itself
            R = W @ model.components_ - c * X
            assert np.linalg.norm(R / c) == pytest.approx(relative * np.linalg.norm(X), rel=1e-6)


def test_masked_array_is_a_missing_data_mask():
    X = _noisy(seed=5)
    hidden = np.random.default_rng(6).random(X.shape) < 0.2
    params = dict(n_components=5, random_state=0, max_iter=300, tol=1e-8)
    masked = NMF(**params)
    W = masked.fit_transform(np.ma.masked_array(X, mask=hidden))
    by_mask = NMF(**params)
    np.testing.assert_array_equal(W, by_mask.fit_transform(X, mask=~hidden))
    # the values under the mask are never used, whatever they are
    garbage = np.ma.masked_array(np.where(hidden, -1e300, X), mask=hidden)
    np.testing.assert_array_equal(NMF(**params).fit_transform(garbage), W)
    np.testing.assert_array_equal(masked.transform(garbage),
                                  masked.transform(np.ma.masked_array(X, mask=hidden)))
    # reconstruction_err_ counts the observed entries only
    observed_error = np.linalg.norm((W @ masked.components_ - X)[~hidden])
    assert masked.reconstruction_err_ == pytest.approx(observed_error, rel=1e-9)
    # and on them it fits no worse than scikit-learn fed the column means at the holes
    imputed = np.where(hidden, np.nanmean(np.where(hidden, np.nan, X), axis=0), X)
    ref = SklearnNMF(5, random_state=0, max_iter=300, tol=1e-8)
    W_ref = ref.fit_transform(imputed)
    assert observed_error <= np.linalg.norm((W_ref @ ref.components_ - X)[~hidden])


def test_masked_fit_matches_weighted_multiplicative_reference():
    # Lee-Seung multiplicative updates for the weighted Frobenius loss, written here
    X = _noisy(seed=7, shape=(30, 20), rank=3)
    M = (np.random.default_rng(8).random(X.shape) > 0.25).astype(float)
    rng = np.random.default_rng(9)
    W0, H0 = rng.random((30, 3)) + 0.1, rng.random((3, 20)) + 0.1
    W, H = W0.copy(), H0.copy()
    for _ in range(50):
        W *= ((M * X) @ H.T) / ((M * (W @ H)) @ H.T)
        H *= (W.T @ (M * X)) / (W.T @ (M * (W @ H)))
    model = NMF(3, solver="mu", init="custom", max_iter=50, tol=0)
    model.fit(np.ma.masked_array(X, mask=M == 0), W=W0.copy(), H=H0.copy())
    np.testing.assert_allclose(model.components_, H, rtol=1e-8)


@pytest.mark.parametrize("solver", ["cd", "mirror", "nesterov", "gd"])
@pytest.mark.parametrize("beta_loss", ["frobenius", "kullback-leibler"])
def test_reconstruction_error_is_never_nan_on_degenerate_data(solver, beta_loss):
    if beta_loss != "frobenius" and solver != "mirror":
        pytest.skip("only mirror fits other losses")
    one = np.zeros((8, 6))
    one[2, 3] = 5.0
    for X in (np.zeros((8, 6)), one):  # without any observed entry: refused (above)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = NMF(3, solver=solver, beta_loss=beta_loss, init="random", random_state=0, max_iter=20)
            W = model.fit_transform(X)
        assert np.isfinite(model.reconstruction_err_) and model.reconstruction_err_ >= 0
        assert np.all(np.isfinite(W)) and np.all(np.isfinite(model.components_))
        assert np.isfinite(model.loss_history_).all()


def test_convergence_warnings_name_the_users_line():
    X = _noisy(seed=10)
    calls = {
        "fit": lambda: NMF(5, random_state=0, max_iter=2).fit(X),
        "fit_transform": lambda: NMF(5, random_state=0, max_iter=2).fit_transform(X),
        "transform": lambda: fitted.transform(X),
    }
    fitted = NMF(5, beta_loss="kullback-leibler", random_state=0, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted.fit(X)
    for name, call in calls.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        relevant = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
        assert relevant, name
        assert all(w.filename == __file__ for w in relevant), (name, [w.filename for w in relevant])


def test_ignored_custom_factors_warning_names_the_users_line():
    X = np.abs(np.random.default_rng(0).standard_normal((12, 9)))
    W, H = np.ones((12, 2)), np.ones((2, 9))
    with pytest.warns(UserWarning, match="ignored") as record:
        NMF(2, init="random", max_iter=5, random_state=0).fit_transform(X, W=W, H=H)
    assert [w.filename for w in record if "ignored" in str(w.message)] == [__file__]
