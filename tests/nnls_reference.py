"""Independent NNLS references shared by the tests: written from the data alone, with
nothing of the package's solvers, finish or KKT code.

* :func:`scipy_reference`: scipy's Lawson-Hanson solution, column by column;
* :func:`objective`: ``||A x - b||^2 / 2`` in extended precision;
* :func:`objective_tolerance`: the slack of an objective comparison with a reference,
  ``f_ref 1e-9 + 1e-12 ||b||^2 + (eps || |A| |x| + |b| ||)^2`` (the last term, the smaller
  of its values at ``x`` and at the reference, is the rounding level below which no
  residual can be told from zero: exact fits with huge cancelling entries reach it);
* :func:`kkt_holds`: the relative projected gradient is below ``tol``, or its part
  above the rounding level ``8 eps |A|^T (|A| x + |b|)`` is.
"""

import numpy as np
import scipy.optimize
import scipy.sparse as sp

TOL = 1e-10
EPS = np.finfo(float).eps


def dense(A):
    return A.toarray() if sp.issparse(A) else np.asarray(A)


def objective(A, b, x):
    """``||A x - b||^2 / 2`` in extended precision: in double, a solution with large
    entries whose terms cancel (ill-conditioned data) gets an objective wrong by more
    than the tolerances compared here."""
    r = dense(A).astype(np.longdouble) @ np.asarray(x, np.longdouble) - b
    return np.asarray(0.5 * np.sum(r * r, axis=0), dtype=float)


def objective_tolerance(A, b, x, x_ref):
    """The slack of the objective comparison (module docstring), per column."""
    A = dense(A)
    bb = np.sum(b * b, axis=0)

    def level(v):
        return (EPS * np.linalg.norm(np.abs(A) @ np.abs(v) + np.abs(b), axis=0)) ** 2

    return 1e-9 * objective(A, b, x_ref) + 1e-12 * bb + np.minimum(level(x), level(x_ref))


def kkt_holds(A, b, x, tol=TOL):
    """The KKT test of the module docstring, per column."""
    A = dense(A)
    g = A.T @ (A @ x - b)
    pg = np.where(x > 0, g, np.minimum(g, 0.0))
    scale = np.maximum(np.linalg.norm(A.T @ b, axis=0), np.finfo(float).tiny)
    floor = 8 * EPS * (np.abs(A).T @ (np.abs(A) @ np.abs(x) + np.abs(b)))
    plain = np.linalg.norm(pg, axis=0) / scale
    excess = np.linalg.norm(np.maximum(np.abs(pg) - floor, 0.0), axis=0) / scale
    return (plain <= tol) | (excess <= tol)


def scipy_reference(A, b):
    A = dense(A)
    if b.ndim == 1:
        return scipy.optimize.nnls(A, b, maxiter=50 * A.shape[1] + 10)[0]
    return np.column_stack([scipy_reference(A, b[:, j]) for j in range(b.shape[1])])
