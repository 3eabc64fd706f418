"""Bounded waits on a ``distributed`` cluster: every wait ends with the results or with
an error that says what went wrong and what to try.

A graph sent to a cluster can fail to finish without any error reaching the client:
workers paused at their memory limit never resume, or a worker lost in the middle of a
transfer leaves its peers waiting. While the results are pending, the scheduler is
asked for the state of its workers (one request per poll, from every half second up to
every five seconds); the wait ends with

* :class:`~reparamopt.exceptions.WorkerMemoryError` when every worker stayed paused
  at its memory limit for `stall_timeout` seconds,
* :class:`~reparamopt.exceptions.ClusterTimeoutError` when no task ran, finished or
  moved for `stall_timeout` seconds for another reason, or when the `timeout` of the
  call has passed,
* :class:`~reparamopt.exceptions.WorkerLostError` for dask's ``KilledWorker`` and for
  data sent from this process lost with the worker that held it.

The dask error, where there is one, is chained (``__cause__``).
"""

import contextlib
import time

import numpy as np

from ...exceptions import (
    ClusterTimeoutError,
    InvalidArgumentError,
    WorkerLostError,
    WorkerMemoryError,
)

__all__ = ["Runner", "STALL_TIMEOUT", "check_timeouts", "client_of", "memory_needed"]

# Seconds without any progress of the cluster before a wait gives up, by default.
STALL_TIMEOUT = 120.0

# Memory of a worker running the tall NNLS reductions, measured on a LocalCluster with
# one thread per worker (peak resident memory; docs/cluster.rst): about 100 MiB for the
# process with numpy, dask and reparamopt loaded, plus four times the largest chunk.
WORKER_BASE_BYTES = 100 * 2**20
CHUNK_FACTOR = 4

_MiB = 2**20


def client_of(scheduler):
    """The ``distributed.Client`` behind `scheduler` (a client, its ``get``, or a
    :class:`Runner`), or None for the local schedulers."""
    if isinstance(scheduler, Runner):
        return scheduler.client
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover
        return None
    if isinstance(scheduler, Client):
        return scheduler
    owner = getattr(scheduler, "__self__", None)
    return owner if isinstance(owner, Client) else None


def _seconds(value, name, allow_none):
    import numbers

    if value is None and allow_none:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0
            or value != value or value == float("inf")):
        spelled = "a positive finite number of seconds" + (" or None" if allow_none else "")
        raise InvalidArgumentError(f"`{name}` must be {spelled}; got {value!r}")
    return float(value)


def check_timeouts(timeout, stall_timeout):
    """``(timeout, stall_timeout)`` as floats (or None), or InvalidArgumentError.

    Examples
    --------
    >>> from reparamopt.backends.dask.cluster import check_timeouts
    >>> check_timeouts(None, 30)
    (None, 30.0)
    """
    return _seconds(timeout, "timeout", True), _seconds(stall_timeout, "stall_timeout", True)


def memory_needed(chunk_bytes):
    """Worker memory the tall reductions need with chunks of `chunk_bytes` (bytes).

    Examples
    --------
    >>> from reparamopt.backends.dask.cluster import memory_needed
    >>> memory_needed(50 * 2**20) / 2**20  # MiB for 50 MiB chunks
    300.0
    """
    return WORKER_BASE_BYTES + CHUNK_FACTOR * chunk_bytes


def _largest_chunk(arrays):
    """``(bytes, row bytes)`` of the largest chunk of the dask `arrays` (zeros if none)."""
    largest = (0, 0)
    for array in arrays:
        chunks = getattr(array, "chunks", None)
        if chunks and all(chunks):
            row = array.dtype.itemsize * int(np.prod([max(c) for c in chunks[1:]]))
            largest = max(largest, (max(chunks[0]) * row, row))
    return largest


def _mib(nbytes):
    return f"{nbytes / _MiB:.0f} MiB"


