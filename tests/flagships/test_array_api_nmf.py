"""NMF on arrays of other array-API libraries: array-api-strict on its emulated
non-CPU device (no conversion to NumPy possible), torch on the CPU where installed.

NMF is not convex, so the factors are not compared; the final errors are. On the
seeded rank-5 data below (60 x 40 plus 5% noise) run to tol=1e-6, "cd" ends within 0.1%
of the same error (0.640) on scikit-learn, the NumPy path and the device path. "mu" is
still moving after 1000 iterations, so its end depends on the start: the device path and
the NumPy path (the same start, on X / max(X)) end within 0.2% of each other, and
scikit-learn's start (its NNDSVDa fill is not scale-free) ends up to 4% lower. Stated:
1% of the NumPy path, 5% of scikit-learn, for float64 and float32.
"""

import numpy as np
import pytest
from sklearn.decomposition import NMF as SklearnNMF

import reparamopt as ro
from reparamopt.backends.xp.nmf import beta_divergence
from reparamopt.exceptions import InvalidArgumentError, InvalidTypeError
from tests.device_arrays import assert_placed, on_device, to_numpy

# iteration limits may warn on any path; the errors are what these tests compare
pytestmark = pytest.mark.filterwarnings("ignore:Maximum number of iterations")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.random((60, 5)) @ rng.random((5, 40)) + 0.05 * rng.random((60, 40))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("solver,beta", [("cd", "frobenius"), ("mu", "frobenius"),
                                         ("mu", "kullback-leibler")])
