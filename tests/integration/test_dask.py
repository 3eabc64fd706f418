"""reparamopt.dask on a real dask.distributed LocalCluster (2 worker processes, loopback).

The cluster is started once for the module; every test passes it explicitly (or makes
it current) so that nothing leaks into other test modules. Sizes are chosen so that the
whole module runs in about two minutes on two cores; the out-of-core test writes a
1 GB zarr array under the test's tmp directory.
"""

import logging
import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest

import reparamopt as ro
import reparamopt.dask as rd
from reparamopt.backends.dask.common import is_dask_collection
from reparamopt.exceptions import (
    InvalidTypeError,
    NonFiniteError,
    ShapeError,
    UnknownNameError,
)

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")

# Per-worker memory limit of the test cluster. The out-of-core test streams an A larger
# than both workers' limits together through it.
WORKER_MEMORY = 400 * 2**20


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, memory_limit=WORKER_MEMORY, silence_logs=logging.ERROR)
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _on_cluster(res, client):
    return res.scheduler == f"distributed ({client.scheduler.address})"


def _tall(rng, m=4000, n=60):
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.maximum(rng.standard_normal(n), 0.0)
    return A, A @ x + 1e-2 * rng.standard_normal(m)


def _wide_sparse(rng, m=120, n=1500, s=6):
    # entries in [0, 1] (the M+ criterion holds) and a sparse x: the NNLS solution is
    # unique, so x itself can be compared
    A = rng.random((m, n))
    x = np.zeros(n)
    x[rng.choice(n, s, replace=False)] = 0.5 + rng.random(s)
    return A, A @ x, x


# --- NNLS: dask == in memory --------------------------------------------------------


def test_tall_gram_matches_in_memory(client, rng):
    A, b = _tall(rng)
    ref = ro.nnls(A, b)
    res = rd.nnls(da.from_array(A, chunks=(500, 60)), da.from_array(b, chunks=500), client=client)
    assert res.dask_mode == "gram" and _on_cluster(res, client)
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-8)
    assert res.success and res.optimality <= 1e-10
    assert res.rnorm == pytest.approx(ref.rnorm, rel=1e-8)
    assert res.fun == pytest.approx(0.5 * np.sum((A @ res.x - b) ** 2), rel=1e-8)


def test_wide_matrix_free_matches_in_memory(client, rng):
    A, b, x_true = _wide_sparse(rng)
    ref = ro.nnls(A, b)
    A_d = da.from_array(A, chunks=(60, 500))
    res = rd.nnls(A_d, b, client=client, gram_max_features=1000)  # auto: n > 1000
    assert res.dask_mode == "matrix-free" and _on_cluster(res, client)
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-8)
    np.testing.assert_allclose(res.x, x_true, rtol=0, atol=1e-8)
    assert res.success and res.optimality <= 1e-10 and res.nit >= 1


def test_many_right_hand_sides_by_columns(client, rng):
    A, _ = _tall(rng, m=600, n=40)
    B = A @ np.maximum(rng.standard_normal((40, 48)), 0.0) + 1e-2 * rng.standard_normal((600, 48))
    ref = ro.nnls(A, B)
    B_d = da.from_array(B, chunks=(600, 12))
    for A_in in (A, da.from_array(A, chunks=(150, 40))):  # A in memory, A chunked by rows
        res = rd.nnls(A_in, B_d, client=client)
        assert res.dask_mode == "columns" and _on_cluster(res, client)
        assert res.x.shape == (40, 48)
        np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-8)
        np.testing.assert_allclose(res.rnorm, ref.rnorm, rtol=1e-6)
        assert res.success and np.all(res.optimality <= 1e-10)
    # a 2-D b in one column chunk is reduced with A in the same pass
    res = rd.nnls(da.from_array(A, chunks=(150, 40)), B, client=client)
    assert res.dask_mode == "gram"
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-8)


