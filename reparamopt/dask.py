r"""NNLS, sparse recovery and NMF on dask arrays, on any Dask scheduler.

Install with ``pip install 'reparamopt[dask]'``. The functions here take dask arrays
(from ``dask.array.from_zarr``, :func:`open_array`, ``da.from_array``...) and run every
product with the data as a dask graph: on the threads of one machine by default, or on
the cluster of whatever ``distributed.Client`` is active (a ``LocalCluster``, a
dask-jobqueue or Kubernetes cluster). The data are read chunk by chunk, so a matrix
larger than the memory of one machine (or of every worker together) works; only small
reductions (n x n matrices, n-vectors) come back to the client.

:func:`reparamopt.nnls`, :func:`reparamopt.sparse_recovery` and
:class:`reparamopt.NMF` hand dask input to this module, so that the same script runs
in memory and on a cluster. Every result records the scheduler that ran it
(``res.scheduler``, ``model.scheduler_``), e.g. ``"distributed (tcp://10.0.0.5:8786)"``
or ``"threads"``.

Examples
--------
>>> import numpy as np
>>> import dask.array as da
>>> import reparamopt.dask as rd
>>> rng = np.random.default_rng(0)
>>> A = rng.random((2000, 20))
>>> b = A @ np.r_[np.ones(5), np.zeros(15)]
>>> res = rd.nnls(da.from_array(A, chunks=(500, 20)), b)
>>> res.dask_mode, res.scheduler
('gram', 'threads')
>>> np.round(res.x[:7], 8)
array([1., 1., 1., 1., 1., 0., 0.])
"""

import dataclasses
import time

import numpy as np

from ._utils.validation import as_float_array, check_choice, check_scalar, describe
from .backends.dask import nnls as _dask_nnls
from .backends.dask.cluster import STALL_TIMEOUT, Runner, check_timeouts
from .backends.dask.common import (
    as_dask_array,
    compute,
    is_dask_collection,
    open_array,
    require_dask,
    scheduler_of,
    shipped,
)
from .exceptions import InvalidArgumentError, InvalidTypeError, NonFiniteError, ShapeError
from .flagships.nnls.settings import NNLSSettings

__all__ = ["nnls", "sparse_recovery", "fit_transform_nmf", "fit_nmf", "transform_nmf",
           "open_array", "is_dask_collection", "DaskOperator", "MODES"]

MODES = ("auto", "gram", "columns", "matrix-free")

# Largest n for which the automatic mode reduces A^T A (n^2 doubles on the client).
GRAM_MAX_FEATURES = 4096


def _as_input(A, b):
    """Dask or numpy A, and b as given (dask or numpy), with shapes checked."""
    require_dask()
    if is_dask_collection(A):
        A = as_dask_array(A, "A", ndim=2)
    else:
        A = as_float_array(A, "A", ndim=2)
    if is_dask_collection(b):
        b = as_dask_array(b, "b", ndim=(1, 2))
    else:
        b = as_float_array(b, "b", ndim=(1, 2))
    m, n = A.shape
    if m == 0 or n == 0:
        raise ShapeError(f"`A` must have at least one row and one column; got shape {A.shape}")
    if b.shape[0] != m:
        raise ShapeError(f"`b` must have {m} rows to match `A` of shape {A.shape}; got shape {b.shape}")
    return A, b


def _pick_mode(mode, A, b, gram_max_features):
    import dask.array as da

    n = A.shape[1]
    many = b.ndim == 2 and isinstance(b, da.Array) and b.numblocks[1] > 1
    if mode == "auto":
        if many:
            return "columns"
        return "gram" if n <= gram_max_features and isinstance(A, da.Array) else "matrix-free"
    if mode == "columns" and b.ndim != 2:
        raise InvalidArgumentError("`mode`='columns' needs a 2-D `b` (one column per right-hand side)")
    return mode


