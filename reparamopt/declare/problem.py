"""Problems: an objective over variables declared with constraints."""

from __future__ import annotations

import inspect
import numbers
from typing import TYPE_CHECKING

import numpy as np
from autograd import make_vjp

from .._utils.validation import as_float_array, describe
from ..exceptions import (
    InfeasibleError,
    InvalidArgumentError,
    InvalidTypeError,
    ShapeError,
    warn_performance,
)
from ..maps.registry import default_registry

if TYPE_CHECKING:
    from .._utils.typing import Any, ArrayLike, Callable, Optional, Seed

__all__ = ["Problem"]

# evaluations kept by Problem.evaluate (a line search's last trial points)
_CACHED = 4


class Problem:
    r"""A constrained problem turned unconstrained by reparametrization.

    .. math::

        \min_{x_1 \in C_1, \dots, x_p \in C_p} f(x_1, \dots, x_p)
        \quad\longrightarrow\quad
        \min_{u} F(u) = f(\phi_1(u_1), \dots, \phi_p(u_p)).

    Parameters
    ----------
    objective : callable
        ``objective(**variables) -> float``, written with ``autograd.numpy`` so that it
        can be differentiated; it receives every variable by its name.
    value_and_grad : callable, optional
        A closed-form oracle ``value_and_grad(**variables) -> (value, grad)`` in x-space,
        with `grad` an array (one variable) or a dict of arrays keyed by variable name.
        When given, autograd is not used for the objective (this is how the flagships
        stay fast); `objective` may then be None.
    lipschitz : float, optional
        A Lipschitz constant of the x-space gradient (e.g. ``||A||_2^2`` for least
        squares), for the local Lipschitz step rule
        (:class:`~reparamopt.engines.steps.LocalLipschitz`) and the x-space engines.
    batch : bool, default False
        The problem is ``k`` independent problems, the columns of its one variable of
        shape ``(n, k)`` under an entrywise constraint: the latent iterate keeps that
        shape, the oracle returns ``k`` values, ``optimality`` is per column, and the
        engines take a step per column; converged columns are frozen. An oracle with a
        ``take(columns)`` method (the oracle of those columns) then evaluates only the
        columns still running; a plain function is called on the whole batch, the
        frozen columns held fixed.
    registry : Registry, optional
        Registry resolving the constraint names (the default registry if omitted).
    **variables
        ``name=constraint`` pairs: a :class:`~reparamopt.declare.constraints.Constraint` such as
        ``NonNegative(5)`` or ``Box(0, 1, shape=3)``, a ``(name, shape)`` pair, or a map.

    Examples
    --------
    >>> import numpy as np
    >>> import autograd.numpy as anp
    >>> import reparamopt as ro
    >>> c = np.array([1.0, -2.0, 0.5])
    >>> problem = ro.Problem(lambda x: anp.sum((x - c) ** 2), x=ro.NonNegative(3))
    >>> res = ro.solve(problem, tol=1e-10)
    >>> np.round(res.x, 6)
    array([1. , 0. , 0.5])
    """

    def __init__(self, objective: Optional[Callable[..., Any]] = None, *,
                 value_and_grad: Optional[Callable[..., tuple]] = None,
                 lipschitz: Optional[float] = None, batch: bool = False,
                 registry: Any = None, **variables: Any) -> None:
        _check_callables(objective, value_and_grad, variables)
        self.objective = objective
        self._oracle = value_and_grad
        self.maps = _resolve_variables(variables, registry or default_registry)
        # the declared sets, for solvers that take them as they are (reparamopt.lsq)
        self.constraints = dict(variables)
        if value_and_grad is not None:
            _check_arguments(value_and_grad, "value_and_grad", list(variables))
        else:
            _check_arguments(objective, "objective", list(variables))
        self.names = list(self.maps)
        self.lipschitz = lipschitz
        self.batch = bool(batch)
        # the batch columns of the original problem this one holds (see `take`)
        self.columns = None
        if self.batch and (len(self.names) != 1 or value_and_grad is None
                           or len(self.maps[self.names[0]].latent_shape) != 2):
            raise InvalidArgumentError(
                "`batch=True` needs one variable of shape (n, k) and a `value_and_grad` oracle")
        if self.batch:
            self.columns = np.arange(self.maps[self.names[0]].latent_shape[1])
        sizes = [self.maps[n].latent_size for n in self.names]
        bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self._latent_slices = {n: slice(bounds[i], bounds[i + 1]) for i, n in enumerate(self.names)}
        self.latent_size = int(bounds[-1])
        self._cache = None
        self._graph_checked = False

    # -- layout -------------------------------------------------------------------
    def split_latent(self, u: np.ndarray) -> dict:
        """Latent blocks of the flat vector `u` (the ``(n, k)`` iterate of a batch),
        keyed by variable name."""
        if self.batch:
            return {self.names[0]: u}
        return {n: u[self._latent_slices[n]].reshape(self.maps[n].latent_shape) for n in self.names}

    def _pack(self, blocks):
        if self.batch:
            return np.asarray(blocks[self.names[0]], dtype=float)
        return np.concatenate([np.ravel(blocks[n]) for n in self.names]) if self.names else np.zeros(0)

    @property
    def map(self):
        """The map of the one variable (for the engines that move in x-space)."""
        if len(self.names) != 1:
            raise InvalidArgumentError(f"this problem has {len(self.names)} variables; the "
                                       "x-space engines need exactly one")
        return self.maps[self.names[0]]

    def take(self, columns: ArrayLike) -> Problem:
        """The problem of the batch columns `columns`: through the oracle's ``take`` when
        it has one, else through the oracle of the whole batch (each evaluation then
        costs the whole batch's)."""
        sub = object.__new__(type(self))
        sub.__dict__.update(self.__dict__)
        take = getattr(self._oracle, "take", None)
        if take is None:
            cmap = self.maps[self.names[0]]
            with np.errstate(all="ignore"):
                filler = np.asarray(cmap.forward(cmap.init()), dtype=float)
            take = _ColumnsOfBatch(self._oracle, self.names[0], filler, self.columns).take
        sub._oracle = take(columns)
        sub._cache = None
        sub.columns = self.columns[columns]
        return sub

    def as_dict(self, x: Any, name: str = "x") -> dict:
        """`x` keyed by variable name: a dict with exactly the problem's variables, or
        the array of its one variable.

        Examples
        --------
        >>> import numpy as np
        >>> import reparamopt as ro
        >>> problem = ro.Problem(lambda x: (x ** 2).sum(), x=ro.NonNegative(2))
        >>> problem.as_dict(np.ones(2))
        {'x': array([1., 1.])}
        """
        if isinstance(x, dict):
            missing = set(self.names) - set(x)
            extra = set(x) - set(self.names)
            if missing or extra:
                raise InvalidArgumentError(
                    f"`{name}` must have the keys {self.names}; got {sorted(x)}")
            return x
        if len(self.names) != 1:
            raise InvalidTypeError(f"`{name}` must be a dict keyed by {self.names}; got {describe(x)}")
        return {self.names[0]: x}

    def _unwrap(self, values):
        return values[self.names[0]] if len(self.names) == 1 else values

    # -- maps ---------------------------------------------------------------------
    def to_feasible(self, u: np.ndarray) -> Any:
        """x = phi(u): an array for one variable, a dict of arrays for several."""
        u = np.asarray(u, dtype=float)
        blocks = self.split_latent(u)
        return self._unwrap({n: np.asarray(self.maps[n].forward(blocks[n])) for n in self.names})

    def to_latent(self, x: Any, atol: float = 1e-8) -> np.ndarray:
        """A latent u with ``to_feasible(u) == x``; x must be feasible."""
        x = self.as_dict(x)
        blocks = {}
        for n in self.names:
            m = self.maps[n]
            value = as_float_array(x[n], f"x0[{n!r}]" if len(self.names) > 1 else "x0")
            if value.shape != m.shape:
                raise ShapeError(f"`x0` for variable `{n}` must have shape {m.shape}; got {value.shape}")
            if not m.contains(value, atol):
                raise InfeasibleError(
                    f"`x0` for variable `{n}` must lie in the set {m.target!r}; got a point at "
                    f"distance {np.linalg.norm(m.project(value) - value):.3g} from it")
            blocks[n] = m.inverse(m.project(value))
        return self._pack(blocks)

    def init(self, scale: Optional[float] = None, rng: Seed = None,
             perturb: Optional[list] = None) -> np.ndarray:
        """The identical initialization of every variable's map, as one flat vector.

        With a Generator `rng`, the variables named in `perturb` (all when None) start
        perturbed (see :meth:`reparamopt.maps.Map.init`)."""
        chosen = set(self.names) if perturb is None else set(perturb)
        return self._pack({n: self.maps[n].init(scale, rng if n in chosen else None)
                           for n in self.names})

    # -- evaluation ---------------------------------------------------------------
    def _x_value_and_grad(self, x):
        """``(f(x), grad f(x))`` at the x-space point `x`, a dict by variable name (the
        gradient a dict too; a batch's values a ``k``-vector)."""
        if self._oracle is None:
            value, grad = self._autograd_value_and_grad(x)
        else:
            value, grad = self._oracle(**x)
            if self.batch:
                return np.asarray(value, dtype=float), {self.names[0]: grad}
            grad = self.as_dict(grad, "value_and_grad's gradient")
            self._check_scalar(value)
        return float(value), grad

    def _autograd_value_and_grad(self, x):
        """The objective (checked to be a real scalar) and its gradient by autograd's
        reverse mode, on the variables flattened into one vector (the first call also
        counts the traced graph)."""
        flat_slices, start = {}, 0
        for n in self.names:
            size = int(np.prod(self.maps[n].shape))
            flat_slices[n] = slice(start, start + size)
            start += size

        def flat_objective(z):
            return self.objective(**{n: z[flat_slices[n]].reshape(self.maps[n].shape)
                                     for n in self.names})

        z = np.concatenate([np.ravel(x[n]) for n in self.names])
        try:
            if self._graph_checked:
                vjp, value = make_vjp(flat_objective)(z)
            else:
                vjp, value = _vjp_checking_graph(flat_objective, z)
                self._graph_checked = True
        except (TypeError, AttributeError, ValueError) as error:
            hint = _autograd_hint(error)
            if hint is None:
                raise
            raise InvalidTypeError(f"the objective cannot be differentiated by autograd: "
                                   f"{error}. {hint}") from error
        self._check_scalar(value)
        gz = vjp(1.0)
        return value, {n: gz[flat_slices[n]].reshape(self.maps[n].shape) for n in self.names}

    @staticmethod
    def _check_scalar(value):
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return
        arr = np.asarray(value)
        if arr.ndim != 0 or not np.isrealobj(arr) or arr.dtype == bool:
            raise InvalidTypeError(f"`objective` must return a real scalar; got {describe(value)}")

    def evaluate(self, u: np.ndarray) -> tuple:
        """``(F(u), grad F(u), x, grad f(x))`` with x-space gradients pulled back to u.

        The last few evaluations are kept: the engines ask again for points they have
        just evaluated (the optimality of the point a line search accepted, its step,
        the start), and get them for free. Points are found by identity, then by value
        (an O(n) comparison, far cheaper than an evaluation). The engines never modify
        an array they have passed on.
        """
        cache = self._cache or ()
        for seen, out in cache:
            if seen is u:
                return out
        u = np.asarray(u, dtype=float)
        for seen, out in cache:
            # the first entries filter most misses before the O(n) comparison
            if (seen.shape == u.shape and (u.size == 0 or seen.flat[0] == u.flat[0])
                    and np.array_equal(seen, u)):
                return out
        key = u
        if len(self.names) == 1:
            name = self.names[0]
            cmap = self.maps[name]
            block = u if self.batch else u.reshape(cmap.latent_shape)
            x = np.asarray(cmap.forward(block))
            value, gx = self._x_value_and_grad({name: x})
            gu = cmap.pullback(block, gx[name])
            out = (value, gu if self.batch else np.ravel(gu), {name: x}, gx)
        else:
            blocks = self.split_latent(u)
            x = {n: np.asarray(self.maps[n].forward(blocks[n])) for n in self.names}
            value, gx = self._x_value_and_grad(x)
            gu = self._pack({n: self.maps[n].pullback(blocks[n], gx[n]) for n in self.names})
            out = (value, gu, x, gx)
        self._cache = ((key, out),) + tuple(self._cache or ())[:_CACHED - 1]
        return out

    def value_and_grad(self, u: np.ndarray) -> tuple:
        """Objective value and latent gradient at the flat latent vector `u`."""
        value, gu, _, _ = self.evaluate(u)
        return value, gu

    def x_value_and_grad(self, x: Any) -> tuple:
        """Objective value and x-space gradient at a feasible x: the array of the one
        variable (the gradient an array), or a dict by variable name (the gradient a
        dict)."""
        if isinstance(x, dict):
            return self._x_value_and_grad(self.as_dict(x))
        value, grad = self._x_value_and_grad({self.names[0]: x})
        return value, grad[self.names[0]]

    def local_lipschitz(self, u: np.ndarray) -> Any:
        """The map's local Lipschitz bound of the latent gradient at `u` (per column of a
        batch), from the x-space gradient there and `lipschitz`."""
        if self.lipschitz is None:
            raise InvalidArgumentError(
                "the local Lipschitz step needs `lipschitz`, a Lipschitz constant of the "
                "x-space gradient: Problem(..., lipschitz=L)")
        _, _, _, gx = self.evaluate(u)
        name = self.names[0]
        return self.map.latent_lipschitz(self.split_latent(u)[name], gx[name], self.lipschitz)

    def fun(self, x: Any) -> float:
        """Objective value at a feasible x (array or dict)."""
        value, _ = self._x_value_and_grad(self.as_dict(x))
        return value

    def optimality(self, u: np.ndarray) -> Any:
        """x-space first-order residual ``sqrt(sum_i ||r_i(x_i, grad_i f)||^2)``.

        Each set's residual (e.g. ``x - max(x - g, 0)`` for x >= 0) vanishes exactly at
        constrained stationary points, unlike the latent gradient, which also vanishes at
        u = 0.
        """
        own = self.own_measure
        if own is not None:
            # the data term's own measure (the relative KKT residual of least squares)
            _, _, x, gx = self.evaluate(u)
            n = self.names[0]
            return own(x[n], gx[n])
        return self.residual(u)

    def residual(self, u: np.ndarray) -> Any:
        """The sets' unscaled residual at the latent point `u`: :meth:`set_residual`
        of x and its gradient, per column of a batch. It is :meth:`optimality` unless
        the oracle has its own measure.

        Examples
        --------
        >>> import numpy as np
        >>> import reparamopt as ro
        >>> problem = ro.Problem(lambda x: ((x - 2.0) ** 2).sum(), x=ro.NonNegative(2))
        >>> # x = u**2 = (1, 0), g = (-2, -4): x - max(x - g, 0) = (-2, -4)
        >>> float(problem.residual(np.array([1.0, 0.0])))
        4.47213595499958
        """
        _, _, x, gx = self.evaluate(u)
        if self.batch:
            n = self.names[0]
            return np.linalg.norm(self.maps[n].optimality(x[n], gx[n]), axis=0)
        return self.set_residual(x, gx)

    @property
    def own_measure(self):
        """The closed-form oracle's own ``optimality(x, grad)`` (a problem of one
        variable whose `value_and_grad` has that method), or None."""
        own = getattr(self._oracle, "optimality", None)
        return own if len(self.names) == 1 else None

    def set_residual(self, x: dict, gx: dict, step: float = 1.0) -> float:
        """``sqrt(sum_i ||r_i(x_i, step * grad_i f)||^2)`` over the variables: each
        set's residual of the gradient step `step` (``x - P(x - step g)`` for the
        projection sets), at the x-space point `x` and gradient `gx` (dicts by name).

        Examples
        --------
        >>> import numpy as np
        >>> import reparamopt as ro
        >>> problem = ro.Problem(lambda x: (x ** 2).sum(), x=ro.NonNegative(2))
        >>> x, g = {"x": np.array([0.0, 2.0])}, {"x": np.array([3.0, 1.0])}
        >>> float(problem.set_residual(x, g)), float(problem.set_residual(x, g, step=0.5))
        (1.0, 0.5)
        """
        if not all(np.all(np.isfinite(gx[n])) for n in self.names):
            return np.nan  # undefined (a user's projection may raise on NaN)
        return float(np.sqrt(sum(np.sum(self.maps[n].optimality(x[n], step * gx[n]) ** 2)
                                 for n in self.names)))

    def __repr__(self):
        items = ", ".join(f"{n}={self.maps[n]!r}" for n in self.names)
        return f"Problem({items})"


