"""Array helpers every layer shares: the array namespace of the data, and values.

Numerical kernels take their array namespace from :func:`namespace_of` instead of
importing NumPy deep inside, so that arrays of another array-API library (PyTorch, CuPy,
JAX through ``array-api-compat``) are computed with that library. NumPy arrays (and
anything that is not another library's array) get the ``numpy`` module itself: the
default path pays nothing for this.
"""

import numbers

import numpy as np

__all__ = ["namespace_of", "scalar_or_columns", "column_norms", "as_float"]

_NUMPY_TYPES = frozenset({np.ndarray, float, int, bool, np.float64, np.float32, np.int64,
                          np.bool_, list, tuple, type(None)})

# libraries whose arrays predate the __array_namespace__ attribute in some versions
_ARRAY_LIBRARIES = ("torch", "cupy", "jax", "jaxlib")


def namespace_of(*arrays, default=np):
    """The array namespace of `arrays`: `default` (``numpy``; ``autograd.numpy`` where
    autograd may trace the arrays) for NumPy arrays, scalars, lists and scipy.sparse
    matrices; the ``array-api-compat`` namespace of another library's arrays (PyTorch,
    CuPy, JAX, array-api-strict...), which needs that package.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt._utils.arrays import namespace_of
    >>> namespace_of(np.ones(3), 2.0) is np
    True
    """
    # the common case first, by type alone (this runs in every iteration's kernels)
    for a in arrays:
        if type(a) not in _NUMPY_TYPES:
            break
    else:
        return default
    foreign = [a for a in arrays if _is_foreign(a)]
    if not foreign:
        return default
    try:
        from array_api_compat import array_namespace
    except ImportError as exc:  # pragma: no cover - depends on the environment
        kinds = ", ".join(sorted({type(a).__module__.split(".")[0] for a in foreign}))
        raise TypeError(f"arrays of {kinds} need the array-api-compat package "
                        "(pip install array-api-compat)") from exc
    return array_namespace(*foreign)


def _is_foreign(value):
    """Whether `value` is an array of another library than NumPy."""
    if value is None or isinstance(value, (np.ndarray, np.generic, numbers.Number, list, tuple)):
        return False
    library = type(value).__module__.split(".")[0]
    if library in ("numpy", "scipy"):
        return False
    return library in _ARRAY_LIBRARIES or hasattr(value, "__array_namespace__")


def scalar_or_columns(fun):
    """An objective value as a float, or as a float vector for a batch (one value per
    column of the batch).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt._utils.arrays import scalar_or_columns
    >>> scalar_or_columns(np.float32(1.5)), scalar_or_columns([1, 2])
    (1.5, array([1., 2.]))
    """
    arr = np.asarray(fun, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def column_norms(v, xp=np):
    """The 2-norm of each column of `v` (of the vector when 1-D), in namespace `xp`.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt._utils.arrays import column_norms
    >>> column_norms(np.array([[3.0, 0.0], [4.0, 2.0]]))
    array([5., 2.])
    """
    if xp is np:
        return np.linalg.norm(v, axis=0)
    return xp.linalg.vector_norm(v, axis=0)


def as_float(x, xp=np):
    """`x` as a float64 array of namespace `xp` (NumPy input converted, other libraries'
    arrays kept on their device).

    Examples
    --------
    >>> from reparamopt._utils.arrays import as_float
    >>> as_float([1, 2]).dtype
    dtype('float64')
    """
    if xp is np:
        return np.asarray(x, dtype=float)
    return xp.asarray(x, dtype=xp.float64)
