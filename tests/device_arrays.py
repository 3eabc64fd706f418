"""Arrays on array-api-strict's emulated non-CPU device, for the tests of the array-API
backend: that device refuses any conversion to NumPy, as a GPU array would, so a path
that quietly round-trips through NumPy fails there. Importing this module skips the
importing test module when array-api-strict or array-api-compat is not installed."""

import numpy as np
import pytest

xp = pytest.importorskip("array_api_strict")
pytest.importorskip("array_api_compat")

DEVICE = xp.Device("device1")
CPU = xp.Device("CPU_DEVICE")


def on_device(a, dtype="float64"):
    """`a` as an array-api-strict array of `dtype` on the emulated device."""
    return xp.asarray(np.asarray(a), dtype=getattr(xp, dtype), device=DEVICE)


def to_numpy(a):
    """A device array back in NumPy (through the CPU device, as a user would)."""
    return np.asarray(a.to_device(CPU))


def assert_placed(a, dtype):
    """`a` is an array-api-strict array on the emulated device, of `dtype`."""
    assert type(a).__module__.startswith("array_api_strict")
    assert a.device == DEVICE and a.dtype == getattr(xp, dtype)
