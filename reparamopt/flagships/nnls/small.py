"""The small-problem path of :func:`~reparamopt.nnls`: a fixed cost of microseconds.

A call with one right-hand side, a dense float64 ``A`` of at most :data:`SMALL_SIZE`
entries for which scipy's compiled Lawson-Hanson method is the fastest exact path
(:func:`~.route.compiled_pays`: few columns, or wide with few rows), data in the range
that needs no rescaling, and every option at its default but `tol`, goes to that method
directly: without the settings, the model, the plan and the candidates of the general
path. The answer is certified by the same data-only KKT test
(:func:`reparamopt.finish.kkt.kkt_residual` on ``g = A^T (A x - b)`` computed from
``A``). Anything else, any answer that does not pass this test at once, and tall data
with ``b`` in the range of ``A`` (whose least-squares solution the general path
refines to the rounding level) take the general path, which refines and explains.
"""

import math
import time

import numpy as np

from ...finish.compiled import compiled_column
from ...finish.kkt import kkt_residual
from ...models.scaling import WIDE
from ...result import OptimizeResult, Status
from .refine import ATTAINABLE
from .route import compiled_pays

__all__ = ["small_call", "SMALL_SIZE"]

SMALL_SIZE = 200_000  # entries of A
_SLACK = 64 * np.finfo(float).eps  # rounding in comparing objectives


def _defaults(method, power, polish, progress, history, unset):
    """Whether the options are the defaults (`unset`: those whose default is None)."""
    return (type(method) is str and method == "auto" and type(power) is int and power == 2
            and polish is True and progress is False and history is False
            and all(v is None for v in unset))


def _eligible(A, b, tol):
    if type(A) is not np.ndarray or type(b) is not np.ndarray:
        return False
    if A.dtype != np.float64 or b.dtype != np.float64 or A.ndim != 2 or b.ndim != 1:
        return False
    m, n = A.shape
    if not (0 < m == b.shape[0] and 0 < m * n <= SMALL_SIZE and compiled_pays(m, n, "dense")):
        return False
    return type(tol) is float and tol >= 0


def _in_range(v):
    """Whether the data need no rescaling (NaN and inf are not: the general path
    names them)."""
    top = np.maximum.reduce(np.abs(v), axis=None)  # without ndarray.max's wrapper
    return bool(top == 0 or WIDE[0] <= top <= WIDE[1])


def small_call(A, b, tol, *, method, power, polish, progress, history, unset):
    """The certified result of a small call, or None where the general path is needed
    (see the module's docstring). The keywords are the call's options; `unset` holds
    those whose default is None.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.flagships.nnls.small import small_call
    >>> A, b = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([1.0, -1.0, 0.0])
    >>> res = small_call(A, b, 1e-10, method="auto", power=2, polish=True, progress=False,
    ...                  history=False, unset=(None,) * 8)
    >>> res.x, bool(res.success)
    (array([0.5, 0. ]), True)
    """
    start = time.perf_counter()
    if not (_defaults(method, power, polish, progress, history, unset) and _eligible(A, b, tol)
            and _in_range(A) and _in_range(b)):
        return None
    x = compiled_column(A, b)
    if x is None:  # scipy's iteration limit: the general path finishes it
        return None
    r = A @ x
    r -= b
    # A^T b and the gradient A^T (A x - b) from one product with A
    atb, g = np.array((b, r)) @ A
    optimality = kkt_residual(x, g, math.sqrt(atb @ atb))
    rr, bb = r @ r, b @ b
    if not (optimality <= tol and rr <= bb + _SLACK * bb):  # never worse than x = 0
        return None
    m, n = A.shape
    if m >= n and 0 < rr <= ATTAINABLE ** 2 * bb:
        return None  # b in the range of A: the general path's solve reaches its rounding level
    rnorm = np.float64(math.sqrt(rr))
    status = Status.CONVERGED
    return OptimizeResult(
        x=x, u=None, rnorm=rnorm, fun=0.5 * rnorm ** 2, optimality=np.float64(optimality),
        nit=0, nfev=0, status=int(status), success=True, message=status.message,
        method="auto", time=time.perf_counter() - start, history=None)
