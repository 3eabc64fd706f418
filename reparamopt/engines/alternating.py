"""Alternating block updates: each block improved in turn, the others fixed."""

from dataclasses import dataclass
from typing import Any

from .base import Engine, State

__all__ = ["AlternatingBlocks", "BlockState"]


@dataclass(frozen=True)
class BlockState(State):
    """State of :class:`AlternatingBlocks`: the blocks, e.g. the factors ``(W, H)``."""

    blocks: Any = None


@dataclass(frozen=True)
class AlternatingBlocks(Engine):
    """One iteration updates every block of the problem in turn.

    The problem supplies the block updates (exact block minimization, multiplicative
    steps, a few latent gradient steps...): ``blocks(u)``, ``update(blocks) -> (blocks,
    value)``, ``pack(blocks) -> u`` and ``objective(blocks)``. This is how NMF's
    coordinate-descent, multiplicative and gradient solvers run in the shared loop
    (:class:`reparamopt.solvers.nmf.BlockUpdates`), usually with
    ``run(..., optimality="decrease")``.

    Examples
    --------
    >>> from reparamopt.engines import AlternatingBlocks
    >>> import numpy as np
    >>> class Halves:  # minimize (a - 1)^2 + (b - a)^2 by exact block steps
    ...     def blocks(self, u): return tuple(u)
    ...     def pack(self, blocks): return np.array(blocks, dtype=float)
    ...     def objective(self, blocks): a, b = blocks; return (a - 1) ** 2 + (b - a) ** 2
    ...     def update(self, blocks):
    ...         a, b = blocks
    ...         a = (1 + b) / 2
    ...         b = a
    ...         return (a, b), self.objective((a, b))
    >>> from reparamopt.engines import run
    >>> res = run(AlternatingBlocks(), Halves(), np.zeros(2), optimality="decrease", tol=1e-12)
    >>> np.round(res.x, 6)
    array([1., 1.])
    """

    def init_state(self, problem, u0):
        blocks = problem.blocks(u0)
        return BlockState(u=problem.pack(blocks), fun=float(problem.objective(blocks)), grad=None,
                          nfev=1, blocks=blocks)

    def step(self, problem, state):
        blocks, value = problem.update(state.blocks)
        return state.replace(u=problem.pack(blocks), fun=float(value), blocks=blocks,
                             k=state.k + 1, nfev=state.nfev + 1)
