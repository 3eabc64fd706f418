"""NMF's settings, routing and solver states, and the Dask fit's agreement with the
in-memory fit on them: the validated settings object, the plan the routing picks for
each kind of data, the solvers' explicit states, and the same decisions and messages
for dask input. All data are seeded."""

import dataclasses
import re
import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import NMF as SklearnNMF
from sklearn.exceptions import ConvergenceWarning

from reparamopt.exceptions import (
    InvalidArgumentError,
    InvalidTypeError,
    ShapeError,
    UnknownNameError,
)
from reparamopt.flagships.nmf import NMF, routing
from reparamopt.flagships.nmf.data import factor_maps
from reparamopt.flagships.nmf.fitting import BlockRun, run_blocks
from reparamopt.flagships.nmf.routing import DataTraits, NMFPlan, route, route_transform
from reparamopt.flagships.nmf.settings import NMFSettings
from reparamopt.result import Status
from reparamopt.solvers.nmf import (
    BlockUpdates,
    NMFObjective,
    make_solver,
    set_kind,
    stopping_measure,
)


def _noisy(seed=0, shape=(40, 30), rank=4):
    rng = np.random.default_rng(seed)
    return rng.random((shape[0], rank)) @ rng.random((rank, shape[1])) + 0.05 * rng.random(shape)


# --- settings -----------------------------------------------------------------------


def test_settings_are_frozen():
    settings = NMFSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.tol = 1.0


def test_settings_are_kept_in_canonical_form():
    settings = NMFSettings(beta_loss="itakura-saito", solver="mu", alpha_W=0.5, max_iter=7.0)
    assert settings.beta_loss == 0.0 and settings.solver == "mirror"
    assert settings.alpha_H == 0.5  # "same" resolved
    assert settings.max_iter == 7 and isinstance(settings.max_iter, int)
    assert NMFSettings(beta_loss=1.5, alpha_H=0.25).beta_loss == 1.5
    assert NMFSettings(alpha_W=1.0, alpha_H=0.25).alpha_H == 0.25


@pytest.mark.parametrize("params, error, message", [
    (dict(tol=-1), InvalidArgumentError, "`tol` must be a number >= 0; got -1"),
    (dict(max_iter=0), InvalidArgumentError, "`max_iter` must be a number >= 1; got 0"),
    (dict(max_iter=2.5), InvalidArgumentError, "`max_iter` must be an integer; got 2.5"),
    (dict(power=1.5), InvalidArgumentError, "`power` must be a number >= 2; got 1.5"),
    (dict(l1_ratio=2.0), InvalidArgumentError, "`l1_ratio` must be a number >= 0 and <= 1; got 2.0"),
    (dict(alpha_W=-1), InvalidArgumentError, "`alpha_W` must be a number >= 0; got -1"),
    (dict(alpha_H="other"), InvalidTypeError, "`alpha_H` must be a number; got 'other'"),
    (dict(beta_loss="poisson"), UnknownNameError, "`beta_loss` must be one of .*; got 'poisson'"),
    (dict(solver="newton"), UnknownNameError, "`solver` must be one of .*; got 'newton'"),
    (dict(init="svd"), UnknownNameError, "`init` must be one of .*; got 'svd'"),
    (dict(n_components=0), InvalidArgumentError, "`n_components` must be an int >= 1; got 0"),
    (dict(n_components="many"), InvalidTypeError,
     "`n_components` must be an int >= 1, None or 'auto'; got 'many'"),
    (dict(inner_steps=0), InvalidArgumentError, "`inner_steps` must be a number >= 1; got 0"),
    (dict(graph_weight=-1), InvalidArgumentError, "`graph_weight` must be a number >= 0; got -1"),
])
def test_a_bad_setting_is_named_with_its_value(params, error, message):
    with pytest.raises(error, match=message):
        NMFSettings(**params)
    # the estimator's fit raises the same error, before it reads the data
    with pytest.raises(error, match=message):
        NMF(**{"n_components": 2, **params}).fit(_noisy())


def test_settings_of_an_estimator_are_its_parameters():
    model = NMF(3, beta_loss="kullback-leibler", solver="mu", tol=1e-6, alpha_W=0.1,
                W_constraint="nonnegative", progress=True)
    expected = NMFSettings(n_components=3, beta_loss=1.0, solver="mirror", tol=1e-6, alpha_W=0.1,
                           progress=True)
    assert NMFSettings.from_estimator(model) == expected
    names = {f.name for f in dataclasses.fields(NMFSettings)}
    assert names == set(model.get_params()) - {"shuffle"}  # shuffle has no effect


