r"""The bounded active set of :mod:`.bounded` for many right-hand sides at once.

All right-hand sides advance in lockstep on the Gram matrix ``H = M^T M`` and
``C = M^T D - q``: each round solves the free systems of every column together
(one batched Cholesky and LU solve of the free blocks, padded to the largest free set,
bordered by the equality's multiplier as in :mod:`.bounded`), moves each column
towards its free solution until a free variable reaches a bound, and lets the most
violating variable of each column enter. The cost per round is a few products with
``H`` for all columns, instead of a Python loop over them.

The normal equations lose digits on ill-conditioned free sets, so a block is trusted
only when every Cholesky pivot keeps a sine of at least
:data:`~.least_squares.RHO_CHOLESKY` to the span of the columns before it (the test of
the NNLS finish); a column that fails, or does not end within the rounds allowed, stops
here and is handed back, feasible and never worse than its start, for the QR-based
finish of :func:`.bounded.bounded_active_set`.
"""

import numpy as np
import scipy.sparse as sp

from .least_squares import RHO_CHOLESKY

__all__ = ["bounded_batch"]

_EPS = np.finfo(float).eps

BLOCK = 0.1


def bounded_batch(H, C, lower, upper, X, *, weights=None, total=None, max_iter):
    """Solve ``min x^T H x / 2 - c^T x`` over the box (and ``e^T x = s``) for every column
    ``c`` of `C`, from the feasible columns of `X`.

    Parameters
    ----------
    H : ndarray, shape (n, n)
        The Gram matrix ``M^T M``.
    C : ndarray, shape (n, k)
        ``M^T D - q``.
    lower, upper : ndarray, shape (n,)
    X : ndarray, shape (n, k)
        Feasible starts; variables strictly inside their bounds start free.
    weights, total : optional
        The equality ``e^T x = s``.
    max_iter : int
        Bound on the rounds.

    Returns
    -------
    X : ndarray, shape (n, k)
        Feasible points.
    done : ndarray of bool, shape (k,)
        The columns whose active set ended (no variable left to enter) on trusted
        factorizations; the others are for :func:`.bounded.bounded_active_set`.
    nit : ndarray of int, shape (k,)
        The rounds of each column.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.finish.bounded_batch import bounded_batch
    >>> H, C = np.eye(2), np.array([[2.0, 0.5], [-1.0, 0.2]])
    >>> X, done, nit = bounded_batch(H, C, np.zeros(2), np.ones(2), np.zeros((2, 2)),
    ...                              max_iter=10)
    >>> X, done
    (array([[1. , 0.5],
           [0. , 0.2]]), array([ True,  True]))
    """
    n, k = C.shape
    lo, hi = lower[:, None], upper[:, None]
    X = np.array(X, dtype=float)
    F = (X > lo) & (X < hi)
    aside = np.zeros((n, k), bool)
    live = np.ones(k, bool)
    done = np.zeros(k, bool)
    nit = np.zeros(k, int)
    top_H, absC = np.abs(H).max(axis=1), np.abs(C)
    diag = np.sqrt(np.maximum(np.diag(H), np.finfo(float).tiny))
    for _ in range(max_iter):
        cols = np.flatnonzero(live)
        if cols.size == 0:
            break
        nit[cols] += 1
        Xc, Fc = X[:, cols], F[:, cols]
        before = Xc.copy()
        Xc, Fc, mu, trusted = _settle(H, C[:, cols], lo, hi, Xc, Fc, weights, total, diag)
        live[cols[~trusted]] = False
        W = _times(H, Xc) - C[:, cols]
        if weights is not None:
            W += mu * weights[:, None]
        # a bound on the rounding level of W: 8 eps (|H| |x| + |c|) <= 8 eps (max|H| |x|_1 + |c|)
        floor = 8 * _EPS * (top_H[:, None] * np.abs(Xc).sum(axis=0) + absC[:, cols])
        changed = np.any(Xc != before, axis=0)
        aside[:, cols[changed]] = False
        movable = ~Fc & ~aside[:, cols]
        violation = np.maximum(np.where(movable & (Xc < hi), -W - floor, 0.0),
                               np.where(movable & (Xc > lo), W - floor, 0.0))
        j = np.argmax(violation, axis=0)
        top = violation[j, np.arange(cols.size)]
        entering = top > 0
        finished = ~entering & trusted
        done[cols[finished]] = True
        live[cols[finished]] = False
        which = np.flatnonzero(entering & trusted)
        Fc[j[which], which] = True
        # an entering variable that the last round could not move is set aside until
        # the column moves again (Lawson and Hanson's guard against cycling)
        stuck = which[~changed[which]]
        aside[j[stuck], cols[stuck]] = True
        X[:, cols], F[:, cols] = Xc, Fc
    return X, done, nit


