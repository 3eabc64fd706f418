"""The benchmark suites that ``reparamopt bench`` runs, shipped with the package.

Each suite is a module with a ``main(argv)`` function (its own argparse options):

- :mod:`reparamopt.benchmarks.nnls`: :func:`reparamopt.nnls` against its peers;
- :mod:`reparamopt.benchmarks.nmf`: :class:`reparamopt.NMF` against scikit-learn's NMF;
- :mod:`reparamopt.benchmarks.lsq`: :func:`reparamopt.lsq` against lsq_linear, cvxpy and
  the augmented-NNLS reformulation.

Run one with ``reparamopt bench nnls`` or ``python -m reparamopt.benchmarks.nnls --help``.
A peer that is not installed (scikit-learn's Lasso in the nnls suite) is listed as
skipped.
"""

SUITES = ("nnls", "nmf", "lsq")

# optional modules a suite cannot run without (the nmf suite's reference is scikit-learn's
# NMF); a peer that is optional for a suite is skipped by the suite instead
NEEDS = {"nmf": ("sklearn",)}
