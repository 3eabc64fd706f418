"""The plan of one :func:`~reparamopt.lsq` call: which path, and where the exact finish
starts.

A pure function of the settings and the data's kind and shape: the finish is exact from
any feasible start, and the start only decides how many exchanges it makes.

Path:

* ``"sparse"``: sparse ``A`` with at least :data:`SPARSE_FROM` columns, bounds only (no
  sum, no penalty), fewer than :data:`SPARSE_MAX_RHS` right-hand sides and no warm
  start: the projected Newton method of :mod:`.sparse` (products with ``A`` only);
  what it does not certify goes to the exact path from the point it reached.
* ``"exact"``: the active set on the Gram matrix and QR factors (:mod:`.direct`).

Start of the exact path:

* ``"warm"``: the user's `x0`.
* ``"vertex"``: with a sum constraint, the lower bounds completed to the sum by the
  variables of steepest descent (for the simplex, the one best column); the free set
  then grows from almost nothing, as in Lawson and Hanson's method, and stays small and
  well conditioned on libraries of similar columns (unmixing).
* ``"least-squares"``: the unconstrained least-squares solution clipped to the bounds;
  variables strictly inside start free, as in Stark and Parker's method.
"""

from dataclasses import dataclass

__all__ = ["Plan", "route", "SPARSE_FROM", "SPARSE_MAX_RHS"]

# Columns from which sparse data take the projected Newton path: its cost is products
# with A, against n^3 / 3 for factoring the Gram matrix (measured, one thread: 4000 x
# 200 at density 1e-2, 1.3 against 1.6 ms; 20000 x 1000 at 5e-3, 8 against 37 ms with
# 77% of the bounds active, 11 against 38 ms with none).
SPARSE_FROM = 200
# Right-hand sides below which it does (it loops over them; the Gram path batches).
SPARSE_MAX_RHS = 4


@dataclass(frozen=True)
class Plan:
    """The path and where the exact finish starts (see the module)."""

    start: str
    path: str = "exact"


def route(settings, warm, sparse=False, shape=(0, 0)):
    """The :class:`Plan` for `settings`, with a warm start when `warm` is True, for data
    that are sparse when `sparse` is True, with `shape` ``(n, k)`` (columns of ``A``,
    right-hand sides).

    Examples
    --------
    >>> from reparamopt.flagships.lsq.route import route
    >>> from reparamopt.flagships.lsq.settings import LSQSettings
    >>> route(LSQSettings.build(4, bounds=(0, 1)), warm=False).start
    'least-squares'
    >>> route(LSQSettings.build(4, bounds=(0, 1), sum_to=1), warm=False).start
    'vertex'
    >>> route(LSQSettings.build(500, bounds=(0, 1)), False, sparse=True, shape=(500, 1))
    Plan(start='least-squares', path='sparse')
    """
    if warm:
        return Plan("warm")
    if settings.sum_to is not None:
        return Plan("vertex")
    bounds_only = settings.l1 == 0 and settings.l2 == 0
    n, k = shape
    if sparse and bounds_only and n >= SPARSE_FROM and k < SPARSE_MAX_RHS:
        return Plan("least-squares", "sparse")
    return Plan("least-squares")
