"""Engines: unconstrained solvers run on the latent problem by one shared loop."""

from functools import partial

from .._utils.names import NameRegistry
from .accelerated import AcceleratedGradientDescent, AcceleratedState
from .accelerated_flow import AcceleratedFlow
from .alternating import AlternatingBlocks, BlockState
from .base import Engine, State, estimate_step
from .flow import ODE_METHODS, FlowState, GradientFlow
from .gradient_descent import DescentState, GradientDescent
from .lbfgs import LBFGS, LBFGSState
from .mirror import AcceleratedMirrorDescent, MirrorState
from .riemannian import RiemannianGradientDescent, RiemannianState
from .run import run
from .schedules import constant, polynomial_decay
from .steps import LocalLipschitz

__all__ = [
    "Engine", "State", "DescentState", "AcceleratedState", "FlowState", "run", "estimate_step",
    "GradientDescent", "AcceleratedGradientDescent", "GradientFlow", "AcceleratedFlow",
    "RiemannianGradientDescent", "AcceleratedMirrorDescent", "RiemannianState", "MirrorState",
    "AlternatingBlocks", "BlockState", "LBFGS", "LBFGSState",
    "ODE_METHODS", "LocalLipschitz", "get_engine", "engine_names", "constant",
    "polynomial_decay",
]

# The one table from method names to engines: solve's `engine`, and the `method` of nnls
# and sparse recovery, are looked up here (each flagship passes its own settings for the
# engine, e.g. the integrator of a flow). An alias is accepted wherever its name is.
ENGINES = NameRegistry("engine", base=Engine)
ENGINES.register("lbfgs", LBFGS, aliases=("l-bfgs", "quasi-newton"))
ENGINES.register("gd", GradientDescent, aliases=("gradient-descent",))
ENGINES.register("bb", partial(GradientDescent, step_size="bb"), aliases=("barzilai-borwein",))
ENGINES.register("accelerated", AcceleratedGradientDescent, aliases=("nesterov", "agd"))
ENGINES.register("flow", GradientFlow, aliases=("gradient-flow",))
ENGINES.register("accelerated-flow", AcceleratedFlow, aliases=("nesterov-flow",))
ENGINES.register("riemannian-gd", RiemannianGradientDescent, aliases=("riemannian",))
ENGINES.register("mirror-nesterov", AcceleratedMirrorDescent, aliases=("accelerated-mirror",))


def get_engine(engine, **settings):
    """An engine from a name (one of :func:`engine_names`, or an alias: "nesterov" is
    "accelerated") or an engine object (settings, if any, replace its fields).

    Examples
    --------
    >>> from reparamopt.engines import get_engine
    >>> get_engine("gd", step_size="armijo").step_size
    'armijo'
    """
    return ENGINES.get(engine, "engine", **settings)


def engine_names():
    """Canonical engine names.

    Examples
    --------
    >>> from reparamopt.engines import engine_names
    >>> engine_names()
    ['accelerated', 'accelerated-flow', 'bb', 'flow', 'gd', 'lbfgs', 'mirror-nesterov', 'riemannian-gd']
    """
    return ENGINES.names()
