"""The Dask backend behind :mod:`reparamopt.dask`: Gram reductions, column-parallel
right-hand sides and matrix-free iterations for NNLS (:mod:`.nnls`), row-chunked NMF
(:mod:`.nmf`), and the array helpers they share (:mod:`.common`)."""
