r"""The exact NNLS finish: a monotone active-set method, warm-started, for many right-hand sides.

Each right-hand side keeps a feasible iterate and a passive set ``F``, and no step raises
its objective. One round:

1. *Settle*: solve the least squares on ``F``
   (:class:`~reparamopt.finish.least_squares.SupportLeastSquares`). A positive solution
   is taken. Otherwise a projected point on the segment towards it is taken if it
   lowers the objective below the step of Lawson and Hanson (a block exchange, as in
   block principal pivoting), or else that step itself: the iterate moves towards the
   solution until an entry reaches zero, and that index leaves ``F``. Repeat until the
   solution is positive.
2. *Price*: indices outside ``F`` whose gradient is below ``-thr`` violate the KKT
   conditions. None: done. Otherwise the most violating ones (by the gradient of the
   column-equilibrated problem, no two nearly parallel) enter ``F``.

Block entries make the method fast from a good support guess; when a round fails to
lower the objective the block shrinks, down to Lawson and Hanson's single entry, and
an index that cannot enter (it leaves at once, or is numerically dependent on ``F``)
is set aside until the objective drops again. The number of least-squares solves is
bounded, so the method always ends; the caller checks the result independently.

All right-hand sides advance in lockstep and the least squares of those that share a
passive set share one factorization, as in the fast combinatorial NNLS of Van Benthem
and Keenan (2004).
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["active_set", "spread"]

_EPS = np.finfo(float).eps

_SETTLE, _PRICE, _DONE, _STOPPED = 0, 1, 2, 3

# Entering indices of the first block when the warm start is empty or small.
_FIRST_BLOCK = 8

# Two entering columns whose cosine exceeds this are not taken in the same block: a
# block of nearly parallel columns (neighbours in a blur or a peak library) gives a
# least-squares solution of alternating signs that the exchange must then undo.
_MAX_COSINE = 0.9


def active_set(ls, X0, passive, thr, *, max_solves, room=None, handover=False,
               conservative=False):
    """Solve NNLS for the right-hand sides of `ls` from feasible warm starts.

    Parameters
    ----------
    ls : SupportLeastSquares
        The data: least squares on supports, gradients, quadratic forms, cosines.
    X0 : ndarray, shape (n, k)
        Non-negative starting points; entries outside `passive` are ignored.
    passive : ndarray of bool, shape (n, k)
        Initial passive sets.
    thr : ndarray, shape (n, k)
        Dual tolerance: an index outside ``F`` violates the KKT conditions when its
        gradient is below ``-thr``.
    max_solves : int
        Bound on the least-squares solves of each right-hand side.
    room : int, optional
        Largest useful passive set (the number of rows: more columns are dependent).
    handover : bool, default False
        Stop a right-hand side as soon as one of its passive sets needs the pivoted QR
        (``ls.ill``), for the caller to hand it to :func:`.lawson_hanson`.
    conservative : bool, default False
        Lawson and Hanson's steps only: single entries and no block exchange, so that
        the result stays the solution nearest the warm start along the way (the finish
        of the paper's dynamics, which must keep the solution they select).

    Returns
    -------
    X : ndarray, shape (n, k)
        Feasible points, each never worse than its start restricted to `passive`.
    converged : ndarray of bool, shape (k,)
        Whether no index outside ``F`` violates the dual tolerance, other than those
        set aside as unable to enter.
    nsolves : ndarray of int, shape (k,)
    """
    n, k = X0.shape
    usable = (ls.norms > 0)[:, None]
    scale = np.where(ls.norms > 0, ls.norms, 1.0)
    F = passive & usable
    X = np.where(F, np.maximum(X0, 0.0), 0.0)
    room = n if room is None else max(int(room), 1)
    phase = np.full(k, _SETTLE)
    # the first block is as large as the warm start (a few indices from scratch): a block
    # that fills the room at once makes a square system whose solution is noise
    batch = np.ones(k, int) if conservative else np.maximum(_FIRST_BLOCK, F.sum(axis=0))
    nsolves = np.zeros(k, int)
    aside = np.zeros((n, k), bool)
    entering = np.zeros((n, k), bool)
    X_round = X.copy()
    G_round = ls.gradient(X, np.arange(k))
    while True:
        S = np.flatnonzero(phase == _SETTLE)
        if S.size:
            nsolves[S] += 1
            X[:, S], F[:, S], done, aside_new, jumped = _settle_step(ls, X[:, S], F[:, S], S,
                                                                     not conservative)
            aside[:, S] |= aside_new
            J = S[jumped]
            if J.size:
                # a block exchange lowered f: the indices it shows violating enter at
                # once, as in block principal pivoting (an exchange that only moved to
                # the boundary waits for the least-squares point instead)
                Gj = ls.gradient(X[:, J], J)
                viol = ~F[:, J] & ~aside[:, J] & usable & (Gj < -thr[:, J])
                _enter(ls, F, viol, Gj, J, batch, room, scale)
            phase[S[done]] = _PRICE
            over = S[~done & (nsolves[S] >= max_solves)]
            phase[over] = _STOPPED
            if handover:
                # ill-conditioned passive sets: Lawson and Hanson's single exchanges on an
                # updated QR take over from the current point
                phase[S[ls.ill[S]]] = _STOPPED
        P = np.flatnonzero(phase == _PRICE)
        if P.size:
            Gr = ls.gradient(X[:, P], P)
            # f(x) - f(x_round) exactly, for a quadratic: half the step times the
            # summed gradients; progress when it exceeds its own rounding error
            dX = X[:, P] - X_round[:, P]
            decrease = -0.5 * np.sum(dX * (G_round[:, P] + Gr), axis=0)
            noise = 64 * _EPS * np.sum(np.abs(dX) * (np.abs(G_round[:, P]) + np.abs(Gr)), axis=0)
            progress = decrease > noise
            had = entering[:, P].any(axis=0)
            good, shrink = had & progress, had & ~progress & (batch[P] > 1)
            fail = had & ~progress & (batch[P] == 1)
            if not conservative:
                batch[P[good]] = np.minimum(2 * batch[P[good]], n)
            aside[:, P[good]] = False
            batch[P[shrink]] = np.maximum(1, batch[P[shrink]] // 4)
            aside[:, P[fail]] |= entering[:, P[fail]]
            viol = ~F[:, P] & ~aside[:, P] & usable & (Gr < -thr[:, P])
            none = ~viol.any(axis=0)
            phase[P[none]] = _DONE
            # a full passive set (as many independent columns as rows) interpolates b:
            # what still violates is the rounding of its normal equations, and an entry
            # would make the set dependent. The caller's orthogonal factorization
            # (Lawson and Hanson's method) takes over from there.
            stop = ~none & ((nsolves[P] >= max_solves) | (F[:, P].sum(axis=0) >= room))
            phase[P[stop]] = _STOPPED
            go = ~none & ~stop
            entering[:, P] = False
            entering[:, P[go]] = _enter(ls, F, viol[:, go], Gr[:, go], P[go], batch, room, scale)
            X_round[:, P] = X[:, P]
            G_round[:, P] = Gr
            phase[P[go]] = _SETTLE
        if not np.any((phase == _SETTLE) | (phase == _PRICE)):
            return X, phase == _DONE, nsolves


def _enter(ls, F, viol, G, cols, batch, room, scale):
    """Add to ``F[:, cols]`` up to ``batch`` violators of each column (most violating,
    spread); return the boolean mask of the entering indices."""
    entering = np.zeros(viol.shape, bool)
    for j in np.flatnonzero(viol.any(axis=0)):
        col = cols[j]
        cand = np.flatnonzero(viol[:, j])
        size = min(int(batch[col]), room - int(F[:, col].sum()))
        if size < 1:
            continue
        chosen = spread(ls, cand, G[cand, j] / scale[cand], size)
        entering[chosen, j] = True
        F[chosen, col] = True
    return entering


def _settle_step(ls, X, F, cols, jumps=True):
    """One least-squares solve and the monotone step it allows, for columns `cols`.

    Returns the new ``(X, F)``, which columns reached the (positive) least-squares point
    on their ``F``, the indices to set aside as numerically dependent, and which columns
    took a block exchange.
    """
    Z, kept = ls.solve(F, cols, X)
    dropped = F & ~kept
    aside = dropped & (X == 0)
    positive = ~np.any(kept & (Z <= 0), axis=0) & ~np.any(dropped & (X > 0), axis=0)
    X = X.copy()
    F = F.copy()
    X[:, positive] = np.where(kept[:, positive], Z[:, positive], 0.0)
    F[:, positive] &= kept[:, positive]
    rest = np.flatnonzero(~positive)
    jumped = np.zeros(F.shape[1], bool)
    if rest.size == 0:
        return X, F, positive, aside, jumped
    Xr, Zr, Fr, Kr = X[:, rest], Z[:, rest], F[:, rest].copy(), kept[:, rest]
    # Lawson-Hanson ratio test: the largest step towards z that stays feasible
    neg = Fr & (Zr <= 0)
    denom = Xr - Zr
    ratio = np.full(Xr.shape, np.inf)
    np.divide(Xr, denom, out=ratio, where=neg & (denom > 0))
    ratio[neg & ~(denom > 0)] = 0.0
    alpha = np.minimum(ratio.min(axis=0), 1.0)
    # projected points further along the segment, taken when they beat that step: with
    # z the minimizer on F, f(v) - f(z) = ||A_F (v - z)||^2 / 2 for every v on F, and
    # the Lawson-Hanson point has (1 - alpha)^2 times the value of x
    search = np.flatnonzero(~np.any(Fr & ~Kr, axis=0)) if jumps else np.zeros(0, int)
    hop = np.zeros(rest.size, bool)
    if search.size:
        V, ok = _projected_search(ls, Xr[:, search], Zr[:, search], Fr[:, search],
                                  alpha[search], cols[rest[search]])
        hit = search[ok]
        Xr[:, hit] = V[:, ok]
        Fr[:, hit] &= V[:, ok] > 0
        hop[hit] = True
    lh = np.flatnonzero(~hop)
    if lh.size:
        Xl, Zl, Fl, Nl = Xr[:, lh], Zr[:, lh], Fr[:, lh], neg[:, lh]
        a = alpha[lh]
        step = Xl + a * (Zl - Xl)
        # the blocking indices leave; an entering index still at zero whose target is
        # positive stays
        leave = Nl & ((ratio[:, lh] <= a) | (step <= 0))
        step = np.where(Fl & ~leave, np.maximum(step, 0.0), 0.0)
        Xr[:, lh] = step
        Fr[:, lh] = Fl & ~leave
    X[:, rest], F[:, rest] = Xr, Fr
    jumped[rest] = hop
    return X, F, positive, aside, jumped


_BETAS = 0.5 ** np.arange(6)


def _projected_search(ls, X, Z, F, alpha, cols):
    """Per column, the first ``beta`` in 1, 1/2, ... (above ``alpha``) whose projected
    point ``max(x + beta (z - x), 0)`` beats the Lawson-Hanson step; ``ok`` says where."""
    n, s = X.shape
    nb = _BETAS.size
    V = np.maximum(X[:, :, None] + (Z - X)[:, :, None] * _BETAS, 0.0) * F[:, :, None]
    D = np.concatenate([(X - Z)[:, :, None], V - Z[:, :, None]], axis=2)
    q = ls.quadratic(D.reshape(n, s * (nb + 1)), np.repeat(cols, nb + 1)).reshape(s, nb + 1)
    reference = (1.0 - alpha) ** 2 * q[:, 0] * (1 - 1e-12)
    win = (_BETAS > alpha[:, None]) & V.any(axis=0) & (q[:, 1:] < reference[:, None])
    ok = win.any(axis=1)
    first = np.argmax(win, axis=1)
    return V[:, np.arange(s), first], ok


def spread(ls, cand, score, size, max_cosine=_MAX_COSINE):
    """Up to `size` of the candidates, most violating first, no two with a cosine above
    `max_cosine`."""
    order = cand[np.argsort(score, kind="stable")]
    if size == 1 or order.size == 1:
        return order[:1]
    pool = order[: min(order.size, 4 * size)]
    cosine = ls.cosines(pool)
    if cosine is None:
        return order[:size]
    near = _near(cosine, max_cosine)
    blocked = np.zeros(pool.size, bool)
    chosen = []
    i = 0
    while len(chosen) < size:
        free = np.flatnonzero(~blocked[i:])
        if free.size == 0:
            break
        i += int(free[0])
        chosen.append(i)
        blocked[near(i)] = True
        i += 1
    return pool[chosen]


def _near(cosine, max_cosine):
    """``near(i)``: the candidates too parallel to candidate `i` (indices from a sparse
    matrix of cosines, a mask from a dense one)."""
    if not sp.issparse(cosine):
        mask = np.abs(cosine) >= max_cosine
        return mask.__getitem__
    near = sp.csr_array(abs(cosine) >= max_cosine)
    indptr, indices = near.indptr, near.indices
    return lambda i: indices[indptr[i]:indptr[i + 1]]
