"""Early stopping for :func:`reparamopt.sparse_recovery` on noisy data.

:func:`parse_early_stopping` turns the user's `early_stopping` argument into a
:class:`Discrepancy` or :class:`Validation` rule; a rule is a ``checkpoint`` for
:func:`reparamopt.engines.run`, called after every iteration.
"""

import numbers

import numpy as np

from .._utils.validation import check_random_state, check_scalar, describe
from ..exceptions import InvalidArgumentError, InvalidTypeError
from ..models.linear import LinearModel, select_rows

__all__ = ["Discrepancy", "Validation", "parse_early_stopping"]


class Discrepancy:
    """Stop at the first iterate with ``||A x - b|| <= tau * noise_level``."""

    name = "discrepancy"

    def __init__(self, noise_level, tau=1.0):
        self.noise_level = check_scalar(noise_level, "early_stopping['noise_level']", lower=0)
        self.tau = check_scalar(tau, "early_stopping['tau']", lower=0, lower_inclusive=False)
        if not np.isfinite(self.noise_level * self.tau):
            raise InvalidArgumentError(
                f"`early_stopping` needs a finite noise level; got {noise_level!r}")
        self.triggered = False
        self.value = None

    def split(self, A, b):
        return A, b

    def checkpoint_for(self, problem):
        def checkpoint(u, k):
            # the engines evaluate the objective at their new iterate, so this is a cache hit
            fun = problem.value_and_grad(u)[0]
            self.value = float(np.sqrt(2.0 * max(fun, 0.0)))
            if self.value <= self.tau * self.noise_level:
                self.triggered = True
                return u, True
            return None
        return checkpoint

    def best(self, u):
        return u

    def describe(self):
        return (f"the residual norm {self.value:.3g} reached tau * noise_level = "
                f"{self.tau * self.noise_level:.3g} (discrepancy principle)")


class Validation:
    """Hold out a fraction of the rows; keep the iterate with the smallest validation
    error and stop after `patience` iterations without improvement."""

    name = "validation"

    def __init__(self, fraction=0.2, patience=200, random_state=0):
        self.fraction = check_scalar(fraction, "early_stopping['fraction']", lower=0, upper=1,
                                     lower_inclusive=False, upper_inclusive=False)
        self.patience = check_scalar(patience, "early_stopping['patience']", lower=1, integer=True)
        self.rng = check_random_state(random_state, "early_stopping['random_state']")
        self.triggered = False
        self.value = np.inf
        self._best_u = None
        self._best_k = 0

    def split(self, A, b):
        m = b.size
        n_val = int(round(self.fraction * m))
        if n_val < 1 or n_val > m - 1:
            raise InvalidArgumentError(
                f"`early_stopping['fraction']` = {self.fraction:g} leaves no validation or no "
                f"training row for m = {m} measurements")
        order = self.rng.permutation(m)
        self.val_rows, train_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
        self._val = LinearModel(select_rows(A, self.val_rows), b[self.val_rows])
        return select_rows(A, train_rows), b[train_rows]

    def checkpoint_for(self, problem):
        def checkpoint(u, k):
            r = self._val.matvec(problem.to_feasible(u)) - self._val.b
            error = float(np.linalg.norm(r))
            if error < self.value:
                self.value, self._best_u, self._best_k = error, np.array(u), k
            elif k - self._best_k >= self.patience:
                self.triggered = True
                return self._best_u, True
            return None
        return checkpoint

    def best(self, u):
        return u if self._best_u is None else self._best_u

    def describe(self):
        return (f"the validation residual {self.value:.3g} did not improve for "
                f"{self.patience} iterations (best iterate kept)")


_RULES = {"discrepancy": Discrepancy, "validation": Validation}


def parse_early_stopping(spec):
    """A rule from None, a noise level, "validation", or a dict with a "rule" key."""
    if spec is None:
        return None
    if isinstance(spec, numbers.Real) and not isinstance(spec, (bool, np.bool_)):
        return Discrepancy(spec)
    if isinstance(spec, str):
        if spec not in _RULES or spec == "discrepancy":
            raise InvalidArgumentError(
                f"`early_stopping` must be None, a noise level, 'validation' or a dict with "
                f"'rule' in {sorted(_RULES)}; got {spec!r}")
        return _RULES[spec]()
    if isinstance(spec, dict):
        options = dict(spec)
        rule = options.pop("rule", "discrepancy" if "noise_level" in options else None)
        if rule not in _RULES:
            raise InvalidArgumentError(
                f"`early_stopping['rule']` must be one of {sorted(_RULES)}; got {rule!r}")
        if rule == "discrepancy" and "noise_level" not in options:
            raise InvalidArgumentError(
                f"`early_stopping` with the discrepancy rule needs a 'noise_level'; got {spec!r}")
        try:
            return _RULES[rule](**options)
        except TypeError as exc:
            raise InvalidArgumentError(f"`early_stopping` has unknown keys for the rule "
                                       f"{rule!r}: {sorted(options)}") from exc
    raise InvalidTypeError(
        f"`early_stopping` must be None, a number, a string or a dict; got {describe(spec)}")


