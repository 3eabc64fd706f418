"""The nmf benchmark suite, kept runnable from the source tree.

The suite itself is :mod:`reparamopt.benchmarks.nmf`, shipped with the package (so that
``reparamopt bench nmf`` works after any install); ``python benchmarks/bench_nmf.py --help``
lists its options.
"""

import sys

from reparamopt.benchmarks.nmf import main

if __name__ == "__main__":
    sys.exit(main())