def test_fit_matches_the_numpy_path_and_sklearn(data, dtype, solver, beta):
    options = dict(n_components=5, solver=solver, beta_loss=beta, tol=1e-6, max_iter=1000,
                   random_state=0)
    model = ro.NMF(**options)
    W = model.fit_transform(on_device(data, dtype))
    assert_placed(W, dtype)
    assert_placed(model.components_, dtype)
    assert type(model.reconstruction_err_) is float
    assert model.loss_history_.shape == (model.n_iter_ + 1,)
    # the error reported is the error of the factors returned
    own = np.sqrt(2 * beta_divergence(np, data, to_numpy(W) @ to_numpy(model.components_),
                                      {"frobenius": 2.0, "kullback-leibler": 1.0}[beta]))
    assert model.reconstruction_err_ == pytest.approx(own, rel=1e-4)
    assert model.reconstruction_err_ <= 1.01 * ro.NMF(**options).fit(data).reconstruction_err_
    assert model.reconstruction_err_ <= 1.05 * SklearnNMF(**options).fit(data).reconstruction_err_
    assert np.all(to_numpy(W) >= 0) and np.all(to_numpy(model.components_) >= 0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_transform_is_exact_nnls_and_inverse_transform_stays(data, dtype):
    model = ro.NMF(n_components=4, max_iter=50, random_state=0)
    model.fit(on_device(data, dtype))
    W = model.transform(on_device(data, dtype))
    assert_placed(W, dtype)
    H = to_numpy(model.components_).astype(float)
    expected = ro.nnls(H.T, data.T).x.T  # every row an NNLS against the components
    tolerance = 1e-10 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(to_numpy(W), expected, atol=tolerance * np.max(expected))
    back = model.inverse_transform(W)
    assert_placed(back, dtype)
    np.testing.assert_allclose(to_numpy(back), to_numpy(W) @ to_numpy(model.components_), rtol=1e-6)


def test_missing_entries_are_not_fitted(data):
    """NaN entries are missing: the fit with them equals the fit with the same entries
    masked out, and its error counts only the observed entries."""
    X = data.copy()
    X[::7, ::5] = np.nan
    options = dict(n_components=5, solver="mu", max_iter=300, random_state=0, init="random")
    model = ro.NMF(**options)
    W = model.fit_transform(on_device(X))
    masked = ro.NMF(**options)
    masked.fit_transform(on_device(np.nan_to_num(X, nan=123.0)), mask=on_device(~np.isnan(X)))
    assert model.reconstruction_err_ == pytest.approx(masked.reconstruction_err_, rel=1e-12)
    seen = ~np.isnan(X)
    fit = to_numpy(W) @ to_numpy(model.components_)
    assert model.reconstruction_err_ == pytest.approx(np.linalg.norm((fit - X)[seen]), rel=1e-6)


def test_refusals_name_the_argument(data):
    X = on_device(data)
    with pytest.raises(InvalidArgumentError, match="`alpha_W`.*0.1"):
        ro.NMF(2, alpha_W=0.1).fit(X)
    with pytest.raises(InvalidArgumentError, match="Negative values"):
        ro.NMF(2).fit(on_device(-data))
    with pytest.raises(InvalidArgumentError, match="'cd' needs the Frobenius loss"):
        ro.NMF(2, solver="cd", beta_loss="kullback-leibler").fit(X)
    with pytest.raises(InvalidTypeError, match="`X` a array_api_strict.*`H` a numpy"):
        ro.NMF(2, init="custom").fit(X, W=on_device(np.ones((60, 2))), H=np.ones((2, 40)))


def test_torch_factors_stay_torch(data):
    torch = pytest.importorskip("torch")
    model = ro.NMF(n_components=5, tol=1e-6, max_iter=1000, random_state=0)
    W = model.fit_transform(torch.tensor(data, dtype=torch.float32))
    reference = ro.NMF(n_components=5, tol=1e-6, max_iter=1000, random_state=0).fit(data)
    assert isinstance(W, torch.Tensor) and W.dtype == torch.float32
    assert model.components_.dtype == torch.float32
    assert model.reconstruction_err_ <= 1.01 * reference.reconstruction_err_


@pytest.mark.parametrize("factor", [1e15, 1e-15])
def test_data_far_from_unit_scale_fit_as_unit_data(data, factor):
    """float32 holds squares only up to 3e38: the fit runs on X / s and scales back, so
    c X fits as X (to the 1% of the other comparisons) instead of overflowing."""
    options = dict(n_components=5, solver="mu", tol=1e-6, max_iter=1000, random_state=0)
    model = ro.NMF(**options)
    W = model.fit_transform(on_device(data * factor, "float32"))
    assert np.all(np.isfinite(to_numpy(W))) and np.all(np.isfinite(to_numpy(model.components_)))
    reference = ro.NMF(**options).fit(data).reconstruction_err_
    assert model.reconstruction_err_ / factor <= 1.01 * reference
    fit = to_numpy(W).astype(float) @ to_numpy(model.components_).astype(float)
    assert model.reconstruction_err_ == pytest.approx(np.linalg.norm(fit - data * factor), rel=1e-4)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fit_skips_the_w_finish_as_the_numpy_path_does(data, dtype):
    """fit returns no W, so it does not solve W exactly against the final components
    (NumPy's fit does not either): its error is that of the fit's own last W, which the
    finish of fit_transform only lowers; both take the same iterations (the same H)."""
    from reparamopt.backends.xp.nmf import fit_transform

    options = dict(n_components=5, solver="cd", max_iter=20, tol=0.0, init="random", random_state=0)
    fitted = ro.NMF(**options).fit(on_device(data, dtype))
    assert fitted.finish_time_ == 0.0
    assert_placed(fitted.components_, dtype)
    unfinished = ro.NMF(**options)
    W = fit_transform(unfinished, on_device(data, dtype), finish=False)
    np.testing.assert_array_equal(to_numpy(fitted.components_), to_numpy(unfinished.components_))
    H = to_numpy(unfinished.components_).astype(float)
    own = np.linalg.norm(data - to_numpy(W).astype(float) @ H)
    # float32 factors: the error of a rank-5 product rounded at 6e-8 relative per entry
    assert fitted.reconstruction_err_ == pytest.approx(own, rel=1e-10 if dtype == "float64" else 1e-5)
    finished = ro.NMF(**options)
    finished.fit_transform(on_device(data, dtype))
    assert finished.finish_time_ > 0.0
    np.testing.assert_array_equal(to_numpy(finished.components_), to_numpy(fitted.components_))
    assert finished.reconstruction_err_ <= fitted.reconstruction_err_ * (1 + 1e-6)
    assert fitted.loss_history_[-1] == pytest.approx(0.5 * fitted.reconstruction_err_ ** 2, rel=1e-12)
