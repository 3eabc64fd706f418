"""The public API is annotated: every parameter and the return value of the public
functions and of the public methods of the exported classes, with annotations that
resolve (postponed: evaluated here, not at import), and the package ships py.typed."""

import inspect
import typing
from pathlib import Path

import numpy as np
import pytest

import reparamopt as ro
import reparamopt.compat
from reparamopt._utils import typing as aliases
from reparamopt.maps import ComposedMap

PUBLIC = [ro.Problem, ro.solve, ro.register_map, ro.register_set, ro.resolve, ro.nnls,
          ro.sparse_recovery, ro.NMF, reparamopt.compat.nnls, ro.Constraint, ro.Real,
          ro.NonNegative, ro.Signed, ro.Box, ro.LowerBound, ro.UpperBound, ro.Simplex, ro.Sphere]


def _callables():
    for obj in PUBLIC:
        if inspect.isclass(obj):
            for name, fn in vars(obj).items():
                if (not name.startswith("_") or name == "__init__") and inspect.isfunction(fn):
                    yield f"{obj.__name__}.{name}", fn
        else:
            yield obj.__name__, obj


@pytest.mark.parametrize("name, fn", list(_callables()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_callables_are_annotated(name, fn):
    signature = inspect.signature(fn)
    missing = [p.name for p in signature.parameters.values()
               if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    assert not missing, f"{name}: parameters without annotation {missing}"
    assert signature.return_annotation is not inspect.Signature.empty, f"{name}: no return annotation"
    names = {**vars(aliases), "np": np, "Problem": ro.Problem, "NMF": ro.NMF,
             "OptimizeResult": ro.OptimizeResult, "ComposedMap": ComposedMap}
    hints = typing.get_type_hints(fn, localns=names)
    assert "return" in hints


def test_the_package_ships_py_typed():
    assert (Path(ro.__file__).parent / "py.typed").is_file()
