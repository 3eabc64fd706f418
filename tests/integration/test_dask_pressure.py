"""reparamopt.dask on a cluster that cannot finish: workers killed at their memory limit,
workers paused at it, and the bounds on the wait.

Every call runs in a thread joined with a deadline, so that a wait that never ends
fails the test instead of blocking the suite. Each cluster has one worker process.
"""

import logging
import re
import threading
import time

import numpy as np
import pytest

import reparamopt.dask as rd
from reparamopt import NMF
from reparamopt.exceptions import (
    ClusterError,
    ClusterTimeoutError,
    InvalidArgumentError,
    WorkerLostError,
    WorkerMemoryError,
)

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

# A call that has not ended after this many seconds is reported as a hang.
HANG = 90


def _cluster(memory_limit, **config):
    # the scheduler reads its configuration when created, a nanny hands its own to the
    # worker process it starts
    with dask.config.set(config):
        return distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=":0", memory_limit=memory_limit, silence_logs=logging.CRITICAL)


def _outcome(call):
    """``(result or exception, seconds)`` of `call`, failing when it does not end."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except Exception as exc:  # checked by the caller
            outcome["value"] = exc

    thread = threading.Thread(target=run, daemon=True)
    start = time.perf_counter()
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive(), f"the call did not end within {HANG} s"
    return outcome["value"], time.perf_counter() - start


@pytest.fixture(scope="module")
def paused_client():
    """A worker paused from the start: its pause threshold lies below an idle process."""
    cluster = _cluster(400 * 2**20, **{"distributed.worker.memory.pause": 0.01,
                                       "distributed.worker.memory.spill": False,
                                       "distributed.worker.memory.target": False})
    client = distributed.Client(cluster, set_as_default=False)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not _all_paused(client):
            time.sleep(0.1)
        assert _all_paused(client)
        yield client
    finally:
        client.close()
        cluster.close()


def _all_paused(client):
    workers = client.scheduler_info()["workers"].values()
    return bool(workers) and all(w["status"] == "paused" for w in workers)


def _tall_dask(rng, m=2000, n=20):
    A = rng.standard_normal((m, n))
    return da.from_array(A, chunks=(500, n)), A @ np.ones(n)


@pytest.mark.slow
def test_workers_paused_at_their_memory_limit_raise_after_the_stall_timeout(paused_client, rng):
    A, b = _tall_dask(rng)
    error, elapsed = _outcome(lambda: rd.nnls(A, b, client=paused_client, stall_timeout=2))
    assert isinstance(error, WorkerMemoryError), repr(error)
    assert isinstance(error, ClusterError) and isinstance(error, MemoryError)
    message = str(error)
    assert "paused" in message and "`stall_timeout`" in message
    assert "400 MiB" in message and "memory_limit of at least" in message
    assert elapsed < 30


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["nnls", "nmf"])
def test_timeout_bounds_the_whole_call(paused_client, rng, entry):
    A, b = _tall_dask(rng)
    calls = {
        "nnls": lambda: rd.nnls(A, b, client=paused_client, timeout=1.5, stall_timeout=None),
        "nmf": lambda: rd.fit_nmf(NMF(n_components=2), abs(A), client=paused_client,
                                  timeout=1.5, stall_timeout=None),
    }
    error, elapsed = _outcome(calls[entry])
    assert isinstance(error, ClusterTimeoutError) and isinstance(error, TimeoutError), repr(error)
    assert "`timeout`=1.5 s" in str(error) and "paused" in str(error)
    assert elapsed < 20


@pytest.mark.slow
@pytest.mark.parametrize("b_kind", ["dask", "numpy"])
def test_a_chunk_larger_than_a_worker_raises_worker_lost_error(b_kind):
    # one 168 MB chunk: an idle worker (about 100 MiB) holding it passes 95% of 200 MiB,
    # and the nanny restarts it. With a dask b, the task fails with the first worker that
    # dies; a NumPy b (1.1 MB, scattered to the worker) is lost with it.
    m, n = 140_000, 150
    A = da.random.default_rng(0).standard_normal((m, n), chunks=(m, n))
    b = da.ones(m, chunks=m) if b_kind == "dask" else np.ones(m)
    config = {"distributed.scheduler.allowed-failures": 0 if b_kind == "dask" else 3}
    with _cluster(200 * 2**20, **config) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        error, elapsed = _outcome(lambda: rd.nnls(A, b, client=client))
    assert isinstance(error, WorkerLostError), repr(error)
    message = str(error)
    expected = "KilledWorker" if b_kind == "dask" else "data sent from this process"
    assert expected in message
    assert "200 MiB" in message and "largest input chunk is 160 MiB" in message
    assert "memory_limit of at least" in message
    assert isinstance(error.__cause__, Exception)  # the dask error, chained
    assert elapsed < 60


@pytest.mark.parametrize("name", ["timeout", "stall_timeout"])
@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), "10", True])
def test_timeouts_are_checked_by_name(rng, name, value):
    A, b = _tall_dask(rng, m=40, n=3)
    expected = re.escape(f"`{name}` must be a positive finite number of seconds or None; "
                         f"got {value!r}")
    calls = [
        lambda: rd.nnls(A, b, **{name: value}),
        lambda: rd.sparse_recovery(A, b, **{name: value}),
        lambda: rd.fit_nmf(NMF(n_components=2), abs(A), **{name: value}),
        lambda: rd.DaskOperator(A, **{name: value}),
    ]
    for call in calls:
        with pytest.raises(InvalidArgumentError, match=expected):
            call()


def test_timeouts_leave_the_local_schedulers_alone(rng):
    A, b = _tall_dask(rng, m=400, n=5)
    res = rd.nnls(A, b, timeout=60, stall_timeout=1)
    assert res.scheduler == "threads" and res.success
    np.testing.assert_allclose(res.x, np.ones(5), atol=1e-8)
