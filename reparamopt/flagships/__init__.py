"""The entry points: :func:`solve` for a declared problem, and the three flagships
(:func:`nnls`, :func:`sparse_recovery`, :class:`NMF`) built on the same layers."""
