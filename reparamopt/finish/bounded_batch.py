r"""The bounded active set of :mod:`.bounded` for many right-hand sides at once.

All right-hand sides advance in lockstep (in chunks of :data:`_CHUNK`) on the Gram
matrix ``H = M^T M`` and ``C = M^T D - q``: each round solves the free systems of every
column together (batched products with the inverse Cholesky factors of the free
blocks, padded to the largest free set and kept from round to round: a row appended
when a variable enters, the block factored afresh when one leaves; bordered by the
equality's multiplier as in :mod:`.bounded`), moves each column towards its free
solution until a free variable reaches a bound, and lets the most violating variable
of each column enter. The cost per round is a few products with ``H`` for all columns,
instead of a Python loop over them.

The normal equations lose digits on ill-conditioned free sets, so a block is trusted
only when every Cholesky pivot keeps a sine of at least
:data:`~.least_squares.RHO_CHOLESKY` to the span of the columns before it (the test of
the NNLS finish; checked on every appended pivot and every fresh factorization); a
column that fails, or does not end within the rounds allowed, stops
here and is handed back, feasible and never worse than its start, for the QR-based
finish of :func:`.bounded.bounded_active_set`.
"""

import numpy as np
import scipy.sparse as sp

from .least_squares import RHO_CHOLESKY

__all__ = ["bounded_batch", "pivoting_start"]

_EPS = np.finfo(float).eps

# Width of the groups of free-set sizes solved together (by :func:`pivoting_start`).
_GROUP = 8

# Right-hand sides advanced in lockstep at a time: bounds the padded factors in memory
# (unmixing, 2000 pixels: 3.8 s in chunks of 128, 2.7 s of 512, 3.0 s of 2000).
_CHUNK = 512


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
    X = np.array(X, dtype=float)
    k = X.shape[1]
    done, nit = np.zeros(k, bool), np.zeros(k, int)
    for first in range(0, k, _CHUNK):
        part = slice(first, first + _CHUNK)
        X[:, part], done[part], nit[part] = _lockstep(H, C[:, part], lower, upper, X[:, part],
                                                      weights, total, max_iter)
    return X, done, nit


def _lockstep(H, C, lower, upper, X, weights, total, max_iter):
    """:func:`bounded_batch` on one chunk of right-hand sides."""
    n, k = C.shape
    lo, hi = lower[:, None], upper[:, None]
    F = (X > lo) & (X < hi)
    factors = _Cholesky(H, k)
    aside = np.zeros((n, k), bool)
    live = factors.rebuild(np.arange(k), F)
    done = np.zeros(k, bool)
    nit = np.zeros(k, int)
    top_H, absC = np.abs(H).max(axis=1), np.abs(C)
    for _ in range(max_iter):
        cols = np.flatnonzero(live)
        if cols.size == 0:
            break
        nit[cols] += 1
        Xc, Fc = X[:, cols], F[:, cols]
        before = Xc.copy()
        Xc, Fc, mu, trusted = _settle(factors, C[:, cols], cols, lo, hi, Xc, Fc, weights,
                                      total)
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
        # an entering column (nearly) in the span of the free ones: the column is handed
        # back to the QR-based finish
        independent = factors.append(cols[which], j[which])
        live[cols[which[~independent]]] = False
        which = which[independent]
        Fc[j[which], which] = True
        # an entering variable that the last round could not move is set aside until
        # the column moves again (Lawson and Hanson's guard against cycling)
        stuck = which[~changed[which]]
        aside[j[stuck], cols[stuck]] = True
        X[:, cols], F[:, cols] = Xc, Fc
    return X, done, nit


def _settle(factors, C, cols, lo, hi, X, F, weights, total):
    """Move every column towards its free solution until it lies within the bounds;
    ``(X, F, mu, trusted)``, ``trusted`` False for columns whose free block failed the
    sine test after a variable left (left where they were)."""
    k = X.shape[1]
    mu = np.zeros(k)
    trusted = np.ones(k, bool)
    todo = np.ones(k, bool)
    while todo.any():
        sel = np.flatnonzero(todo)
        Z, mu[sel] = _factored_solutions(factors, C[:, sel], cols[sel], X[:, sel], F[:, sel],
                                         weights, total)
        out = F[:, sel] & ((Z < lo) | (Z > hi))
        inside = ~out.any(axis=0)
        accept = sel[inside]
        X[:, accept] = np.where(F[:, accept], Z[:, inside], X[:, accept])
        todo[accept] = False
        step = np.flatnonzero(~inside)
        if step.size:
            moved = sel[step]
            X[:, moved], F[:, moved] = _step(X[:, moved], Z[:, step], F[:, moved],
                                             out[:, step], lo, hi)
            failed = moved[~factors.rebuild(cols[moved], F[:, moved])]
            trusted[failed] = todo[failed] = False
    return X, F, mu, trusted


