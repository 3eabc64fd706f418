"""The support of an iterate, and the least-squares polish on it.

One rule says which entries of an iterate of the dynamics form its support (those
above :data:`SUPPORT_THRESHOLD` of the largest in magnitude): the NNLS finish starts
from it, the sparse-recovery polish solves on it, the Dask finish gathers its columns.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

__all__ = ["SUPPORT_THRESHOLD", "support_of", "support_least_squares", "SupportPolish"]

# Entries above this fraction of the largest one form the support of an iterate: the
# dynamics leave the others small (of the order of init_scale**power) but not zero.
SUPPORT_THRESHOLD = 1e-3


def support_of(X, room=None):
    """Entries of each column of `X` above ``SUPPORT_THRESHOLD`` of its largest in
    magnitude, at most `room` of them (the largest), as a boolean array."""
    magnitude = np.abs(X)
    top = np.max(magnitude, axis=0) if X.size else np.zeros(X.shape[1:])
    support = magnitude > SUPPORT_THRESHOLD * top
    if room is not None and X.ndim == 2:
        for j in np.flatnonzero(support.sum(axis=0) > room):
            keep = np.argsort(-magnitude[:, j])[:room]
            support[:, j] = False
            support[keep, j] = True
    return support


def _columns(A, idx):
    if isinstance(A, LinearOperator):
        eye = np.zeros((A.shape[1], idx.size))
        eye[idx, np.arange(idx.size)] = 1.0
        return np.asarray(A.matmat(eye))
    if sp.issparse(A):
        return sp.csc_array(A)[:, idx].toarray()
    return A[:, idx]


def support_least_squares(A, b, x, nonnegative):
    """The least squares of ``A z = b`` on the support of `x` (:func:`support_of`), the
    other entries zero; None when the support is empty, has more entries than rows,
    its columns are rank deficient, or (`nonnegative`) the solution has a negative
    entry.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.finish.support import support_least_squares
    >>> A = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    >>> support_least_squares(A, np.array([2.0, 3.0]), np.array([1.0, 1e-9, 0.0]), True)
    array([2., 0., 0.])
    """
    idx = np.flatnonzero(support_of(x))
    if idx.size == 0 or idx.size > A.shape[0]:
        return None
    z, _, rank, _ = np.linalg.lstsq(_columns(A, idx), b, rcond=None)
    if rank < idx.size or not np.all(np.isfinite(z)) or (nonnegative and np.any(z < 0)):
        return None
    x_new = np.zeros_like(x)
    x_new[idx] = z
    return x_new


class SupportPolish:
    """A checkpoint for :func:`reparamopt.engines.run`: the least squares on the
    support of the iterate, solved exactly, as the end of sparse recovery.

    The entries outside the support are set to zero and those on it solved for (signs
    free, or required non-negative). The point is accepted only when it meets the run's
    tolerance, so a wrong guess costs one small least squares and never changes the
    trajectory.

    Parameters
    ----------
    problem : Problem
        The latent problem (one variable); its ``optimality`` is the stopping measure.
    model : LinearModel
        The data ``(A, b)``.
    tol : float
        The run's tolerance.
    nonnegative : bool
        Whether x must stay non-negative.
    start : float, default 1e-3
        Try only once the optimality measure is below this.
    """

    def __init__(self, problem, model, tol, nonnegative, start=1e-3):
        self.problem, self.model = problem, model
        self.tol, self.nonnegative, self.start = tol, nonnegative, start

    def __call__(self, u, k):
        if self.problem.optimality(u) > self.start:
            return None
        x = np.asarray(self.problem.to_feasible(u), dtype=float)
        x_new = support_least_squares(self.model.A, self.model.b, x, self.nonnegative)
        if x_new is None:
            return None
        u_new = self.problem.to_latent(x_new)
        if self.problem.optimality(u_new) <= self.tol:
            return u_new, True
        return None
