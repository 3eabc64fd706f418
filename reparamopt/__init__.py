"""reparamopt: constrained optimization by reparametrization.

A constrained problem ``min f(x) s.t. x in C`` becomes unconstrained through a map
``x = phi(u)`` (Hadamard powers for x >= 0, normalizations for the simplex, sines for
boxes...), and gradient flows or (accelerated) gradient descent on u solve it.
"""

from . import engines, exceptions, finish, maps
from ._utils import dispatch as _dispatch
from .declare.constraints import (
    Box,
    Constraint,
    LowerBound,
    NonNegative,
    Real,
    Signed,
    Simplex,
    Sphere,
    UpperBound,
)
from .declare.problem import Problem
from .flagships.nnls import nnls
from .flagships.solve import solve
from .flagships.sparse import sparse_recovery
from .maps import registry
from .maps.registry import register_map, register_set, resolve
from .result import OptimizeResult

__version__ = "0.1.0"

__all__ = [
    "Problem", "solve", "OptimizeResult", "register_map", "register_set", "resolve",
    "Constraint", "Real", "NonNegative", "Signed", "Box", "LowerBound", "UpperBound", "Simplex",
    "Sphere", "engines", "maps", "registry", "exceptions", "nnls", "sparse_recovery", "NMF",
    "datasets", "finish", "compat", "plotting", "__version__",
]

# the names __getattr__ loads on first use (dask needs its extra: not in __all__, so that
# ``from reparamopt import *`` works without it)
_LAZY = ("NMF", "baselines", "compat", "dask", "datasets", "operators", "plotting")

# Modules that need an optional extra (scikit-learn, matplotlib, dask) are imported on
# first use, so that a missing extra never breaks ``import reparamopt``. (Absolute
# imports: ``from . import name`` would look the name up here first, and recurse.)
def _load(name):
    if name == "NMF":
        from .flagships.nmf import NMF as value
    elif name == "baselines":
        import reparamopt.baselines as value
    elif name == "datasets":
        import reparamopt.datasets as value
    elif name == "operators":
        import reparamopt.models.operators as value
    elif name == "plotting":
        import reparamopt.plotting as value
    elif name == "compat":
        import reparamopt.compat as value
    elif name == "dask":
        import reparamopt.dask as value
    else:
        raise AttributeError(f"module 'reparamopt' has no attribute {name!r}")
    return value


def __getattr__(name):
    try:
        value = _load(name)
    except ModuleNotFoundError as exc:
        from ._utils.extras import EXTRAS, missing

        if (exc.name or "").split(".")[0] not in EXTRAS:
            raise
        raise missing(exc, f"reparamopt.{name}") from exc
    globals()[name] = value
    return value


def __dir__():
    """The public names (tab completion): those of __all__ and the lazy ones, not the
    helpers and subpackages the package uses itself."""
    return sorted(set(__all__) | set(_LAZY))


def _dask_backend():
    import reparamopt.dask as backend

    return backend


# the in-memory flagships hand Dask collections to reparamopt.dask; the backend is
# registered here, at the top, so that the lower layers never import it
_dispatch.register_backend("dask", _dispatch.is_dask_collection, _dask_backend)