def nnls(A, b, *, mode="auto", client=None, gram_max_features=GRAM_MAX_FEATURES, tol=1e-10,
         max_iter=None, init_scale=None, check_every=25, max_gather_bytes=2**28, timeout=None,
         stall_timeout=STALL_TIMEOUT, **options):
    r"""Non-negative least squares with dask arrays, on any Dask scheduler.

    .. math::

        \min_{x \ge 0} \tfrac12 \|A x - b\|_2^2

    Parameters
    ----------
    A : dask array or ndarray, shape (m, n)
        The data; a dask array is never loaded whole.
    b : dask array or ndarray, shape (m,) or (m, k)
        One or ``k`` right-hand sides.
    mode : {"auto", "gram", "columns", "matrix-free"}, default "auto"
        - ``"gram"``: one pass of distributed reductions gives ``A^T A``, ``A^T b`` and
          ``||b||^2`` (only n x n and n-vectors leave the workers); the client then
          solves the equivalent square problem ``min ||R x - d||`` with
          ``R^T R = A^T A``, ``R^T d = A^T b`` by the in-memory :func:`reparamopt.nnls`.
          For tall ``A`` chunked by rows.
        - ``"columns"``: ``b`` chunked by columns; every column chunk is an independent
          batched in-memory solve, run in parallel on the workers (with ``A^T A``
          reduced once when `A` is a dask array).
        - ``"matrix-free"``: for wide or huge ``A``: accelerated latent iterations on
          ``x = u * u`` whose products with ``A`` and ``A^T`` are dask graphs, with the
          iterate persisted on the workers; every `check_every` iterations the support
          of ``x`` seeds an exact working-set finish that gathers only the columns of
          the support (at most `max_gather_bytes` of them).
        - ``"auto"``: "columns" for ``b`` with several column chunks, else "gram" when
          ``n <= gram_max_features``, else "matrix-free".
    client : distributed.Client, optional
        Where to run; default: the active client if any, else dask's default scheduler.
    timeout, stall_timeout : float or None
        Bounds on the waits for a distributed cluster; see Notes.
    gram_max_features : int, default 4096
        Largest ``n`` for which "auto" forms ``A^T A`` (``8 n^2`` bytes on the client).
    tol : float, default 1e-10
        Relative KKT residual ``||min(x, g)|| / ||A^T b||`` to reach, as in
        :func:`reparamopt.nnls`.
    max_iter : int, optional
        Iteration limit: passed to the in-memory solves, and the number of latent
        iterations of "matrix-free" (default 1000 there).
    init_scale : float, optional
        ``u0 = init_scale * 1`` of the latent iterations (default 1e-3 for
        "matrix-free", the in-memory default otherwise). Small values bias the iterates
        to sparse (minimum-l1) solutions.
    check_every : int, default 25
        "matrix-free" only: iterations between attempts of the exact finish.
    max_gather_bytes : int, default 2**28
        "matrix-free" only: the most memory the gathered support columns may take.
    **options
        Passed to :func:`reparamopt.nnls` for the in-memory solves (``method``,
        ``power``, ``polish``...); None values are left out, so that the in-memory
        defaults hold. ``x0`` is accepted by "gram" only.

    Returns
    -------
    OptimizeResult
        As :func:`reparamopt.nnls` (``x`` a numpy array, ``rnorm``, ``fun``,
        ``optimality``, ``nit``, ``status``, ``success``, ``message``, ``time``), plus
        ``scheduler`` (what ran it) and ``dask_mode``.

    Raises
    ------
    WorkerMemoryError, WorkerLostError, ClusterTimeoutError
        When a distributed cluster cannot finish (all are
        :class:`~reparamopt.exceptions.ClusterError`); see Notes.

    Notes
    -----
    **Bounded waits.** With a distributed client, every wait for the cluster ends:

    - ``timeout`` (seconds, default None: no limit) bounds the whole call: a wait still
      pending that long after the call began raises ClusterTimeoutError.
    - ``stall_timeout`` (seconds, default 120; None: never) bounds a wait in which the
      cluster makes no progress (no task runs, finishes or moves between workers): it
      raises WorkerMemoryError when every worker stayed paused at its memory limit,
      else ClusterTimeoutError. A single task that runs longer is progress.
    - Workers that die while running a task (dask's ``KilledWorker``), and in-memory
      data sent to a worker that died, raise WorkerLostError.

    The messages give the workers' memory limit, the largest input chunk and the
    memory limit or chunk size that fits; the dask error is chained. The local
    schedulers (threads, processes, synchronous) run in this process and are not bounded.

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> import reparamopt.dask as rd
    >>> rng = np.random.default_rng(1)
    >>> A = da.from_array(rng.random((60, 400)), chunks=(60, 100))  # wide
    >>> x_true = np.zeros(400); x_true[[3, 50, 222]] = [1.0, 2.0, 0.5]
    >>> res = rd.nnls(A, A.compute() @ x_true, mode="matrix-free")
    >>> np.flatnonzero(res.x > 1e-8), bool(np.allclose(res.x, x_true, atol=1e-8))
    (array([  3,  50, 222]), True)
    """
    start = time.perf_counter()
    A, b = _as_input(A, b)
    mode = check_choice(mode, "mode", MODES)
    gram_max_features = check_scalar(gram_max_features, "gram_max_features", lower=1, integer=True)
    tol = check_scalar(tol, "tol", lower=0)
    check_every = check_scalar(check_every, "check_every", lower=1, integer=True)
    init_scale = check_scalar(init_scale, "init_scale", lower=0, lower_inclusive=False,
                              allow_none=True)
    max_gather_bytes = check_scalar(max_gather_bytes, "max_gather_bytes", lower=1)
    max_iter = check_scalar(max_iter, "max_iter", lower=0, integer=True, allow_none=True)
    check_timeouts(timeout, stall_timeout)
    import dask.array as da

    mode = _pick_mode(mode, A, b, gram_max_features)
    scheduler, name = scheduler_of([x for x in (A, b) if is_dask_collection(x)], client)
    scheduler = Runner(scheduler, timeout=timeout, stall_timeout=stall_timeout,
                       inputs=[x for x in (A, b) if is_dask_collection(x)])
    memory_options = _memory_options(options, tol=tol, max_iter=max_iter, init_scale=init_scale)
    if "x0" in memory_options and mode != "gram":
        raise InvalidArgumentError(f"`x0` is supported by `mode`='gram' only; got mode {mode!r}")
    if mode == "gram":
        A_d = A if isinstance(A, da.Array) else shipped(A, "auto", scheduler)
        B = b if b.ndim == 2 else b[:, None]
        B = B if isinstance(B, da.Array) else shipped(B, (A_d.chunks[0], -1), scheduler)
        res = _dask_nnls.solve_gram(A_d, B, scheduler, memory_options, one_rhs=b.ndim == 1)
    elif mode == "columns":
        B = b if isinstance(b, da.Array) else shipped(b, (b.shape[0], "auto"), scheduler)
        res = _dask_nnls.solve_columns(A, B, scheduler, memory_options)
    else:
        A_d = A if isinstance(A, da.Array) else shipped(A, "auto", scheduler)
        b_np = as_float_array(compute(b, scheduler=scheduler)[0], "b") if is_dask_collection(b) else b
        columns = [b_np] if b_np.ndim == 1 else list(b_np.T)
        results = [_dask_nnls.solve_matrix_free(
            A_d, column, scheduler, tol=tol, max_iter=1000 if max_iter is None else max_iter,
            init_scale=1e-3 if init_scale is None else init_scale, check_every=check_every,
            max_gather_bytes=max_gather_bytes,
            options=memory_options) for column in columns]
        res = results[0] if b_np.ndim == 1 else _stack(results)
    res["scheduler"] = name
    res["dask_mode"] = mode
    res["time"] = time.perf_counter() - start
    return res


