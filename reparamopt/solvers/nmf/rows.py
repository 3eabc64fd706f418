r"""W for fixed H, every row on its own: what ``transform`` solves and ``fit_transform``
finishes with, so that a row's W does not depend on the other rows."""

import numpy as np
import scipy.sparse as sp

from .factor_sets import entry_bounds, is_nonnegative
from .multiplicative import mirror_step
from .objective import EPS, at_nonzeros, beta_terms

__all__ = ["exact_rows", "rowwise_mirror"]


def exact_rows(problem, H):
    r"""The exact W for fixed H, row by row (Frobenius loss, entrywise W set).

    Each row w of W solves its own bounded least-squares problem
    ``min 1/2 ||m * (x - w H)||^2 + l1 sum(w) + l2/2 ||w||^2`` over ``lower <= w <= upper``
    (m the row of the mask), a quadratic ``1/2 w^T Q w - b^T w`` with a k x k matrix Q.
    Written as ``1/2 ||R w - d||^2`` with ``Q = R^T R`` (eigenvalues below
    ``k eps`` of the largest dropped), it goes to Lawson and Hanson's method (non-negative
    rows) or bounded-variable least squares (other bounds), both exact up to rounding.
    A row's answer depends on that row only. Components that are zero on a row's observed
    entries get the bound nearest 0 there.

    The rows are solved for ``v = w * s`` against the components scaled to unit norm
    (``s`` the norms of the rows of H): the scale of a component is free in a fit (``W D``,
    ``D^-1 H``), and with more components than the data's rank it drifts over many
    decades, which would make the eigenvalue cut of one component's scale drop the
    others.

    Returns ``(W, failed)``: the rows and the number of rows whose solve hit its
    iteration limit (then left at the bounded least-squares point found so far).
    """
    import scipy.optimize

    X, M = problem.X, problem.mask
    n, k = X.shape[0], H.shape[0]
    norms = np.sqrt(np.einsum("ij,ij->i", H, H))
    norms[norms == 0] = 1.0
    H = H / norms[:, None]
    lower, upper = (bound * norms for bound in entry_bounds(problem.W_map, (n, k)))
    nonnegative = is_nonnegative(problem.W_map)
    ridge = np.diag(problem.l2_W / norms**2)
    l1 = problem.l1_W / norms
    W = np.clip(0.0, lower, upper)
    if M is None:
        B = np.asarray(X @ H.T) - l1
        shared = _whiten(H @ H.T + ridge)
    failed = 0
    for i in range(n):
        if M is None:
            live, R, to_d = shared
            b = B[i]
        else:
            live, R, to_d = _whiten((H * M[i]) @ H.T + ridge)
            b = H @ (M[i] * X[i]) - l1
        if not live.any():
            continue
        d = to_d(b[live])
        lo, hi = lower[i, live], upper[i, live]
        if nonnegative:
            try:
                W[i, live] = scipy.optimize.nnls(R, d, maxiter=50 * k + 100)[0]
                continue
            except RuntimeError:
                pass
        res = scipy.optimize.lsq_linear(R, d, bounds=(lo, hi), method="bvls")
        W[i, live] = res.x
        failed += res.status < 1
    return W / norms, failed


def _whiten(Q):
    """``(live, R, to_d)`` with ``Q[live][:, live] = R^T R`` and ``to_d(b) = d`` such that
    ``1/2 w^T Q w - b^T w = 1/2 ||R w - d||^2 + const`` on the live components (those
    with a positive diagonal entry)."""
    live = np.diag(Q) > 0
    values, vectors = np.linalg.eigh(Q[np.ix_(live, live)])
    keep = values > values.max(initial=0.0) * max(live.sum(), 1) * EPS
    root = np.sqrt(values[keep])
    vectors = vectors[:, keep]
    R = root[:, None] * vectors.T
    return live, R, lambda b: (b @ vectors) / root


def _row_objectives(problem, W, H, rows):
    """The objective of each row of W (the W terms; H's are the same for every row)."""
    X, M, beta = problem.X[rows], None if problem.mask is None else problem.mask[rows], problem.beta
    if sp.issparse(X):  # Kullback-Leibler: sum(w H) needs no product
        x, y, at, _ = at_nonzeros(X, W, H.T)
        data = np.bincount(at, weights=x * np.log(x / y) - x, minlength=W.shape[0]) + W @ H.sum(axis=1)
    else:
        data = beta_terms(X, W @ H, beta, M).sum(axis=1)
    return data + problem.l1_W * W.sum(axis=1) + 0.5 * problem.l2_W * np.einsum("ij,ij->i", W, W)


def rowwise_mirror(problem, W, H, tol, max_iter):
    """Multiplicative (mirror) steps on W for fixed H, each row stopping on its own.

    A row stops once a step lowers its objective by less than `tol` times its value
    (the rule of the fit, applied per row), so its answer does not depend on the other
    rows. Returns ``(W, n_unconverged)``.
    """
    X, M = problem.X, problem.mask
    product_free = M is None and (problem.beta == 2 or sp.issparse(X))
    W = np.array(W, dtype=float)
    active = np.arange(W.shape[0])
    values = _row_objectives(problem, W, H, active)
    for _ in range(max_iter):
        if not active.size:
            break
        F = W[active]
        Y = None if product_free else F @ H
        F = mirror_step(X[active], None if M is None else M[active], F, H.T, Y, problem.beta,
                        problem.l1_W, problem.l2_W)
        W[active] = F
        new = _row_objectives(problem, F, H, active)
        done = values[active] - new <= tol * np.maximum(np.abs(new), np.finfo(float).tiny)
        values[active] = new
        active = active[~done]
    return W, active.size
