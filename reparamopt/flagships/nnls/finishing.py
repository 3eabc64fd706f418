"""The exact finish as one call's paths use it, and what a path hands to the
certification.

:class:`Finisher` runs :func:`reparamopt.finish.exact_finish` on columns of the
problem, with the strategy of the method, and counts its least-squares solves and its
pivoted-QR fallbacks for the status message. :class:`NNLSOutcome` is the record a path
returns: the point, the iterations, its status and the points the result must not be
worse than.
"""

from dataclasses import dataclass, field
from typing import Any, List, Optional

import numpy as np

from ...finish import exact_finish
from ...finish.support import support_of
from ...result import Status

__all__ = ["Finisher", "NNLSOutcome"]


@dataclass
class NNLSOutcome:
    """What a path of :func:`~reparamopt.nnls` hands to the certification.

    ``before`` holds the points the result must not be worse than (the iterates the
    finish started from); ``nfev`` defaults to ``nit``; ``stable`` says which columns
    come from a backward-stable solve (LU of a square ``A``, the compiled Lawson-Hanson
    method), whose residual needs no refinement.
    """

    x: np.ndarray
    nit: int = 0
    status: Status = Status.CONVERGED
    nfev: Optional[int] = None
    u: Any = None
    history: Any = None
    before: List[np.ndarray] = field(default_factory=list)
    stable: Optional[np.ndarray] = None

    def __post_init__(self):
        if self.nfev is None:
            self.nfev = self.nit
        if self.stable is None:
            self.stable = np.zeros(np.shape(self.x)[1], bool)


class Finisher:
    """The exact finish for the columns of a :class:`~reparamopt.models.linear.LinearModel`
    under the call's settings, with its counters.

    Parameters
    ----------
    model : LinearModel
        The whole (scaled) problem.
    settings : NNLSSettings
        "auto" finishes with block exchanges, the paper's methods conservatively (single
        exchanges from the support their dynamics select).
    """

    def __init__(self, model, settings):
        self.model = model
        self.tol = settings.tol
        self.max_solves = settings.max_solves
        self.strategy = "blocks" if settings.method == "auto" else "conservative"
        self.nsolves = 0
        self.nfallback = 0

    def support_of(self, X):
        """The support of each column (:func:`reparamopt.finish.support.support_of`), at
        most ``m`` entries when A is wide."""
        m, n = self.model.m, self.model.n
        return support_of(X, room=m if m < n else None)

    def __call__(self, X, support=None, model=None, *, gram=True, inverse=None,
                 strategy=None):
        """The exact finish from `X` (restricted to `support`) for every column of
        `model` (default: the whole problem)."""
        model = self.model if model is None else model
        support = self.support_of(X) if support is None else support
        Xf, _, nsolves, nfallback = exact_finish(
            model, np.where(support, X, 0.0), support, tol=self.tol, max_solves=self.max_solves,
            gram=gram, inverse=inverse, strategy=strategy or self.strategy)
        self.nsolves += int(nsolves.sum())
        self.nfallback += nfallback
        return Xf

    def from_zero(self, model, k, *, gram=True, strategy=None):
        """The finish of `k` columns of `model` from ``x = 0`` (an empty support)."""
        n = self.model.n
        return self(np.zeros((n, k)), np.zeros((n, k), bool), model, gram=gram,
                    strategy=strategy)

    def certified(self, X, model=None):
        """Which columns of `X` meet the KKT test (on `model`, default the whole one)."""
        model = self.model if model is None else model
        return model.certify(np.maximum(X, 0.0), self.tol)[1]
