"""What the suites share: a wall-clock cap on one solver run, and the progress they
report to ``reparamopt bench``.

Progress: ``reparamopt bench`` runs a suite in a fresh interpreter with
``REPARAMOPT_BENCH_PROGRESS=1`` and reads its output. The suite announces how many
steps it will take (:class:`Progress`) and reports each one on a line of its own,
which the command turns into a progress bar with a known total and leaves out of the
printed tables. Run directly, a suite prints no such lines.
"""

import os
import signal
import time
from contextlib import contextmanager

__all__ = ["PROGRESS_VARIABLE", "Capped", "Progress", "parse_progress", "time_cap", "timed"]

PROGRESS_VARIABLE = "REPARAMOPT_BENCH_PROGRESS"
_PREFIX = "##reparamopt-progress "


class Capped(BaseException):
    """A solver run stopped by :func:`time_cap` (a BaseException, so that a solver's own
    ``except Exception`` cannot swallow it)."""


@contextmanager
def time_cap(seconds):
    """Stop the body with :class:`Capped` after `seconds` of wall-clock time (None or 0:
    no cap). SIGALRM-based: the main thread of a POSIX system only; elsewhere no cap.

    Examples
    --------
    >>> from reparamopt.benchmarks._harness import Capped, time_cap
    >>> try:
    ...     with time_cap(0.05):
    ...         while True:
    ...             pass
    ... except Capped:
    ...     print("capped")
    capped
    """
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise Capped(f"stopped after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timed(function, *args, cap=None):
    """``(seconds, value, capped)`` of one call of `function` under :func:`time_cap`;
    value is None when the cap stopped it.

    Examples
    --------
    >>> from reparamopt.benchmarks._harness import timed
    >>> seconds, value, capped = timed(sum, [1, 2])
    >>> value, capped
    (3, False)
    """
    start = time.perf_counter()
    try:
        with time_cap(cap):
            value = function(*args)
    except Capped:
        return time.perf_counter() - start, None, True
    return time.perf_counter() - start, value, False


class Progress:
    """The steps of a suite, announced to ``reparamopt bench`` (silent otherwise).

    Examples
    --------
    >>> import os
    >>> from reparamopt.benchmarks._harness import PROGRESS_VARIABLE, Progress
    >>> os.environ[PROGRESS_VARIABLE] = "1"
    >>> progress = Progress(2, "solver runs")
    ##reparamopt-progress total 2 solver runs
    >>> progress.step("square n=200 scipy-nnls")
    ##reparamopt-progress step square n=200 scipy-nnls
    >>> del os.environ[PROGRESS_VARIABLE]
    """

    def __init__(self, total, unit):
        self.enabled = os.environ.get(PROGRESS_VARIABLE) == "1"
        self._emit(f"total {int(total)} {unit}")

    def step(self, label=""):
        self._emit(f"step {label}".rstrip())

    def _emit(self, text):
        if self.enabled:
            print(_PREFIX + " ".join(text.split()), flush=True)


def parse_progress(line):
    """The event of a progress line: ``("total", n, unit)``, ``("step", label)``, or None
    for any other line.

    Examples
    --------
    >>> from reparamopt.benchmarks._harness import parse_progress
    >>> parse_progress("##reparamopt-progress total 57 solver runs\\n")
    ('total', 57, 'solver runs')
    >>> parse_progress("##reparamopt-progress step wide 500x2000 apg")
    ('step', 'wide 500x2000 apg')
    >>> parse_progress("| solver | time |") is None
    True
    """
    if not line.startswith(_PREFIX):
        return None
    kind, _, rest = line[len(_PREFIX):].strip().partition(" ")
    if kind == "total":
        count, _, unit = rest.partition(" ")
        return ("total", int(count), unit)
    return ("step", rest)
