r"""Block principal pivoting on the Gram matrix, for many right-hand sides of a small ``A``.

With ``G = A^T A`` and ``C = A^T B`` of a matrix with few columns, every right-hand side
is solved by the block principal pivoting of Kim and Park (2011), all of them at once:
each round solves the least squares on the passive sets ``F`` of every column, and
exchanges at once all indices whose primal (``x_F < 0``) or dual (gradient below its
rounding level outside ``F``) sign is wrong; when that fails to lower the number of
wrong signs three times in a row, a column falls back to Murty's single exchange of the
largest such index, which ends in finitely many rounds.

A column's least squares on ``F`` is the system ``G_FF z = c_F``, or, with the inverse
``H = G^{-1}`` and the unconstrained solution ``y = H c`` at hand, the complement
``z = y - H_{:r} H_{rr}^{-1} y_r`` of the indices ``r`` outside ``F``: whichever is
smaller. Columns with systems of the same size are solved in one batched LAPACK call,
so a round costs a few vectorized operations, not one Python step per column.

It is used only when every column of ``A`` keeps a sine of at least :data:`RHO` to the
span of all the others (:func:`gram_inverse`): every principal submatrix of ``G`` is
then safely positive definite and its normal equations are trusted (as in
:mod:`.least_squares`). The caller certifies the result on ``A`` itself.
"""

import numpy as np
import scipy.linalg as sla

from .kkt import FLOOR_FACTOR
from .least_squares import RHO_CHOLESKY

__all__ = ["block_pivoting", "coordinate_sweeps", "gram_inverse", "RHO", "RHO_INVERSE"]

_EPS = np.finfo(float).eps
_TINY = np.finfo(float).tiny

RHO = RHO_CHOLESKY
"""Smallest sine of a column of ``A`` to the span of all others for which the method runs."""

# Smallest such sine for which solves through the inverse (the complement form) are
# trusted: they lose about eps / sine^2 in relative accuracy.
RHO_INVERSE = 1e-3

# Safety factor on the rounding level of the gradient for gradients formed from the
# Gram matrix (G z - c cancels terms of the size of |A|^T |b| where b is attainable;
# measured up to 1.5 times the level of the A-form on right-hand sides in the cone).
GRAM_NOISE = 4.0

# Rounds of full block exchanges that may fail to lower the number of wrong signs
# before a column falls back to single exchanges (Kim and Park's p_bar).
_CHANCES = 3


def gram_inverse(G, R=None):
    """``(R, H, sines)``: the Cholesky factor of the Gram matrix `G` (upper, ``R^T R =
    G``; factored here unless given), its inverse, and the sine of each column of ``A``
    to the span of the others (``1 / sqrt(H_ii G_ii)``); None when `G` is not
    numerically positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.finish.pivoting import gram_inverse
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> R, H, sines = gram_inverse(A.T @ A)
    >>> np.round(sines, 6)
    array([0.866025, 0.866025])
    """
    if R is None:
        R, info = sla.lapack.dpotrf(G, lower=False, clean=True)
        if info != 0:
            return None
    H, info = sla.lapack.dpotri(R.copy(), lower=False)
    if info != 0:
        return None
    H = np.triu(H) + np.triu(H, 1).T
    with np.errstate(invalid="ignore", divide="ignore"):
        sines = 1.0 / np.sqrt(np.diag(H) * np.diag(G))
    if not np.all(np.isfinite(H)) or not np.all(np.isfinite(sines)):
        return None
    return R, H, sines


def coordinate_sweeps(G, C, X, sweeps):
    """`X` after `sweeps` sweeps of exact coordinate descent on
    ``x^T G x / 2 - c^T x`` over ``x >= 0``, for every column at once: on
    well-conditioned data a few of them find most of the support, which saves the block
    exchanges their rounds (each sweep costs ``n`` products of a row of `G` with `X`)."""
    X = np.maximum(X, 0.0)
    inverse = 1.0 / np.maximum(np.diag(G), _TINY)
    # one buffer for every coordinate step: a sweep is n short products, where the
    # temporaries would cost as much as the arithmetic
    step = np.empty(X.shape[1])
    for _ in range(sweeps):
        for i in range(G.shape[0]):
            np.dot(G[i], X, out=step)
            step -= C[i]
            step *= inverse[i]
            np.subtract(X[i], step, out=step)
            np.maximum(step, 0.0, out=X[i])
    return X


