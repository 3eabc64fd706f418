"""Hand data of another array library to the backend that serves it.

The flagships accept Dask collections and pass them on to :mod:`reparamopt.dask`. A
backend registers itself here from the upper layer (``reparamopt/__init__.py``) with a
cheap test that recognises its data and a loader, so that the in-memory layers never
import it (the backend builds on them, not the other way round).
"""

import sys

import numpy as np

from .arrays import _is_foreign

__all__ = ["is_dask_collection", "is_foreign_array", "backend_for", "register_backend", "backends"]

# name -> (detects(value) -> bool, load() -> module with the flagships' functions)
_BACKENDS = {}


def register_backend(name, detects, load):
    """Serve the values for which ``detects(value)`` holds by the module ``load()``.

    Parameters
    ----------
    name : str
        The backend's name (registering a name again replaces it).
    detects : callable
        ``detects(value) -> bool``; called on every argument of every flagship call, so
        it must be cheap (not import the library when it was never imported).
    load : callable
        ``load() -> module``, called on the first call with such data; the module has the
        flagships' functions (``nnls``, ``sparse_recovery``, ``fit_nmf``...).

    Examples
    --------
    >>> from reparamopt._utils.dispatch import backend_for, backends, register_backend
    >>> class Tagged(list):
    ...     pass
    >>> register_backend("tagged", lambda v: isinstance(v, Tagged), lambda: "tagged module")
    >>> backend_for(Tagged([1.0]), [2.0]), backend_for([1.0])
    ('tagged module', None)
    >>> "tagged" in backends()
    True
    >>> _ = backends().pop("tagged")
    """
    if not (callable(detects) and callable(load)):
        raise TypeError("`detects` and `load` must be callable")
    _BACKENDS[str(name)] = (detects, load)


def backends():
    """The registered backends: a dict ``name -> (detects, load)`` (the live table)."""
    return _BACKENDS


def is_dask_collection(value):
    """Whether `value` is a Dask collection (array, dataframe, delayed...).

    Cheap when dask was never imported: such a value cannot exist then.
    """
    if "dask" not in sys.modules:
        return False
    from dask import is_dask_collection as check

    return check(value)


def is_foreign_array(value):
    """Whether `value` is an array of another array-API library than NumPy (PyTorch,
    CuPy, JAX, array-api-strict...), from its type alone.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt._utils.dispatch import is_foreign_array
    >>> is_foreign_array(np.ones(2)), is_foreign_array([1.0])
    (False, False)
    """
    # NumPy's arrays first, by type alone: this runs on every argument of every call
    return type(value) is not np.ndarray and _is_foreign(value)


def backend_for(*values):
    """The module of the backend serving `values` (``reparamopt.dask`` for Dask
    collections), or None when they are all in memory."""
    for detects, load in _BACKENDS.values():
        if any(detects(value) for value in values):
            return load()
    return None
