"""Input validation shared by every public entry point."""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from ..exceptions import (
    InvalidArgumentError,
    InvalidTypeError,
    NonFiniteError,
    ShapeError,
    UnknownNameError,
)

__all__ = ["as_float_array", "check_scalar", "check_choice", "check_random_state", "describe"]


def describe(value, limit=60):
    """Short repr of `value` for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    if sp.issparse(value):
        return f"sparse matrix of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_float_array(x, name, *, ndim=None, allow_sparse=False, allow_operator=False, finite=True):
    """Convert `x` to a float64 array, rejecting complex, non-numeric and non-finite input.

    Parameters
    ----------
    x : array_like, sparse matrix or LinearOperator
        The value to check.
    name : str
        Argument name used in error messages.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    allow_sparse : bool, default False
        Return scipy.sparse input as a float64 CSR/CSC matrix instead of rejecting it.
    allow_operator : bool, default False
        Return LinearOperator input unchanged.
    finite : bool, default True
        Reject NaN and infinite entries.

    Returns
    -------
    numpy.ndarray, sparse matrix or LinearOperator
    """
    if allow_operator and isinstance(x, LinearOperator):
        if np.issubdtype(np.dtype(x.dtype), np.complexfloating):
            raise InvalidTypeError(f"`{name}` must be real; got a complex LinearOperator")
        return x
    if sp.issparse(x):
        if not allow_sparse:
            raise InvalidTypeError(f"`{name}` must be a dense array; got {describe(x)}")
        if np.issubdtype(x.dtype, np.complexfloating):
            raise InvalidTypeError(f"`{name}` must be real; got {describe(x)}")
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)
                or x.dtype == bool):
            raise InvalidTypeError(f"`{name}` must be numeric; got {describe(x)}")
        # every format (lil, dok, dia, bsr, coo, ...) becomes CSR, the one the solvers use
        x = sp.csr_array(x, dtype=np.float64)
        x.sum_duplicates()
        if finite and not np.all(np.isfinite(x.data)):
            raise NonFiniteError(f"`{name}` must contain only finite values; got NaN or inf")
        _check_ndim(x, name, ndim)
        return x
    if np.ma.isMaskedArray(x):
        if np.any(np.ma.getmaskarray(x)):
            raise InvalidArgumentError(
                f"`{name}` is a masked array with {int(np.sum(np.ma.getmaskarray(x)))} masked "
                "entries; this solver has no missing-data model: fill them "
                f"(`{name}.filled(value)`) or drop the rows that hold them")
        x = np.ma.getdata(x)
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and other unconvertible input
        raise InvalidTypeError(f"`{name}` must be array-like; got {describe(x)}") from exc
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise InvalidTypeError(f"`{name}` must be real; got complex values ({describe(arr)})")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InvalidTypeError(f"`{name}` must be numeric; got {describe(arr)}")
    arr = arr.astype(np.float64, copy=False)
    _check_ndim(arr, name, ndim)
    if finite and not np.all(np.isfinite(arr)):
        raise NonFiniteError(f"`{name}` must contain only finite values; got NaN or inf")
    return arr


def _check_ndim(arr, name, ndim):
    if ndim is None:
        return
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim not in allowed:
        spelled = " or ".join(str(d) for d in allowed)
        raise ShapeError(f"`{name}` must have {spelled} dimension(s); got shape {arr.shape}")


def check_scalar(value, name, *, lower=None, upper=None, lower_inclusive=True,
                 upper_inclusive=True, integer=False, allow_none=False):
    """Validate a real scalar parameter and return it as float (or int when `integer`).

    Examples
    --------
    >>> from reparamopt._utils.validation import check_scalar
    >>> check_scalar(2, "power", lower=2)
    2.0
    """
    if value is None:
        if allow_none:
            return None
        raise InvalidArgumentError(f"`{name}` must be a number; got None")
    kind = type(value)
    # plain floats and ints skip the abstract-base-class checks (this runs on every call)
    if kind is not float and kind is not int and (
            isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)):
        if isinstance(value, numbers.Complex):
            raise InvalidTypeError(f"`{name}` must be a real number; got {describe(value)}")
        raise InvalidTypeError(f"`{name}` must be a number; got {describe(value)}")
    if integer:
        if not float(value).is_integer():
            raise InvalidArgumentError(f"`{name}` must be an integer; got {value!r}")
        out = int(value)
    else:
        out = float(value)
    if out != out:
        raise InvalidArgumentError(f"`{name}` must be a number; got nan")
    below = lower is not None and not (out >= lower if lower_inclusive else out > lower)
    above = upper is not None and not (out <= upper if upper_inclusive else out < upper)
    if below or above:
        bounds = [] if lower is None else [f"{'>=' if lower_inclusive else '>'} {lower}"]
        if above and not below:
            bounds.append(f"{'<=' if upper_inclusive else '<'} {upper}")
        raise InvalidArgumentError(
            f"`{name}` must be a number {' and '.join(bounds)}; got {value!r}")
    return out


def check_choice(value, name, choices):
    """Return `value` if it is one of `choices`, else raise UnknownNameError listing them."""
    if isinstance(value, str) and value in choices:
        return value
    valid = ", ".join(repr(c) for c in choices)
    raise UnknownNameError(f"`{name}` must be one of {valid}; got {value!r}")


def check_random_state(seed, name="random_state"):
    """Turn None, an int or a Generator into a numpy Generator."""
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**31 - 1))
    raise InvalidTypeError(f"`{name}` must be None, an int or a numpy Generator; got {describe(seed)}")
