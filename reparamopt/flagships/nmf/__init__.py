"""Non-negative matrix factorization, the scikit-learn estimator :class:`NMF`
(:mod:`.estimator`), with its settings (:mod:`.settings`), data preparation
(:mod:`.data`), routing (:mod:`.routing`) and fit steps (:mod:`.fitting`), which the Dask
backend shares."""

from .estimator import NMF

__all__ = ["NMF"]
