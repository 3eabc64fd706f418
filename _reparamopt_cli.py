"""The entry point of the ``reparamopt`` command and of ``python -m reparamopt``.

It lives outside the package so that Ctrl-C while the package and its dependencies
import (numpy, scipy, autograd: about a second) ends the command as Ctrl-C does at any
later point: exit status 130 and one line on stderr, no traceback.
"""

import sys

EXIT_INTERRUPTED = 130


def main(argv=None):
    """Import the command line and run it (:func:`reparamopt.cli.main`)."""
    try:
        from reparamopt.cli import main as run
    except KeyboardInterrupt:
        print("reparamopt: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return run(argv)
