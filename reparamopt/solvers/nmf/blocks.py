r"""The NMF fit as blocks for :class:`reparamopt.engines.AlternatingBlocks`, and the
solver of each name."""

import numpy as np

from ..._utils.validation import check_choice
from .coordinate_descent import CoordinateDescent, MaskedCoordinateDescent
from .latent import LatentGradient
from .multiplicative import Multiplicative

__all__ = ["SOLVERS", "make_solver", "BlockUpdates"]

#: The solvers by name (scikit-learn's "mu" is "mirror" and "nesterov" is "accelerated",
#: as in the engine table; the estimator resolves both aliases).
SOLVERS = ("cd", "mirror", "gd", "accelerated")


def make_solver(name, objective, *, update_H=True, inner_steps=10):
    """The solver `name` for `objective`: an object with ``prepare(W, H)`` (the start made
    valid for it), ``init_state(W, H)`` and ``update(W, H, state) -> (W, H, state,
    value)``, one outer iteration (W, then H unless `update_H` is False).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.solvers.nmf import NMFObjective, make_solver
    >>> f = NMFObjective(X=np.ones((3, 2)), mask=None, beta=2.0, l1_W=0.0, l2_W=0.0,
    ...                  l1_H=0.0, l2_H=0.0, W_map=None, H_map=None)
    >>> type(make_solver("mirror", f)).__name__, make_solver("gd", f).accelerated
    ('Multiplicative', False)
    """
    check_choice(name, "solver", SOLVERS)
    if name in ("gd", "accelerated"):
        return LatentGradient(objective, update_H=update_H, accelerated=name == "accelerated",
                              steps=inner_steps)
    if name == "mirror":
        return Multiplicative(objective, update_H=update_H)
    if objective.mask is not None:
        return MaskedCoordinateDescent(objective, update_H=update_H)
    return CoordinateDescent(objective, update_H=update_H)


class BlockUpdates:
    """An NMF solver as blocks for :class:`reparamopt.engines.AlternatingBlocks`.

    The blocks are ``(W, H, state)``, the state the solver's own (a residual, a product,
    latent factors, or None). ``blocks(u)`` gives them from the flat iterate ``u``,
    ``update(blocks)`` one outer iteration with its objective value, ``pack`` the flat
    iterate the loop checks, ``factors(u)`` and ``to_feasible`` the factors ``(W, H)``.

    Parameters
    ----------
    solver : object
        From :func:`make_solver`.
    W, H : ndarray
        The starting factors (`start` holds them as the solver starts from them).
    """

    def __init__(self, solver, W, H):
        self.solver = solver
        W, H = solver.prepare(np.array(W, dtype=float), np.array(H, dtype=float))
        self.shapes = (W.shape, H.shape)
        self.start = (W, H)

    def pack(self, blocks):
        W, H = blocks[:2]
        return np.concatenate([np.ravel(W), np.ravel(H)])

    def factors(self, u):
        (wm, wn), _ = self.shapes
        return u[: wm * wn].reshape(self.shapes[0]), u[wm * wn:].reshape(self.shapes[1])

    def blocks(self, u):
        W, H = self.factors(u)
        return W, H, self.solver.init_state(W, H)

    def to_feasible(self, u):
        return self.factors(u)

    def objective(self, blocks):
        return self.solver.objective.value(*blocks[:2])

    def update(self, blocks):
        W, H, state, value = self.solver.update(*blocks)
        return (W, H, state), value
