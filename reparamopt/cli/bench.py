"""``reparamopt bench``: the benchmark suites, their tables, CSV files and plots."""

import csv
import os
import re
import subprocess
import sys
import tempfile

from .. import benchmarks
from ..benchmarks import NEEDS, SUITES
from ..benchmarks._harness import PROGRESS_VARIABLE, parse_progress
from .common import CommandError, _first_line, _override, output_folder, require_installed

OVERRIDE = "REPARAMOPT_BENCHMARKS"


def _suite_targets(names):
    """What the runner imports for each suite of `names` (None: every suite): the module
    ``reparamopt.benchmarks.<name>`` shipped with the package, or ``bench_<name>.py`` of
    the folder REPARAMOPT_BENCHMARKS names (suites of one's own, or of another tree).

    Examples
    --------
    >>> from reparamopt.cli.bench import _suite_targets
    >>> _suite_targets(["nnls"])
    {'nnls': 'reparamopt.benchmarks.nnls'}
    """
    folder = _override(OVERRIDE, "bench_<suite>.py scripts")
    if folder is None:
        return {name: f"{benchmarks.__name__}.{name}" for name in names or SUITES}
    if names is None:
        names = [name for name in SUITES if (folder / f"bench_{name}.py").is_file()]
        if not names:
            raise CommandError(f"no benchmark suite ({', '.join(f'bench_{s}.py' for s in SUITES)}) "
                               f"in {folder} ({OVERRIDE})")
    targets = {name: folder / f"bench_{name}.py" for name in names}
    for name, path in targets.items():
        if not path.is_file():
            raise CommandError(f"the {name} benchmark suite is missing: no file {path} ({OVERRIDE})")
    return {name: str(path) for name, path in targets.items()}


# Each suite runs in a fresh interpreter: timings are not disturbed by what an earlier
# suite left behind (thread pools, caches, memory), and a suite cannot change this
# process (warning filters, working folder, sys.exit). The target is a module name or
# the path of a script.
_BENCH_RUNNER = r"""
import importlib, importlib.util, sys
target, argv = sys.argv[1], sys.argv[2:]
if target.endswith(".py"):
    spec = importlib.util.spec_from_file_location("bench_suite", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
else:
    module = importlib.import_module(target)
if not callable(getattr(module, "main", None)):
    sys.exit(f"{target} has no main(argv) function")
status = module.main(argv)
sys.exit(status if isinstance(status, int) else 0)
"""


def parse_tables(text):
    """Markdown tables in `text`: a list of ``(title, header, rows)``.

    The title is the first line of the text between the previous table and this one.

    Examples
    --------
    >>> from reparamopt.cli.bench import parse_tables
    >>> parse_tables("case A\\n| solver | time |\\n| --- | --- |\\n| x | 1.5 |\\n")
    [('case A', ['solver', 'time'], [['x', '1.5']])]
    """
    tables, title, block, fresh = [], "", [], True

    def flush():
        if len(block) >= 2:
            rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in block]
            body = [r for r in rows[1:] if not all(set(c) <= set("-: ") for c in r)]
            tables.append((title, rows[0], body))

    for line in text.splitlines():
        if line.strip().startswith("|"):
            block.append(line)
            continue
        if block:
            flush()
            block, fresh = [], True
        if line.strip() and fresh:
            title, fresh = line.strip(), False
    flush()
    return tables


def _tables_to_csv(suite, tables, folder):
    """Write the printed markdown tables as one CSV (a ``case`` column holds each title)."""
    header = ["case"] + tables[0][1]
    path = folder / f"{suite}.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for title, columns, rows in tables:
            if ["case"] + columns != header:  # a table of another shape: keep it apart
                writer.writerow(["case"] + columns)
            for row in rows:
                writer.writerow([title, *row])
    return path


def _read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _time_column(columns):
    """The first column of seconds: ``time``, ``time ...`` or ``... time (s)`` (not
    ``error at cd's time``)."""
    return next((c for c in columns if re.search(r"^time\b|\btime \(s\)$", c.strip(), re.IGNORECASE)), None)


def _memory_column(columns):
    return next((c for c in columns if "memory" in c.lower()), None)


