r"""``gd`` / ``accelerated``: plain or accelerated gradient steps on the latent factors
through the maps' pullbacks (any registered constraint), a few per block."""

from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from ...engines import get_engine
from .factor_sets import is_nonnegative
from .objective import EPS, NMFObjective

__all__ = ["LatentGradient", "LatentFactors"]


class LatentFactors(NamedTuple):
    """The state of :class:`LatentGradient`: the latent factors, ``W = phi_W(U)`` and
    ``H.T = phi_H(V)`` (V is None while H stays fixed)."""

    U: np.ndarray
    V: Any


class _Block:
    """The latent problem of one block, flattened for the engines."""

    def __init__(self, cmap, shape, value_and_grad_x):
        self.cmap, self.shape, self._vg = cmap, shape, value_and_grad_x

    def value_and_grad(self, u):
        u = u.reshape(self.shape)
        xt = self.cmap.forward(u)
        value, grad_x = self._vg(xt)
        return value, np.ravel(self.cmap.pullback(u, grad_x))


def _block_objective(Xo, Mo, G, l1, l2, graph=None):
    """``value_and_grad(F)`` of one block in column orientation: ``Xo ~ F G^T``.

    The W block has ``Xo = X, G = H^T``; the H block ``Xo = X^T, G = W`` and F = H^T.
    Without a mask the value drops the constant ``||X||^2 / 2`` and uses Gram products
    formed once per block.
    """
    if Mo is None:
        P = G.T @ G
        C = np.asarray(Xo @ G)

    def value_and_grad(F):
        if Mo is None:
            FP = F @ P
            value, grad = 0.5 * np.vdot(FP, F) - np.vdot(C, F), FP - C
        else:
            R = Mo * (F @ G.T - Xo)
            value, grad = 0.5 * np.vdot(R, R), R @ G
        value += l1 * F.sum() + 0.5 * l2 * np.vdot(F, F)
        grad = grad + l1 + l2 * F
        if graph is not None:
            weight, adjacency, degree = graph
            LF = degree[:, None] * F - adjacency @ F
            value += weight * np.vdot(F, LF)
            grad = grad + 2 * weight * LF
        return float(value), grad

    return value_and_grad


def _inner(engine, block, u, steps):
    current = engine.init_state(block, np.ravel(u))
    for _ in range(steps):
        current = engine.step(block, current)
    return current.u.reshape(u.shape)


def _off_boundary(cmap, x):
    # A latent point mapped onto the boundary has a zero latent gradient there and
    # would never move: start a little inside the set instead.
    inside = cmap.project(np.full(x.shape, max(float(np.mean(x)), EPS)))
    nudged = 0.99 * x + 0.01 * inside
    if is_nonnegative(cmap):
        # only the entries on the boundary (zeros) move: a start inside stays exact
        return np.where(x > 0, x, nudged)
    return nudged


@dataclass(frozen=True)
class LatentGradient:
    """``gd`` (Armijo steps) or ``accelerated`` (accelerated, backtracking, restart): `steps`
    engine steps on each latent block per iteration. Its state is the latent factors
    (:class:`LatentFactors`).

    Parameters
    ----------
    objective : NMFObjective
        With the Frobenius loss; any factor sets.
    update_H : bool, default True
    accelerated : bool, default True
        "accelerated" (True) or "gd" (False).
    steps : int, default 10
        Latent steps per block and iteration.
    """

    objective: NMFObjective
    update_H: bool = True
    accelerated: bool = True
    steps: int = 10

    @cached_property
    def engine(self):
        """The engine of the inner steps."""
        return get_engine("nesterov") if self.accelerated else get_engine("gd", step_size="armijo")

    def prepare(self, W, H):
        """The start moved off the boundary of the sets (see ``_off_boundary``)."""
        W = _off_boundary(self.objective.W_map, W)
        if self.update_H:
            H = _off_boundary(self.objective.H_map, H.T).T
        return W, H

    def init_state(self, W, H):
        problem = self.objective
        V = problem.H_map.inverse(H.T) if self.update_H else None
        return LatentFactors(U=problem.W_map.inverse(W), V=V)

    def update(self, W, H, latent):
        problem = self.objective
        X, M, engine = problem.X, problem.mask, self.engine
        objective = _block_objective(X, M, H.T, problem.l1_W, problem.l2_W, problem.graph)
        U = _inner(engine, _Block(problem.W_map, latent.U.shape, objective), latent.U, self.steps)
        W = problem.W_map.forward(U)
        V = latent.V
        if self.update_H:
            objective = _block_objective(X.T, None if M is None else M.T, W, problem.l1_H, problem.l2_H)
            V = _inner(engine, _Block(problem.H_map, V.shape, objective), V, self.steps)
            H = np.ascontiguousarray(problem.H_map.forward(V).T)
        return W, H, LatentFactors(U=U, V=V), problem.value(W, H)