def test_runs_under_the_current_client(client, rng):
    A, b = _tall(rng, m=800, n=20)
    with client.as_current():
        res = rd.nnls(da.from_array(A, chunks=(200, 20)), b)
    assert _on_cluster(res, client)
    res = rd.nnls(da.from_array(A, chunks=(200, 20)), b)
    assert res.scheduler == "threads"  # no client: dask's default for arrays


def test_sparse_recovery_through_a_dask_operator(client, rng):
    A, b, x_true = _wide_sparse(rng, m=60, n=200, s=4)
    # every product is a round trip to the cluster: a few iterations of the same
    # dynamics show that the path is the in-memory one
    options = dict(init_scale=1e-3, method="gd", max_iter=8)
    ref = ro.sparse_recovery(A, b, **options)
    res = rd.sparse_recovery(da.from_array(A, chunks=(30, 100)), b, client=client, **options)
    assert _on_cluster(res, client)
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-8)


# --- NMF ------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("init", ["nndsvda", "random"])
def test_nmf_reaches_the_in_memory_error(client, rng, init):
    X = rng.random((1500, 8)) @ rng.random((8, 120)) + 0.05 * rng.random((1500, 120))
    settings = dict(n_components=6, init=init, random_state=0, max_iter=40, tol=1e-4)
    ref = ro.NMF(**settings).fit(X)
    model = ro.NMF(**settings)
    W = rd.fit_transform_nmf(model, da.from_array(X, chunks=(300, 120)), client=client)
    assert model.scheduler_ == f"distributed ({client.scheduler.address})"
    assert isinstance(W, da.Array) and W.chunks[0] == (300,) * 5
    assert model.components_.shape == (6, 120) and model.n_features_in_ == 120
    assert model.reconstruction_err_ <= 1.01 * ref.reconstruction_err_
    # the reported error is the error of the returned factors
    W_np = W.compute(scheduler=client)
    assert np.linalg.norm(X - W_np @ model.components_) == pytest.approx(model.reconstruction_err_, rel=1e-8)
    assert model.loss_history_[-1] == pytest.approx(0.5 * model.reconstruction_err_**2, rel=1e-8)
    assert np.all(np.diff(model.loss_history_) <= 1e-9 * model.loss_history_[0])
    # transform chunk by chunk gives what the in-memory transform gives on each chunk
    X_new = da.from_array(X[:600], chunks=(300, 120))
    W_new = rd.transform_nmf(model, X_new)
    assert W_new.chunks == ((300, 300), (6,))
    expected = np.vstack([model.transform(X[:300]), model.transform(X[300:600])])
    np.testing.assert_allclose(W_new.compute(scheduler=client), expected, rtol=0, atol=1e-10)


def test_nmf_rejects_what_it_cannot_distribute(client, rng):
    X = da.from_array(rng.random((40, 10)), chunks=(20, 10))
    with pytest.raises(ro.exceptions.InvalidArgumentError, match="frobenius"):
        rd.fit_nmf(ro.NMF(3, beta_loss="kullback-leibler"), X)
    with pytest.raises(ro.exceptions.InvalidArgumentError, match="non-negative"):
        rd.fit_nmf(ro.NMF(3), -X)
    with pytest.raises(NonFiniteError):
        rd.fit_nmf(ro.NMF(3), da.where(X > 0.5, np.nan, X))


# --- the public entry points hand dask input over -------------------------------------


def test_public_entry_points_dispatch_dask_input(client, rng):
    from reparamopt.flagships.nmf import NMF

    A, b = _tall(rng, m=400, n=10)
    A_d = da.from_array(A, chunks=(100, 10))
    with client.as_current():
        res = ro.nnls(A_d, b)
    assert res.dask_mode == "gram" and _on_cluster(res, client)
    np.testing.assert_allclose(res.x, ro.nnls(A, b).x, atol=1e-8)
    X = da.from_array(rng.random((60, 12)), chunks=(20, 12))
    with client.as_current():
        model = NMF(3, random_state=0).fit(X)
        W = model.transform(X)
    assert model.scheduler_.startswith("distributed")
    assert is_dask_collection(W) and W.shape == (60, 3)
    with client.as_current():  # a few iterations: each product is a round trip
        rec = ro.sparse_recovery(A_d, b, max_iter=5, polish=False)
    reference = ro.sparse_recovery(A, b, max_iter=5, polish=False, method="accelerated")
    np.testing.assert_allclose(rec.x, reference.x, atol=1e-10)


