"""The boundary of the array-API backend: one namespace, one device, one real dtype.

Arrays of another array-API library than NumPy (PyTorch, CuPy, JAX, array-api-strict)
reach :mod:`reparamopt.backends.xp` through the flagships' dispatch. Everything is
computed with the input's namespace on the input's device; the checks here make sure
that every array of a call shares them, so that nothing is copied between libraries
or devices behind the caller's back.
"""

from ...exceptions import InvalidArgumentError, InvalidTypeError, NonFiniteError, ShapeError
from ...finish.kkt import FLOOR_FACTOR

__all__ = ["Data", "checked_arrays", "library_of", "as_result_scalars", "check_no_option",
           "device_of", "above_rounding"]


class Data:
    """The namespace, device and working dtype of a call, and its checked arrays."""

    def __init__(self, xp, device, dtype, arrays):
        self.xp, self.device, self.dtype, self.arrays = xp, device, dtype, arrays

    def eps(self):
        """The machine epsilon of the working dtype, a Python float."""
        return float(self.xp.finfo(self.dtype).eps)


def library_of(value):
    """A short description of where `value` lives, for error messages: the type and,
    for arrays of a library with devices, the device (``torch.Tensor on cuda:0``)."""
    kind = f"{type(value).__module__.split('.')[0]}.{type(value).__name__}"
    from array_api_compat import device, is_array_api_obj

    if is_array_api_obj(value) and type(value).__module__.split(".")[0] != "numpy":
        return f"{kind} on {device(value)}"
    return kind


def checked_arrays(named, *, ndims, missing=()):
    """The arrays of `named` (a dict ``name -> array``, None values skipped) checked to
    share one array-API namespace and one device, real floating (float32 or float64;
    integer and bool input becomes float64), finite (NaN allowed in the arrays named in
    `missing`, where it means a missing entry) and of the dimensions `ndims`
    (``name -> allowed ndims``). Mixed dtypes are promoted to the wider one.

    Returns
    -------
    Data
        With ``arrays`` the converted arrays in the order of `named` (None kept).

    Examples
    --------
    >>> import array_api_strict as xp
    >>> from reparamopt.backends.xp.common import checked_arrays
    >>> data = checked_arrays({"A": xp.ones((2, 2), dtype=xp.float32), "b": xp.asarray([1, 2])},
    ...                       ndims={"A": (2,), "b": (1,)})
    >>> data.dtype, data.arrays["b"].dtype
    (array_api_strict.float32, array_api_strict.float32)
    """
    from array_api_compat import array_namespace, device, is_array_api_obj

    present = {k: v for k, v in named.items() if v is not None}
    for name, value in present.items():
        if not is_array_api_obj(value):
            raise InvalidTypeError(f"`{name}` must be an array of the library of the other "
                                   f"arguments; got {library_of(value)}")
    kinds = {name: library_of(value) for name, value in present.items()}
    if len(set(kinds.values())) > 1:
        listed = ", ".join(f"`{name}` a {kind}" for name, kind in kinds.items())
        raise InvalidTypeError(f"the arrays must come from one library on one device; got "
                               f"{listed} (move them with the library's own conversion first)")
    xp = array_namespace(*present.values())
    where = device(next(iter(present.values())))
    dtype = _working_dtype(xp, present)
    arrays = {}
    for name, value in named.items():
        arrays[name] = None if value is None else _checked(xp, value, name, dtype, ndims[name],
                                                           name in missing)
    return Data(xp, where, dtype, arrays)


def _working_dtype(xp, present):
    """float32 when every floating input is float32, else float64; half precisions are
    refused (the certificate needs more digits than they hold)."""
    dtypes = []
    for name, value in present.items():
        dtype = value.dtype
        if xp.isdtype(dtype, "complex floating"):
            raise InvalidTypeError(f"`{name}` must be real; got dtype {dtype}")
        if xp.isdtype(dtype, "real floating"):
            if dtype not in (xp.float32, xp.float64):
                raise InvalidTypeError(
                    f"`{name}` must be float32 or float64; got dtype {dtype} (half precision "
                    "cannot certify a solution: convert it to float32 first)")
            dtypes.append(dtype)
        elif not (xp.isdtype(dtype, "integral") or xp.isdtype(dtype, "bool")):
            raise InvalidTypeError(f"`{name}` must be numeric; got dtype {dtype}")
    if dtypes and all(d == xp.float32 for d in dtypes):
        return xp.float32
    return xp.float64


def _checked(xp, value, name, dtype, ndim, nan_allowed):
    if value.ndim not in ndim:
        spelled = " or ".join(str(d) for d in ndim)
        raise ShapeError(f"`{name}` must have {spelled} dimension(s); got shape {tuple(value.shape)}")
    if value.dtype != dtype:
        value = xp.astype(value, dtype)
    if nan_allowed:
        if bool(xp.any(xp.isinf(value))):
            raise NonFiniteError(f"`{name}` must not contain inf (NaN marks a missing entry)")
    elif not bool(xp.all(xp.isfinite(value))):
        raise NonFiniteError(f"`{name}` must contain only finite values; got NaN or inf")
    return value


def as_result_scalars(values, one):
    """Per-column values: Python floats for one right-hand side (`one`), else the
    array as it is (the caller's library and device)."""
    return float(values[0]) if one else values


def check_no_option(name, value, default):
    """Refuse an option that the array-API backend does not offer."""
    if value is not default and value != default:
        raise InvalidArgumentError(f"`{name}` is not available for arrays of libraries other "
                                   f"than NumPy; got {name}={value!r}")


def device_of(x):
    """The device of `x`, for the creation functions (which default to the CPU)."""
    from array_api_compat import device

    return device(x)


def above_rounding(xp, A, B, X, natural, eps):
    """Per column, the 2-norm of the part of the natural residual `natural` above the
    rounding level of ``g = A^T (A X - B)`` in the working dtype (`eps` its epsilon):
    ``FLOOR_FACTOR * eps * |A|^T (|A| |X| + |B|)``, as
    :func:`reparamopt.finish.kkt.gradient_floor` computes it in NumPy."""
    absA = xp.abs(A)
    floor = FLOOR_FACTOR * eps * (absA.T @ (absA @ xp.abs(X) + xp.abs(B)))
    return xp.linalg.vector_norm(xp.maximum(xp.abs(natural) - floor, 0.0), axis=0)
