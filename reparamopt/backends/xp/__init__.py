"""Arrays of any array-API library (PyTorch, CuPy, JAX, array-api-strict...), computed
on their own device in their own dtype.

:func:`reparamopt.nnls`, :func:`reparamopt.sparse_recovery` and :class:`reparamopt.NMF`
hand arrays of another library than NumPy to this module (through the backend registry
of :mod:`reparamopt._utils.dispatch`); it is never imported for NumPy or scipy.sparse
data, whose paths stay as they are. Every array of a call must come from one library
and sit on one device; float32 stays float32, float64 float64, half precisions are
refused, and the results are arrays of the same library on the same device (their
scalars Python floats). Needs ``array-api-compat``.

Examples
--------
>>> import array_api_strict as xp
>>> import reparamopt as ro
>>> A = xp.asarray([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
>>> res = ro.nnls(A, xp.asarray([1.0, -1.0, 0.0]))
>>> res.x
Array([0.5, 0. ], dtype=array_api_strict.float64)
>>> res.success, type(res.rnorm)
(True, <class 'float'>)
"""

from .nmf import fit as fit_nmf
from .nmf import fit_transform as fit_transform_nmf
from .nmf import inverse_transform as inverse_transform_nmf
from .nmf import transform as transform_nmf
from .nnls import nnls
from .sparse import sparse_recovery

__all__ = ["nnls", "sparse_recovery", "fit_nmf", "fit_transform_nmf", "transform_nmf",
           "inverse_transform_nmf"]
