r"""The optimality measure of NNLS, and the rounding level below which it says nothing.

For :math:`\min_{x \ge 0} \tfrac12 \|A x - b\|^2` with gradient :math:`g = A^T (A x - b)`,
``x`` is optimal when the projected gradient

.. math::

    P(g)_i = g_i \ (x_i > 0), \qquad P(g)_i = \min(g_i, 0) \ (x_i = 0)

vanishes. The package reports the relative residual ``||P(g)|| / ||A^T b||`` as
``optimality``, so that it does not change when ``A`` or ``b`` is rescaled.

Double precision cannot compute ``g`` exactly: each entry carries an error of about
``eps * (|A|^T (|A| x + |b|))_i``, and a backward-stable solver returns the exact solution
of a problem perturbed at that level, whose gradient on the original data has entries of
the same size. On ill-conditioned data (and for ``A x`` built from large terms that
cancel) this level can exceed any requested ``tol``; :func:`gradient_floor` computes it,
and :func:`check` certifies a point when the part of ``P(g)`` above it is below ``tol``.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

__all__ = ["projected_gradient", "kkt_residual", "gradient_floor", "excess_residual", "check",
           "FLOOR_FACTOR"]

_EPS = np.finfo(float).eps
_TINY = np.finfo(float).tiny

# Safety factor on the first-order rounding bound: measured on the solutions of
# scipy.optimize.nnls for blur, peak-library, Hilbert and SVD-built matrices (cond up
# to 1e19), the projected gradient stays within 3x of the unscaled bound.
FLOOR_FACTOR = 8.0


def projected_gradient(x, g):
    """``g`` where ``x > 0``, ``min(g, 0)`` where ``x == 0`` (the KKT residual vector)."""
    return np.where(x > 0, g, np.minimum(g, 0.0))


def kkt_residual(x, g, atb_norm):
    """Relative KKT residual ``||P(g)||_2 / ||A^T b||_2``, per right-hand side."""
    num = np.linalg.norm(projected_gradient(x, g), axis=0)
    return num / np.maximum(atb_norm, _TINY)


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
            from ..models.linear import LinearModel, lipschitz_estimate

            norm = np.sqrt(lipschitz_estimate(LinearModel(A, np.zeros(A.shape[0]))))
        n = max(A.shape[1], 1)
        level = norm * (norm * np.linalg.norm(x, axis=0) + np.linalg.norm(b, axis=0))
        return np.broadcast_to(FLOOR_FACTOR * _EPS * level / np.sqrt(n), x.shape).copy()
    absA = abs(A) if sp.issparse(A) else np.abs(A)
    return FLOOR_FACTOR * _EPS * (absA.T @ (absA @ x + np.abs(b)))


def excess_residual(x, g, floor, atb_norm):
    """``||max(|P(g)| - floor, 0)|| / ||A^T b||``: the residual beyond rounding."""
    over = np.maximum(np.abs(projected_gradient(x, g)) - floor, 0.0)
    return np.linalg.norm(over, axis=0) / np.maximum(atb_norm, _TINY)


def check(A, b, x, tol, *, g=None, atb_norm=None, norm=None):
    """Certify ``x`` for ``min_{x >= 0} ||A x - b||``, from the data alone.

    Returns ``(optimality, ok)``: the relative KKT residual, and whether it is below
    `tol` or its part above the rounding level (:func:`gradient_floor`) is. Nothing of
    the solver that produced ``x`` is used.

    Examples
    --------
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
