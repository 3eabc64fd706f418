"""Exceptions raised by reparamopt.

Every error raised at the public boundary names the offending argument and shows the
value received, so that a user can fix the call without reading the source.
"""

import os
import sys
import warnings

__all__ = [
    "ConvergenceWarning",
    "warn_not_converged",
    "PerformanceWarning",
    "warn_performance",
    "warn_user",
    "ReparamoptError",
    "InvalidArgumentError",
    "ShapeError",
    "NonFiniteError",
    "InfeasibleError",
    "InvalidTypeError",
    "UnknownNameError",
    "MissingDependencyError",
    "ClusterError",
    "WorkerLostError",
    "WorkerMemoryError",
    "ClusterTimeoutError",
]


class ReparamoptError(Exception):
    """Base class of every error raised by reparamopt."""


class InvalidArgumentError(ReparamoptError, ValueError):
    """An argument has a value outside its valid range."""


class ShapeError(InvalidArgumentError):
    """Array arguments have the wrong number of dimensions or mismatched shapes."""


class NonFiniteError(InvalidArgumentError):
    """An array argument contains NaN or infinite values."""


class InfeasibleError(InvalidArgumentError):
    """A starting point lies outside the constraint set."""


class InvalidTypeError(ReparamoptError, TypeError):
    """An argument has the wrong type (complex data, non-scalar objective, ...)."""


class MissingDependencyError(ReparamoptError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class ClusterError(ReparamoptError, RuntimeError):
    """A Dask cluster could not finish a computation of :mod:`reparamopt.dask`. The
    message says what happened and what to try; the dask error, if any, is chained
    (``__cause__``)."""


class WorkerLostError(ClusterError):
    """Workers died while running a task (dask's ``KilledWorker``), or data sent from
    this process were lost with the worker that held them. Workers die most often at
    their memory limit; the message gives the limit, the largest chunk and what fits."""


class WorkerMemoryError(ClusterError, MemoryError):
    """Every worker stayed paused at its memory limit, so that no task could run, for
    ``stall_timeout`` seconds."""


class ClusterTimeoutError(ClusterError, TimeoutError):
    """No result within ``timeout`` seconds, or no progress of the cluster (no task run,
    finished or moved) for ``stall_timeout`` seconds."""


class UnknownNameError(InvalidArgumentError, KeyError):
    """A name looked up in a registry is unknown; the message lists the valid names."""

    def __str__(self):  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class PerformanceWarning(UserWarning):
    """The input works but takes a slow path (e.g. an objective autograd traces entry by
    entry); the message says what to change."""


def _make_convergence_warning():
    try:  # scikit-learn is optional and slow to import: only looked for on first use
        from sklearn.exceptions import ConvergenceWarning as base
    except ImportError:
        base = UserWarning
    return type("ConvergenceWarning", (base,), {
        "__module__": __name__,
        "__doc__": "A solver stopped before meeting its tolerance; the message says what to "
                   "try.\n\nOne class for the whole package. It derives from scikit-learn's "
                   "``ConvergenceWarning`` when scikit-learn is installed (so filters set for "
                   "scikit-learn apply), else from ``UserWarning``."})


def _convergence_warning():
    cls = globals().get("ConvergenceWarning")
    if cls is None:
        cls = globals()["ConvergenceWarning"] = _make_convergence_warning()
    return cls


def __getattr__(name):
    if name == "ConvergenceWarning":
        return _convergence_warning()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _caller_stacklevel():
    """The stacklevel of the first frame outside reparamopt (and scikit-learn's
    wrappers around estimator methods), so that a warning names the user's line."""
    frame, level = sys._getframe(2), 2
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        inside = path.startswith(_PACKAGE_DIR + os.sep) or (
            os.sep + "sklearn" + os.sep in path)
        if not inside:
            return level
        frame, level = frame.f_back, level + 1
    return level


def warn_not_converged(message):
    """Emit the package's :class:`ConvergenceWarning`, attributed to the user's call."""
    warnings.warn(message, _convergence_warning(), stacklevel=_caller_stacklevel())


def warn_performance(message):
    """Emit a :class:`PerformanceWarning`, attributed to the user's call.

    Examples
    --------
    >>> import warnings
    >>> from reparamopt.exceptions import PerformanceWarning, warn_performance
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_performance("slow path")
    >>> caught[0].category is PerformanceWarning, str(caught[0].message)
    (True, 'slow path')
    """
    warnings.warn(message, PerformanceWarning, stacklevel=_caller_stacklevel())


def warn_user(message, category=UserWarning):
    """Emit a warning of `category` attributed to the user's call (the first frame
    outside reparamopt and scikit-learn).

    Examples
    --------
    >>> import warnings
    >>> from reparamopt.exceptions import warn_user
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_user("`W` is ignored")
    >>> caught[0].category.__name__, caught[0].filename.endswith("exceptions.py")
    ('UserWarning', False)
    """
    warnings.warn(message, category, stacklevel=_caller_stacklevel())

