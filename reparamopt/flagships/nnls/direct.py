"""The direct paths of "auto": the exact solution without the dynamics.

Tall and square data start from the unconstrained least-squares solution, take the
columns it already solves and finish the others from its sign pattern (from scratch
when the matrix is too ill-conditioned for the sign pattern to mean anything); small
dense data go to scipy's compiled Lawson-Hanson method. Each function takes the call's
:class:`~.finishing.Finisher` and returns an :class:`~.finishing.NNLSOutcome`.
"""

from typing import NamedTuple, Optional

import numpy as np
import scipy.linalg as sla

from ...finish.compiled import compiled_lawson_hanson
from ...finish.least_squares import RHO_CHOLESKY
from ...finish.pivoting import RHO, RHO_INVERSE, block_pivoting, coordinate_sweeps, gram_inverse
from ...models.linear import LinearModel
from .finishing import NNLSOutcome
from .route import COMPILED_SMALL_N, LAWSON_HANSON_FROM, densifiable

__all__ = ["least_squares_path", "compiled_path", "ill_conditioned_path", "warm_finish_path",
           "pivoting_path", "LeastSquaresStart", "least_squares_start"]

# The Cholesky factor of a Gram matrix whose columns all keep at least this sine to the
# span of the others is inverted for the finish (supports missing few columns are then
# solved from the inverse): the inverse loses no more than about eps / sine^2 in relative
# accuracy.
SINE_INVERSE = 1e-3

# A square least-squares start is trusted for its sign pattern when the reciprocal
# condition number of A is at least this (the Cholesky start uses the sine test of the
# finish, RHO_CHOLESKY).
RCOND_TRUSTED = 1e-8

# Small matrices with at least this many right-hand sides to solve go to block
# principal pivoting on the Gram matrix, all columns at once (measured on digit
# images, 64 x 24: 1.2 ms against 1.5 ms for the compiled method at 32 columns, about
# even at 16), for at most PIVOTING_ROUNDS rounds and while at least PIVOTING_MIN_COLUMNS are
# left (a round costs about what the compiled method takes for that many columns); the
# rest go to the compiled method, on the Cholesky factor of A^T A from two columns on
# (measured on 3000 x 40 bumps: 1.7 ms against 7.3 ms for a QR of A at 2 columns).
PIVOTING_FROM = 16
PIVOTING_ROUNDS = 20
PIVOTING_MIN_COLUMNS = 8
# Sweeps of coordinate descent that choose the first passive sets (measured on digit
# images: 4 sweeps from the least-squares start leave 3% of the columns with a wrong
# sign pattern, the start itself 72%).
SWEEPS = 4


class LeastSquaresStart(NamedTuple):
    """The unconstrained least-squares solution and what it can be trusted for.

    Attributes
    ----------
    X : ndarray or None
        The solutions, ``(n, k)``; None when the factorization failed.
    trusted : bool
        The matrix is well conditioned: the sign pattern guides the finish.
    stable : bool
        A positive column is the answer: solved by LU of a square ``A`` (backward
        stable) or by the normal equations of a well-conditioned one.
    backward_stable : bool
        Solved by LU (its residual is at the rounding level; the normal equations'
        may not be).
    factor : ndarray or None
        The Cholesky factor of ``A^T A`` when every column keeps a sine of at least
        :data:`SINE_INVERSE` to the others (it is then inverted for the finish).
    """

    X: Optional[np.ndarray]
    trusted: bool = False
    stable: bool = False
    factor: Optional[np.ndarray] = None
    backward_stable: bool = False


def least_squares_start(model):
    """The :class:`LeastSquaresStart` of `model` (dense or Gram data with ``m >= n``)."""
    try:
        if model.kind == "dense" and model.m == model.n and not model.gram_formed:
            return _square_start(model)
        R, info = sla.lapack.dpotrf(model.G, lower=False, clean=True)
        if info != 0:
            return LeastSquaresStart(None)
        X, info = sla.lapack.dpotrs(R, model.atb, lower=False)
        norms = np.maximum(model.norms, np.finfo(float).tiny)
        sine = float(np.min(np.abs(np.diag(R)) / norms))
        if info != 0 or not np.all(np.isfinite(X)):
            return LeastSquaresStart(None)
        trusted = sine >= RHO_CHOLESKY
        return LeastSquaresStart(X, trusted, trusted, R if sine >= SINE_INVERSE else None)
    except (np.linalg.LinAlgError, ValueError):
        return LeastSquaresStart(None)


