"""The settings of one :func:`~reparamopt.nnls` call, validated once.

:class:`NNLSSettings` is built from the user's arguments and validates them as it is
built (every check of the public boundary lives there, each error naming the argument
and the value received); it is frozen afterwards: the
route, the dynamics, the finish and the certification read it and never change it.
"""

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping, Optional

import numpy as np

from ..._utils.validation import as_float_array, check_choice, check_scalar, describe
from ...exceptions import (
    InfeasibleError,
    InvalidArgumentError,
    InvalidTypeError,
    ShapeError,
    UnknownNameError,
)

__all__ = ["NNLSSettings", "METHODS", "ALIASES", "OPTIONS", "canonical_method"]

METHODS = ("auto", "gd", "riemannian-gd", "bb", "accelerated", "mirror-nesterov", "flow",
           "accelerated-flow")
"""The methods of :func:`~reparamopt.nnls`: "auto" and the engines of
:data:`reparamopt.engines.ENGINES` that the reparametrized NNLS runs."""

ALIASES = {"nesterov": "accelerated"}
"""Other names accepted for a method (the engine table's aliases; "nesterov" is the
paper's name of "accelerated")."""


def _positive_int(value, name):
    return check_scalar(value, name, lower=1, integer=True)


def _positive(value, name):
    return check_scalar(value, name, lower=0, lower_inclusive=False)


def _non_negative(value, name):
    return check_scalar(value, name, lower=0)


def _integrator(value, name):
    from ...engines import ODE_METHODS  # lazy: the engines load with the dynamics

    return check_choice(value, name, tuple(ODE_METHODS))


_COMMON_OPTIONS = {"check_every": _positive_int, "max_solves": _positive_int}
_DYNAMICS_OPTIONS = {**_COMMON_OPTIONS, "polish_from": _positive}
_FLOW_OPTIONS = {**_DYNAMICS_OPTIONS, "rtol": _positive, "atol": _positive,
                 "max_step": _positive, "first_step": _positive, "method": _integrator}
OPTIONS = {
    "auto": _COMMON_OPTIONS,
    "gd": {**_DYNAMICS_OPTIONS, "step": _positive, "decay": _non_negative},
    "riemannian-gd": _DYNAMICS_OPTIONS,
    "bb": _DYNAMICS_OPTIONS,
    "accelerated": _DYNAMICS_OPTIONS,
    "mirror-nesterov": _DYNAMICS_OPTIONS,
    "flow": _FLOW_OPTIONS,
    "accelerated-flow": _FLOW_OPTIONS,
}
"""The `options` each method accepts (a key and its validator)."""


def canonical_method(method):
    """The canonical name of `method` (one of :data:`METHODS`, or an alias of the engine
    table such as "nesterov"), or UnknownNameError listing the methods.

    Examples
    --------
    >>> from reparamopt.flagships.nnls.settings import canonical_method
    >>> canonical_method("nesterov"), canonical_method("BB"), canonical_method("auto")
    ('accelerated', 'bb', 'auto')
    """
    name = None
    if isinstance(method, str):
        if method.lower() == "auto":
            return "auto"
        from ...engines import ENGINES  # lazy: the engines load with the dynamics

        try:
            name = ENGINES.canonical(method, "method")
        except UnknownNameError:
            name = None
    if name not in METHODS:
        valid = ", ".join(repr(m) for m in METHODS)
        aliases = ", ".join(f"{a!r} for {c!r}" for a, c in ALIASES.items())
        raise UnknownNameError(f"`method` must be one of {valid} (or {aliases}); got {method!r}")
    return name


def _check_options(options, method):
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise InvalidTypeError(f"`options` must be a dict or None; got {describe(options)}")
    allowed = OPTIONS[method]
    out = {}
    for key, value in options.items():
        if key not in allowed:
            valid = ", ".join(repr(k) for k in allowed)
            raise UnknownNameError(f"`options` key {key!r} is not a setting of method "
                                   f"{method!r}; valid keys: {valid}")
        out[key] = allowed[key](value, f"options[{key!r}]")
    return out


