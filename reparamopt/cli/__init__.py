"""The ``reparamopt`` command line.

Commands:

- ``reparamopt demo``: the paper's small problems solved by reparamopt and scipy side by
  side, a table and a convergence plot;
- ``reparamopt solve A b``: NNLS (or sparse recovery) from files;
- ``reparamopt nmf X -k 10``: non-negative matrix factorization of a file;
- ``reparamopt bench [nnls|nmf]``: the benchmark suites, as tables, CSV and a plot;
- ``reparamopt reproduce [figure]``: the paper's figures, regenerated from the tutorials.

Errors in the input (unreadable or mismatched files, bad options) end the command with a
one-line message and a non-zero exit status, Ctrl-C with one line and status 130; set
``REPARAMOPT_DEBUG=1`` to see the traceback instead.
"""

import os
import sys
import warnings

from ..exceptions import ReparamoptError
from .common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    PROG,
    CommandError,
    _first_line,
)
from .io import load_array
from .parser import build_parser

__all__ = ["main", "build_parser", "load_array", "CommandError"]


def main(argv=None):
    """Run the ``reparamopt`` command line with `argv` (``sys.argv[1:]`` by default).

    Returns
    -------
    int
        The exit status: 0 on success, 1 when a command fails (after a one-line message
        on stderr), 2 for a usage error, 3 when ``solve`` did not converge, 130 on Ctrl-C
        (at any point, from parsing the arguments to the end of the command).
    """
    command = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        command = args.command
        if command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        if os.environ.get("REPARAMOPT_DEBUG"):
            return args.handler(args)
        return _run(args)
    except KeyboardInterrupt:
        if os.environ.get("REPARAMOPT_DEBUG"):
            raise
        print(f"{PROG}{f' {command}' if command else ''}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args):
    """The command of `args`, its failures turned into one line and an exit status, and
    any warning it did not report itself into one line too (not Python's two, which quote
    a line of the command's source)."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(args.command)
            return args.handler(args)
    except BrokenPipeError:
        # The reader of our output went away (e.g. `reparamopt demo | head`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except (CommandError, ReparamoptError, ValueError, TypeError, OSError, MemoryError) as exc:
        print(f"{PROG} {args.command}: error: {_first_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the command line never shows a traceback
        print(f"{PROG} {args.command}: error: unexpected {type(exc).__name__}: {_first_line(exc)} "
              f"(set REPARAMOPT_DEBUG=1 to see the traceback)", file=sys.stderr)
        return EXIT_ERROR


def _one_line_warning(command):
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{PROG} {command}: warning: {_first_line(message)}", file=file or sys.stderr)
    return show
