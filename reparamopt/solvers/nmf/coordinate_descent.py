r"""``cd``: exact latent block-coordinate minimization.

With one component's latent column ``u_j`` free and everything else fixed, the Frobenius
objective is a separable quadratic in ``x_j = u_j**L``; since the map is onto, the latent
minimizers are the preimages of the projected x-space minimizer, available in closed
form. Several sweeps per block reuse the block's Gram products (Gillis and Glineur's
accelerated HALS), as many as the measured cost model says pay (:func:`sweep_budget`).
A non-negative block whose rows are short goes through scikit-learn's compiled sweep
(the inner loop of its "cd" solver), where numpy's per-call overhead would dominate.
With a mask, the steps are weighted and keep the masked residual up to date instead.
"""

from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np
import scipy.sparse as sp

from .factor_sets import column_projector, nonnegative_part
from .objective import NMFObjective


def _compiled_sweep():
    """scikit-learn's compiled non-negative coordinate sweep (its own NMF's inner loop, a
    private function), or None when it is missing or does not take one exact step on a
    1 x 1 problem as expected: the numpy sweep then does the work."""
    try:
        from sklearn.decomposition._cdnmf_fast import _update_cdnmf_fast as update

        F = np.zeros((1, 1))
        update(F, np.array([[2.0]]), np.array([[1.0]]), np.zeros(1, dtype=np.intp))
    except Exception:  # pragma: no cover - any failure means: not usable here
        return None
    return update if F[0, 0] == 0.5 else None  # pragma: no branch


_update_cdnmf_fast = _compiled_sweep()

__all__ = ["CoordinateDescent", "MaskedCoordinateDescent", "Measured", "sweeps", "sweep_budget",
           "kkt_violation", "CHECK_EVERY"]

# The cost model, in seconds on one core (measured on digits-sized blocks, k = 10-25):
# a multiply-add in a BLAS product, in the compiled sweep, in a numpy row step, and the
# fixed cost of one numpy row step (three calls).
_GEMM, _COMPILED, _VECTOR, _CALL = 6e-11, 1e-9, 6e-10, 6e-6
# The share of a block's set-up that its extra sweeps may cost, Gillis and Glineur's 0.5.
# (Measured: 1.5 reaches scikit-learn's error in half the time on a 2000 x 1000
# rank-20-plus-noise matrix, k = 20, and changes nothing on digits; kept at 0.5 while the
# Dask fit, whose chunks stop their sweeps each on its own, is held to the same error.)
_ALPHA = 0.5


def _compiled_pays(k, length):
    """Whether the compiled sweep is cheaper than numpy's on k rows of `length`."""
    return _update_cdnmf_fast is not None and _COMPILED * length * k * k < k * (_CALL + _VECTOR * length * k)


def _sweep_seconds(k, length, compiled):
    return _COMPILED * length * k * k if compiled else k * (_CALL + _VECTOR * length * k)


def sweeps(F, Q, B, project, max_sweeps, graph=None, rows=None):
    """Minimize ``1/2 <Q F, F> - <B, F> (+ graph term)`` over the rows of F in place.

    Row j of F is component j; only the `rows` listed change (None: all, a fixed
    component keeps its row bit for bit). Each row step is exact; with a graph term the coupling
    ``-w^T A w`` (concave) is replaced by its tangent, a majorizer, so the step still
    decreases the objective. Sweeps repeat while they still move F by more than a tenth
    of the first sweep's move (in Frobenius norm). Returns the number of sweeps.
    """
    if rows is not None:
        return _sweep_rows(F, Q, B, project, max_sweeps, graph, np.asarray(rows, dtype=np.intp))
    if graph is not None:
        return _repeat(lambda: _graph_sweep(F, Q, B, project, graph), F, max_sweeps)
    if project is nonnegative_part and _compiled_pays(*F.shape):
        Ft, Bt = np.ascontiguousarray(F.T), np.ascontiguousarray(B.T)
        order = np.arange(F.shape[0], dtype=np.intp)
        count = _repeat(lambda: _update_cdnmf_fast(Ft, Q, Bt, order), Ft, max_sweeps)
        F[...] = Ft.T
        return count
    q = np.diag(Q).copy()
    live = [j for j in range(F.shape[0]) if q[j] > 0]  # a dead component has nothing to fit
    scale = np.where(q > 0, q, 1.0)[:, None]
    coupling = Q / scale
    np.fill_diagonal(coupling, 0.0)
    target = B / scale
    buffer = np.empty(F.shape[1])

    def sweep():
        for j in live:
            np.subtract(target[j], coupling[j] @ F, out=buffer)
            if project is nonnegative_part:
                np.maximum(buffer, 0.0, out=F[j])
            else:
                F[j] = project(buffer, j)

    return _repeat(sweep, F, max_sweeps)


