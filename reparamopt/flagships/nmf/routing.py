"""The routing of an NMF fit: which start, which solver and which W finish, chosen from
the settings and the measured properties of the data alone (pure functions).

The rules, in the order they apply:

- start (`init`): "custom" when both factors are given and `init` is None, else
  "nndsvda" when ``k <= min(n_samples, n_features)``, else "random"; an explicit `init`
  is kept (the NNDSVD inits need ``k <= min(n_samples, n_features)``, "custom" both
  factors).
- solver: "auto" is "cd" for the Frobenius loss when the sets allow it (every set acts
  on each component alone: entrywise with a mask or a graph, columnwise else), else
  "accelerated"; for the other losses "mirror". An explicit solver is checked against
  the loss and the sets.
- rows (W for fixed H): "exact" (bounded least squares row by row) for the Frobenius
  loss and an entrywise W set, else "mirror" (multiplicative steps, each row stopping
  on its own) with the mirror solver, else "block" (the solver on the whole W block).
- finish: the fit's W is solved again row by row against the final H when rows are
  solved apart ("exact" or "mirror") and there is no graph term.
"""

from typing import NamedTuple, Optional

from ...exceptions import InvalidArgumentError
from ...solvers.nmf import SetKind, check_rank_for_init, set_kind

__all__ = ["DataTraits", "NMFPlan", "traits_of", "route", "route_transform", "choose_init",
           "choose_solver", "choose_rows"]


class DataTraits(NamedTuple):
    """The measured properties of the data of a fit that the routing reads."""

    #: ``(n_samples, n_features)``
    shape: tuple
    #: the rank k
    n_components: int
    #: whether some entries are missing
    masked: bool
    #: whether the objective has a graph term
    graph: bool
    #: the kinds of the factors' sets (H's acts on ``H.T``)
    W_set: SetKind
    H_set: SetKind
    #: whether custom starting factors were passed
    W_given: bool = False
    H_given: bool = False


class NMFPlan(NamedTuple):
    """What a fit runs: the start, the solver, how W is solved for fixed H, and whether
    the fit finishes W that way."""

    #: the starting factors ("custom", "random", "nndsvd", ...); None for a transform
    init: Optional[str]
    #: "cd", "mirror", "gd" or "accelerated"
    solver: str
    #: "exact", "mirror" or "block"
    rows: str
    finish: bool


def traits_of(objective, n_components, W=None, H=None):
    """The :class:`DataTraits` of an :class:`~reparamopt.solvers.nmf.NMFObjective`
    (and of the custom factors `W`, `H` when given)."""
    return DataTraits(shape=tuple(objective.X.shape), n_components=n_components,
                      masked=objective.mask is not None, graph=objective.has_graph,
                      W_set=set_kind(objective.W_map), H_set=set_kind(objective.H_map),
                      W_given=W is not None, H_given=H is not None)


def choose_init(settings, traits):
    """The start of the fit (see the module's rules)."""
    init = settings.init
    k, shape = traits.n_components, traits.shape
    if init is None:
        both = traits.W_given and traits.H_given
        init = "custom" if both else ("nndsvda" if k <= min(shape) else "random")
    if init == "custom" and not (traits.W_given and traits.H_given):
        raise InvalidArgumentError("`init`='custom' needs both `W` and `H`")
    check_rank_for_init(init, k, shape)
    return init


def choose_solver(settings, traits):
    """The solver (see the module's rules); an impossible explicit choice raises."""
    solver = settings.solver
    frobenius = settings.beta_loss == 2
    weighted = traits.masked or traits.graph
    sets = (traits.W_set, traits.H_set)
    cd_ok = frobenius and all(s.entrywise if weighted else s.columnwise for s in sets)
    mirror_ok = all(s.nonnegative for s in sets)
    if solver == "auto":
        if frobenius:
            return "cd" if cd_ok else "accelerated"
        solver = "mirror"
    if solver == "cd" and not cd_ok:
        raise InvalidArgumentError(
            "`solver`='cd' needs the Frobenius loss and constraints that act on each "
            "component alone (entrywise with a mask or a graph); use 'accelerated' or 'mirror'")
    if solver in ("gd", "accelerated") and not frobenius:
        raise InvalidArgumentError(f"`solver`={solver!r} supports the Frobenius loss only; use 'mirror'")
    if solver == "mirror" and not mirror_ok:
        raise InvalidArgumentError(
            "`solver`='mirror' needs 'nonnegative' W and H constraints; use 'accelerated'")
    return solver


def choose_rows(settings, traits, solver):
    """How W is solved for fixed H: "exact", "mirror" or "block"."""
    if settings.beta_loss == 2 and traits.W_set.entrywise:
        return "exact"
    return "mirror" if solver == "mirror" else "block"


def route(settings, traits):
    """The :class:`NMFPlan` of a fit.

    Examples
    --------
    >>> from reparamopt.flagships.nmf.routing import DataTraits, route
    >>> from reparamopt.flagships.nmf.settings import NMFSettings
    >>> from reparamopt.solvers.nmf import SetKind
    >>> orthant = SetKind(entrywise=True, columnwise=True, nonnegative=True, cone=True)
    >>> traits = DataTraits(shape=(100, 20), n_components=5, masked=False, graph=False,
    ...                     W_set=orthant, H_set=orthant)
    >>> route(NMFSettings(), traits)
    NMFPlan(init='nndsvda', solver='cd', rows='exact', finish=True)
    >>> route(NMFSettings(beta_loss="kullback-leibler"), traits._replace(n_components=30))
    NMFPlan(init='random', solver='mirror', rows='mirror', finish=True)
    """
    init = choose_init(settings, traits)
    solver = choose_solver(settings, traits)
    rows = choose_rows(settings, traits, solver)
    return NMFPlan(init=init, solver=solver, rows=rows, finish=rows != "block" and not traits.graph)


def route_transform(settings, traits):
    """The :class:`NMFPlan` of a transform: no start, no finish; the solver and the rows of
    the fit's rules for this batch (a mask may rule out "cd")."""
    solver = choose_solver(settings, traits)
    return NMFPlan(init=None, solver=solver, rows=choose_rows(settings, traits, solver), finish=False)
