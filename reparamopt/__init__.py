"""reparamopt: constrained optimization by reparametrization.

A constrained problem ``min f(x) s.t. x in C`` becomes unconstrained through a map
``x = phi(u)`` (Hadamard powers for x >= 0, normalizations for the simplex, sines for
boxes...), and gradient flows or (accelerated) gradient descent on u solve it.
"""

from . import exceptions, finish
from ._utils import dispatch as _dispatch
from .flagships.nnls import nnls
from .result import OptimizeResult

__version__ = "0.1.0"

__all__ = [
    "Problem", "LeastSquares", "solve", "OptimizeResult", "register_map", "register_set", "resolve",
    "Constraint", "Real", "NonNegative", "Signed", "Box", "LowerBound", "UpperBound", "Simplex",
    "Sphere", "engines", "maps", "registry", "exceptions", "nnls", "lsq", "sparse_recovery", "NMF",
    "datasets", "finish", "compat", "plotting", "__version__",
]

# Loaded on first use (__getattr__), so that `import reparamopt` and a first nnls call pay
# only for what they use: not the engines, the maps, the declarations with autograd, the other
# flagships, nor the modules that need an optional extra (scikit-learn, matplotlib, dask),
# which then never break `import reparamopt`. dask is not in __all__, so that
# ``from reparamopt import *`` works without it. (Absolute imports: ``from . import name``
# would look the name up here first, and recurse.)
_DECLARED = ("Box", "Constraint", "LowerBound", "NonNegative", "Real", "Signed", "Simplex",
             "Sphere", "UpperBound", "Problem", "LeastSquares")
_REGISTRY = ("registry", "register_map", "register_set", "resolve")
_LAZY = _DECLARED + _REGISTRY + ("engines", "maps", "solve", "lsq", "sparse_recovery", "NMF",
                                 "baselines", "compat", "dask", "datasets", "operators", "plotting")


def _declared(name):
    import reparamopt.declare as declare

    return getattr(declare, name)


def _registered(name):
    from .maps import registry

    return registry if name == "registry" else getattr(registry, name)


def _flagship(name):
    if name == "solve":
        from .flagships.solve import solve as value
    elif name == "sparse_recovery":
        from .flagships.sparse import sparse_recovery as value
    elif name == "lsq":
        from .flagships.lsq import lsq as value
    else:
        from .flagships.nmf import NMF as value
    return value


def _module(name):
    if name == "maps":
        import reparamopt.maps as value
    elif name == "engines":
        import reparamopt.engines as value
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
    else:
        import reparamopt.dask as value
    return value


def _load(name):
    if name in _DECLARED:
        return _declared(name)
    if name in _REGISTRY:
        return _registered(name)
    if name in ("solve", "lsq", "sparse_recovery", "NMF"):
        return _flagship(name)
    if name in _LAZY:
        return _module(name)
    raise AttributeError(f"module 'reparamopt' has no attribute {name!r}")


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


def _array_api_backend():
    import reparamopt.backends.xp as backend

    return backend


# arrays of another array-API library (PyTorch, CuPy, JAX...) are computed on their own
# device by reparamopt.backends.xp; the test reads the type only (imports nothing)
_dispatch.register_backend("array-api", _dispatch.is_foreign_array, _array_api_backend)
