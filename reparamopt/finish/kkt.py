r"""The one optimality measure of the package, and the rounding level below which it
says nothing.

For :math:`\min_{x \in C} f(x)` with gradient :math:`g = \nabla f(x)`, ``x`` is a
first-order (KKT) point when the *natural residual*

.. math::

    r(x) = x - P_C(x - g)

vanishes, :math:`P_C` the projection onto C. For the non-negative orthant
:math:`r_i = \min(x_i, g_i)`: it is :math:`g_i` where :math:`x_i > g_i` and
:math:`\min(g_i, 0)` where :math:`x_i = 0`, the projected gradient of the KKT
conditions at points with exact zeros (what the exact finish returns), and it goes to
zero continuously along iterates that approach the boundary without reaching it (what
the reparametrized dynamics produce). Without constraint :math:`r = g`.

The package reports ``optimality = ||r|| / s`` with s the natural scale of the data:
``||A^T b||`` for least squares (the gradient at ``x = 0``), so that it does not change
when ``A`` or ``b`` is rescaled.

Double precision cannot compute ``g`` exactly: each entry carries an error of about
``eps * (|A|^T (|A| x + |b|))_i``, and a backward-stable solver returns the exact solution
of a problem perturbed at that level, whose gradient on the original data has entries of
the same size. On ill-conditioned data (and for ``A x`` built from large terms that
cancel) this level can exceed any requested ``tol``; :func:`gradient_floor` computes it,
and :func:`check` certifies a point when the part of ``r`` above it is below ``tol``.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from .._utils.arrays import column_norms, namespace_of

__all__ = ["residual", "kkt_residual", "gradient_floor", "excess_residual", "check",
           "FLOOR_FACTOR"]

_EPS = np.finfo(float).eps
_TINY = np.finfo(float).tiny

# Safety factor on the first-order rounding bound: measured on the solutions of
# scipy.optimize.nnls for blur, peak-library, Hilbert and SVD-built matrices (cond up
# to 1e19), the projected gradient stays within 3x of the unscaled bound.
FLOOR_FACTOR = 8.0


def residual(x, g, nonnegative=True):
    """The natural residual ``x - P(x - g)``: ``min(x, g)`` entrywise on the orthant, ``g``
    without constraint (``nonnegative=False``). Arrays of any array-API library."""
    if not nonnegative:
        return g
    return namespace_of(x, g).minimum(x, g)


def kkt_residual(x, g, scale, nonnegative=True):
    """Relative residual ``||x - P(x - g)||_2 / scale``, per column (the package's
    ``optimality``; ``scale = ||A^T b||`` for least squares). Arrays of any array-API
    library (`scale` a number or an array of the same library).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.finish.kkt import kkt_residual
    >>> float(kkt_residual(np.array([1.0, 0.0]), np.array([0.0, -2.0]), 4.0))
    0.5
    """
    if type(x) is np.ndarray and type(g) is np.ndarray and x.ndim == 1:
        # one NumPy vector, the small calls' case: a third of the cost without the
        # namespace look-up and np.linalg.norm's axis handling
        r = np.minimum(x, g) if nonnegative else g
        return np.sqrt(r @ r) / max(scale, _TINY)
    xp = namespace_of(x, g)
    num = column_norms(residual(x, g, nonnegative), xp)
    if xp is np:
        return num / np.maximum(scale, _TINY)
    return num / xp.maximum(xp.asarray(scale, dtype=num.dtype), float(_TINY))


def gradient_floor(A, x, b, norm=None):
    """Entrywise rounding level of ``g = A^T (A x - b)``.

    ``FLOOR_FACTOR * eps * |A|^T (|A| |x| + |b|)`` for dense and sparse ``A``. A
    LinearOperator has no entrywise ``|A|``: the normwise bound
    ``eps ||A|| (||A|| ||x|| + ||b||)`` is spread evenly over the ``n`` entries, with
    ``norm`` an estimate of ``||A||_2`` (computed by a few power steps when omitted).
    """
    x = np.abs(x)
    if isinstance(A, LinearOperator):
        if norm is None:
            norm = _operator_norm(A)
        n = max(A.shape[1], 1)
        level = norm * (norm * np.linalg.norm(x, axis=0) + np.linalg.norm(b, axis=0))
        return np.broadcast_to(FLOOR_FACTOR * _EPS * level / np.sqrt(n), x.shape).copy()
    absA = abs(A) if sp.issparse(A) else np.abs(A)
    return FLOOR_FACTOR * _EPS * (absA.T @ (absA @ x + np.abs(b)))


def _operator_norm(A, steps=12):
    """``||A||_2`` of a LinearOperator by power iteration, with a 10% margin."""
    v = np.random.default_rng(0).standard_normal(A.shape[1])
    value = 0.0
    for _ in range(steps):
        v /= max(np.linalg.norm(v), _TINY)
        w = A.rmatvec(A.matvec(v))
        value = float(np.linalg.norm(w))
        v = w
    return 1.1 * np.sqrt(value)


def excess_residual(x, g, floor, scale, nonnegative=True):
    """``||max(|r| - floor, 0)|| / scale``: the residual beyond rounding."""
    over = np.maximum(np.abs(residual(x, g, nonnegative)) - floor, 0.0)
    return np.linalg.norm(over, axis=0) / np.maximum(scale, _TINY)


def check(A, b, x, tol, *, g=None, atb_norm=None, norm=None):
    """Certify ``x`` for ``min_{x >= 0} ||A x - b||``, from the data alone.

    Returns ``(optimality, ok)``: the relative KKT residual, and whether it is below
    `tol` or its part above the rounding level (:func:`gradient_floor`) is. Nothing of
    the solver that produced ``x`` is used.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.finish import check
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> check(A, np.array([1.0, -1.0]), np.array([1.0, 0.0]), 1e-12)
    (0.0, True)
    """
    if g is None:
        g = A.T @ (A @ x - b)
    if atb_norm is None:
        atb_norm = np.linalg.norm(A.T @ b, axis=0)
    optimality = kkt_residual(x, g, atb_norm)
    ok = optimality <= tol
    if not np.all(ok):
        floor = gradient_floor(A, x, b, norm=norm)
        ok = ok | (excess_residual(x, g, floor, atb_norm) <= tol)
    if np.ndim(optimality) == 0:
        return float(optimality), bool(ok)
    return optimality, ok
