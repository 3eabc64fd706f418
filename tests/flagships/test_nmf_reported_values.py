"""NMF reports what it returns: the last entry of `loss_history_` and
`reconstruction_err_` are the objective and the error of the returned factors (fit_transform's
W, or transform's W after fit, with `components_`), checked by a seeded random search over
shapes with at least as many components as min(n_samples, n_features), where the scale of
the factors is free and drifts; and the divergences are exact at an exact fit."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from reparamopt.flagships.nmf import NMF

# the objective is computed two ways (the solvers' expanded or scaled forms, and directly
# here): rounding of sums of ||X||^2-sized terms, so an absolute tolerance in ||X||^2 units
ABSOLUTE = 1e-9
# and a relative one for the values far above rounding
RELATIVE = 1e-7


def _direct_objective(X, W, H, beta):
    """The data term at (W, H), computed here entry by entry (0 log 0 = 0)."""
    Y = W @ H
    if beta == 2:
        return 0.5 * float(np.sum((X - Y) ** 2))
    positive = X > 0
    safe = np.where(positive, X, 1.0)
    return float(np.sum(np.where(positive, X * np.log(safe / np.where(positive, Y, 1.0)), 0.0) - X + Y))


def _draw(rng):
    """A random shape and data with k >= min(n, p): dense, with zeros, or low rank."""
    n, p = rng.integers(2, 16, size=2)
    k = int(rng.integers(min(n, p), min(n, p) + 9))
    kind = rng.integers(3)
    X = rng.random((n, p))
    if kind == 1:
        X[rng.random((n, p)) < 0.5] = 0.0
    elif kind == 2:
        X = rng.random((n, 1)) @ rng.random((1, p))
    return X, k


# (solver, loss, max_iter, draws): about a second each; the latent gradient solvers
# are slower per iteration and run fewer
CASES = [("cd", "frobenius", 200, 12), ("auto", "frobenius", 200, 12),
         ("mirror", "frobenius", 200, 12), ("gd", "frobenius", 30, 8),
         ("accelerated", "frobenius", 30, 8), ("mirror", "kullback-leibler", 200, 12)]


def _close(reported, value, scale):
    return abs(reported - value) <= ABSOLUTE * scale + RELATIVE * value


@pytest.mark.parametrize("solver, beta_loss, max_iter, draws", CASES)
def test_returned_factors_reproduce_the_reported_loss(solver, beta_loss, max_iter, draws):
    rng = np.random.default_rng(21)
    beta = 2 if beta_loss == "frobenius" else 1
    for draw in range(draws):
        X, k = _draw(rng)
        model = NMF(k, solver=solver, beta_loss=beta_loss, max_iter=max_iter,
                    random_state=int(rng.integers(100)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            W = model.fit_transform(X)
        H = model.components_
        value = _direct_objective(X, W, H, beta)
        scale = float(np.sum(X * X)) if beta == 2 else float(X.sum())
        where = (f"draw {draw}: X {X.shape}, k={k}: reported {model.loss_history_[-1]:.3g}, "
                 f"{0.5 * model.reconstruction_err_**2:.3g}; factors {value:.3g}")
        assert _close(model.loss_history_[-1], value, scale), where
        # the W finish after the last iteration only lowers the objective
        assert model.loss_history_[-1] <= model.loss_history_[-2] + ABSOLUTE * scale, where
        assert _close(0.5 * model.reconstruction_err_**2, value, scale), where
        if beta == 2:  # exact rows: fit(X).transform(X) is fit_transform(X)'s W
            assert _close(_direct_objective(X, model.transform(X), H, beta), value, scale), where


# --- the divergences at an exact fit ------------------------------------------------


def _exact_factors_with_zeros(seed=3):
    """W and H with zero entries, so that X = W H has exact zeros (0 log 0 = 0)."""
    rng = np.random.default_rng(seed)
    W, H = rng.random((30, 4)), rng.random((4, 20))
    W[rng.random(W.shape) < 0.4] = 0.0
    H[rng.random(H.shape) < 0.4] = 0.0
    return W, H


@pytest.mark.parametrize("beta_loss, beta", [("kullback-leibler", 1), ("itakura-saito", 0), (1.5, 1.5)])
def test_divergence_is_zero_at_an_exact_fit(beta_loss, beta):
    from sklearn.decomposition._nmf import _beta_divergence

    W, H = _exact_factors_with_zeros()
    X = W @ H
    if beta == 0:  # Itakura-Saito needs positive entries
        W, H = W + 0.1, H + 0.1
        X = W @ H
    assert beta == 0 or np.mean(X == 0) > 0.1
    model = NMF(4, beta_loss=beta_loss, init="custom", max_iter=5, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, W=W.copy(), H=H.copy())
    # stated: rounding of the ratios W H / X (a few eps each) squared, not eps itself
    assert model.reconstruction_err_ <= 1e-12 * np.linalg.norm(X)
    assert model.loss_history_[-1] <= 1e-24 * X.sum()
    # scikit-learn's value on the exact factors: zero up to its own rounding
    assert _beta_divergence(X, W, H, beta, square_root=True) <= 1e-6 * np.linalg.norm(X)


@pytest.mark.parametrize("beta", [1, 0, 1.5, 0.5, 3])
def test_divergence_matches_direct_computation_and_sklearn(beta):
    from sklearn.decomposition._nmf import _beta_divergence

    from reparamopt.solvers.nmf import beta_divergence

    W, H = _exact_factors_with_zeros(seed=4)
    rng = np.random.default_rng(5)
    X = W @ H * rng.uniform(0.5, 1.5, size=(30, 20))  # zeros where W H is zero
    X[0, :3] = 0.0  # and zeros where it is not
    W_fit, H_fit = W + 0.01 * rng.random(W.shape), H + 0.01 * rng.random(H.shape)
    if beta <= 0:
        X = X + 0.1
    Y = W_fit @ H_fit
    if beta == 1:
        direct = np.sum(np.where(X > 0, X * np.log(np.where(X > 0, X, 1.0) / Y), 0.0) - X + Y)
    elif beta == 0:
        direct = np.sum(X / Y - np.log(X / Y) - 1)
    else:
        direct = np.sum(X**beta + (beta - 1) * Y**beta - beta * X * Y ** (beta - 1)) / (beta * (beta - 1))
    ours = beta_divergence(X, Y, beta)
    assert ours == pytest.approx(direct, rel=1e-10)
    assert ours == pytest.approx(_beta_divergence(X, W_fit, H_fit, beta), rel=1e-8)


def test_benchmark_plots_the_recorded_history_of_each_case(tmp_path):
    # one figure per (data, loss); its curve is the fit's recorded history, whose last
    # error is the error the fit reports (same float: rtol 1e-12)
    import matplotlib.image

    from reparamopt.benchmarks.nmf import Case, compare, plot_summary, topic_counts

    X = topic_counts(60, 80, 4, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows = [compare(Case("counts", X, 4, loss), repeats=1)
                for loss in ("frobenius", "kullback-leibler")]
    for row in rows:
        assert len(row["curve"]) == row["iterations"]
        assert np.isclose(row["curve"][-1][1], row["error"], rtol=1e-12)
    plot_summary(rows, tmp_path / "figures")
    files = sorted((tmp_path / "figures").glob("*.png"))
    assert [f.name for f in files] == ["counts_4_frobenius.png", "counts_4_kullback_leibler.png"]
    assert all(matplotlib.image.imread(f).shape[:2] == (350, 500) for f in files)