def _square_start(model):
    """LU of a square ``A``, trusted when its reciprocal condition number is not tiny."""
    lu, piv, info = sla.lapack.dgetrf(model.A)
    if info != 0:
        return LeastSquaresStart(None)
    anorm = float(np.max(np.sum(np.abs(model.A), axis=0)))
    rcond, _ = sla.lapack.dgecon(lu, anorm)
    X, info = sla.lapack.dgetrs(lu, piv, model.b)
    if info != 0 or not np.all(np.isfinite(X)):
        return LeastSquaresStart(None)
    return LeastSquaresStart(X, bool(rcond >= RCOND_TRUSTED), True, backward_stable=True)


def least_squares_path(finish):
    """Every column from the least-squares start: a positive solution solved stably is
    the answer; the others are finished from its sign pattern."""
    model = finish.model
    n, k = model.n, model.b.shape[1]
    start = least_squares_start(model)
    X = np.zeros((n, k))
    done = np.zeros(k, bool)
    if start.X is not None:
        positive = np.all(start.X > 0, axis=0) & start.stable
        if positive.any():
            done[positive] = finish.certified(start.X[:, positive], model.take(positive))
            X[:, done] = start.X[:, done]
    rest = np.flatnonzero(~done)
    stable = done & start.backward_stable
    if not rest.size:
        return NNLSOutcome(X, stable=stable)
    if n <= COMPILED_SMALL_N:
        outcome = pivoting_path(finish, rest, X, start)
    elif not start.trusted and densifiable(model):
        outcome = ill_conditioned_path(finish, rest, X)
    else:
        X[:, rest] = _finish_from_sign_pattern(finish, start, rest)
        outcome = NNLSOutcome(X)
    outcome.stable |= stable
    return outcome


def _finish_from_sign_pattern(finish, start, rest):
    """The finish of the columns `rest` from the sign pattern of a trusted start (from
    zero when it is not)."""
    model = finish.model
    n = model.n
    if start.trusted:
        support = start.X[:, rest] > 0
        X0 = np.maximum(start.X[:, rest], 0.0)
    else:
        # the sign pattern of an ill-conditioned solve is noise: start from zero
        support = np.zeros((n, rest.size), bool)
        X0 = np.zeros(support.shape)
    # A^T A (m n^2 to form) pays for itself when A is tall or the supports are large;
    # from a small trusted sign pattern blocks of columns cost less
    p0 = float(np.mean(np.sum(support, axis=0)))
    gram = not start.trusted or model.m >= 2 * n or model.gram_formed or 3 * p0 > n
    inverse = None
    if start.trusted and gram and 2 * p0 > n:
        inverse = _inverse_gram(model, start.factor, start.X[:, rest])
    return finish(X0, support, model.take(rest), gram=gram, inverse=inverse)


def _inverse_gram(model, R, X_ls):
    """``((A^T A)^{-1}, X_ls)`` for the finish when ``A^T A`` is well conditioned
    (every column keeps a sine of at least 1e-3 to the others), else None."""
    if R is None:
        R, info = sla.lapack.dpotrf(model.G, lower=False, clean=True)
        sines = np.abs(np.diag(R)) / np.maximum(model.norms, np.finfo(float).tiny)
        if info != 0 or np.min(sines) < SINE_INVERSE:
            return None
    H, info = sla.lapack.dpotri(R, lower=False)
    if info != 0:
        return None
    return np.triu(H) + np.triu(H, 1).T, X_ls


def ill_conditioned_path(finish, cols=None, X=None):
    """Columns `cols` (default all) of an ill-conditioned dense problem: the compiled
    Lawson-Hanson method when small, else Lawson and Hanson's method with block entries
    on an updated QR (of the triangular factor of a tall ``A``)."""
    model = finish.model
    cols, X = _all_columns(model, cols, X)
    if model.n <= COMPILED_SMALL_N:
        return pivoting_path(finish, cols, X)
    if model.n < LAWSON_HANSON_FROM:
        return compiled_path(finish, cols, X)
    X[:, cols] = finish.from_zero(_reduced_model(model, cols), cols.size, gram=False,
                                  strategy="lawson-hanson")
    return NNLSOutcome(X)


