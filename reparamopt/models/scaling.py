"""One way to bring data of extreme magnitude to a safe range before solving.

Least squares, sparse recovery and NMF all solve the same problem on ``A / c`` (and
``b / c``) and scale the answer back: the solution set does not change (or changes by a
known factor), while ``A^T A``, the steps and the factors stay far from overflow and
underflow. Each flagship states the range it leaves alone (the safe range) and calls
:func:`rescaling`; :func:`divided` applies the factor to any kind of matrix.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

__all__ = ["largest_entry", "rescaling", "divided", "times_ratio", "WIDE", "NARROW"]

#: Least squares and NNLS: only magnitudes whose squares approach the ends of the double
#: range are rescaled (dividing would copy a large matrix for nothing).
WIDE = (1e-50, 1e50)
#: Sparse recovery: the small initialization is stated in the units of x, and the flow's
#: clock in those of A, so data are kept near unit size.
NARROW = (1e-6, 1e6)


def largest_entry(A):
    """The largest entry of `A` in magnitude: read by max and min for dense data (no
    temporary ``abs(A)``), over the stored entries for sparse data, estimated from one
    product with a random unit vector for a LinearOperator.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.models.scaling import largest_entry
    >>> largest_entry(np.array([[1.0, -3.0], [2.0, 0.5]]))
    3.0
    """
    if type(A) is np.ndarray:
        return max(float(np.max(A)), -float(np.min(A))) if A.size else 0.0
    if isinstance(A, LinearOperator):
        v = np.random.default_rng(0).standard_normal(A.shape[1])
        v /= max(np.linalg.norm(v), 1e-300)
        return float(np.max(np.abs(A.matvec(v)))) if A.shape[0] else 0.0
    if sp.issparse(A):
        return float(abs(A).max()) if A.nnz else 0.0
    return max(float(np.max(A)), -float(np.min(A))) if A.size else 0.0


def rescaling(A, safe=WIDE):
    """The factor ``c`` to divide `A` by: its largest entry in magnitude when that lies
    outside `safe` (a ``(low, high)`` pair; None rescales whatever the magnitude), else
    1.0. All-zero, empty and non-finite data give 1.0.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.models.scaling import NARROW, rescaling
    >>> rescaling(np.array([3.0, -1e60])), rescaling(np.array([3.0, -4.0]))
    (1e+60, 1.0)
    >>> rescaling(np.array([3.0, -4.0]), safe=None), rescaling(np.array([1e7]), safe=NARROW)
    (4.0, 10000000.0)
    """
    c = largest_entry(A)
    if not (np.isfinite(c) and c > 0):
        return 1.0
    if safe is not None and safe[0] <= c <= safe[1]:
        return 1.0
    return c


def times_ratio(x, num, den):
    """``x * num / den`` with the factor applied through its binary exponent, so that
    neither ``num / den`` nor an intermediate product overflows or underflows: the
    result is out of range only where ``x * num / den`` itself is.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.models.scaling import times_ratio
    >>> times_ratio(np.array([1e-300, 2.0]), 1e300, 1e-10)  # 1e310: only x = 2 overflows
    array([1.e+10,    inf])
    """
    m_num, e_num = np.frexp(num)
    m_den, e_den = np.frexp(den)
    shift = int(e_num) - int(e_den)
    with np.errstate(over="ignore", under="ignore"):
        if shift > 0:  # up first: subnormal entries become normal before any rounding
            return np.ldexp(x, shift) * (m_num / m_den)
        return np.ldexp(x * (m_num / m_den), shift)


def divided(A, c):
    """``A / c`` for a dense or sparse matrix or a LinearOperator (`A` itself when
    ``c == 1``: no copy); a subnormal `c` (whose inverse overflows) included.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.models.scaling import divided
    >>> divided(np.array([1e-320, 5e-321]), 1e-320)
    array([1. , 0.5])
    """
    if c == 1.0:
        return A
    if isinstance(A, LinearOperator):
        mantissa, exponent = np.frexp(c)
        # 2**-exponent in two factors: for a subnormal c one factor would overflow
        half = int(exponent) // 2
        return aslinearoperator(A) * (1.0 / mantissa) * 2.0 ** -half * 2.0 ** (half - int(exponent))
    if sp.issparse(A):
        out = A.copy()
        out.data = times_ratio(out.data, 1.0, c)
        return out
    return times_ratio(A, 1.0, c)