def _factored_solutions(factors, C, cols, X, F, weights, total):
    """The free solutions of the columns `cols` of `factors` and their multipliers."""
    fixed = np.where(F, 0.0, X)
    S, order, valid = factors.solve(cols, C - _times(factors.H, fixed), weights)
    z = S[:, :, 0]
    mu = np.zeros(cols.size)
    if weights is not None:
        e, y = np.where(valid, weights[order], 0.0), S[:, :, 1]
        denom = np.sum(e * y, axis=1)
        mu = np.divide(np.sum(e * z, axis=1) - (total - weights @ fixed), denom,
                       out=mu, where=denom > 0)
        z = z - mu[:, None] * y
    Z = X.copy()
    col, slot = np.nonzero(valid)
    Z[order[col, slot], col] = z[col, slot]
    return Z, mu


class _Cholesky:
    """Inverse Cholesky factors ``L^{-1}`` (``L L^T = H_FF``) of the free blocks of every
    column, padded to a common size (identity beyond each column's free count). A
    variable that enters appends a row (a batched product; its pivot gives the sine
    test); a column whose variables leave is factored afresh; a free solve is two
    batched products. (Updating the explicit inverse ``H_FF^{-1}`` instead, for cheaper
    removals, loses the pivots' digits on these blocks: measured, it cycles.)"""

    def __init__(self, H, k):
        self.H = H
        self.diag = np.sqrt(np.maximum(np.diag(H), np.finfo(float).tiny))
        self.order = np.zeros((k, 0), int)
        self.count = np.zeros(k, int)
        self.inverse = np.zeros((k, 0, 0))

    def _room(self, p):
        """Make the padded size at least `p` (doubling, at most ``n``)."""
        size = self.order.shape[1]
        if p <= size:
            return
        new = min(max(p, 2 * size, 8), self.H.shape[0])
        k = self.count.size
        order = np.zeros((k, new), int)
        order[:, :size] = self.order
        inverse = np.tile(np.eye(new), (k, 1, 1))
        inverse[:, :size, :size] = self.inverse
        self.order, self.inverse = order, inverse

    def rebuild(self, cols, F):
        """Factor afresh the blocks of the columns `cols` with free masks `F` (n x
        len(cols)); return which pass the sine test."""
        counts = F.sum(axis=0)
        q = max(int(counts.max(initial=0)), 1)
        self._room(q)
        col, row = np.nonzero(F.T)
        slot = np.arange(col.size) - np.repeat(np.cumsum(counts) - counts, counts)
        order = np.zeros((cols.size, q), int)
        order[col, slot] = row
        valid = np.arange(q) < counts[:, None]
        Hs = self.H[order[:, :, None], order[:, None, :]]
        Hs *= valid[:, :, None] & valid[:, None, :]
        pad = np.arange(q)
        Hs[:, pad, pad] += ~valid
        L, ok = _cholesky(Hs, valid, self.diag[order])
        L[~ok] = np.eye(q)  # untrusted columns leave the lockstep; keep the inverse finite
        size = self.order.shape[1]
        block = np.tile(np.eye(size), (cols.size, 1, 1))
        block[:, :q, :q] = _lower_inverse(L)
        self.inverse[cols] = block
        self.order[cols] = 0
        self.order[cols, :q] = order
        self.count[cols] = counts
        return ok

    def append(self, cols, j):
        """Append variable ``j[i]`` to column ``cols[i]``; return which passed the sine
        test (the others are left unchanged)."""
        if cols.size == 0:
            return np.ones(0, bool)
        c = self.count[cols]
        q = max(int(c.max()), 1)
        self._room(q + 1)
        valid = np.arange(q) < c[:, None]
        h = np.where(valid, self.H[self.order[cols, :q], j[:, None]], 0.0)
        inverse = self.inverse[cols, :q, :q]
        row = np.matmul(inverse, h[:, :, None])[:, :, 0]
        pivot = self.H[j, j] - np.sum(row * row, axis=1)
        ok = np.sqrt(np.maximum(pivot, 0.0)) >= RHO_CHOLESKY * self.diag[j]
        sel, c, d = cols[ok], c[ok], np.sqrt(pivot[ok])
        # the new last row of L^{-1}: [-row^T L^{-1} / d, 1 / d]
        self.inverse[sel, c, :q] = -np.matmul(row[ok, None, :], inverse[ok])[:, 0] / d[:, None]
        self.inverse[sel, c, c] = 1.0 / d
        self.order[sel, c] = j[ok]
        self.count[sel] += 1
        return ok

    def solve(self, cols, rhs, weights):
        """``H_FF^{-1}`` times the free entries of `rhs` (n x len(cols)), and of
        `weights` as a second right-hand side; ``(S, order, valid)`` padded."""
        c = self.count[cols]
        q = max(int(c.max(initial=0)), 1)
        order = self.order[cols, :q]
        valid = np.arange(q) < c[:, None]
        B = np.where(valid, np.take_along_axis(rhs.T, order, axis=1), 0.0)[:, :, None]
        if weights is not None:
            B = np.concatenate([B, np.where(valid, weights[order], 0.0)[:, :, None]], axis=2)
        inverse = self.inverse[cols, :q, :q]
        return np.matmul(inverse.transpose(0, 2, 1), np.matmul(inverse, B)), order, valid


