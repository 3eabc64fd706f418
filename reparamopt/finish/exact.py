"""The exact finish of NNLS for a :class:`~reparamopt._nnls_core.LinearModel`."""

import numpy as np

from .active_set import active_set
from .least_squares import SupportLeastSquares

__all__ = ["exact_finish", "dual_tolerance"]

_TINY = np.finfo(float).tiny


def dual_tolerance(model, X, tol):
    """Per-entry dual tolerance of the finish for the right-hand sides of `model`.

    An index outside the passive set violates the KKT conditions when its gradient is
    below ``-thr``. ``thr`` is the larger of the rounding level of the gradient at `X`
    (a smaller violation cannot be told from zero) and a tenth of `tol` spread over the
    entries, on the scale of the data and of the column-equilibrated problem whichever
    is smaller, so that neither large nor tiny columns are left unpriced.
    """
    n = model.n
    atb = _as2d(model.atb)
    norms = model.norms
    safe = np.where(norms > 0, norms, 1.0)
    plain = _as1d(model.atb_norm)
    equilibrated = np.linalg.norm(atb / safe[:, None], axis=0)
    scale = np.minimum(plain[None, :], norms[:, None] * equilibrated[None, :])
    return np.maximum(model.floor(X), 0.1 * tol * scale / np.sqrt(max(n, 1)))


def exact_finish(model, X0, support, *, tol, max_solves=None):
    """Solve every right-hand side of `model` exactly from the warm starts `X0`.

    Parameters
    ----------
    model : LinearModel
    X0 : ndarray, shape (n, k)
        Non-negative starting points.
    support : ndarray of bool, shape (n, k)
        Initial passive sets.
    tol : float
        The relative KKT target (see :func:`dual_tolerance`).
    max_solves : int, optional
        Bound on the least-squares solves per right-hand side (default
        ``3 n + 50``, the bound of Lawson and Hanson's method).

    Returns
    -------
    X : ndarray, shape (n, k)
    converged : ndarray of bool, shape (k,)
    nsolves : ndarray of int, shape (k,)
    nfallback : int
        Factorizations that needed the pivoted QR (ill-conditioned passive sets).
    """
    n = model.n
    B, ATB = _as2d(model.b), _as2d(model.atb)
    thr = dual_tolerance(model, X0, tol)
    ls = SupportLeastSquares(model, B, ATB, model.norms)
    max_solves = 3 * n + 50 if max_solves is None else int(max_solves)
    X, converged, nsolves = active_set(ls, X0, support, thr, max_solves=max_solves, room=model.m)
    return X, converged, nsolves, ls.nfallback


def _as2d(v):
    return v[:, None] if v.ndim == 1 else v


def _as1d(v):
    return np.atleast_1d(v)
