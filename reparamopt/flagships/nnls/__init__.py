"""Non-negative least squares by reparametrization (:func:`nnls`).

The flagship reads as settings (:mod:`.settings`) -> route (:mod:`.route`) -> a path
(:mod:`.direct` or :mod:`.dynamics`, with the exact finish of :mod:`.finishing`) ->
one certification (:mod:`.certify`); :mod:`.api` holds the public function.
"""

from .api import nnls
from .settings import ALIASES, METHODS, OPTIONS, NNLSSettings

__all__ = ["nnls", "METHODS", "ALIASES", "OPTIONS", "NNLSSettings"]
