import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["np"] = np


# The tutorials are sphinx-gallery scripts shipped in the package, not modules: importing
# one (as --doctest-modules would) runs the whole experiment. tests/test_tutorials.py runs them.
collect_ignore_glob = ["tutorials/plot_*.py"]