class Runner:
    """What runs the graphs of one call: dask's scheduler, with bounded waits when it is
    a distributed client.

    Parameters
    ----------
    scheduler
        A ``distributed.Client`` (or its ``get``), a dask scheduler name or function,
        or None for dask's default.
    timeout : float, optional
        Seconds from the creation of the runner after which a pending wait raises
        ClusterTimeoutError; None: no limit on the whole call.
    stall_timeout : float, optional
        Seconds without progress of the cluster after which a pending wait raises;
        None: never.
    inputs : sequence of dask arrays
        The data of the call, whose largest chunk the error messages quote.
    """

    def __init__(self, scheduler, *, timeout=None, stall_timeout=STALL_TIMEOUT, inputs=()):
        self.scheduler = scheduler.scheduler if isinstance(scheduler, Runner) else scheduler
        self.client = client_of(self.scheduler)
        self.timeout, self.stall_timeout = check_timeouts(timeout, stall_timeout)
        self.deadline = None if self.timeout is None else time.monotonic() + self.timeout
        self.chunk_bytes, self.row_bytes = _largest_chunk(inputs)
        self.scattered = []  # keys: a future held here would keep its data on the cluster
        self.memory_limit = None  # the smallest of the workers', once seen

    def compute(self, *collections):
        """``dask.compute(*collections)`` on the scheduler, waiting boundedly."""
        import dask

        if self.client is None:
            return dask.compute(*collections, scheduler=self.scheduler)
        if self.memory_limit is None:
            self.seen(_workers(self.client))
        futures = self.client.compute(list(collections))
        try:
            self._wait(futures)
            return tuple(self.client.gather(futures))
        except BaseException as exc:
            with contextlib.suppress(Exception):  # a client already closed has nothing to cancel
                self.client.cancel(futures)
            explained = self._explained(exc)
            if explained is exc:
                raise
            raise explained from exc

    def persist(self, *collections):
        """``dask.persist``: with a client it returns at once (the next compute waits)."""
        import dask

        return dask.persist(*collections, scheduler=self.scheduler)

    def scatter(self, array):
        """A future of `array` on the cluster, whose key is kept to explain its loss."""
        future = self.client.scatter(array, broadcast=False, hash=False)
        self.scattered.append(future.key)
        return future

    def _wait(self, futures):
        from distributed import TimeoutError as DaskTimeoutError
        from distributed import wait

        watch = _Watch(self)
        poll = 1.0 if self.stall_timeout is None else min(max(self.stall_timeout / 10, 0.5), 5.0)
        while True:
            step = poll
            if self.deadline is not None:
                step = min(step, max(self.deadline - time.monotonic(), 0.01))
            try:
                with self.client.as_current():
                    wait(futures, timeout=step)
                return
            except (DaskTimeoutError, TimeoutError):
                pass
            if self.deadline is not None and time.monotonic() >= self.deadline:
                raise ClusterTimeoutError(
                    f"no result within `timeout`={self.timeout:g} s on the cluster at "
                    f"{self.client.scheduler.address}; {watch.describe()}")
            watch.check()

    def _explained(self, exc):
        """The package's error for what the cluster raised (`exc` itself when it needs no
        explaining)."""
        from distributed import CancelledError, KilledWorker

        if isinstance(exc, KilledWorker):
            return WorkerLostError(
                f"the task {exc.task!r} was running on each of the {exc.allowed_failures + 1} "
                f"worker(s) that died (dask's KilledWorker). {self.memory_hint()}")
        states = [self.client.futures.get(key) for key in self.scattered]
        lost = [s for s in states if s is not None and s.status in ("lost", "cancelled", "error")]
        if isinstance(exc, CancelledError) and lost:
            return WorkerLostError(
                "a worker holding data sent from this process (a NumPy array given with "
                "a client) was lost, and such data cannot be recomputed; pass the data as "
                "dask arrays read from files (zarr, or reparamopt.dask.open_array) so that "
                f"another worker can read them again. {self.memory_hint()}")
        return exc

    def seen(self, workers):
        """Note the memory limit of `workers` (scheduler_info's), for the messages."""
        limits = [info.get("memory_limit") or 0 for info in workers.values()]
        if limits:
            self.memory_limit = min(limits)
        return workers

    def memory_hint(self):
        """What the workers' memory limit allows, and what to change."""
        self.seen(_workers(self.client))
        limit = self.memory_limit
        text = "Workers die most often at their memory limit (the nanny restarts a worker at 95% of it)"
        if not limit:
            return text + "."
        text += f"; the workers' limit is {_mib(limit)}"
        if not self.chunk_bytes:
            return text + f", of which an idle worker uses about {_mib(WORKER_BASE_BYTES)}."
        pause = _pause_fraction()
        need = memory_needed(self.chunk_bytes)
        largest = max((pause * limit - WORKER_BASE_BYTES) / CHUNK_FACTOR, 0)
        rows = int(largest // self.row_bytes)
        smaller = (f", or use chunks of at most {_mib(largest)} ({rows} rows: "
                   f"A.rechunk({{0: {rows}}}))" if rows else "")
        return (text + f" and the largest input chunk is {_mib(self.chunk_bytes)}: a worker "
                f"needs about {_mib(WORKER_BASE_BYTES)} + {CHUNK_FACTOR} chunks = {_mib(need)}, "
                f"below {pause:.0%} of its limit (where it pauses). Give the workers a "
                f"memory_limit of at least {_mib(need / pause)}{smaller}.")


def _pause_fraction():
    import dask

    fraction = dask.config.get("distributed.worker.memory.pause", 0.8)
    return float(fraction) if fraction else 1.0


def _workers(client):
    try:
        return client.scheduler_info()["workers"]
    except Exception:  # a scheduler that is gone has no workers to describe
        return {}


def _progress_marks(workers):
    """What changes while a cluster works: the workers, their states and task counts,
    and their transfer counters."""
    marks = set()
    for address, info in workers.items():
        metrics = info.get("metrics", {})
        counts = tuple(sorted(metrics.get("task_counts", {}).items()))
        transfer = metrics.get("transfer", {})
        moved = (transfer.get("incoming_count_total"), transfer.get("outgoing_count_total"))
        marks.add((address, info.get("status"), counts, moved))
    return frozenset(marks)


def _running(workers):
    """Whether a task is executing somewhere (a long task is progress too)."""
    busy = ("executing", "long-running")
    return any(info.get("metrics", {}).get("task_counts", {}).get(state)
               for info in workers.values() for state in busy)


class _Watch:
    """The progress of the cluster while one wait is pending."""

    def __init__(self, runner):
        self.runner = runner
        self.marks, self.since, self.workers = None, time.monotonic(), {}

    def check(self):
        """Raise when the cluster made no progress for the runner's stall timeout."""
        self.workers = self.runner.seen(_workers(self.runner.client))
        marks = _progress_marks(self.workers)
        now = time.monotonic()
        if _running(self.workers) or marks != self.marks:
            self.marks, self.since = marks, now
            return
        stall = self.runner.stall_timeout
        if stall is None or now - self.since < stall:
            return
        statuses = [info.get("status") for info in self.workers.values()]
        if statuses and all(status == "paused" for status in statuses):
            raise WorkerMemoryError(
                f"every worker stayed paused at its memory limit for {stall:g} s "
                f"(`stall_timeout`), so no task could run; {self.describe()}. "
                f"{self.runner.memory_hint()}")
        raise ClusterTimeoutError(
            f"the cluster made no progress for {stall:g} s (`stall_timeout`): no task ran, "
            f"finished or moved between workers; {self.describe()}")

    def describe(self):
        """The workers as last seen, in one phrase."""
        workers = self.workers or _workers(self.runner.client)
        if not workers:
            return "the cluster has no worker"
        parts = [f"{info.get('status')}, {_mib(info.get('metrics', {}).get('memory', 0))}"
                 + (f" of {_mib(info['memory_limit'])}" if info.get("memory_limit") else "")
                 for info in workers.values()]
        return f"{len(workers)} worker(s): " + "; ".join(parts)