def test_penalties_match_scikit_learns_scaling():
    X = _noisy(shape=(12, 7))
    for alpha_H, l1_ratio in (("same", 0.3), (0.02, 0.0), (0.5, 1.0)):
        ours = NMFSettings(alpha_W=0.1, alpha_H=alpha_H, l1_ratio=l1_ratio).penalties(*X.shape)
        ref = SklearnNMF(3, alpha_W=0.1, alpha_H=alpha_H, l1_ratio=l1_ratio)
        if not hasattr(ref, "_compute_regularization"):
            pytest.skip("scikit-learn no longer has _compute_regularization")
        l1_W, l1_H, l2_W, l2_H = ref._compute_regularization(X)
        np.testing.assert_allclose([ours.l1_W, ours.l1_H, ours.l2_W, ours.l2_H],
                                   [l1_W, l1_H, l2_W, l2_H], rtol=1e-15)


def test_rank_from_the_settings_and_the_custom_factors():
    assert NMFSettings().rank(30) == 30
    assert NMFSettings().rank(30, W=np.ones((5, 4))) == 4
    assert NMFSettings().rank(30, W=np.ones((5, 4)), H=np.ones((3, 30))) == 3
    assert NMFSettings(n_components=None).rank(30, H=np.ones((3, 30))) == 30
    assert NMFSettings(n_components=6).rank(30, H=np.ones((3, 30))) == 6


# --- routing ------------------------------------------------------------------------

_SETS = {name: set_kind(factor_maps(NMFSettings(W_constraint=name, H_constraint=name), (20, 10), 3).W)
         for name in ("nonnegative", "column-simplex-matrix", "row-simplex-matrix", "real")}


def _traits(**changes):
    base = DataTraits(shape=(20, 10), n_components=3, masked=False, graph=False,
                      W_set=_SETS["nonnegative"], H_set=_SETS["nonnegative"])
    for key in ("W_set", "H_set"):
        if isinstance(changes.get(key), str):
            changes[key] = _SETS[changes[key]]
    return base._replace(**changes)


@pytest.mark.parametrize("settings, traits, plan", [
    # Frobenius, fully observed: cd, rows exact, finished row by row
    (dict(), dict(), NMFPlan("nndsvda", "cd", "exact", True)),
    (dict(), dict(n_components=11), NMFPlan("random", "cd", "exact", True)),
    (dict(), dict(W_given=True, H_given=True), NMFPlan("custom", "cd", "exact", True)),
    (dict(init="random"), dict(W_given=True, H_given=True), NMFPlan("random", "cd", "exact", True)),
    # a set per component keeps cd without a mask; one across components needs the latent engine
    (dict(), dict(H_set="column-simplex-matrix"), NMFPlan("nndsvda", "cd", "exact", True)),
    (dict(), dict(W_set="row-simplex-matrix"), NMFPlan("nndsvda", "accelerated", "block", False)),
    (dict(), dict(W_set="column-simplex-matrix"), NMFPlan("nndsvda", "cd", "block", False)),
    # a mask or a graph: cd needs entrywise sets
    (dict(), dict(masked=True), NMFPlan("nndsvda", "cd", "exact", True)),
    (dict(), dict(masked=True, H_set="column-simplex-matrix"),
     NMFPlan("nndsvda", "accelerated", "exact", True)),
    (dict(), dict(graph=True), NMFPlan("nndsvda", "cd", "exact", False)),
    # other losses: mirror, rows by mirror steps
    (dict(beta_loss="kullback-leibler"), dict(), NMFPlan("nndsvda", "mirror", "mirror", True)),
    (dict(beta_loss=1.5), dict(masked=True), NMFPlan("nndsvda", "mirror", "mirror", True)),
    (dict(beta_loss="kullback-leibler"), dict(graph=True), NMFPlan("nndsvda", "mirror", "mirror", False)),
    # explicit solvers are kept
    (dict(solver="mu"), dict(), NMFPlan("nndsvda", "mirror", "exact", True)),
    (dict(solver="gd"), dict(W_set="real"), NMFPlan("nndsvda", "gd", "exact", True)),
    (dict(solver="nesterov"), dict(W_set="row-simplex-matrix"),
     NMFPlan("nndsvda", "accelerated", "block", False)),
])
def test_route_picks_the_documented_plan(settings, traits, plan):
    assert route(NMFSettings(**settings), _traits(**traits)) == plan
    transform_plan = route_transform(NMFSettings(**settings), _traits(**traits))
    assert transform_plan == plan._replace(init=None, finish=False)


