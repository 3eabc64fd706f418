"""The test suite, by what each folder guards. A new test goes where its failure would
point: to a promise every component keeps, to one layer, to a public entry point, or to
the package meeting the world outside it.

``package/``
    The package as a whole, not its numbers: ``import reparamopt`` stays light
    (test_imports), the layers only import downwards and never in a cycle (test_layers),
    the public API is annotated (test_typing).
``contracts/``
    Promises every registered component keeps, tested by looping over the registries, so
    that a new one is covered the moment it is registered: every engine and every NNLS
    method on every kind of input (test_solvers), every map and reachable set
    (test_maps).
``units/<layer>/``
    One layer of ``reparamopt/`` at a time, against closed forms, brute force or scipy:
    ``maps/`` (sets, maps, the registry), ``declare/`` (Problem), ``engines/``,
    ``models/`` (operators), ``finish/`` (KKT measure, least squares on a support, the
    active-set and Lawson-Hanson finishes, the compiled path), ``baselines/`` (the
    reference solvers and LPs).
``flagships/``
    The public entry points on realistic data: ``nnls`` (against scipy, exact and honest
    on ill-conditioned data, property-based), ``sparse_recovery`` and the implicit bias,
    ``NMF`` (with scikit-learn's estimator checks), ``solve`` on the benchmark problems,
    and the scipy drop-in.
``integration/``
    The package with the world around it, mostly through subprocesses: the command line
    (``cli/``, one file per command or concern; its fixtures in ``cli/conftest.py``, its
    helpers in ``cli/helpers.py``), Dask clusters, the documentation build and its code,
    the tutorials, plotting.

Shared helpers: ``tests.REPO_ROOT`` (the source tree), ``tests/nnls_reference.py`` (NNLS
references written from the data alone: scipy's solution, the objective in extended
precision, a KKT check), and the ``rng`` fixture below. Every folder is a package, so
test modules are named by their path; keep file names unique all the same, and name them
after what they guard.
"""

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(20250301)