def _check_bool(value, name, allow_none=False):
    if allow_none and value is None:
        return None
    if not isinstance(value, (bool, np.bool_)):
        choices = "None, True or False" if allow_none else "True or False"
        raise InvalidTypeError(f"`{name}` must be {choices}; got {describe(value)}")
    return bool(value)


def _check_init_scale(init_scale, power):
    """`init_scale` > 0 whose power ``init_scale**power`` (the starting x) is a finite
    double, or None."""
    init_scale = check_scalar(init_scale, "init_scale", lower=0, lower_inclusive=False,
                              allow_none=True)
    if init_scale is not None and np.log2(init_scale) * power >= 1024:
        raise InvalidArgumentError(
            f"`init_scale` must be a number > 0 whose power {power:g} (the starting x) is a "
            f"finite double; got {init_scale!r}")
    return init_scale


@dataclass(frozen=True)
class NNLSSettings:
    """Every setting of one :func:`~reparamopt.nnls` call (see its parameters),
    validated when the object is built (each error names the argument and the value).

    ``method`` is made canonical (aliases resolved), ``max_iter=None`` resolved (1000
    with polish, 100000 without), ``options`` validated for the method and read-only;
    ``gram`` stays None when the route decides.

    Examples
    --------
    >>> from reparamopt.flagships.nnls.settings import NNLSSettings
    >>> s = NNLSSettings(method="nesterov", options={"check_every": 10})
    >>> s.method, s.max_iter, s.check_every(25)
    ('accelerated', 1000, 10)
    """

    method: str = "auto"
    power: float = 2
    init_scale: Optional[float] = None
    tol: float = 1e-10
    max_iter: Optional[int] = None
    polish: bool = True
    gram: Optional[bool] = None
    callback: Optional[Callable] = None
    progress: Any = False
    history: bool = False
    options: Optional[Mapping] = None

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        method = canonical_method(self.method)
        if method != self.method:
            put("method", method)
        from ...maps.base import check_power  # lazy: the maps load on the paper's methods

        put("power", check_power(self.power))
        if method == "mirror-nesterov" and self.power != 2:
            raise InvalidArgumentError(
                f"`power` must be 2 for method 'mirror-nesterov'; got {self.power!r}")
        put("tol", check_scalar(self.tol, "tol", lower=0))
        put("init_scale", _check_init_scale(self.init_scale, self.power))
        put("polish", _check_bool(self.polish, "polish"))
        if self.callback is not None and not callable(self.callback):
            raise InvalidTypeError(f"`callback` must be callable; got {describe(self.callback)}")
        options = self.options
        if isinstance(options, MappingProxyType):  # a copy (dataclasses.replace)
            options = dict(options)
        put("options", MappingProxyType(_check_options(options, method)))
        max_iter = (1000 if self.polish else 100000) if self.max_iter is None else self.max_iter
        put("max_iter", check_scalar(max_iter, "max_iter", lower=0, integer=True))
        put("gram", _check_bool(self.gram, "gram", allow_none=True))

    def check_every(self, default):
        """Iterations between finish attempts (``options["check_every"]`` or `default`)."""
        return self.options.get("check_every", default)

    @property
    def polish_from(self):
        """The KKT residual below which the paper's methods try the finish."""
        return self.options.get("polish_from", 1e-3)

    @property
    def max_solves(self):
        return self.options.get("max_solves")

    @staticmethod
    def checked_x0(x0, b, n):
        """The warm start `x0` validated against ``b`` and the `n` columns of ``A``
        (shape, sign), 2-D, or None."""
        if x0 is None:
            return None
        x0 = as_float_array(x0, "x0", ndim=b.ndim)
        n_expected = (n,) + b.shape[1:]
        if x0.shape != n_expected:
            raise ShapeError(f"`x0` must have shape {n_expected}; got {x0.shape}")
        if np.any(x0 < 0):
            raise InfeasibleError(f"`x0` must be non-negative; got a minimum of {float(x0.min())!r}")
        return x0[:, None] if b.ndim == 1 else x0