# --- input ------------------------------------------------------------------------------


def test_bad_input_is_named():
    A = da.ones((10, 3), chunks=5)
    with pytest.raises(ShapeError, match="`b`"):
        rd.nnls(A, np.ones(9))
    with pytest.raises(InvalidTypeError, match="`A`"):
        rd.nnls(A.astype(complex), np.ones(10))
    with pytest.raises(UnknownNameError, match="`mode`"):
        rd.nnls(A, np.ones(10), mode="fast")
    with pytest.raises(NonFiniteError, match="`A`"):
        rd.nnls(da.where(A > 0, np.inf, A), np.ones(10))


def _with_nan(values, at):
    values = values.copy()
    values[at] = np.nan
    return values


@pytest.mark.parametrize("where", ["A", "b"])
@pytest.mark.parametrize("entry", ["gram", "matrix-free", "columns", "sparse_recovery"])
def test_a_nan_chunk_is_refused_by_name(rng, entry, where):
    # NaN in one chunk (of dask A, or of dask b): NonFiniteError naming it, as in memory
    # (sparse_recovery used to return status -1, fun nan and x at its start)
    A, b = _tall(rng, m=200, n=10)
    B = np.column_stack([b, b])
    if where == "A":
        A = _with_nan(A, (150, 3))
    else:
        b, B = _with_nan(b, 170), _with_nan(B, (170, 1))
    A_d = da.from_array(A, chunks=(50, 10))
    with pytest.raises(NonFiniteError, match=f"`{where}` must contain only finite values"):
        if entry == "sparse_recovery":
            rd.sparse_recovery(A_d, da.from_array(b, chunks=50), max_iter=5)
        elif entry == "columns":
            rd.nnls(A_d, da.from_array(B, chunks=(50, 1)), mode="columns")
        else:
            rd.nnls(A_d, da.from_array(b, chunks=50), mode=entry)


def test_a_nan_chunk_is_refused_by_nmf(rng):
    X = rng.random((100, 8))
    with pytest.raises(NonFiniteError, match="`X` must be finite"):
        rd.fit_nmf(ro.NMF(3), da.from_array(_with_nan(X, (77, 2)), chunks=(25, 8)))


class _CountingSource:
    """An array that counts the chunk reads of a dask array built on it."""

    def __init__(self, values):
        self.values, self.shape, self.dtype, self.ndim = values, values.shape, values.dtype, values.ndim
        self.reads = 0

    def __getitem__(self, index):
        self.reads += 1
        return self.values[index]


def test_dask_operator_checks_A_in_the_pass_of_its_first_product(rng):
    source = _CountingSource(rng.random((200, 40)))
    A = da.from_array(source, chunks=(50, 20), asarray=False, fancy=False)
    op = rd.DaskOperator(A)
    x = rng.random(40)
    source.reads = 0  # dask reads an empty slice for the metadata when it builds A
    np.testing.assert_allclose(op.matvec(x), source.values @ x)
    assert source.reads == A.npartitions  # every chunk read once: product and check share it
    source.values[3, 4] = np.nan
    with pytest.raises(NonFiniteError, match="`A`"):
        rd.DaskOperator(A).rmatvec(np.ones(200))


