r"""Entries of ``A^T A`` among the columns an active-set method visits, each computed once.

A wide dense matrix (many more columns than rows) has no stored Gram matrix: ``A^T A``
costs ``m n^2`` and most of it is never read, since the passive sets stay within a few
times ``m`` columns. Yet each least-squares solve on a passive set ``F`` needs
``A_F^T A_F``, ``m |F|^2`` from the columns, and an active-set method visits dozens of
sets that differ in a few columns. :class:`GramCache` keeps the Gram entries among the
columns seen so far (and a contiguous copy of those columns): a column entering for the
first time costs one product with the cached ones, and every later block is read.
"""

import numpy as np

__all__ = ["GramCache", "CACHE_MAX_ENTRIES"]

# Largest number of doubles the cache may hold (its Gram block and its column copy):
# about the size of a stored Gram matrix of 6000 columns. Beyond it the blocks are
# computed from the columns again, as without a cache.
CACHE_MAX_ENTRIES = 36_000_000


class GramCache:
    """The Gram entries ``a_i^T a_j`` among the cached columns of a dense ``A``.

    Parameters
    ----------
    A : ndarray, shape (m, n)

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.finish.gram import GramCache
    >>> A = np.arange(12.0).reshape(3, 4)
    >>> cache = GramCache(A)
    >>> bool(np.allclose(cache.block([3, 1]), A[:, [3, 1]].T @ A[:, [3, 1]]))
    True
    >>> cache.size
    2
    """

    def __init__(self, A):
        self.A = A
        m, n = A.shape
        self.position = np.full(n, -1)
        self.size = 0
        self.capacity = 0
        self.gram = np.zeros((0, 0))
        self.columns = np.zeros((0, m))  # cached columns, one per row (contiguous)

    def fits(self, idx):
        """Whether the columns `idx` can be cached within :data:`CACHE_MAX_ENTRIES`."""
        new = int(np.count_nonzero(self.position[idx] < 0))
        total = self.size + new
        return total * (total + self.A.shape[0]) <= CACHE_MAX_ENTRIES

    def add(self, idx):
        """Cache the columns of `idx` not cached yet (one product with the cached ones)."""
        idx = np.asarray(idx)
        new = np.unique(idx[self.position[idx] < 0])
        if new.size == 0:
            return
        s, p = self.size, new.size
        if s + p > self.capacity:
            self._grow(s + p)
        fresh = self.A[:, new].T
        self.columns[s:s + p] = fresh
        cross = self.columns[:s + p] @ fresh.T
        self.gram[:s + p, s:s + p] = cross
        self.gram[s:s + p, :s] = cross[:s].T
        self.position[new] = np.arange(s, s + p)
        self.size = s + p

    def _grow(self, needed):
        """Room for `needed` columns and half a passive set more, at least 1.5 times
        the present room (amortized constant copies; a large matrix costs its first
        touch, so the room stays near what the method visits, not ``n``)."""
        m, n = self.A.shape
        capacity = min(n, max(needed + m // 2, (3 * self.capacity) // 2, 64))
        gram = np.empty((capacity, capacity))
        gram[:self.size, :self.size] = self.gram[:self.size, :self.size]
        columns = np.empty((capacity, m))
        columns[:self.size] = self.columns[:self.size]
        self.gram, self.columns, self.capacity = gram, columns, capacity

    def block(self, rows, cols=None):
        """``A[:, rows]^T A[:, cols]`` (`cols` defaults to `rows`), caching what is new."""
        rows = np.asarray(rows)
        cols = rows if cols is None else np.asarray(cols)
        self.add(np.concatenate([rows, cols]) if cols is not rows else rows)
        # rows first (contiguous copies), then columns: twice as fast as np.ix_
        return self.gram.take(self.position[rows], axis=0).take(self.position[cols], axis=1)

    def transposed_columns(self, idx):
        """``A[:, idx].T``, C-contiguous, from the cache (caching what is new): a gather
        of rows, several times faster than one of columns of a row-major ``A``."""
        self.add(idx)
        return self.columns.take(self.position[idx], axis=0)