def _sweep_rows(F, Q, B, project, max_sweeps, graph, rows):
    """:func:`sweeps` over the `rows` of F alone: with the other rows constant the
    problem in these is ``1/2 <Q_rr F_r, F_r> - <B_r - Q_ro F_o, F_r>``."""
    others = np.setdiff1d(np.arange(F.shape[0]), rows)
    part = F[rows]
    target = B[rows] - Q[np.ix_(rows, others)] @ F[others]
    def renumbered(c, j):  # a column's projection knows its component
        return project(c, rows[j])

    step = project if project is nonnegative_part else renumbered
    count = sweeps(part, Q[np.ix_(rows, rows)], target, step, max_sweeps, graph)
    F[rows] = part
    return count


def _repeat(sweep, F, max_sweeps):
    """Run `sweep` (in place on F) until it moves F by at most a tenth of its first move.

    A move is measured only where it can stop the sweeps: the first sets the scale
    and the last decides nothing, so two sweeps measure none (each measure copies F)."""
    first = None
    for count in range(1, max_sweeps + 1):
        if count == max_sweeps or (count == 1 and max_sweeps == 2):
            sweep()
            continue
        before = F.copy()
        sweep()
        before -= F
        moved = np.vdot(before, before)
        first = moved if first is None else first
        if moved <= 0.01 * first:
            break
    return count


def _graph_sweep(F, Q, B, project, graph):
    weight, adjacency, degree = graph
    curvature_extra = 2 * weight * degree
    for j in range(F.shape[0]):
        q = Q[j, j]
        if q <= 0:
            continue
        row = F[j]
        numerator = B[j] - Q[j] @ F + q * row + 2 * weight * (adjacency @ row)
        F[j] = project(numerator / (q + curvature_extra), j)


def sweep_budget(rows, cols, k, nnz):
    """Most sweeps per block: one plus as many as cost half the block's set-up (the
    product with X, ``nnz * k``, and the other factor's Gram matrix, ``rows * k * k``),
    priced by the cost model of the sweep that runs (compiled for short rows of a block
    of `cols` columns, numpy's else), Gillis and Glineur's rule with a measured cost;
    the sweeps stop early once they barely move the block. At least two where a sweep
    costs at most :data:`_SECOND_SWEEP` set-ups (measured on digits, k = 10-16, where a W
    sweep costs 4.7-6.2 set-ups, 10.5 at k = 30: a second sweep reaches scikit-learn's
    error in fewer iterations; at 5, digits k = 13 stopped at 1.012 times it), else
    one (a long block of sparse data: on 1e5 x 1e4 word counts at density 1e-3, k = 20,
    a W sweep costs 17 set-ups, and one sweep halves the time per iteration at the
    same error), at most 30.

    Examples
    --------
    >>> from reparamopt.solvers.nmf import sweep_budget
    >>> sweep_budget(1797, 64, 16, 1797 * 64), sweep_budget(64, 1797, 16, 1797 * 64)
    (5, 2)
    >>> sweep_budget(10_000, 100_000, 20, 10**6)
    1
    """
    setup = _GEMM * (nnz * k + rows * k * k)
    sweep = _sweep_seconds(k, cols, _compiled_pays(k, cols))
    least = 2 if sweep <= _SECOND_SWEEP * setup else 1
    return int(min(max(1 + _ALPHA * setup / sweep, least), 30))


#: The most set-ups a sweep may cost for the budget to keep a second sweep (see
#: :func:`sweep_budget`).
_SECOND_SWEEP = 12.0


def kkt_violation(F, Q, B, rows=None):
    """The l1 norm of the projected gradient of ``1/2 <Q F, F> - <B, F>`` over ``F >= 0``
    (scikit-learn's measure for its "cd" stopping rule): the gradient where F is
    positive, its negative part where F is zero; over the `rows` of F that are
    variables (None: all). Columns are taken a chunk at a time, so that a long factor
    (``k x n`` with n large) costs no temporary of its size.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.solvers.nmf import kkt_violation
    >>> F, Q, B = np.array([[1.0, 0.0]]), np.array([[2.0]]), np.array([[1.0, 3.0]])
    >>> kkt_violation(F, Q, B)  # |2 - 1| where F > 0, |min(0 - 3, 0)| where F = 0
    4.0
    """
    if rows is not None:  # the gradient in these rows still sees every row of F
        Q, B = Q[rows], B[rows]
    total = 0.0
    for start in range(0, F.shape[1], _CHUNK):
        columns = F[:, start:start + _CHUNK]
        gradient = Q @ columns
        gradient -= B[:, start:start + _CHUNK]
        at = columns if rows is None else columns[rows]
        np.minimum(gradient, 0.0, out=gradient, where=at <= 0)
        total += float(np.abs(gradient, out=gradient).sum())
    return total


#: Columns per chunk of :func:`kkt_violation` (a 20-row chunk is 640 KiB).
_CHUNK = 4096


#: Iterations between two measures of the KKT violation (the first is always measured):
#: a measure costs about as much as a product with X on small data.
CHECK_EVERY = 10


class Measured(NamedTuple):
    """The state of :class:`CoordinateDescent`: the iterations run and the KKT violation
    the last one measured (None when it measured none)."""

    iterations: int
    violation: Optional[float]


def _penalized(G, B, l1, l2):
    """``(G + l2 I, B - l1)``, without copies where the penalties are zero."""
    return (G + l2 * np.eye(G.shape[0]) if l2 else G), (B - l1 if l1 else B)


