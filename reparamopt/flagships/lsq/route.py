"""The plan of one :func:`~reparamopt.lsq` call: where the exact finish starts.

A pure function of the settings and the data's shape: the finish is exact from any
feasible start, and the start only decides how many exchanges it makes.

* ``"warm"``: the user's `x0`.
* ``"vertex"``: with a sum constraint, the lower bounds completed to the sum by the
  variables of steepest descent (for the simplex, the one best column); the free set
  then grows from almost nothing, as in Lawson and Hanson's method, and stays small and
  well conditioned on libraries of similar columns (unmixing).
* ``"least-squares"``: the unconstrained least-squares solution clipped to the bounds;
  variables strictly inside start free, as in Stark and Parker's method.
"""

from dataclasses import dataclass

__all__ = ["Plan", "route"]


@dataclass(frozen=True)
class Plan:
    """Where the finish starts (see the module)."""

    start: str


def route(settings, warm):
    """The :class:`Plan` for `settings`, with a warm start when `warm` is True.

    Examples
    --------
    >>> from reparamopt.flagships.lsq.route import route
    >>> from reparamopt.flagships.lsq.settings import LSQSettings
    >>> route(LSQSettings.build(4, bounds=(0, 1)), warm=False).start
    'least-squares'
    >>> route(LSQSettings.build(4, bounds=(0, 1), sum_to=1), warm=False).start
    'vertex'
    """
    if warm:
        return Plan("warm")
    return Plan("vertex" if settings.sum_to is not None else "least-squares")