@pytest.mark.parametrize("settings, traits, message", [
    (dict(solver="cd", beta_loss="kullback-leibler"), dict(), "`solver`='cd' needs the Frobenius loss"),
    (dict(solver="cd"), dict(masked=True, H_set="column-simplex-matrix"), "`solver`='cd' needs"),
    (dict(solver="cd"), dict(W_set="row-simplex-matrix"), "`solver`='cd' needs"),
    (dict(solver="nesterov", beta_loss="itakura-saito"), dict(),
     "`solver`='accelerated' supports the Frobenius"),
    (dict(solver="mirror"), dict(H_set="column-simplex-matrix"), "`solver`='mirror' needs 'nonnegative'"),
    (dict(init="custom"), dict(W_given=True), "`init`='custom' needs both `W` and `H`"),
    (dict(init="nndsvdar"), dict(n_components=11),
     r"`init`='nndsvdar' needs `n_components` <= .* = 10; got 11"),
])
def test_route_refuses_what_cannot_run(settings, traits, message):
    with pytest.raises(InvalidArgumentError, match=message):
        route(NMFSettings(**settings), _traits(**traits))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_init_decision_is_scikit_learns():
    # scikit-learn's init=None: "nndsvda" when k <= min(X.shape), else "random"
    X = _noisy(shape=(30, 8))
    for k, init in ((5, "nndsvda"), (9, "random")):
        default = NMF(k, random_state=0, max_iter=20).fit(X)
        explicit = NMF(k, init=init, random_state=0, max_iter=20).fit(X)
        np.testing.assert_array_equal(default.components_, explicit.components_)
        assert default.n_iter_ == explicit.n_iter_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", ["dense", "sparse", "masked", "graph", "kl-sparse", "kl-masked"])
def test_the_fit_runs_the_routed_solver(kind):
    X = _noisy(seed=1, shape=(30, 20))
    fit = {}
    params = dict(n_components=3, random_state=0, max_iter=30)
    if kind.startswith("kl"):
        params["beta_loss"] = "kullback-leibler"
    if kind.endswith("sparse"):
        X = sp.csr_matrix(np.where(X > 0.6, X, 0.0))
    if kind.endswith("masked"):
        fit["mask"] = np.random.default_rng(2).random(X.shape) > 0.2
    if kind == "graph":
        fit["graph"] = nx.path_graph(30)
    model = NMF(**params).fit(X, **fit)
    expected = "mirror" if kind.startswith("kl") else "cd"
    assert model.solver_ == expected
    # and sparse data get the plan of the same data dense
    if sp.issparse(X):
        dense = NMF(**params).fit(X.toarray())
        assert dense.solver_ == model.solver_
        np.testing.assert_allclose(model.components_, dense.components_, rtol=1e-8, atol=1e-10)


# --- the solvers' explicit states and the loop ------------------------------------


def _objective(X, mask=None, beta=2.0):
    maps = factor_maps(NMFSettings(), X.shape, 3)
    return NMFObjective(X=X if mask is None else X * mask, mask=mask, beta=beta, l1_W=0.0, l2_W=0.0,
                        l1_H=0.0, l2_H=0.0, W_map=maps.W, H_map=maps.H)


@pytest.mark.parametrize("solver, masked, beta", [
    ("cd", False, 2.0), ("cd", True, 2.0), ("mirror", True, 2.0), ("mirror", False, 1.0),
    ("mirror", False, 2.0), ("accelerated", False, 2.0)])
def test_each_solver_state_is_what_it_says(solver, masked, beta):
    rng = np.random.default_rng(3)
    X = _noisy(seed=3, shape=(25, 15))
    mask = (rng.random(X.shape) > 0.3).astype(float) if masked else None
    objective = _objective(X, mask, beta)
    blocks = BlockUpdates(make_solver(solver, objective, inner_steps=3), rng.random((25, 3)),
                          rng.random((3, 15)))
    state = blocks.blocks(blocks.pack(blocks.start))
    values = [blocks.objective(state)]
    for iteration in range(1, 4):
        state, value = blocks.update(state)
        values.append(value)
        W, H, extra = state
        assert value == pytest.approx(objective.value(W, H), rel=1e-10)
        if solver == "cd" and not masked:  # the iterations run, the violation at the first
            assert extra.iterations == iteration
            assert (extra.violation is not None) == (iteration == 1)
            assert blocks.violations[-1] == extra.violation
        elif solver == "cd" and masked:
            np.testing.assert_allclose(extra, mask * (objective.X - W @ H), atol=1e-12)
        elif solver == "mirror" and beta == 1:  # W H, its objective, the next exponent
            np.testing.assert_allclose(extra.product, W @ H, rtol=1e-14)
            assert extra.value == value and 1 <= extra.exponent <= 1.9
        elif solver == "mirror" and masked:
            np.testing.assert_allclose(extra, W @ H, rtol=1e-14)
        elif solver == "accelerated":
            np.testing.assert_allclose(objective.W_map.forward(extra.U), W, rtol=1e-14)
            np.testing.assert_allclose(objective.H_map.forward(extra.V), H.T, rtol=1e-14)
        else:
            assert extra is None
    assert np.all(np.diff(values) <= 1e-12 * values[0])