def _reduced_model(model, cols):
    """The data of the right-hand sides `cols` on the triangular factor of ``A`` when
    ``A`` is tall (``||A x - b||^2 = ||R x - Q^T b||^2 + const``), else as is."""
    A = _dense(model)
    B = model.b[:, cols]
    if model.m < 2 * model.n:
        return model.take(cols) if A is model.A else LinearModel(A, B)
    CQ, R = sla.qr_multiply(A, B.T, mode="right")
    return LinearModel(R, np.atleast_2d(CQ).T)


def compiled_path(finish, cols=None, X=None, factor=None):
    """Columns `cols` (default all) by the compiled Lawson-Hanson method (the others of
    `X` kept); those it cannot finish go to the exact finish from zero. With the
    Cholesky `factor` ``R`` of a trusted ``A^T A`` (every column with a sine of at least
    :data:`~reparamopt.finish.pivoting.RHO` to the others), the method runs on
    ``(R, R^{-T} A^T b)``, whose least squares are the normal equations: exact to the
    rounding level of the gradient, without a pass over ``A`` and ``b`` (not backward
    stable where ``b`` is attainable: the certification refines those columns)."""
    model = finish.model
    cols, X = _all_columns(model, cols, X)
    dense = _dense(model)
    if dense is None:
        X[:, cols] = finish.from_zero(model.take(cols), cols.size)
        return NNLSOutcome(X)
    if factor is None:
        Xc, ok = compiled_lawson_hanson(dense, model.b[:, cols])
    else:
        D = sla.solve_triangular(factor, model.atb[:, cols], trans="T", check_finite=False)
        Xc, ok = compiled_lawson_hanson(factor, D)
    X[:, cols[ok]] = Xc[:, ok]
    left = cols[~ok]
    if left.size:
        X[:, left] = finish.from_zero(model.take(left), left.size)
    stable = np.zeros(X.shape[1], bool)
    stable[cols[ok]] = factor is None
    return NNLSOutcome(X, stable=stable)


def pivoting_path(finish, cols, X, start=None):
    """Columns `cols` of a small matrix: many of them by block principal pivoting on its
    Gram matrix (:func:`reparamopt.finish.pivoting.block_pivoting`), from a few
    coordinate sweeps after the sign pattern of a trusted least-squares `start`. The
    columns it leaves, and all of them when they are few or a column of ``A`` keeps a
    sine below :data:`~reparamopt.finish.pivoting.RHO_INVERSE` to the others (measured:
    the block exchanges then need tens of rounds, which cost more), go to the compiled
    method on the Cholesky factor of ``A^T A``; one column, no Gram matrix, or a column
    nearly dependent on the others (sine below :data:`~reparamopt.finish.pivoting.RHO`),
    to the compiled method on ``A``."""
    model = finish.model
    factor = None if start is None else start.factor  # the start's Cholesky factor
    inverse = gram_inverse(model.G, factor) if cols.size > 1 and model.use_gram else None
    if inverse is None or np.min(inverse[2]) < RHO:
        return compiled_path(finish, cols, X)
    R, H, sines = inverse
    if cols.size < PIVOTING_FROM or np.min(sines) < RHO_INVERSE:
        return compiled_path(finish, cols, X, factor=R)
    C = model.atb[:, cols]
    Y = H @ C
    passive = Y > 0 if start is not None and start.trusted else np.zeros(Y.shape, bool)
    passive = coordinate_sweeps(model.G, C, np.where(passive, Y, 0.0), SWEEPS) > 0
    absG, absC = model.abs_products()
    Xc, ok, rounds = block_pivoting(model.G, C, passive, (absG, absC[:, cols]),
                                    max_rounds=PIVOTING_ROUNDS,
                                    min_columns=PIVOTING_MIN_COLUMNS, H=H, Y=Y)
    finish.nsolves += rounds
    X[:, cols[ok]] = Xc[:, ok]
    left = cols[~ok]
    return compiled_path(finish, left, X, factor=R) if left.size else NNLSOutcome(X)


def warm_finish_path(finish, x0):
    """The finish from the support of the warm start `x0`."""
    return NNLSOutcome(finish(x0, x0 > 0), before=[x0])


def _all_columns(model, cols, X):
    k = model.b.shape[1]
    cols = np.arange(k) if cols is None else cols
    X = np.zeros((model.n, k)) if X is None else X
    return cols, X


def _dense(model):
    """``A`` as a dense array when it is one or small enough to become one."""
    if not densifiable(model):
        return None
    return model.A if model.kind == "dense" else model.A.toarray()
