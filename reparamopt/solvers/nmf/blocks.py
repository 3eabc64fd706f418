r"""The NMF fit as blocks for :class:`reparamopt.engines.AlternatingBlocks`, and the
solver of each name."""

import numpy as np

from ..._utils.validation import check_choice
from ...exceptions import InvalidArgumentError
from .coordinate_descent import CHECK_EVERY, CoordinateDescent, MaskedCoordinateDescent
from .kullback_leibler import KLMultiplicative
from .latent import LatentGradient
from .multiplicative import Multiplicative

__all__ = ["SOLVERS", "make_solver", "BlockUpdates", "stopping_measure"]

#: The solvers by name (scikit-learn's "mu" is "mirror" and "nesterov" is "accelerated",
#: as in the engine table; the estimator resolves both aliases).
SOLVERS = ("cd", "mirror", "gd", "accelerated")


def make_solver(name, objective, *, update_H=True, inner_steps=10, free_H=None):
    """The solver `name` for `objective`: an object with ``prepare(W, H)`` (the start made
    valid for it), ``init_state(W, H)`` and ``update(W, H, state) -> (W, H, state,
    value)``, one outer iteration (W, then H unless `update_H` is False). `free_H`: the
    rows of H that are updated (None: all), for "cd" and "mirror".

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
    if free_H is not None and name in ("gd", "accelerated"):
        raise InvalidArgumentError(f"`fixed_components` needs `solver` 'cd' or 'mirror'; got {name!r}")
    if name in ("gd", "accelerated"):
        return LatentGradient(objective, update_H=update_H, accelerated=name == "accelerated",
                              steps=inner_steps)
    if name == "mirror":
        if objective.beta == 1 and objective.mask is None and not objective.has_graph:
            return KLMultiplicative(objective, update_H=update_H, free_H=free_H)
        return Multiplicative(objective, update_H=update_H, free_H=free_H)
    if objective.mask is not None:
        return MaskedCoordinateDescent(objective, update_H=update_H, free_H=free_H)
    return CoordinateDescent(objective, update_H=update_H, free_H=free_H)


def stopping_measure(values, violations, every=CHECK_EVERY):
    """The measure a fit stops on (when it is at most `tol`), from the objective `values`
    at the start and after each iteration and the KKT `violations` the iterations
    measured (None where one measured none), with scikit-learn's meaning of `tol` for
    each kind of solver:

    - a solver that measures the KKT violation ("cd" on non-negative factors without a
      graph; scikit-learn's "cd" rule): the last violation over the first, measured
      every `every` iterations;
    - every other solver (scikit-learn's "mu" rule), every `every` iterations: the
      decrease of the error ``e = sqrt(2 f)`` over the last `every` iterations relative
      to the error at the start, ``(e_{k-every} - e_k) / e_0`` (an increase is negative
      and stops).

    A slow decrease alone does not stop a solver that measures the violation: on data
    whose fit improves slowly (low rank plus noise) the decrease rule stopped "cd" at
    1.4 times scikit-learn's error. The largest float where no measure is due (before
    the first iteration, between checks).

    Examples
    --------
    >>> from reparamopt.solvers.nmf import stopping_measure
    >>> values = [50.0, 12.5, 8.0, 6.0, 4.5]  # errors 10, 5, 4, 3.46, 3
    >>> stopping_measure(values, [None] * 4, every=2)  # (4 - 3) / 10
    0.1
    >>> stopping_measure(values[:4], [400.0, None, 2.0], every=2)  # 2 / 400
    0.005
    >>> stopping_measure(values[:3], [400.0, None], every=2) > 1e300  # no violation measured
    True
    """
    big = float(np.finfo(float).max)
    if violations and violations[0] is not None:
        last = violations[-1]
        return big if last is None else float(last / max(violations[0], np.finfo(float).tiny))
    done = len(values) - 1
    if not (done and done % every == 0):
        return big
    errors = np.sqrt(2 * np.maximum(values[-1 - every], 0.0)), np.sqrt(2 * max(values[-1], 0.0))
    return float((errors[0] - errors[1]) / max(np.sqrt(2 * max(values[0], 0.0)), np.finfo(float).tiny))


class BlockUpdates:
    """An NMF solver as blocks for :class:`reparamopt.engines.AlternatingBlocks`.

    The blocks are ``(W, H, state)``, the state the solver's own (a residual, a product,
    latent factors, or None). ``blocks(u)`` gives them from the flat iterate ``u``,
    ``update(blocks)`` one outer iteration with its objective value, ``pack`` the flat
    iterate the loop checks, ``factors(u)`` and ``to_feasible`` the factors ``(W, H)``,
    ``optimality(u)`` the :func:`stopping_measure` of the run so far (`values` and
    `violations` record it: the objective after each iteration, the violation it measured).

    Parameters
    ----------
    solver : object
        From :func:`make_solver`.
    W, H : ndarray
        The starting factors (`start` holds them as the solver starts from them).
    """

    def __init__(self, solver, W, H):
        self.solver = solver
        # no copy: `start` is only read, by `pack`, which copies
        W, H = solver.prepare(np.asarray(W, dtype=float), np.asarray(H, dtype=float))
        self.shapes = (W.shape, H.shape)
        self.start = (W, H)
        self.values, self.violations = [], []

    def pack(self, blocks):
        W, H = blocks[:2]
        u = np.empty(W.size + H.size)
        # one copy, written in place (W may be a transposed view: no ravel copy first)
        u[:W.size].reshape(W.shape)[...] = W
        u[W.size:].reshape(H.shape)[...] = H
        return u

    def factors(self, u):
        (wm, wn), _ = self.shapes
        return u[: wm * wn].reshape(self.shapes[0]), u[wm * wn:].reshape(self.shapes[1])

    def blocks(self, u):
        W, H = self.factors(u)
        return W, H, self.solver.init_state(W, H)

    def to_feasible(self, u):
        return self.factors(u)

    def objective(self, blocks):
        value = self.solver.objective.value(*blocks[:2])
        self.values, self.violations = [value], []
        return value

    def update(self, blocks):
        W, H, state, value = self.solver.update(*blocks)
        self.values.append(value)
        measure = getattr(self.solver, "violation", None)
        self.violations.append(None if measure is None else measure(state))
        return (W, H, state), value

    def optimality(self, u):
        return stopping_measure(self.values, self.violations)