@dataclass(frozen=True)
class CoordinateDescent:
    """``cd`` on fully observed data: exact sweeps over each block that reuse the block's
    Gram products. Its state (:class:`Measured`) counts the iterations and holds the KKT
    violation (:func:`kkt_violation`, W's at the start of the iteration plus H's after
    W's update, as scikit-learn sums them), measured at the first iteration and every
    :data:`CHECK_EVERY` for non-negative factors without a graph.

    Parameters
    ----------
    objective : NMFObjective
    update_H : bool, default True
        False keeps H fixed (W for fixed H).
    free_H : ndarray of int, optional
        The rows of H that are updated (None: all; the others stay as they are).
    """

    objective: NMFObjective
    update_H: bool = True
    free_H: Optional[np.ndarray] = None

    def prepare(self, W, H):
        return W, H

    def init_state(self, W, H):
        return Measured(0, None)

    def violation(self, state):
        """The KKT violation an iteration measured, or None."""
        return state.violation

    @property
    def measurable(self):
        """Whether the KKT violation is measured (non-negative sets, no graph)."""
        problem = self.objective
        projectors = (column_projector(problem.W_map), column_projector(problem.H_map))
        return problem.graph is None and all(p is nonnegative_part for p in projectors)

    def update(self, W, H, state):
        """One outer iteration: ``(W, H, state, objective value)``."""
        problem = self.objective
        X = problem.X
        k = H.shape[0]
        m, n = X.shape
        nnz = problem.nnz
        measure = self.measurable and state.iterations % CHECK_EVERY == 0
        Wt = np.ascontiguousarray(W.T)
        C = np.asarray(X @ H.T)
        P = H @ H.T
        P_W, B_W = _penalized(P, C.T, problem.l1_W, problem.l2_W)
        violation = kkt_violation(Wt, P_W, B_W) if measure else None
        sweeps(Wt, P_W, B_W, column_projector(problem.W_map), sweep_budget(n, m, k, nnz), problem.graph)
        W = Wt.T
        Q = Wt @ W
        if self.update_H:
            B = np.asarray((X.T @ W).T) if sp.issparse(X) else Wt @ X
            Q_H, B_H = _penalized(Q, B, problem.l1_H, problem.l2_H)
            if measure:
                violation += kkt_violation(H, Q_H, B_H, self.free_H)
            sweeps(H, Q_H, B_H, column_projector(problem.H_map), sweep_budget(m, n, k, nnz),
                   rows=self.free_H)
            P = H @ H.T
            cross = np.vdot(B, H)
        else:
            cross = np.vdot(C, W)
        loss = 0.5 * max(problem.sq_norm - 2 * cross + np.vdot(Q, P), 0.0)
        state = Measured(state.iterations + 1, violation)
        return W, H, state, loss + problem.regularization(W, H)


def _masked_sweep(F, G, R, M, project, l1, l2, graph=None, columns=None):
    """Exact weighted coordinate steps on the `columns` of F (None: all), in column
    orientation ``Xo ~ F G^T``; ``R = M * (Xo - F G^T)`` is kept up to date in place.

    The weights make each column's quadratic non-isotropic, so the projection is exact
    for entrywise sets only (the caller checks).
    """
    for j in range(F.shape[1]) if columns is None else columns:
        g = G[:, j]
        curvature = M @ (g * g) + l2
        old = F[:, j].copy()
        numerator = (curvature - l2) * old + R @ g - l1
        if graph is not None:
            weight, adjacency, degree = graph
            numerator += 2 * weight * (adjacency @ old)
            curvature = curvature + 2 * weight * degree
        new = project(np.divide(numerator, curvature, out=np.zeros_like(old), where=curvature > 0), j)
        F[:, j] = new
        R -= M * np.outer(new - old, g)


@dataclass(frozen=True)
class MaskedCoordinateDescent:
    """``cd`` with a mask: weighted exact coordinate steps. Its state is the masked
    residual ``M * (X - W H)``, updated in place by every step.

    Parameters
    ----------
    objective : NMFObjective
        With a mask and entrywise sets.
    update_H : bool, default True
    free_H : ndarray of int, optional
        The rows of H that are updated (None: all).
    """

    objective: NMFObjective
    update_H: bool = True
    free_H: Optional[np.ndarray] = None

    def prepare(self, W, H):
        return W, H

    def init_state(self, W, H):
        problem = self.objective
        return problem.mask * (problem.X - W @ H)

    def update(self, W, H, residual):
        problem = self.objective
        M = problem.mask
        W = np.array(W)
        _masked_sweep(W, H.T, residual, M, column_projector(problem.W_map), problem.l1_W,
                      problem.l2_W, problem.graph)
        if self.update_H:
            _masked_sweep(H.T, W, residual.T, M.T, column_projector(problem.H_map), problem.l1_H,
                          problem.l2_H, columns=self.free_H)
        value = 0.5 * float(np.vdot(residual, residual)) + problem.regularization(W, H)
        return W, H, residual, value
