"""What every command shares: the error type, exit codes, messages, tables, overrides."""

import importlib.util
import os
import re
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .._utils.extras import missing

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


# what solvers say of a flag, in the words of the command's option that sets it
_FLAG_PHRASES = {"polish": (("(polish=False)", "(--no-polish)"), ("polish=True", "leaving out --no-polish"))}


def in_option_names(message, options):
    """`message` of a solver, with the arguments it names spelled as the command's
    options: `options` maps an argument (``max_iter``) to its option (``--max-iter``).

    Examples
    --------
    >>> from reparamopt.cli.common import in_option_names
    >>> in_option_names("Try method='auto', a larger `max_iter` or gram=True.",
    ...                 {"method": "--method", "max_iter": "--max-iter"})
    'Try --method auto, a larger `--max-iter` or gram=True.'
    """
    for flag in set(options) & set(_FLAG_PHRASES):
        for said, option in _FLAG_PHRASES[flag]:
            message = message.replace(said, option)
    names = "|".join(re.escape(name) for name in options if name not in _FLAG_PHRASES)
    if names:
        message = re.sub(rf"`({names})`", lambda m: f"`{options[m[1]]}`", message)
        message = re.sub(rf"\b({names})=('?)([\w.+-]+)\2", lambda m: f"{options[m[1]]} {m[3]}",
                         message)
    if "max_iter" in options:  # "Maximum number of iterations 200 reached. Increase it ..."
        message = message.replace("reached. Increase it", f"reached. Increase {options['max_iter']}")
    return message


class _LineWatch:
    """A text stream that passes everything on to `stream`, noting whether what was
    written last left a line open."""

    def __init__(self, stream):
        self.stream, self.open_line = stream, False

    def write(self, text):
        if text:
            self.open_line = not text.endswith("\n")
        return self.stream.write(text)

    def __getattr__(self, name):
        return getattr(self.stream, name)


@contextmanager
def quiet_solver(progress):
    """Run a solver with its warnings recorded, for the command to report each once in
    its own words: yields the list that receives their distinct first lines.

    With a `progress` bar, stderr is watched: a bar closes with a carriage return that
    clears its line on a terminal; elsewhere (a log, a pipe) its line is ended here, so
    that what the command prints next does not share it.
    """
    messages, stream = [], sys.stderr
    watch = sys.stderr = _LineWatch(stream) if progress else stream
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield messages
    finally:
        sys.stderr = stream
        if progress and watch.open_line and not stream.isatty():
            stream.write("\n")
    messages.extend(dict.fromkeys(_first_line(w.message) for w in caught))


def _flagship(name):
    """A flagship solver of the package, or a clear error if this installation lacks it."""
    import reparamopt

    try:
        return getattr(reparamopt, name)
    except (ImportError, AttributeError) as exc:  # an optional extra is missing
        raise CommandError(f"`reparamopt.{name}` is not available: {_first_line(exc)}") from None


def require_installed(module, purpose):
    """Fail at once, naming the extra that installs it, when the optional `module` that
    `purpose` needs is not installed. It is looked up, not imported: the command imports
    it in a child process, and a failure there would come after output and files.
    """
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a broken entry
        found = False
    if not found:
        raise missing(ModuleNotFoundError(name=module), purpose) from None


@contextmanager
def output_folder(path):
    """The folder `path`, made if missing and removed again if the command fails before
    it holds anything (a failed command leaves no empty folder behind)."""
    folder = Path(path).resolve()
    made = [entry for entry in (folder, *folder.parents) if not entry.exists()]  # deepest first
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    except BaseException:
        for entry in made:
            if any(entry.iterdir()):
                break
            entry.rmdir()
        raise


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
