"""Plumbing shared by the Dask entry points: input detection, schedulers, lazy files.

Nothing here imports dask at module import time, so that :func:`is_dask_collection`
costs nothing for users without the ``reparamopt[dask]`` extra.
"""

import os

import numpy as np

from ..._utils.dispatch import is_dask_collection
from ..._utils.extras import require
from ..._utils.validation import describe
from ...exceptions import (
    InvalidArgumentError,
    InvalidTypeError,
    NonFiniteError,
    ShapeError,
)
from .cluster import Runner, client_of

__all__ = ["is_dask_collection", "require_dask", "scheduler_of", "as_runner", "compute", "persist",
           "shipped", "as_dask_array", "NpyFile", "open_array"]


# In-memory arrays at least this large go to a cluster by scatter, not inside the graph
# (dask warns about graphs above a few MB)
_SCATTER_FROM = 1 << 20


def require_dask():
    require("dask.array", "Dask input")


def scheduler_of(collections, client=None):
    """``(scheduler, name)``: what will run `collections`, and a description of it.

    The scheduler is `client` when given, else Dask's choice: the active distributed
    client if there is one, else the collections' default (threads for arrays). The
    name reads ``"distributed (tcp://...)"``, ``"threads"``, ``"processes"`` or
    ``"synchronous"``.
    """
    from dask.base import get_scheduler

    scheduler = client if client is not None else get_scheduler(collections=collections)
    found = client_of(scheduler)
    if found is not None:
        return found, f"distributed ({found.scheduler.address})"
    names = {
        "dask.threaded.get": "threads",
        "dask.multiprocessing.get": "processes",
        "dask.local.get_sync": "synchronous",
    }
    if scheduler is None:
        return None, "threads"
    key = f"{getattr(scheduler, '__module__', '')}.{getattr(scheduler, '__name__', '')}"
    return scheduler, names.get(key, describe(scheduler))


def shipped(array, chunks, scheduler=None):
    """A dask array of the in-memory `array` with `chunks`.

    With a distributed client the array is scattered to the workers once and the graph
    refers to it, instead of carrying a copy of the data in its tasks (dask's "large
    graph" warning, and a graph that every scheduler restart sends again); elsewhere it
    is :func:`dask.array.from_array`.
    """
    import dask.array as da

    array = np.asarray(array)
    if client_of(scheduler) is None or array.nbytes < _SCATTER_FROM:
        return da.from_array(array, chunks=chunks)
    future = as_runner(scheduler).scatter(array)
    return da.from_delayed(future, shape=array.shape, dtype=array.dtype).rechunk(chunks)


def as_runner(scheduler):
    """`scheduler` itself when it is a :class:`Runner`, else a runner with the default
    bounds (no limit on the whole call, :data:`STALL_TIMEOUT` without progress)."""
    return scheduler if isinstance(scheduler, Runner) else Runner(scheduler)


def compute(*collections, scheduler=None):
    """``dask.compute`` on `scheduler`; on a distributed cluster the wait is bounded
    (:class:`Runner`)."""
    return as_runner(scheduler).compute(*collections)


def persist(*collections, scheduler=None):
    """Persist on `scheduler`; with a distributed client this returns at once, so that
    successive iterations queue on the cluster without a round trip each."""
    return as_runner(scheduler).persist(*collections)


def as_dask_array(value, name, *, ndim):
    """A float64 dask array from a dask array (checked lazily-cheap: dtype and shape)."""
    import dask.array as da

    if not isinstance(value, da.Array):
        if is_dask_collection(value):
            raise InvalidTypeError(f"`{name}` must be a dask array; got {type(value).__name__}")
        value = da.asarray(value)
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if value.ndim not in allowed:
        spelled = " or ".join(str(d) for d in allowed)
        raise ShapeError(f"`{name}` must have {spelled} dimension(s); got shape {value.shape}")
    if any(np.isnan(s) for s in value.shape):
        raise ShapeError(f"`{name}` must have known chunk sizes; got shape {value.shape} "
                         "(call `compute_chunk_sizes()` first)")
    kind = value.dtype.kind
    if kind == "c":
        raise InvalidTypeError(f"`{name}` must be real; got complex values (dtype {value.dtype})")
    if kind not in "biuf":
        raise InvalidTypeError(f"`{name}` must be numeric; got dtype {value.dtype}")
    return value.astype(np.float64) if value.dtype != np.float64 else value


def check_finite_scalar(value, name):
    """Raise NonFiniteError when a reduction of the data (e.g. a norm) is NaN or inf."""
    if not np.all(np.isfinite(value)):
        raise NonFiniteError(f"`{name}` must contain only finite values; got NaN or inf")


class NpyFile:
    """A ``.npy`` file opened as a memory map on first access, in whichever process
    reads it.

    Dask pickles the source of ``from_array`` into every task; a plain ``np.memmap``
    would pickle its whole content, this object pickles its path only.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        header = np.load(self.path, mmap_mode="r")
        self.shape, self.dtype, self.ndim = header.shape, header.dtype, header.ndim
        self._map = None

    def __getitem__(self, index):
        if self._map is None:
            self._map = np.load(self.path, mmap_mode="r")
        return np.asarray(self._map[index])

    def __getstate__(self):
        return {"path": self.path, "shape": self.shape, "dtype": self.dtype, "ndim": self.ndim,
                "_map": None}


def open_array(path, chunks="auto", *, component=None):
    """A lazy dask array over a zarr store or a ``.npy`` file; nothing is read yet.

    Parameters
    ----------
    path : str or os.PathLike
        A zarr store (directory) or a ``.npy`` file.
    chunks : str, int or tuple, default "auto"
        Dask chunks; "auto" keeps the zarr chunks, and for ``.npy`` lets dask choose
        (row blocks of about ``array.chunk-size``, 128 MiB by default).
    component : str, optional
        The array inside a zarr group.
    """
    require_dask()
    import dask.array as da

    path = os.fspath(path)
    if path.endswith(".npy"):
        source = NpyFile(path)
        if chunks == "auto" and source.ndim == 2:
            chunks = ("auto", -1)
        return da.from_array(source, chunks=chunks, asarray=False, fancy=False,
                             name=f"npy-{os.path.basename(path)}-{os.path.getmtime(path)}")
    if not os.path.exists(path):
        raise InvalidArgumentError(f"`path` must name a zarr store or a .npy file; got {path!r}")
    if chunks == "auto":
        return da.from_zarr(path, component=component)
    return da.from_zarr(path, component=component, chunks=chunks)
