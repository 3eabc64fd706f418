"""The nnls benchmark suite, kept runnable from the source tree.

The suite itself is :mod:`reparamopt.benchmarks.nnls`, shipped with the package (so that
``reparamopt bench nnls`` works after any install); ``python benchmarks/bench_nnls.py --help``
lists its options.
"""

import sys

from reparamopt.benchmarks.nnls import main

if __name__ == "__main__":
    sys.exit(main())
