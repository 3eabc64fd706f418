"""Constrained least squares (:func:`lsq`): bounds, a sum constraint, l1/l2 penalties.

The flagship reads as settings (:mod:`.settings`) -> route (:mod:`.route`) -> the exact
path (:mod:`.direct`, on :mod:`reparamopt.finish.bounded`) -> one certification
(:mod:`.certify`); :mod:`.api` holds the public function.
"""

from .api import lsq
from .settings import LSQSettings

__all__ = ["lsq", "LSQSettings"]