def block_pivoting(G, C, passive, absolute, *, H=None, Y=None, max_rounds=None,
                   min_columns=1):
    """Solve ``min_{x >= 0} x^T G x / 2 - c^T x`` for every column ``c`` of `C`.

    Parameters
    ----------
    G : ndarray, shape (n, n)
        ``A^T A``, every column of ``A`` with a sine of at least :data:`RHO` to the others.
    C : ndarray, shape (n, k)
        ``A^T B``.
    passive : ndarray of bool, shape (n, k)
        Initial passive sets (the sign pattern of a trusted unconstrained solution, or
        none).
    absolute : tuple of ndarray
        ``(|A|^T |A|, |A|^T |B|)``: a gradient entry above minus its rounding level
        (:func:`reparamopt.finish.kkt.gradient_floor`) is taken for zero.
    H, Y : ndarray, optional
        ``G^{-1}`` and ``H C``, for the complement form of the solves (only when every
        sine is at least :data:`RHO_INVERSE`).
    max_rounds : int, optional
        Bound on the rounds (default ``3 n + 50``).
    min_columns : int, default 1
        Stop once fewer right-hand sides than this are left (a round then costs more
        than solving them one by one).

    Returns
    -------
    X : ndarray, shape (n, k)
        The solutions (zero where a column did not finish).
    converged : ndarray of bool, shape (k,)
    rounds : int

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.finish.pivoting import block_pivoting
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> B = np.array([[1.0, 2.0], [-1.0, 1.0], [0.0, 3.0]])
    >>> G, C = A.T @ A, A.T @ B
    >>> X, converged, rounds = block_pivoting(G, C, np.zeros((2, 2), bool),
    ...                                       (np.abs(A).T @ np.abs(A), np.abs(A).T @ np.abs(B)))
    >>> np.round(X, 12), converged
    (array([[0.5, 2. ],
           [0. , 1. ]]), array([ True,  True]))
    """
    n, k = C.shape
    max_rounds = 3 * n + 50 if max_rounds is None else int(max_rounds)
    # equilibrated columns: the batched LU solves and the sign tests are then
    # indifferent to the scales of the columns of A (the signs do not change); one row
    # per right-hand side from here on, so that taking the unfinished ones is a gather
    # of contiguous rows
    scale = np.sqrt(np.maximum(np.diag(G), _TINY))
    G, C = G / np.outer(scale, scale), _rows(C) / scale
    absG, absC = absolute[0] / np.outer(scale, scale), _rows(absolute[1]) / scale
    if H is not None:
        H, Y = H * np.outer(scale, scale), _rows(Y) * scale
    F = np.array(passive.T, dtype=bool, order="C")  # a copy: exchanged in place
    X = np.zeros((k, n))
    converged = np.zeros(k, bool)
    fewest = np.full(k, n + 1)
    chances = np.full(k, _CHANCES)
    todo = np.arange(k)
    rounds = 0
    while todo.size >= max(min_columns, 1) and rounds < max_rounds:
        rounds += 1
        every = todo.size == k  # no gathers in the first round
        Ft, Ct = (F, C) if every else (F[todo], C[todo])
        Z = solve_on_supports(G, Ct, Ft, H, Y if every or Y is None else Y[todo])
        if Z is None:
            break
        # a sign within the rounding level of the gradient is not wrong: clipping such
        # a z_i to zero moves the (equilibrated) gradient by no more than that level
        floor = GRAM_NOISE * FLOOR_FACTOR * _EPS * (
            np.abs(Z) @ absG + (absC if every else absC[todo]))
        wrong = np.where(Ft, Z < -floor, Z @ G - Ct < -floor)
        count = wrong.sum(axis=1)
        done = count == 0
        X[todo[done]] = np.where(Ft[done], np.maximum(Z[done], 0.0), 0.0)
        converged[todo[done]] = True
        keep = ~done
        todo, wrong, count = todo[keep], wrong[keep], count[keep]
        F[todo] ^= _exchanged(wrong, count, fewest, chances, todo)
    return X.T / scale[:, None], converged, rounds


def _rows(M):
    """``M^T`` in row-major order (a transposed view would keep its columns' layout
    through the arithmetic, and every later row gather would be strided)."""
    return np.ascontiguousarray(M.T)


def _exchanged(wrong, count, fewest, chances, rows):
    """The indices each right-hand side `rows` exchanges (a row of `wrong` each; Kim
    and Park's rule, updating the counters `fewest` and `chances` in place): all its
    wrong signs while their number drops or chances remain, else the largest wrong
    index alone (Murty's rule)."""
    better = count < fewest[rows]
    fewest[rows[better]] = count[better]
    chances[rows[better]] = _CHANCES
    spend = ~better & (chances[rows] > 0)
    chances[rows[spend]] -= 1
    single = ~better & ~spend
    out = wrong.copy()
    if single.any():
        n = wrong.shape[1]
        last = n - 1 - np.argmax(wrong[single, ::-1], axis=1)
        out[single] = False
        out[np.flatnonzero(single), last] = True
    return out


def solve_on_supports(G, C, F, H=None, Y=None):
    """``z`` with ``G_FF z_F = c_F`` and ``z = 0`` outside ``F``, one row each of `C`
    (``(s, n)``) and `F`, in batches of systems of one size (the complement form where
    `H` and ``Y = C H`` are given and fewer indices lie outside ``F`` than in it). None
    when a batched solve fails."""
    s, n = F.shape
    inside = F.sum(axis=1)
    complement = (2 * inside > n) if H is not None else np.zeros(s, bool)
    # the indices of each row's smaller system (F, or the complement of F), listed row
    # after row by nonzero
    chosen = F ^ complement[:, None]
    sizes = np.where(complement, n - inside, inside)
    starts = np.cumsum(sizes) - sizes
    indices = np.nonzero(chosen)[1]
    # flat offsets into the stacked matrices (G, H): one take per gather instead of
    # fancy indexing over three axes
    matrices = np.stack((G, G if H is None else H)).ravel()
    offset = np.where(complement, n * n, 0)
    rights = (C.ravel(), (C if Y is None else Y).ravel())
    W = np.zeros((s, n))
    try:
        for size in np.unique(sizes[sizes > 0]):
            group = np.flatnonzero(sizes == size)
            idx = indices[starts[group, None] + np.arange(size)]
            blocks = matrices.take(offset[group, None, None] + n * idx[:, :, None]
                                   + idx[:, None, :])
            flat = n * group[:, None] + idx
            right = np.where(complement[group, None], rights[1].take(flat), rights[0].take(flat))
            W[group[:, None], idx] = np.linalg.solve(blocks, right[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return None
    if H is None:
        return W
    # z = y - H_{:r} H_rr^{-1} y_r on F (H is symmetric: a row times H)
    Z = Y - W @ H
    Z[chosen] = 0.0
    direct = ~complement
    if direct.any():
        Z[direct] = W[direct]
    return Z
