"""The settings of an NMF fit: the estimator's parameters, validated once."""

import numbers
from dataclasses import dataclass, fields, replace
from typing import Any, NamedTuple, Optional, Union

import numpy as np

from ..._utils.validation import check_choice, check_scalar
from ...exceptions import InvalidArgumentError, InvalidTypeError
from ...solvers.nmf import INITS, SOLVERS

__all__ = ["NMFSettings", "Penalties", "BETA_NAMES"]

#: The beta of each named loss.
BETA_NAMES = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}
# aliases: scikit-learn's "mu" (the multiplicative update) is "mirror" here, and
# "nesterov" is "accelerated" as in the engine table
SOLVER_ALIASES = {"mu": "mirror", "nesterov": "accelerated"}
_SOLVER_CHOICES = ("auto",) + SOLVERS + tuple(SOLVER_ALIASES)


class Penalties(NamedTuple):
    """The penalty weights of the objective, in the units of the data."""

    l1_W: float
    l2_W: float
    l1_H: float
    l2_H: float


@dataclass(frozen=True)
class NMFSettings:
    """The parameters of :class:`reparamopt.NMF`, validated when the object is built and
    kept in a canonical form: `beta_loss` as its float beta, `alpha_H` as a number
    ("same" resolved), `solver` "mu" as "mirror" and "nesterov" as "accelerated",
    `max_iter` and `inner_steps` as ints.
    A bad value raises an error that names the parameter and the value.

    The fields are the estimator's parameters (see :class:`reparamopt.NMF`, whose
    defaults they share); `W_constraint` and `H_constraint` are resolved against the
    data's shape later (:func:`reparamopt.flagships.nmf.data.factor_maps`), and
    `random_state` when the starting factors are drawn.

    Examples
    --------
    >>> from reparamopt.flagships.nmf.settings import NMFSettings
    >>> settings = NMFSettings(beta_loss="kullback-leibler", solver="mu", alpha_W=0.5)
    >>> settings.beta_loss, settings.solver, settings.alpha_H
    (1.0, 'mirror', 0.5)
    >>> NMFSettings(tol=-1.0)
    Traceback (most recent call last):
    ...
    reparamopt.exceptions.InvalidArgumentError: `tol` must be a number >= 0; got -1.0
    """

    n_components: Union[int, str, None] = "auto"
    init: Optional[str] = None
    solver: str = "auto"
    power: float = 2.0
    beta_loss: Union[str, float] = "frobenius"
    tol: float = 1e-4
    max_iter: int = 200
    random_state: Any = None
    alpha_W: float = 0.0
    alpha_H: Union[float, str] = "same"
    l1_ratio: float = 0.0
    verbose: int = 0
    W_constraint: Any = "nonnegative"
    H_constraint: Any = "nonnegative"
    graph_weight: float = 1.0
    inner_steps: int = 10
    progress: Any = False
    fixed_components: Any = None
    transform_max_iter: Optional[int] = None

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        beta = self.beta_loss
        if isinstance(beta, str):
            put("beta_loss", BETA_NAMES[check_choice(beta, "beta_loss", tuple(BETA_NAMES))])
        else:
            put("beta_loss", check_scalar(beta, "beta_loss"))
        put("alpha_W", check_scalar(self.alpha_W, "alpha_W", lower=0))
        same = isinstance(self.alpha_H, str) and self.alpha_H == "same"
        put("alpha_H", self.alpha_W if same else check_scalar(self.alpha_H, "alpha_H", lower=0))
        if self.init is not None:
            check_choice(self.init, "init", INITS)
        put("l1_ratio", check_scalar(self.l1_ratio, "l1_ratio", lower=0, upper=1))
        solver = check_choice(self.solver, "solver", _SOLVER_CHOICES)
        put("solver", SOLVER_ALIASES.get(solver, solver))
        put("tol", check_scalar(self.tol, "tol", lower=0))
        put("max_iter", int(check_scalar(self.max_iter, "max_iter", lower=1, integer=True)))
        put("graph_weight", check_scalar(self.graph_weight, "graph_weight", lower=0))
        put("inner_steps", int(check_scalar(self.inner_steps, "inner_steps", lower=1, integer=True)))
        put("power", check_scalar(self.power, "power", lower=2))
        if self.transform_max_iter is not None:
            put("transform_max_iter", int(check_scalar(self.transform_max_iter, "transform_max_iter",
                                                       lower=1, integer=True)))
        _check_n_components(self.n_components)

    @classmethod
    def from_estimator(cls, estimator):
        """The settings of `estimator` (an :class:`reparamopt.NMF`), validated."""
        return cls(**{f.name: getattr(estimator, f.name) for f in fields(cls)})

    def penalties(self, n_samples, n_features):
        """The penalty weights, with scikit-learn's scaling: ``l1_W = alpha_W * l1_ratio
        * n_features``, ``l1_H = alpha_H * l1_ratio * n_samples`` (l2 with ``1 - l1_ratio``).

        Examples
        --------
        >>> from reparamopt.flagships.nmf.settings import NMFSettings
        >>> NMFSettings(alpha_W=0.1, l1_ratio=0.5).penalties(n_samples=10, n_features=4)
        Penalties(l1_W=0.2, l2_W=0.2, l1_H=0.5, l2_H=0.5)
        """
        l1, l2 = self.l1_ratio, 1.0 - self.l1_ratio
        aW, aH = self.alpha_W, self.alpha_H
        return Penalties(l1_W=aW * l1 * n_features, l2_W=aW * l2 * n_features,
                         l1_H=aH * l1 * n_samples, l2_H=aH * l2 * n_samples)

    def for_transform(self):
        """The settings that solve W for fixed H: `max_iter` is `transform_max_iter`
        when set.

        Examples
        --------
        >>> from reparamopt.flagships.nmf.settings import NMFSettings
        >>> NMFSettings(max_iter=300, transform_max_iter=50).for_transform().max_iter
        50
        """
        if self.transform_max_iter is None:
            return self
        return replace(self, max_iter=self.transform_max_iter)

    def fixed_rows(self, k):
        """The indices of the components that stay fixed (sorted), None without any.
        `fixed_components` is a list of indices in ``0 .. k - 1`` or a boolean mask of
        length k.

        Examples
        --------
        >>> from reparamopt.flagships.nmf.settings import NMFSettings
        >>> NMFSettings(fixed_components=[2, 0]).fixed_rows(3)
        array([0, 2])
        >>> NMFSettings(fixed_components=[False, True, False]).fixed_rows(3)
        array([1])
        """
        spec = self.fixed_components
        if spec is None:
            return None
        values = np.asarray(spec)
        if values.dtype == bool and values.shape == (k,):
            rows = np.flatnonzero(values)
        elif values.ndim == 1 and values.dtype.kind in "iu" and np.all((values >= 0) & (values < k)) \
                and np.unique(values).size == values.size:
            rows = np.sort(values).astype(np.intp)
        else:
            raise InvalidArgumentError(
                f"`fixed_components` must be distinct component indices in 0 .. {k - 1} or a "
                f"boolean mask of length {k}; got {spec!r}")
        return rows if rows.size else None

    def rank(self, n_features, W=None, H=None):
        """The number of components: `n_components`, or with "auto" the rank of a custom
        `H` or `W` when given, else (and for None) `n_features`."""
        k = self.n_components
        if k is None or isinstance(k, str):
            if isinstance(k, str) and H is not None:
                return _shape_of(H)[0]
            if isinstance(k, str) and W is not None:
                return _shape_of(W)[1]
            return n_features
        return int(k)


def _check_n_components(k):
    if k is None or (isinstance(k, str) and k == "auto"):
        return
    if isinstance(k, str) or isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise InvalidTypeError(f"`n_components` must be an int >= 1, None or 'auto'; got {k!r}")
    if k < 1:
        raise InvalidArgumentError(f"`n_components` must be an int >= 1; got {k}")


def _shape_of(value):
    """The shape of an array-like (a dask array's without computing it)."""
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else np.shape(value)
