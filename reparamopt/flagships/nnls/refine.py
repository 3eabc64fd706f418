"""Accuracy of the residual where ``b`` is (nearly) attainable.

The finish solves its least squares through Cholesky factors of ``A_P^T A_P``: their
KKT residual is at rounding level, but the residual ``A x - b`` itself carries an error
of about ``eps cond(A_P)^2``, which the KKT test cannot see when ``b`` is attainable
(``||A x - b||`` far below ``||b||``). A correction solved by an orthogonal
factorization of the support's columns (:func:`refine_attainable`) gives the
backward-stable residual there; it is kept only when it stays positive and lowers the
objective.

On ill-conditioned data the KKT test can pass only at the rounding level of the
gradient, which grows with ``|x|``: such a certificate is inconclusive, and on small
problems a second solve by another method (:func:`second_opinion`) is cheap enough to
make sure no clearly lower point is left behind.
"""

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

__all__ = ["refine_attainable", "second_opinion"]

# Columns whose residual is below this fraction of ||b|| are refined (b attainable up
# to the noise); elsewhere the residual is dominated by what b has outside the range of
# A and the refinement would change nothing measurable.
ATTAINABLE = 1e-4
# The residual is left alone when it is within this factor of the backward-stable
# level eps (|A| |x| + |b|)
BACKWARD_FACTOR = 10.0
# The largest QR the refinement may take on, in m p^2 flops per support
MAX_FLOPS = 2e8
# Columns certified only at the rounding level get a second solve when the problem has
# at most this many columns (the compiled Lawson-Hanson method takes milliseconds there)
SECOND_OPINION_MAX_N = 500
# Supports shrunk by the entries a QR solve makes negative (tiny entries the finish left
# outside the true support), at most this many times
ROUNDS = 3


def refine_attainable(x, model, skip=None, fun=None):
    """`x` with the columns whose ``b`` is attainable corrected on their support
    (where that keeps ``x`` positive and lowers the objective), and which of those
    columns still have a residual above the backward-stable level. The columns `skip`
    (solved by a backward-stable method) are left as they are; `fun`, the objective at
    `x` per column when the caller has it, saves a product with ``A``."""
    unresolved = np.zeros(x.shape[1], bool)
    todo = np.arange(x.shape[1]) if skip is None else np.flatnonzero(~skip)
    cols = _above_backward_level(x, model, todo, fun) if todo.size else todo
    if not cols.size:
        return x, unresolved
    out = x.copy()
    for j in cols:
        P = np.flatnonzero(x[:, j] > 0)
        if P.size and model.m * P.size * min(model.m, P.size) <= MAX_FLOPS:
            out[:, j] = _solve_on_support(model, x[:, j], P, j)
    unresolved[_above_backward_level(out, model, cols)] = True
    return out, unresolved


def _above_backward_level(x, model, cols, fun=None):
    """The columns of `cols` whose ``b`` is attainable and whose residual is above the
    backward-stable level (:meth:`~reparamopt.models.linear.LinearModel.residual_level`)."""
    if model.kind == "operator" or x.size == 0:
        return np.zeros(0, int)
    cols = np.asarray(cols)
    if fun is None:
        rnorm = np.linalg.norm(model.matvec(x[:, cols]) - model.b[:, cols], axis=0)
    else:
        rnorm = np.sqrt(2.0 * np.maximum(fun[cols], 0.0))
    # only the columns refined are copied (b of many right-hand sides is large)
    todo = (rnorm <= ATTAINABLE * np.sqrt(model.b_norm2[cols])) & (rnorm > 0)
    if not todo.any():
        return np.zeros(0, int)
    level = model.take(cols[todo]).residual_level(x[:, cols[todo]])
    return cols[todo][rnorm[todo] > BACKWARD_FACTOR * level]


def _solve_on_support(model, x, P, j):
    """Column `j` corrected on the columns `P` of ``A``: ``x_P + A_P^+ (b - A x)`` (the
    least-squares solution on ``P`` when its columns are independent, the least-norm
    correction otherwise), the entries the correction makes negative dropped from `P`
    (at most :data:`ROUNDS` times); kept only where it is positive and lowers the
    objective."""
    b = model.b[:, j]
    before = float(np.sum((model.matvec(x) - b) ** 2))
    current = x.copy()
    for _ in range(ROUNDS):
        A_P = model.columns(P)
        A_P = A_P.toarray() if sp.issparse(A_P) else np.asarray(A_P)
        residual = A_P @ current[P] - b
        try:
            step = sla.lstsq(A_P, -residual, check_finite=False, lapack_driver="gelsd")[0]
        except (np.linalg.LinAlgError, ValueError):
            return x
        z = current[P] + step
        if np.all(z > 0):
            candidate = np.zeros_like(x)
            candidate[P] = z
            after = float(np.sum((model.matvec(candidate) - b) ** 2))
            return candidate if np.isfinite(after) and after < before else x
        current = np.zeros_like(x)
        current[P] = np.where(z > 0, x[P], 0.0)
        P = P[z > 0]
        if not P.size:
            return x
    return x


def second_opinion(x, model, weak, attainable):
    """The columns `weak` (certified only at the rounding level, or not at all, or with
    an attainable ``b`` and a residual above the backward-stable level: `attainable`)
    solved again by scipy's compiled Lawson-Hanson method, where the problem is small;
    the lower of the objectives per column is kept (beyond the rounding of the
    objective: relative to ``||b||^2``, or to the objective itself where ``b`` is
    attainable)."""
    cols = np.flatnonzero(weak)
    if not cols.size or model.kind == "operator" or model.n > SECOND_OPINION_MAX_N or \
            model.m * model.n > 4_000_000 or model.n == 0:
        return x
    from ...finish.compiled import compiled_lawson_hanson

    A = model.A.toarray() if sp.issparse(model.A) else model.A
    norms = np.linalg.norm(A, axis=0)
    norms = np.where(norms > 0, norms, 1.0)
    sub = model.take(cols)
    out = x.copy()
    # the method's exchanges depend on the scaling of the columns: both are tried
    for scale in (np.ones_like(norms), norms):
        X, ok = compiled_lawson_hanson(A / scale, sub.b)
        X = X / scale[:, None]
        before, after = sub.objective(out[:, cols]), sub.objective(X)
        floor = np.where(attainable[cols], 0.0, 0.5 * sub.b_norm2)
        slack = 64 * np.finfo(float).eps * (np.minimum(before, after) + floor)
        better = ok & np.isfinite(after) & (after < before - slack)
        out[:, cols[better]] = X[:, better]
    return out