def _lower_inverse(L):
    """The inverses of a batch of lower-triangular matrices, by halves (batched products
    instead of a general inverse per matrix)."""
    q = L.shape[1]
    if q <= 4:
        return np.linalg.inv(L)
    h = q // 2
    top, bottom = _lower_inverse(L[:, :h, :h]), _lower_inverse(L[:, h:, h:])
    out = np.zeros_like(L)
    out[:, :h, :h], out[:, h:, h:] = top, bottom
    out[:, h:, :h] = -np.matmul(bottom, np.matmul(L[:, h:, :h], top))
    return out


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
    ``(Z, mu, ok)`` with ``ok`` False where the sine test failed. Columns are solved in
    groups of similar free-set sizes, so that few pay for the padding to the largest
    (measured on unmixing: 1.3x faster than one group)."""
    sizes = (F.sum(axis=0) + _GROUP - 1) // _GROUP
    groups = np.unique(sizes)
    if groups.size == 1:
        return _padded_solutions(H, C, X, F, weights, total, diag)
    Z, mu, ok = X.copy(), np.zeros(X.shape[1]), np.ones(X.shape[1], bool)
    for size in groups:
        sel = np.flatnonzero(sizes == size)
        Z[:, sel], mu[sel], ok[sel] = _padded_solutions(H, C[:, sel], X[:, sel], F[:, sel],
                                                        weights, total, diag)
    return Z, mu, ok


def _padded_solutions(H, C, X, F, weights, total, diag):
    """:func:`_free_solutions` of columns padded to the largest free set among them."""
    k = X.shape[1]
    counts = F.sum(axis=0)
    p = max(int(counts.max(initial=0)), 1)
    # the free entries column by column, each at its slot in the padded block
    col, row = np.nonzero(F.T)
    slot = np.arange(col.size) - np.repeat(np.cumsum(counts) - counts, counts)
    order = np.zeros((k, p), int)
    order[col, slot] = row
    valid = np.zeros((k, p), bool)
    valid[col, slot] = True
    Hs = H[order[:, :, None], order[:, None, :]]
    Hs *= valid[:, :, None] & valid[:, None, :]
    pad = np.arange(p)
    Hs[:, pad, pad] += ~valid  # padding: identity rows with a zero right-hand side
    fixed = np.where(F, 0.0, X)
    rhs = np.zeros((k, p))
    rhs[col, slot] = (C - _times(H, fixed))[row, col]
    ok = _cholesky(Hs, valid, diag[order])[1]
    Z = X.copy()
    mu = np.zeros(k)
    if not ok.any():
        return Z, mu, ok
    sel = np.flatnonzero(ok)
    if weights is None:
        z = np.linalg.solve(Hs[sel], rhs[sel, :, None])[:, :, 0]
    else:
        e = np.where(valid[sel], weights[order[sel]], 0.0)
        both = np.linalg.solve(Hs[sel], np.stack([rhs[sel], e], axis=2))
        z, y = both[:, :, 0], both[:, :, 1]
        outside = weights @ fixed[:, sel]
        denom = np.sum(e * y, axis=1)
        m = np.divide(np.sum(e * z, axis=1) - (total - outside), denom,
                      out=np.zeros(sel.size), where=denom > 0)
        z = z - m[:, None] * y
        mu[sel] = m
    solved = np.zeros((k, p))
    solved[sel] = z
    keep = ok[col]
    Z[row[keep], col[keep]] = solved[col[keep], slot[keep]]
    return Z, mu, ok


def _times(H, X):
    """``H @ X``, through a sparse ``X`` when most of its entries are zero (points at
    zero bounds, and their fixed parts)."""
    nonzero = np.count_nonzero(X)
    if nonzero == 0:
        return np.zeros((H.shape[0], X.shape[1]))
    if nonzero * 4 < X.size:
        return np.asarray((sp.csc_array(X).T @ H).T)
    return H @ X


def _cholesky(Hs, valid, norms):
    """The Cholesky factors of the padded blocks and which of them have all their pivots
    keep a sine of :data:`RHO_CHOLESKY` (relative to the column norms)."""
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
    return L, ok & np.all(sines >= RHO_CHOLESKY, axis=1)


def pivoting_start(H, C, lower, upper, X, *, weights=None, total=None, rounds=12):
    """Feasible starting points for :func:`bounded_batch` from block exchanges.

    The primal-dual active set method (a semismooth Newton method: Hintermueller, Ito
    and Kunisch, 2002) guesses each column's bound sets from the scaled gradient step
    ``y = x - w / diag(H)`` (``w`` the reduced gradient), solves the free system on the
    rest, and repeats until the sets stop changing, typically in a few rounds where the
    single exchanges of :func:`bounded_batch` would take one round per variable. It can
    cycle, and its solves are not trusted on ill-conditioned free sets: a column whose
    sets have not settled after `rounds` (or that met an untrusted solve) keeps its
    start `X`. The settled points are made feasible (clipped to the bounds and, with
    the sum, shifted to it along the bounds), so that the exact method starts from them.
    Returns the points and which columns settled.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.finish.bounded_batch import pivoting_start
    >>> H, C = np.eye(3), np.array([[0.9], [0.5], [-0.2]])
    >>> X, settled = pivoting_start(H, C, np.zeros(3), np.full(3, np.inf), np.zeros((3, 1)),
    ...                             weights=np.ones(3), total=1.0)
    >>> X.ravel(), settled
    (array([0.7, 0.3, 0. ]), array([ True]))
    """
    lo, hi = lower[:, None], upper[:, None]
    d = np.maximum(np.diag(H), np.finfo(float).tiny)[:, None]
    start = X
    X = np.array(X, dtype=float)
    F = (X > lo) & (X < hi)
    diag = np.sqrt(d[:, 0])
    Z, mu, ok = _free_solutions(H, C, X, F, weights, total, diag)
    X[:, ok] = Z[:, ok]
    live = ok.copy()
    done = np.zeros(X.shape[1], bool)
    for _ in range(rounds):
        cols = np.flatnonzero(live)
        if cols.size == 0:
            break
        Xc = X[:, cols]
        W = _times(H, Xc) - C[:, cols]
        if weights is not None:
            W += mu[cols] * weights[:, None]
        Y = Xc - W / d
        low, up = Y <= lo, Y >= hi
        Fn = ~(low | up)
        Xn = np.where(low, lo, np.where(up, hi, Xc))
        settled = np.all((Fn == F[:, cols]) & ((Xn == Xc) | Fn), axis=0)
        live[cols[settled]] = False
        done[cols[settled]] = True
        move = ~settled
        Z, m, ok = _free_solutions(H, C[:, cols[move]], Xn[:, move], Fn[:, move], weights,
                                   total, diag)
        good = cols[move][ok]
        X[:, good], F[:, good], mu[good] = Z[:, ok], Fn[:, move][:, ok], m[ok]
        live[cols[move][~ok]] = False
    return np.where(done, _feasible(X, lower, upper, weights, total), start), done


def _feasible(X, lower, upper, weights, total):
    """`X` clipped to the bounds and, with the sum (weights of one), shifted by one
    constant per column (found by bisection) so that ``sum(clip(x - t)) = total``."""
    lo, hi = lower[:, None], upper[:, None]
    clipped = np.clip(X, lo, hi)
    if weights is None:
        return clipped
    close = np.abs(clipped.sum(axis=0) - total) <= 64 * _EPS * (abs(total)
                                                               + np.abs(clipped).sum(axis=0))
    if close.all():
        return clipped
    left = np.min(X - np.where(np.isfinite(hi), hi, X), axis=0) - abs(total) - 1.0
    right = np.max(X - np.where(np.isfinite(lo), lo, X), axis=0) + abs(total) + 1.0
    for _ in range(200):
        middle = 0.5 * (left + right)
        over = np.clip(X - middle, lo, hi).sum(axis=0) > total
        left, right = np.where(over, middle, left), np.where(over, right, middle)
    Y = np.clip(X - 0.5 * (left + right), lo, hi)
    # the last rounding: put the remaining gap on the entry with the most room
    gap = total - Y.sum(axis=0)
    room = np.where(gap > 0, hi - Y, Y - lo)
    i = np.argmax(room, axis=0)
    Y[i, np.arange(Y.shape[1])] += gap
    return np.where(close, clipped, np.clip(Y, lo, hi))
