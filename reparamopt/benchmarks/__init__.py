"""The benchmark suites that ``reparamopt bench`` runs, shipped with the package.

Each suite is a module with a ``main(argv)`` function (its own argparse options):

- :mod:`reparamopt.benchmarks.nnls`: :func:`reparamopt.nnls` against its peers;
- :mod:`reparamopt.benchmarks.nmf`: :class:`reparamopt.NMF` against scikit-learn's NMF.

Run one with ``reparamopt bench nnls`` or ``python -m reparamopt.benchmarks.nnls --help``.
"""

SUITES = ("nnls", "nmf")
