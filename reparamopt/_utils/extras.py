"""Optional dependencies: one way to import them, one message when one is missing."""

from importlib import import_module

from ..exceptions import MissingDependencyError

__all__ = ["require", "EXTRAS"]

# the extra of the package that installs each optional dependency
EXTRAS = {"matplotlib": "plot", "sklearn": "nmf", "dask": "dask", "distributed": "dask",
          "zarr": "dask"}


def require(module, purpose):
    """Import `module`, or raise :class:`~reparamopt.exceptions.MissingDependencyError`
    saying what needs it (`purpose`) and which extra installs it."""
    try:
        return import_module(module)
    except ImportError as exc:
        raise missing(exc, purpose) from exc


def missing(exc, purpose):
    """The error for a failed import `exc` of an optional dependency."""
    name = (getattr(exc, "name", None) or str(exc)).split(".")[0]
    extra = EXTRAS.get(name, "all")
    return MissingDependencyError(
        f"{purpose} needs {name}, which is not installed: pip install 'reparamopt[{extra}]'")