class _ColumnsOfBatch:
    """The oracle of some columns of a batch, from an oracle of the whole batch without
    ``take``: the columns are placed in a full point whose other columns hold `filler`
    (a feasible point), and the values and gradients cut back to them. Columns are
    independent, so the others do not change theirs."""

    def __init__(self, oracle, name, filler, columns):
        self.oracle, self.name, self.filler = oracle, name, filler
        self.columns = np.asarray(columns)
        if hasattr(oracle, "optimality"):
            self.optimality = self._optimality

    def _full(self, x, filler):
        full = np.array(filler, dtype=float)
        full[:, self.columns] = x
        return full

    def __call__(self, **x):
        value, grad = self.oracle(**{self.name: self._full(x[self.name], self.filler)})
        return np.asarray(value)[self.columns], np.asarray(grad)[:, self.columns]

    def _optimality(self, x, grad):
        out = np.asarray(self.oracle.optimality(self._full(x, self.filler),
                                                self._full(grad, np.zeros_like(self.filler))))
        return out[..., self.columns] if out.ndim else out

    def take(self, columns):
        return _ColumnsOfBatch(self.oracle, self.name, self.filler, self.columns[columns])


def _check_callables(objective, value_and_grad, variables):
    if objective is not None and not callable(objective):
        raise InvalidTypeError(f"`objective` must be callable; got {describe(objective)}")
    if value_and_grad is not None and not callable(value_and_grad):
        raise InvalidTypeError(f"`value_and_grad` must be callable; got {describe(value_and_grad)}")
    if objective is None and value_and_grad is None:
        raise InvalidArgumentError("`objective` or `value_and_grad` is required; got neither")
    if not variables:
        raise InvalidArgumentError("a Problem needs at least one variable, e.g. x=NonNegative(5)")


