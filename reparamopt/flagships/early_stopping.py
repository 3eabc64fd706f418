"""Early stopping for :func:`reparamopt.sparse_recovery` on noisy data.

A rule is a frozen settings object, validated when it is built: :class:`Discrepancy`
or :class:`Validation`, parsed from the user's `early_stopping` argument by
:func:`parse_early_stopping`. For one run, ``rule.monitor(model)`` gives a
:class:`Monitor`: the data the dynamics fit (``fit``), a ``checkpoint`` for
:func:`reparamopt.engines.run`, called after every iteration, and the
:class:`StopOutcome` of the run (the iterate kept, whether the rule ended the run, why).
"""

import dataclasses
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Optional

import numpy as np

from .._utils.validation import check_random_state, check_scalar, describe
from ..exceptions import InvalidArgumentError, InvalidTypeError
from ..models.linear import LinearModel, select_rows

__all__ = ["Discrepancy", "Validation", "Monitor", "StopOutcome", "parse_early_stopping"]


class StopOutcome(NamedTuple):
    """What an early-stopping rule made of a run."""

    #: the iterate to return (the best one seen by the validation rule)
    u: np.ndarray
    #: whether the rule ended the run
    stopped: bool
    #: why, in words (empty when the rule did not stop the run)
    reason: str


@dataclass(frozen=True)
class Discrepancy:
    """Stop at the first iterate with ``||A x - b|| <= tau * noise_level``.

    Examples
    --------
    >>> from reparamopt.flagships.early_stopping import Discrepancy
    >>> Discrepancy(0.5, tau=2.0).threshold
    1.0
    >>> Discrepancy(0.5, tau=0)
    Traceback (most recent call last):
    ...
    reparamopt.exceptions.InvalidArgumentError: `early_stopping['tau']` must be a number > 0; got 0
    """

    noise_level: float
    tau: float = 1.0
    name: ClassVar[str] = "discrepancy"

    def __post_init__(self):
        noise_level = check_scalar(self.noise_level, "early_stopping['noise_level']", lower=0)
        tau = check_scalar(self.tau, "early_stopping['tau']", lower=0, lower_inclusive=False)
        if not np.isfinite(noise_level * tau):
            raise InvalidArgumentError(
                f"`early_stopping` needs a finite noise level; got {self.noise_level!r}")
        object.__setattr__(self, "noise_level", noise_level)
        object.__setattr__(self, "tau", tau)

    @property
    def threshold(self):
        """``tau * noise_level``."""
        return self.tau * self.noise_level

    def monitor(self, model):
        """The monitor of one run on the data `model` (all of it is fitted)."""
        return _DiscrepancyMonitor(self, model)


@dataclass(frozen=True)
class Validation:
    """Hold out a fraction of the rows; keep the iterate with the smallest validation
    error and stop after `patience` iterations without improvement.

    The generator of the split is drawn from `random_state` once, when the rule is
    built (an int gives the same split every time)."""

    fraction: float = 0.2
    patience: int = 200
    random_state: Any = 0
    rng: Any = dataclasses.field(init=False, repr=False, compare=False)
    name: ClassVar[str] = "validation"

    def __post_init__(self):
        fraction = check_scalar(self.fraction, "early_stopping['fraction']", lower=0, upper=1,
                                lower_inclusive=False, upper_inclusive=False)
        patience = check_scalar(self.patience, "early_stopping['patience']", lower=1, integer=True)
        object.__setattr__(self, "fraction", fraction)
        object.__setattr__(self, "patience", patience)
        object.__setattr__(self, "rng", check_random_state(self.random_state,
                                                           "early_stopping['random_state']"))

    def split(self, m):
        """``(validation rows, training rows)`` of `m` measurements, each sorted."""
        n_val = int(round(self.fraction * m))
        if n_val < 1 or n_val > m - 1:
            raise InvalidArgumentError(
                f"`early_stopping['fraction']` = {self.fraction:g} leaves no validation or no "
                f"training row for m = {m} measurements")
        order = self.rng.permutation(m)
        return np.sort(order[:n_val]), np.sort(order[n_val:])

    def monitor(self, model):
        """The monitor of one run on the data `model` (split into fitted and held-out
        rows)."""
        return _ValidationMonitor(self, model)