def _memory_options(options, **values):
    """The options of the in-memory solves (None values left out), validated here by the
    in-memory settings, so that a bad one fails before any work is sent to the workers."""
    merged = {key: value for key, value in {**options, **values}.items() if value is not None}
    accepted = set(_NNLS_ARGUMENTS) | {"x0"}
    unknown = sorted(set(merged) - accepted)
    if unknown:
        valid = ", ".join(sorted(accepted))
        raise InvalidArgumentError(f"unknown option(s) {', '.join(map(repr, unknown))} of the "
                                   f"in-memory nnls; valid: {valid}")
    NNLSSettings(**{k: v for k, v in merged.items() if k in _NNLS_ARGUMENTS})
    return merged


_NNLS_ARGUMENTS = tuple(f.name for f in dataclasses.fields(NNLSSettings))


def _stack(results):
    """One result for several right-hand sides solved one after the other."""
    res = results[0].copy()
    for key in ("x", "u"):
        res[key] = np.column_stack([r[key] for r in results])
    for key in ("fun", "rnorm", "optimality"):
        res[key] = np.array([r[key] for r in results])
    res["status"] = np.array([r["status"] for r in results])
    res["nit"] = max(r["nit"] for r in results)
    res["nfev"] = sum(r["nfev"] for r in results)
    res["success"] = all(r["success"] for r in results)
    res["message"] = next((r["message"] for r in results if not r["success"]), res["message"])
    return res


class DaskOperator:
    """A :class:`scipy.sparse.linalg.LinearOperator` whose products run as dask graphs.

    ``matvec`` and ``rmatvec`` compute ``A @ x`` and ``A.T @ y`` on the scheduler and
    return numpy vectors, so any matrix-free solver of the package accepts a dask
    matrix through it. The first product also checks that every entry of `A` is finite,
    in the same pass over its chunks, and raises NonFiniteError naming `A` if not.
    """

    def __new__(cls, A, client=None, *, timeout=None, stall_timeout=STALL_TIMEOUT):
        import dask.array as da
        from scipy.sparse.linalg import LinearOperator

        A = as_dask_array(A, "A", ndim=2)
        scheduler, name = scheduler_of([A], client)
        scheduler = Runner(scheduler, timeout=timeout, stall_timeout=stall_timeout, inputs=[A])
        checked = []

        def run(product, vector, chunks):
            result = product(da.from_array(vector, chunks=chunks))
            if checked:
                return compute(result, scheduler=scheduler)[0]
            # one graph: each chunk of A is read once for the product and the check
            result, finite = compute(result, da.isfinite(A).all(), scheduler=scheduler)
            if not finite:
                raise NonFiniteError(f"`A` must contain only finite values; got NaN or inf in "
                                     f"the dask array of shape {A.shape}")
            checked.append(True)
            return result

        op = LinearOperator(
            A.shape, dtype=np.float64,
            matvec=lambda x: run(A.__matmul__, np.ravel(x), (A.chunks[1],)),
            rmatvec=lambda y: run(A.T.__matmul__, np.ravel(y), (A.chunks[0],)),
            matmat=lambda X: run(A.__matmul__, X, (A.chunks[1], -1)),
            rmatmat=lambda Y: run(A.T.__matmul__, Y, (A.chunks[0], -1)))
        op.scheduler = name
        op.runner = scheduler
        return op