def _check_arguments(function, argument, names):
    """Refuse a `function` (the `argument` "objective" or "value_and_grad") that cannot
    take the variables `names` by keyword, as the problem calls it."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return  # no signature to read (a builtin): its first call will tell
    by_name = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    takes = [p.name for p in parameters if p.kind in by_name]
    any_name = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    unknown = [] if any_name else [n for n in names if n not in takes]
    required = [p.name for p in parameters if p.default is p.empty and p.kind not in (
        inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
    missing = [n for n in required if n not in names]
    if unknown or missing:
        raise InvalidArgumentError(
            f"`{argument}` takes the arguments {takes} but the variables declared are "
            f"{names}: it is called with every variable by its name, so name its arguments "
            "after the variables (or the variables after its arguments)")


def _resolve_variables(variables, registry):
    """The map of each ``name=constraint`` pair (a constraint, a ``(name, shape)`` pair or
    a map), by name."""
    maps = {}
    for name, spec in variables.items():
        pair = isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str)
        if isinstance(spec, (list, tuple)) and not pair:
            raise InvalidTypeError(
                f"variable `{name}` must be one constraint (e.g. {name}=NonNegative(5)); "
                f"got {describe(spec)}. Variables are keyword arguments, one set each: "
                "there is no `constraints=` list")
        if getattr(spec, "shape", 0) is None:
            raise ShapeError(f"variable `{name}` needs a shape; got {spec!r}")
        try:
            maps[name] = registry.resolve(spec)
        except InvalidArgumentError as error:
            raise type(error)(f"variable `{name}` ({spec!r}): {error}") from None
    return maps


_HINTS = (
    ("item assignment", "In-place assignment (x[i] = ...) cannot be differentiated: build "
     "arrays with anp.concatenate, anp.stack or anp.where instead."),
    ("float() argument", "float() or int() of a traced value breaks the derivative: return "
     "the autograd.numpy expression itself (a 0-d array is fine)."),
    ("__array_ufunc__", "A function outside autograd got a traced value (scipy.special, "
     "numba, a compiled routine): use its autograd counterpart (autograd.scipy.special, "
     "autograd.numpy) or give the gradient yourself with Problem(value_and_grad=...)."),
    ("ArrayBox", "The objective calls something autograd cannot trace: write it with "
     "autograd.numpy (import autograd.numpy as anp) or give the gradient yourself with "
     "Problem(value_and_grad=...)."),
)


def _autograd_hint(error):
    """What to do about an error autograd raised inside the objective, or None when the
    error is not autograd's."""
    text = str(error)
    if "ArrayBox" not in text and "item assignment" not in text:
        return None
    return next(hint for key, hint in _HINTS if key in text or key == "ArrayBox")


def _vjp_checking_graph(fun, z):
    """``make_vjp(fun)(z)`` from one trace whose graph is also counted: a warning when
    autograd traced the objective entry by entry (plain numpy functions on traced
    values build object arrays: correct, but 10-100 times slower)."""
    from autograd.core import VJPNode, backward_pass
    from autograd.tracer import toposort, trace

    value, end = trace(VJPNode.new_root(), fun, z)
    if end is None:
        return (lambda g: np.zeros_like(z)), value
    nodes = sum(1 for _ in toposort(end))
    if nodes > 2 * z.size + 200:
        warn_performance(
            f"autograd traced the objective through {nodes} operations for {z.size} "
            "variables: it is probably written with plain numpy (np.dot, np.sum... on "
            "the variables) or loops over entries, which autograd follows entry by entry, "
            "10-100 times slower. Use autograd.numpy (import autograd.numpy as anp) and "
            "whole-array operations.")
    return (lambda g: backward_pass(g, end)), value

