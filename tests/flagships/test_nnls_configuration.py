"""The NNLS flagship as a configuration: frozen settings validated once, a pure route
from measured properties of the data, each path checked against scipy."""

import dataclasses

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import reparamopt as ro
from reparamopt import datasets
from reparamopt.exceptions import InvalidArgumentError, InvalidTypeError, UnknownNameError
from reparamopt.flagships.nnls import METHODS, NNLSSettings
from reparamopt.flagships.nnls.api import solve_scaled
from reparamopt.flagships.nnls.route import PATHS, Facts, NNLSPlan, route
from reparamopt.flagships.nnls.settings import canonical_method
from reparamopt.models.linear import LinearModel


def _facts(A, b, x0=None, gram=None):
    from reparamopt.flagships.nnls.route import default_gram

    B = b[:, None] if b.ndim == 1 else b
    gram = default_gram(A) if gram is None else gram
    return Facts(LinearModel(A, B, gram=gram), x0)


def test_settings_are_frozen_and_resolved():
    settings = NNLSSettings(method="Nesterov", polish=False,
                                           options={"check_every": 7})
    assert settings.method == "accelerated" and settings.max_iter == 100000
    assert settings.check_every(25) == 7 and settings.polish_from == 1e-3
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.tol = 1.0
    with pytest.raises(TypeError):
        settings.options["check_every"] = 3  # the options are read-only too


@pytest.mark.parametrize("arguments, error, names", [
    (dict(method="newton"), UnknownNameError, ["`method`", "'newton'", "'accelerated'"]),
    (dict(method="lbfgs"), UnknownNameError, ["`method`", "'lbfgs'"]),
    (dict(power=1.5), InvalidArgumentError, ["`power`", "1.5"]),
    (dict(method="mirror-nesterov", power=3), InvalidArgumentError, ["`power`", "3"]),
    (dict(tol=-1.0), InvalidArgumentError, ["`tol`", "-1"]),
    (dict(polish="yes"), InvalidTypeError, ["`polish`", "'yes'"]),
    (dict(gram=1), InvalidTypeError, ["`gram`", "1"]),
    (dict(callback=3), InvalidTypeError, ["`callback`", "3"]),
    (dict(options={"step": 0.1}), UnknownNameError, ["'step'", "'auto'"]),
    (dict(method="gd", options={"step": -1.0}), InvalidArgumentError, ["options['step']", "-1"]),
])
def test_settings_name_the_argument_and_the_value(arguments, error, names):
    with pytest.raises(error) as info:
        NNLSSettings(**arguments)
    for name in names:
        assert name in str(info.value)


def test_every_alias_of_the_engine_table_is_a_method():
    assert canonical_method("nesterov") == "accelerated"
    assert canonical_method("barzilai-borwein") == "bb"
    assert {canonical_method(m) for m in METHODS} == set(METHODS)


def test_the_alias_gives_the_same_answer():
    A, b, _ = datasets.make_gaussian(30, 80, support=5, random_state=3)
    one = ro.nnls(A, b, method="nesterov", init_scale=1e-3)
    two = ro.nnls(A, b, method="accelerated", init_scale=1e-3)
    assert one.method == two.method == "accelerated"
    np.testing.assert_array_equal(one.x, two.x)
    assert one.nit == two.nit


def _smooth_atoms(m, n, width=0.05):
    """Gaussian bumps centred along [0, 1] (neighbouring columns nearly parallel) and a
    noisy combination of 15 of them."""
    t = np.linspace(0.0, 1.0, m)[:, None]
    A = np.exp(-0.5 * ((t - np.linspace(0.0, 1.0, n)) / width) ** 2)
    x = np.zeros(n)
    x[np.random.default_rng(9).choice(n, 15, replace=False)] = 1.0
    return A, A @ x + 1e-3 * np.random.default_rng(10).standard_normal(m)