def test_open_array_reads_zarr_and_npy_lazily(tmp_path, rng):
    A, b = _tall(rng, m=900, n=15)
    np.save(tmp_path / "A.npy", A)
    da.from_array(A, chunks=(300, 15)).to_zarr(str(tmp_path / "A.zarr"))
    ref = ro.nnls(A, b)
    for path in (tmp_path / "A.npy", tmp_path / "A.zarr"):
        A_d = rd.open_array(path, chunks=(300, 15))
        assert isinstance(A_d, da.Array) and A_d.numblocks == (3, 1)
        res = rd.nnls(A_d, b)
        assert res.scheduler == "threads"
        np.testing.assert_allclose(res.x, ref.x, atol=1e-8)


# --- out of core and failures -------------------------------------------------------------

# 1.0e9 bytes: 1,250,000 x 100 float64 in 50 zarr chunks of 20 MB, more than the memory
# limit of the two workers together (2 x 400 MiB).
BIG_ROWS, BIG_COLS, BIG_CHUNK = 1_250_000, 100, 25_000


@pytest.fixture(scope="module")
def big_zarr(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("big") / "A.zarr")
    rng = np.random.default_rng(7)
    x = np.zeros(BIG_COLS)
    x[rng.choice(BIG_COLS, 30, replace=False)] = 1.0 + rng.random(30)
    A = da.random.default_rng(11).standard_normal((BIG_ROWS, BIG_COLS), chunks=(BIG_CHUNK, BIG_COLS))
    A = A - 0.5 * da.ones_like(A)  # a negative mean makes most unconstrained entries active
    store = A.to_zarr(path, compute=False)
    _, b = da.compute(store, A @ x, scheduler="threads")
    return path, b, x


def test_out_of_core_zarr_larger_than_the_workers(client, big_zarr):
    path, b, x_true = big_zarr
    A = rd.open_array(path)
    assert A.nbytes >= 1e9 > 2 * WORKER_MEMORY
    pids = client.run(os.getpid)
    start = time.perf_counter()
    res = rd.nnls(A, b, client=client)
    elapsed = time.perf_counter() - start
    assert res.dask_mode == "gram" and _on_cluster(res, client)
    np.testing.assert_allclose(res.x, x_true, rtol=0, atol=1e-8)
    assert client.run(os.getpid) == pids, "a worker was restarted"
    assert elapsed < 90


def test_a_worker_killed_mid_solve_does_not_lose_the_result(client, big_zarr):
    path, b, x_true = big_zarr
    A = rd.open_array(path)
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    outcome = {}

    def solve():
        try:
            outcome["res"] = rd.nnls(A, b, client=client)
        except Exception as exc:  # reported below
            outcome["error"] = exc

    thread = threading.Thread(target=solve)
    thread.start()
    deadline = time.time() + 60
    while time.time() < deadline and not client.processing().get(victim):
        time.sleep(0.01)
    assert thread.is_alive(), "the solve ended before a worker could be killed"
    os.kill(pids[victim], signal.SIGKILL)
    thread.join(180)
    assert not thread.is_alive()
    assert "error" not in outcome, f"the solve failed: {outcome.get('error')!r}"
    np.testing.assert_allclose(outcome["res"].x, x_true, rtol=0, atol=1e-8)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker


def test_in_memory_data_reach_the_cluster_by_scatter_not_in_the_graph(client, rng):
    """A NumPy b (and A) of several MB is scattered to the workers once: dask's 'large
    graph' warning does not come, and the answer is the in-memory one."""
    m, n = 80_000, 30  # 19 MB of A: dask warns from 10 MB
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    b = A @ np.maximum(rng.standard_normal(n), 0.0) + 1e-3 * rng.standard_normal(m)
    assert A.nbytes > 10 * 2**20
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = rd.nnls(A, b, client=client, mode="gram")
        free = rd.nnls(A[:, :4], b, client=client, mode="matrix-free", max_iter=50)
    large = [w for w in caught if "large graph" in str(w.message)]
    assert not large, [str(w.message)[:80] for w in large]
    np.testing.assert_allclose(res.x, ro.nnls(A, b).x, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(free.x, ro.nnls(A[:, :4], b).x, rtol=1e-6, atol=1e-8)
