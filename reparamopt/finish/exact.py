"""The exact finish of NNLS for a :class:`~reparamopt.models.linear.LinearModel`."""

import numpy as np

from .active_set import active_set
from .lawson_hanson import lawson_hanson
from .least_squares import SupportLeastSquares

__all__ = ["exact_finish", "dual_tolerance", "STRATEGIES"]

_TINY = np.finfo(float).tiny


def dual_tolerance(model, X):
    """Per-entry dual tolerance of the finish: the rounding level of the gradient at `X`.

    An index outside the passive set violates the KKT conditions when its gradient is
    below ``-thr``. A smaller violation cannot be told from zero; any larger one is
    priced, whatever the requested `tol`, because on ill-conditioned data a gradient
    entry far below ``tol ||A^T b||`` can still hide a large decrease of the objective
    (its column points into a direction of tiny singular value). The finish is exact;
    `tol` is what the result is certified against.
    """
    return model.floor(X)


STRATEGIES = ("blocks", "conservative", "lawson-hanson")
"""The finish strategies of :func:`exact_finish`."""


def exact_finish(model, X0, support, *, tol, max_solves=None, gram=True, inverse=None,
                 strategy="blocks"):
    """Solve every right-hand side of `model` exactly from the warm starts `X0`.

    Parameters
    ----------
    model : LinearModel
    X0 : ndarray, shape (n, k)
        Non-negative starting points.
    support : ndarray of bool, shape (n, k)
        Initial passive sets.
    tol : float
        The relative KKT target of the caller (the finish itself prices exactly, see
        :func:`dual_tolerance`).
    max_solves : int, optional
        Bound on the least-squares solves (pricing rounds for Lawson and Hanson's
        method) per right-hand side (default ``3 n + 50``, that method's own bound).
    gram : bool, default True
        Use the Gram matrix of `model` (if it has one) rather than column blocks.
    inverse : tuple, optional
        ``((A^T A)^{-1}, unconstrained solutions)`` of a well-conditioned ``A``
        (see :class:`~.least_squares.SupportLeastSquares`).
    strategy : {"blocks", "conservative", "lawson-hanson"}, default "blocks"
        "blocks": the monotone block active set of :func:`.active_set` for every
        right-hand side at once, handing those whose passive sets turn out
        ill-conditioned to Lawson and Hanson's method on an updated QR. "conservative":
        Lawson and Hanson's method with single exchanges from the warm start, the
        finish of the paper's dynamics, which keeps the solution they select rather
        than jumping to another of the many a wide problem has. "lawson-hanson": that
        method with block entries, for dense ill-conditioned data whose support has to
        be found from scratch.

    Returns
    -------
    X : ndarray, shape (n, k)
    converged : ndarray of bool, shape (k,)
    nsolves : ndarray of int, shape (k,)
    nfallback : int
        Factorizations that needed the pivoted QR (ill-conditioned passive sets).
    """
    n, k = model.n, X0.shape[1]
    B, ATB = _as2d(model.b), _as2d(model.atb)
    thr = dual_tolerance(model, X0)
    ls = SupportLeastSquares(model, B, ATB, model.norms, gram=gram, inverse=inverse,
                             cg_tol=0.01 * max(tol, 1e-14))
    if ls.cg:
        # least squares solved by conjugate gradients are exact only to their
        # tolerance: the pricing must not chase the gradients that leaves behind
        scale = np.atleast_1d(model.atb_norm) / np.sqrt(max(n, 1))
        thr = np.maximum(thr, 0.1 * tol * scale[None, :])
    max_solves = 3 * n + 50 if max_solves is None else int(max_solves)
    # Lawson and Hanson's method needs the columns themselves (not an operator)
    columns = model.kind != "operator" and not ls.cg
    if strategy == "blocks" or not columns:
        X, converged, nsolves = active_set(ls, X0, support, thr, max_solves=max_solves,
                                           room=model.m, handover=columns,
                                           conservative=strategy == "conservative")
        todo = np.flatnonzero(ls.ill | ~converged) if columns else np.zeros(0, int)
        start = X > 0
    else:
        X, converged, nsolves = X0.copy(), np.zeros(k, bool), np.zeros(k, int)
        todo = np.arange(k)
        start = support & (X0 > 0)
    for j in todo:
        X[:, j], converged[j], nit = lawson_hanson(ls, X[:, j], start[:, j], j,
                                                   max_iter=max_solves,
                                                   block=strategy == "lawson-hanson")
        nsolves[j] += nit
    return X, converged, nsolves, ls.nfallback


def _as2d(v):
    return v[:, None] if v.ndim == 1 else v


def _as1d(v):
    return np.atleast_1d(v)
