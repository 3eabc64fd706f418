"""What every command shares: the error type, exit codes, messages, tables, overrides."""

import os
from pathlib import Path

import numpy as np

PROG = "reparamopt"
READABLE = (".npy", ".npz", ".mtx", ".csv", ".txt")
EXIT_ERROR = 1
EXIT_USAGE = 2
# the command ran, but the solver did not certify its result (status 0, -1, 3, 4)
EXIT_NOT_CONVERGED = 3
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class CommandError(Exception):
    """A user-facing failure of a command, reported as one line."""



def _first_line(exc):
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _flagship(name):
    """A flagship solver of the package, or a clear error if this installation lacks it."""
    import reparamopt

    try:
        return getattr(reparamopt, name)
    except (ImportError, AttributeError) as exc:  # an optional extra is missing
        raise CommandError(f"`reparamopt.{name}` is not available: {_first_line(exc)}") from None


def _residual_norm(A, x, b):
    return float(np.linalg.norm(A @ x - b))


def _format_table(header, rows):
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    text = ["  ".join(c.ljust(w) for c, w in zip(cells[0], widths)), line]
    text += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in cells[1:]]
    return "\n".join(text)


def _override(variable, what):
    """The folder the environment variable `variable` names in place of the shipped
    `what`, or None when it is unset; a clear error when it is not a folder."""
    value = os.environ.get(variable)
    if not value:
        return None
    folder = Path(value)
    if not folder.is_dir():
        raise CommandError(f"{variable} must name a folder of {what}; got {value!r}, which is not a folder")
    return folder
