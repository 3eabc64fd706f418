"""Hand data of another array library to the backend that serves it.

The flagships accept Dask collections and pass them on to :mod:`reparamopt.dask`. The
backend is looked up by name when such data arrive, so that the in-memory layers never
import it (the backend builds on them, not the other way round).
"""

import sys
from importlib import import_module

__all__ = ["is_dask_collection", "backend_for"]


def is_dask_collection(value):
    """Whether `value` is a Dask collection (array, dataframe, delayed...).

    Cheap when dask was never imported: such a value cannot exist then.
    """
    if "dask" not in sys.modules:
        return False
    from dask import is_dask_collection as check

    return check(value)


def backend_for(*values):
    """The backend module serving `values` (``reparamopt.dask`` for Dask collections),
    or None when they are all in memory."""
    if any(is_dask_collection(value) for value in values):
        return import_module("reparamopt.dask")
    return None
