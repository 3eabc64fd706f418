"""The test suite of reparamopt; ``conftest.py`` says what each folder guards.

The folders are packages, so that pytest names every test module by its path
(``tests.flagships.test_nnls``) and the shared helpers import as ``tests.<module>``.
"""

from pathlib import Path

# The source tree: pyproject.toml, reparamopt/, docs/, tutorials/, benchmarks/.
REPO_ROOT = Path(__file__).resolve().parent.parent
