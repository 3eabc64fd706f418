r"""``cd``: exact latent block-coordinate minimization.

With one component's latent column ``u_j`` free and everything else fixed, the Frobenius
objective is a separable quadratic in ``x_j = u_j**L``; since the map is onto, the latent
minimizers are the preimages of the projected x-space minimizer, available in closed
form. Cheap repeated sweeps reuse the Gram matrices of a block (Gillis and Glineur's
accelerated HALS rule), which is what makes it fast. With a mask, the steps are weighted
and keep the masked residual up to date instead.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .factor_sets import column_projector
from .objective import NMFObjective

__all__ = ["CoordinateDescent", "MaskedCoordinateDescent", "sweeps", "sweep_budget"]


def sweeps(F, Q, B, project, max_sweeps, graph=None):
    """Minimize ``1/2 <Q F, F> - <B, F> (+ graph term)`` over the rows of F in place.

    Row j of F is component j. Each row step is exact; with a graph term the coupling
    ``-w^T A w`` (concave) is replaced by its tangent, a majorizer, so the step still
    decreases the objective. Sweeps repeat while they still move F by more than a tenth
    of the first sweep's move (in Frobenius norm).
    """
    first = None
    if graph is not None:
        weight, adjacency, degree = graph
        curvature_extra = 2 * weight * degree
    for _ in range(max_sweeps):
        moved = 0.0
        for j in range(F.shape[0]):
            q = Q[j, j]
            if q <= 0:
                continue  # a dead component: nothing to fit it to
            row = F[j]
            if graph is None:
                new = project(row + (B[j] - Q[j] @ F) / q, j)
            else:
                numerator = B[j] - Q[j] @ F + q * row + 2 * weight * (adjacency @ row)
                new = project(numerator / (q + curvature_extra), j)
            delta = new - row
            moved += delta @ delta
            F[j] = new
        if first is None:
            first = moved
        if moved <= 0.01 * first:
            break


def sweep_budget(rows, cols, k, nnz):
    """Most sweeps per block: about half the cost of forming the block's Gram products.

    A row step also pays a fixed interpreter overhead, counted as ~5e4 flops, so that
    small problems do not spend their time in Python loops; at least 3 sweeps, because
    near-exact block solves pay off on hard (ill-conditioned) problems, and the sweeps
    stop early once they barely move the block.

    Examples
    --------
    >>> from reparamopt.solvers.nmf import sweep_budget
    >>> sweep_budget(64, 1797, 10, 1797 * 64), sweep_budget(10**5, 10**5, 5, 10**10)
    (3, 10)
    """
    setup = nnz * k + rows * k * k
    sweep = k * (cols * k + 5e4)
    return int(np.clip(1 + 0.5 * setup / sweep, 3, 10))


@dataclass(frozen=True)
class CoordinateDescent:
    """``cd`` on fully observed data: exact sweeps over each block that reuse the block's
    Gram products. It keeps no state between iterations.

    Parameters
    ----------
    objective : NMFObjective
    update_H : bool, default True
        False keeps H fixed (W for fixed H).
    """

    objective: NMFObjective
    update_H: bool = True

    def prepare(self, W, H):
        return W, H

    def init_state(self, W, H):
        return None

    def update(self, W, H, state):
        """One outer iteration: ``(W, H, state, objective value)``."""
        problem = self.objective
        X = problem.X
        k = H.shape[0]
        m, n = X.shape
        nnz = X.nnz if sp.issparse(X) else m * n
        P = H @ H.T
        C = np.asarray(X @ H.T)
        Wt = np.ascontiguousarray(W.T)
        sweeps(Wt, P + problem.l2_W * np.eye(k), C.T - problem.l1_W,
               column_projector(problem.W_map), sweep_budget(n, m, k, nnz), problem.graph)
        W = Wt.T
        Q = W.T @ W
        if self.update_H:
            B = np.asarray((X.T @ W).T) if sp.issparse(X) else W.T @ X
            sweeps(H, Q + problem.l2_H * np.eye(k), B - problem.l1_H,
                   column_projector(problem.H_map), sweep_budget(m, n, k, nnz))
            P = H @ H.T
            cross = np.vdot(B, H)
        else:
            cross = np.vdot(C, W)
        loss = 0.5 * max(problem.sq_norm - 2 * cross + np.vdot(Q, P), 0.0)
        return W, H, None, loss + problem.regularization(W, H)


def _masked_sweep(F, G, R, M, project, l1, l2, graph=None):
    """Exact weighted coordinate steps on the columns of F, in column orientation
    ``Xo ~ F G^T``; ``R = M * (Xo - F G^T)`` is kept up to date in place.

    The weights make each column's quadratic non-isotropic, so the projection is exact
    for entrywise sets only (the caller checks).
    """
    for j in range(F.shape[1]):
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
    """

    objective: NMFObjective
    update_H: bool = True

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
                          problem.l2_H)
        value = 0.5 * float(np.vdot(residual, residual)) + problem.regularization(W, H)
        return W, H, residual, value