def test_run_blocks_reports_the_shared_status():
    objective = _objective(_noisy(seed=4, shape=(25, 15)))
    rng = np.random.default_rng(4)
    blocks = BlockUpdates(make_solver("cd", objective), rng.random((25, 3)), rng.random((3, 15)))
    with pytest.warns(ConvergenceWarning, match="Maximum number of iterations 2 reached"):
        outcome = run_blocks(blocks, NMFSettings(max_iter=2))
    assert isinstance(outcome, BlockRun) and outcome.status is Status.MAX_ITER
    assert outcome.n_iter == 2 and len(outcome.history) == len(outcome.times) == 3
    converged = run_blocks(blocks, NMFSettings(max_iter=500, tol=1e-3))
    assert converged.status is Status.CONVERGED and converged.status.success
    # it stopped on the measure of scikit-learn's meanings of tol, and not before
    assert stopping_measure(converged.history, blocks.violations) <= 1e-3
    assert all(stopping_measure(converged.history[:i], blocks.violations[:i - 1]) > 1e-3
               for i in range(2, len(converged.history)))


# --- the Dask fit decides and refuses as the in-memory fit does -------------------


@pytest.fixture
def synchronous():
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask.array")
    with dask.config.set(scheduler="synchronous"):
        yield


def _dask_fit(model, X, **factors):
    import dask.array as da

    import reparamopt.dask as rd

    return rd.fit_transform_nmf(model, da.from_array(X, chunks=(10, X.shape[1])), **factors)


def test_the_dask_fit_takes_the_in_memory_plan(synchronous):
    from reparamopt.backends.dask import nmf as dask_nmf

    assert dask_nmf.route is routing.route  # one routing, not a copy
    X = _noisy(seed=5)
    for params in (dict(), dict(solver="mu"), dict(H_constraint="column-simplex-matrix"),
                   dict(n_components=31, max_iter=5), dict(init="nndsvdar")):
        params = {"n_components": 3, "random_state": 0, "max_iter": 20, **params}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            memory = NMF(**params).fit(X)
            distributed = NMF(**params)
            _dask_fit(distributed, X)
        assert distributed.solver_ == memory.solver_, params
        assert distributed.components_.shape == memory.components_.shape


def _message(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            call()
        except (InvalidArgumentError, InvalidTypeError, ShapeError) as exc:
            return type(exc), str(exc)
    raise AssertionError("no error raised")


@pytest.mark.parametrize("params, factors", [
    (dict(n_components=31, init="nndsvda"), {}),
    (dict(init="custom"), dict(W=np.ones((40, 3)))),
    (dict(init="custom"), dict(W=np.ones((40, 3)), H=np.ones((3, 29)))),
    (dict(init="custom"), dict(W=np.ones((39, 3)), H=np.ones((3, 30)))),
    (dict(init="custom"), dict(W=np.ones((40, 3), dtype=np.float32), H=np.ones((3, 30)))),
    (dict(init="custom"), dict(W=np.ones((40, 3)), H=-np.ones((3, 30)))),
    (dict(init="custom"), dict(W=np.ones((40, 3)), H=np.zeros((3, 30)))),
    (dict(solver="mirror", H_constraint="column-simplex-matrix"), {}),
    (dict(solver="cd", W_constraint="nonnegative", H_constraint="row-simplex-matrix"), {}),
    (dict(tol=-1.0), {}),
    (dict(n_components="many"), {}),
])
def test_the_dask_fit_refuses_with_the_in_memory_message(synchronous, params, factors):
    X = _noisy(seed=6)
    params = {"n_components": 3, "random_state": 0, "max_iter": 5, **params}
    in_memory = _message(lambda: NMF(**params).fit(X, **factors))
    on_dask = _message(lambda: _dask_fit(NMF(**params), X, **factors))
    assert on_dask == in_memory


def test_the_dask_fit_warns_as_the_in_memory_fit(synchronous):
    X = _noisy(seed=7)
    factors = dict(W=np.ones((40, 3)), H=np.ones((3, 30)))
    messages = []
    for fit in (lambda m: m.fit(X, **factors), lambda m: _dask_fit(m, X, **factors)):
        with pytest.warns(UserWarning) as record:
            fit(NMF(3, init="random", random_state=0, max_iter=2, tol=1e-12))
        messages.append(sorted({str(w.message) for w in record}))
    assert messages[0] == messages[1]
    assert any(re.search("ignored with init='random'", m) for m in messages[0])
    assert any("Maximum number of iterations 2 reached" in m for m in messages[0])