def _settle(H, C, lo, hi, X, F, weights, total, diag):
    """Move every column towards its free solution until it lies within the bounds;
    ``(X, F, mu, trusted)``, ``trusted`` False for columns whose free block failed the
    sine test (left where they were)."""
    k = X.shape[1]
    mu = np.zeros(k)
    trusted = np.ones(k, bool)
    todo = np.ones(k, bool)
    while todo.any():
        cols = np.flatnonzero(todo)
        Z, m, ok = _free_solutions(H, C[:, cols], X[:, cols], F[:, cols], weights, total, diag)
        trusted[cols[~ok]] = False
        todo[cols[~ok]] = False
        mu[cols] = m
        Fc = F[:, cols]
        out = Fc & ((Z < lo) | (Z > hi)) & ok
        inside = ~out.any(axis=0) & ok
        accept = cols[inside]
        X[:, accept] = np.where(F[:, accept], Z[:, inside], X[:, accept])
        todo[accept] = False
        step = np.flatnonzero(out.any(axis=0))
        if step.size:
            X[:, cols[step]], F[:, cols[step]] = _step(X[:, cols[step]], Z[:, step],
                                                       Fc[:, step], out[:, step], lo, hi)
    return X, F, mu, trusted


def _step(X, Z, F, out, lo, hi):
    """Move each column from `X` towards `Z` until its first free variable meets a bound;
    that one leaves the free set."""
    D = Z - X
    target = np.where(D > 0, hi, lo)
    safe = out & (D != 0)
    ratio = np.divide(target - X, D, out=np.full(X.shape, np.inf), where=safe)
    alpha = np.clip(ratio.min(axis=0), 0.0, 1.0)
    X = np.where(F, np.clip(X + alpha * D, lo, hi), X)
    leave = safe & (ratio <= alpha)
    X = np.where(leave, target, X)
    return X, F & ~leave


def _free_solutions(H, C, X, F, weights, total, diag):
    """The free solutions of the columns (padded batched solves) and their multipliers;
    ``(Z, mu, ok)`` with ``ok`` False where the sine test failed."""
    n, k = X.shape
    counts = F.sum(axis=0)
    p = max(int(counts.max(initial=0)), 1)
    order = np.argsort(~F, axis=0, kind="stable")[:p].T  # free indices first, per column
    valid = np.arange(p)[None, :] < counts[:, None]
    Hs = H[order[:, :, None], order[:, None, :]]
    pair = valid[:, :, None] & valid[:, None, :]
    Hs = np.where(pair, Hs, 0.0) + np.where(valid, 0.0, 1.0)[:, :, None] * np.eye(p)
    rhs_full = C - _times(H, np.where(F, 0.0, X))
    cols = np.arange(k)[:, None]
    rhs = np.where(valid, rhs_full[order, cols], 0.0)
    ok = _trusted(Hs, valid, diag[order])
    Z = X.copy()
    mu = np.zeros(k)
    if not ok.any():
        return Z, mu, ok
    Hs, rhs, sel = Hs[ok], rhs[ok], np.flatnonzero(ok)
    if weights is None:
        z = np.linalg.solve(Hs, rhs[:, :, None])[:, :, 0]
    else:
        e = np.where(valid[ok], weights[order[ok]], 0.0)
        both = np.linalg.solve(Hs, np.stack([rhs, e], axis=2))
        z, y = both[:, :, 0], both[:, :, 1]
        fixed = np.sum(np.where(F, 0.0, X) * weights[:, None], axis=0)[sel]
        denom = np.sum(e * y, axis=1)
        m = np.divide(np.sum(e * z, axis=1) - (total - fixed), denom,
                      out=np.zeros(sel.size), where=denom > 0)
        z = z - m[:, None] * y
        mu[sel] = m
    Z[order[ok][valid[ok]], np.repeat(sel, counts[sel])] = z[valid[ok]]
    return Z, mu, ok


def _times(H, X):
    """``H @ X``, through a sparse ``X`` when most of its entries are zero (points at
    zero bounds, and their fixed parts)."""
    if np.count_nonzero(X) * 4 < X.size:
        return np.asarray((sp.csc_array(X).T @ H).T)
    return H @ X


def _trusted(Hs, valid, norms):
    """Which padded blocks have a Cholesky factor whose pivots all keep a sine of
    :data:`RHO_CHOLESKY` (relative to the column norms)."""
    k = Hs.shape[0]
    ok = np.ones(k, bool)
    try:
        L = np.linalg.cholesky(Hs)
    except np.linalg.LinAlgError:
        L = np.zeros_like(Hs)
        for i in range(k):
            try:
                L[i] = np.linalg.cholesky(Hs[i])
            except np.linalg.LinAlgError:
                ok[i] = False
    sines = np.abs(np.diagonal(L, axis1=1, axis2=2)) / np.where(valid, norms, 1.0)
    return ok & np.all(sines >= RHO_CHOLESKY, axis=1)
