"""reparamopt: constrained optimization by reparametrization.

A constrained problem ``min f(x) s.t. x in C`` becomes unconstrained through a map
``x = phi(u)`` (Hadamard powers for x >= 0, normalizations for the simplex, sines for
boxes...), and gradient flows or (accelerated) gradient descent on u solve it.
"""

import sys
from importlib import import_module
from importlib.abc import Loader, MetaPathFinder
from importlib.util import spec_from_loader

from . import engines, exceptions, finish, maps
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
    "datasets", "finish", "__version__",
]

# Modules that need an optional extra (scikit-learn, matplotlib, dask) are imported on
# first use, so that a missing extra never breaks ``import reparamopt``.
_LAZY = {
    "NMF": ("flagships.nmf", "NMF"),
    "baselines": ("baselines", None),
    "datasets": ("datasets", None),
    "operators": ("models.operators", None),
    "plotting": ("plotting", None),
    "dask": ("dask", None),
}


def __getattr__(name):
    if name in _LAZY:
        module_name, attribute = _LAZY[name]
        try:
            module = import_module(f".{module_name}", __name__)
        except ModuleNotFoundError as exc:
            from ._utils.extras import EXTRAS, missing

            if (exc.name or "").split(".")[0] not in EXTRAS:
                raise
            raise missing(exc, f"reparamopt.{name}") from exc
        value = module if attribute is None else getattr(module, attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'reparamopt' has no attribute {name!r}")


# Module paths of earlier releases, still importable (``from reparamopt.operators import
# SubsampledFFT``): each resolves to the module of the current layout.
_MOVED = {
    "constraints": "declare.constraints",
    "problem": "declare.problem",
    "registry": "maps.registry",
    "operators": "models.operators",
    "nmf": "flagships.nmf",
    "sparse": "flagships.sparse",
}


class _MovedModules(MetaPathFinder, Loader):
    def find_spec(self, fullname, path=None, target=None):
        prefix, _, name = fullname.partition(".")
        if prefix == __name__ and name in _MOVED:
            return spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        module = import_module(f".{_MOVED[spec.name.partition('.')[2]]}", __name__)
        self._spec = module.__spec__  # the import system overwrites it; put it back
        return module

    def exec_module(self, module):
        module.__spec__ = self._spec


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())