_RNG = np.random.default_rng(7)
_CASES = {
    # (A, b, expected plan)
    "small dense": (_RNG.standard_normal((40, 100)), _RNG.standard_normal(40),
                    NNLSPlan("compiled")),
    "tall dense": (_RNG.standard_normal((400, 200)), _RNG.standard_normal(400),
                   NNLSPlan("least-squares")),
    "wide dense, few rows": (_RNG.standard_normal((100, 400)), _RNG.standard_normal(100),
                             NNLSPlan("compiled")),
    "wide dense": (_RNG.standard_normal((600, 1200)), _RNG.standard_normal(600),
                   NNLSPlan("dynamics", "accelerated", "small", 20)),
    "smoothing kernel": (*datasets.make_blur(220)[:2], NNLSPlan("ill-conditioned")),
    "wide dictionary of smooth atoms": (*_smooth_atoms(500, 1000), NNLSPlan("ill-conditioned")),
    "large sparse": (sp.random(600, 2100, density=0.004, random_state=1, format="csr"),
                     _RNG.standard_normal(600), NNLSPlan("dynamics", "accelerated", "small", 20)),
    "tall sparse": (sp.random(3000, 600, density=0.01, random_state=2, format="csr"),
                    _RNG.standard_normal(3000), NNLSPlan("sparse")),
    "operator": (aslinearoperator(_RNG.standard_normal((60, 50))), _RNG.standard_normal(60),
                 NNLSPlan("dynamics", "accelerated", "small", 20)),
}


@pytest.mark.parametrize("case", sorted(_CASES))
def test_the_route_of_each_kind_of_data(case):
    A, b, expected = _CASES[case]
    assert route(NNLSSettings(), _facts(A, b)) == expected
    assert expected.path in PATHS


def test_the_route_of_trivial_warm_and_paper_methods():
    A, b, _ = datasets.make_gaussian(30, 20, random_state=1)
    settings = NNLSSettings()
    assert route(settings, _facts(-np.abs(A), np.abs(b))) == NNLSPlan("zero")
    x0 = np.ones((20, 1))
    assert route(settings, _facts(A, b, x0)) == NNLSPlan("warm-finish")
    assert route(settings, _facts(A, b, x0), warm_certified=True) == NNLSPlan("warm")
    paper = NNLSSettings(method="bb", options={"check_every": 5})
    assert route(paper, _facts(A, b)) == NNLSPlan("dynamics", "bb", "moderate", 5)
    assert route(dataclasses.replace(paper, init_scale=1e-3), _facts(A, b)).start == "scale"
    assert route(NNLSSettings(polish=False), _facts(A, b)).engine == "accelerated"


@pytest.mark.parametrize("case", sorted(_CASES))
def test_each_path_reaches_scipys_objective(case):
    """Whatever the route, the answer is certified and as good as scipy's (relative
    objective within 1e-9, plus rounding at the scale of ||b||^2)."""
    A, b, _ = _CASES[case]
    res = ro.nnls(A, b)
    dense = A.toarray() if sp.issparse(A) else (A @ np.eye(A.shape[1]) if not
                                                 isinstance(A, np.ndarray) else A)
    x_ref = scipy.optimize.nnls(dense, b, maxiter=50 * dense.shape[1])[0]
    f, f_ref = (0.5 * np.sum((dense @ x - b) ** 2) for x in (res.x, x_ref))
    assert res.success and res.x.min() >= 0
    assert f <= f_ref * (1 + 1e-9) + 1e-13 * np.sum(b * b)


def test_solve_scaled_never_returns_worse_than_zero_or_the_warm_start(rng):
    """The certification keeps the best candidate: a warm start better than what the
    dynamics reach in one iteration stays."""
    A, b, _ = datasets.make_gaussian(40, 60, support=6, random_state=2)
    x_ref = scipy.optimize.nnls(A, b)[0][:, None]
    model = LinearModel(A, b[:, None])
    settings = NNLSSettings(method="gd", max_iter=1, polish=False)
    res = solve_scaled(model, settings, x_ref, start=0.0)
    f = model.objective(res.x)
    assert f <= model.objective(x_ref) * (1 + 1e-12)
    assert f <= model.objective(np.zeros_like(x_ref))