def sparse_recovery(A, b, *, client=None, timeout=None, stall_timeout=STALL_TIMEOUT, **options):
    r"""Sparse recovery by small initialization (:func:`reparamopt.sparse_recovery`) with a
    dask matrix.

    .. math:: \min_u \tfrac12 \| A\,\phi(u) - b \|_2^2, \qquad u_0 = \alpha \mathbf 1

    The dynamics are those of the in-memory function, unchanged: it sees `A` as a
    matrix-free operator (:class:`DaskOperator`) whose every product is a dask graph
    on the active scheduler, so the implicit bias and early stopping behave as in
    memory. Each iteration costs one pass over `A` each way. `timeout` and
    `stall_timeout` bound the waits for a distributed cluster as in :func:`nnls`.

    Returns
    -------
    OptimizeResult
        As :func:`reparamopt.sparse_recovery`, plus ``scheduler``.
    """
    from .flagships.sparse import sparse_recovery as memory_sparse_recovery

    require_dask()
    start = time.perf_counter()
    if not is_dask_collection(A):
        raise InvalidTypeError(f"`A` must be a dask array here; got {describe(A)}")
    op = DaskOperator(A, client, timeout=timeout, stall_timeout=stall_timeout)
    b = compute(b, scheduler=op.runner)[0] if is_dask_collection(b) else b
    res = memory_sparse_recovery(op, b, **options)
    res["scheduler"] = op.scheduler
    res["time"] = time.perf_counter() - start
    return res


def _no_weights(mask, graph):
    if mask is not None or graph is not None:
        raise InvalidArgumentError("`mask` and `graph` are supported with in-memory data only; "
                                   "got them with a dask array `X`")


def fit_transform_nmf(model, X, W=None, H=None, *, mask=None, graph=None, client=None,
                      timeout=None, stall_timeout=STALL_TIMEOUT):
    r"""Fit :class:`reparamopt.NMF` to a row-chunked dask array; returns W as a dask array.

    .. math:: \min_{W \ge 0,\ H \ge 0} \tfrac12 \|X - W H\|_F^2 + \text{penalties}

    Each row chunk of X updates its own rows of W on the worker that holds it (the
    in-memory "cd" sweeps or "mirror" steps); H is fitted on the client from
    ``W^T W`` and ``W^T X``, reduced over the chunks in the same pass over X. Supports
    the Frobenius loss, solvers "auto"/"cd"/"mirror" ("mu"), an entrywise `W_constraint`,
    and every init; the settings, the plan (start and solver) and the checks of a custom
    H (of a custom W: its shape and dtype) are the in-memory fit's, with the same
    messages. The fitted attributes are those of :meth:`reparamopt.NMF.fit`, plus
    ``scheduler_``. `mask` and `graph` must be None. `timeout` and `stall_timeout` bound
    the waits for a distributed cluster as in :func:`nnls`.
    """
    from .backends.dask.nmf import fit_transform

    require_dask()
    _no_weights(mask, graph)
    return fit_transform(model, X, W=W, H=H, client=client, timeout=timeout,
                         stall_timeout=stall_timeout)


def fit_nmf(model, X, W=None, H=None, *, mask=None, graph=None, client=None, timeout=None,
            stall_timeout=STALL_TIMEOUT):
    """Fit :class:`reparamopt.NMF` to a row-chunked dask array; returns the model."""
    fit_transform_nmf(model, X, W=W, H=H, mask=mask, graph=graph, client=client,
                      timeout=timeout, stall_timeout=stall_timeout)
    return model


def transform_nmf(model, X, mask=None):
    """W for a row-chunked dask array with the fitted components fixed, chunk by chunk
    (a lazy dask array with the row chunks of X)."""
    from .backends.dask.nmf import transform

    require_dask()
    _no_weights(mask, None)
    return transform(model, X)
