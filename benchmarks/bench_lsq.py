"""The lsq benchmark suite, kept runnable from the source tree.

The suite itself is :mod:`reparamopt.benchmarks.lsq`, shipped with the package (so that
``reparamopt bench lsq`` works after any install); ``python benchmarks/bench_lsq.py --help``
lists its options.
"""

import sys

from reparamopt.benchmarks.lsq import main

if __name__ == "__main__":
    sys.exit(main())