def _axis_label(column):
    """The label of a column's axis, with its unit: ``time`` -> ``time (s)``,
    ``peak_memory_mib`` -> ``peak memory (MiB)``.

    Examples
    --------
    >>> from reparamopt.cli.bench import _axis_label
    >>> [_axis_label(c) for c in ("time", "time to target (s)", "peak_memory_mib", "peak_memory_bytes")]
    ['time (s)', 'time to target (s)', 'peak memory (MiB)', 'peak memory (bytes)']
    """
    if "(" in column:
        return column
    words = column.replace("_", " ").split()
    units = {"mib": "MiB", "mb": "MB", "gib": "GiB", "bytes": "bytes", "s": "s"}
    if len(words) > 1 and words[-1].lower() in units:
        return f"{' '.join(words[:-1])} ({units[words[-1].lower()]})"
    return f"{' '.join(words)} (s)" if _time_column([column]) else " ".join(words)


def _bench_figure(suite, rows):
    """The figure of the results `rows` (dicts), by :func:`reparamopt.plotting.plot_benchmark`:
    a grid of panels of times per case or problem, all on one log axis in seconds, one
    colour per solver, and, when the results hold a peak memory, a panel of its own."""
    from ..plotting import plot_benchmark

    columns = list(rows[0]) if rows else []
    group = next((c for c in ("case", "problem") if c in columns), None)
    label = "solver" if "solver" in columns else next((c for c in columns if c != group), None)
    value = _time_column(columns)
    if value is None or label is None:
        raise CommandError(f"the {suite} benchmark results have no time column to plot; "
                           f"columns: {', '.join(columns) or '(none)'}")
    memory = _memory_column(columns)
    return plot_benchmark(rows, value=value, solver=label, panel=group, memory=memory,
                          value_label=_axis_label(value),
                          memory_label=_axis_label(memory) if memory else None)


def _bench_plot(suite, rows, path):
    """Write :func:`_bench_figure` of `rows` to `path`."""
    from ..plotting import pyplot

    fig = _bench_figure(suite, rows)
    fig.savefig(path, dpi=100)
    pyplot().close(fig)
    return path


def _run_suite(name, target, quick, folder):
    """Run one suite with `folder` as working folder (files it writes by a relative path
    land there); returns its printed output and the CSV files it wrote."""
    from .._utils.progress import progress_bar

    before = {p: p.stat().st_mtime for p in folder.glob("*.csv")}
    command = [sys.executable, "-c", _BENCH_RUNNER, target] + (["--quick"] if quick else [])
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1", **{PROGRESS_VARIABLE: "1"})
    lines = []
    # The total comes from the suite (Progress of reparamopt.benchmarks._harness); a suite
    # that reports none gets a bar of elapsed time only.
    bar = progress_bar({"desc": f"bench {name}", "leave": False}, total=None)
    with tempfile.TemporaryFile(mode="w+") as errors:
        try:
            with subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=errors,
                                  text=True) as process:
                try:
                    for line in process.stdout:
                        event = parse_progress(line)
                        if event is None:
                            lines.append(line)
                        elif event[0] == "total":
                            bar.unit = f" {event[2]}"
                            bar.reset(total=event[1])
                        else:
                            bar.set_postfix_str(event[1], refresh=False)
                            bar.update(1)
                except BaseException:  # Ctrl-C: Popen's exit would leave the suite running
                    process.kill()
                    raise
        finally:
            bar.close()
        if process.returncode != 0:
            errors.seek(0)
            messages = [line for line in errors.read().splitlines() if line.strip()]
            raise CommandError(f"the {name} benchmark suite failed: "
                               f"{messages[-1] if messages else f'exit status {process.returncode}'}")
    written = [p for p in folder.glob("*.csv") if before.get(p) != p.stat().st_mtime]
    return "".join(lines), sorted(written)


def _cmd_bench(args):
    targets = _suite_targets(None if args.suite == "all" else [args.suite])
    for name, target in targets.items():
        if target == f"{benchmarks.__name__}.{name}":  # a shipped suite: its needs are known
            for module in NEEDS.get(name, ()):
                require_installed(module, f"the {name} benchmark suite")
    with output_folder(args.output) as folder:
        for name, target in targets.items():
            _bench_one(name, target, args.quick, folder)
    return 0


def _bench_one(name, target, quick, folder):
    """Run the suite `name` and print its output; write its tables as CSV, and a plot
    (when matplotlib is installed)."""
    text, written = _run_suite(name, target, quick, folder)
    print(text.rstrip("\n"))
    tables = parse_tables(text)
    if tables:
        table_csv = _tables_to_csv(name, tables, folder)
        written = [table_csv] + [p for p in written if p != table_csv]
    if not written:
        raise CommandError(f"the {name} benchmark printed no table and wrote no CSV file")
    rows = _read_rows(written[0])
    try:
        written.append(_bench_plot(name, rows, folder / f"{name}.png"))
    except ImportError as exc:
        print(f"no plot: {_first_line(exc)}")
    for path in written:
        print(f"written: {path}")