class Monitor:
    """The running side of a rule, for one run: ``fit`` (the data the dynamics fit),
    ``checkpoint(problem)`` for :func:`reparamopt.engines.run`, and ``outcome(u)``
    once the run has ended at `u`. Its state lives only as long as the run."""

    fit: LinearModel

    def checkpoint(self, problem):
        raise NotImplementedError

    def outcome(self, u):
        raise NotImplementedError


class _DiscrepancyMonitor(Monitor):
    def __init__(self, rule, model):
        self.rule, self.fit = rule, model
        self.value: Optional[float] = None
        self.stopped = False

    def checkpoint(self, problem):
        def checkpoint(u, k):
            # the engines evaluate the objective at their new iterate, so this is a cache hit
            fun = problem.value_and_grad(u)[0]
            self.value = float(np.sqrt(2.0 * max(fun, 0.0)))
            if self.value <= self.rule.threshold:
                self.stopped = True
                return u, True
            return None
        return checkpoint

    def outcome(self, u):
        reason = (f"the residual norm {self.value:.3g} reached tau * noise_level = "
                  f"{self.rule.threshold:.3g} (discrepancy principle)") if self.stopped else ""
        return StopOutcome(u, self.stopped, reason)


class _ValidationMonitor(Monitor):
    def __init__(self, rule, model):
        self.rule = rule
        held_out, fitted = rule.split(model.b.size)
        self.held_out = LinearModel(select_rows(model.A, held_out), model.b[held_out])
        self.fit = LinearModel(select_rows(model.A, fitted), model.b[fitted])
        self.value, self.best_u, self.best_k = np.inf, None, 0
        self.stopped = False

    def checkpoint(self, problem):
        def checkpoint(u, k):
            r = self.held_out.matvec(problem.to_feasible(u)) - self.held_out.b
            error = float(np.linalg.norm(r))
            if error < self.value:
                self.value, self.best_u, self.best_k = error, np.array(u), k
            elif k - self.best_k >= self.rule.patience:
                self.stopped = True
                return self.best_u, True
            return None
        return checkpoint

    def outcome(self, u):
        reason = (f"the validation residual {self.value:.3g} did not improve for "
                  f"{self.rule.patience} iterations (best iterate kept)") if self.stopped else ""
        return StopOutcome(u if self.best_u is None else self.best_u, self.stopped, reason)


_RULES = {"discrepancy": Discrepancy, "validation": Validation}


def parse_early_stopping(spec):
    """A rule from None, a noise level, "validation", a dict with a "rule" key, or a rule.

    Examples
    --------
    >>> from reparamopt.flagships.early_stopping import parse_early_stopping
    >>> parse_early_stopping(0.1)
    Discrepancy(noise_level=0.1, tau=1.0)
    >>> parse_early_stopping({"rule": "validation", "patience": 50}).patience
    50
    """
    if spec is None or isinstance(spec, (Discrepancy, Validation)):
        return spec
    if isinstance(spec, numbers.Real) and not isinstance(spec, (bool, np.bool_)):
        return Discrepancy(spec)
    if isinstance(spec, str):
        if spec not in _RULES or spec == "discrepancy":
            raise InvalidArgumentError(
                f"`early_stopping` must be None, a noise level, 'validation' or a dict with "
                f"'rule' in {sorted(_RULES)}; got {spec!r}")
        return _RULES[spec]()
    if isinstance(spec, dict):
        return _from_dict(spec)
    raise InvalidTypeError(
        f"`early_stopping` must be None, a number, a string or a dict; got {describe(spec)}")


def _from_dict(spec):
    options = dict(spec)
    rule = options.pop("rule", "discrepancy" if "noise_level" in options else None)
    if rule not in _RULES:
        raise InvalidArgumentError(
            f"`early_stopping['rule']` must be one of {sorted(_RULES)}; got {rule!r}")
    if rule == "discrepancy" and "noise_level" not in options:
        raise InvalidArgumentError(
            f"`early_stopping` with the discrepancy rule needs a 'noise_level'; got {spec!r}")
    known = {f.name for f in dataclasses.fields(_RULES[rule]) if f.init}
    if set(options) - known:
        raise InvalidArgumentError(f"`early_stopping` has unknown keys for the rule "
                                   f"{rule!r}: {sorted(options)}")
    return _RULES[rule](**options)
