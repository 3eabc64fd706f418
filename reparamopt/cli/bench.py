"""``reparamopt bench``: the benchmark suites, their tables, CSV files and plots."""

import csv
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .common import CommandError, _first_line, _locate

SUITES = ("nnls", "nmf")


def _bench_path(name):
    path = _locate("benchmarks") / f"bench_{name}.py"
    if not path.is_file():
        raise CommandError(f"the {name} benchmark suite is missing: no file {path}")
    return path


# Each suite runs in a fresh interpreter: timings are not disturbed by what an earlier
# suite left behind (thread pools, caches, memory), and a suite cannot change this
# process (warning filters, working folder, sys.exit).
_BENCH_RUNNER = r"""
import importlib.util, sys
path, argv = sys.argv[1], sys.argv[2:]
spec = importlib.util.spec_from_file_location("bench_suite", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
if not callable(getattr(module, "main", None)):
    sys.exit(f"{path} has no main(argv) function")
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


def _number(text):
    match = re.match(r"^\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)", text)
    return float(match.group(1)) if match else np.nan


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


def _bench_plot(suite, rows, path):
    """Bar charts of the timings in `rows` (dicts), one panel per case or problem."""
    from ..plotting import pyplot

    plt = pyplot()
    columns = list(rows[0]) if rows else []
    group = next((c for c in ("case", "problem") if c in columns), None)
    label = "solver" if "solver" in columns else next((c for c in columns if c != group), None)
    value = next((c for c in columns if "time" in c.lower()), None)
    if value is None or label is None:
        raise CommandError(f"the {suite} benchmark results have no time column to plot")
    panels = {}
    for row in rows:
        panels.setdefault(row.get(group, "") if group else "", []).append((row[label], row[value]))
    height = sum(0.28 * len(items) + 0.9 for items in panels.values())
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, max(height, 2.5)), layout="constrained",
                             squeeze=False)
    for ax, (title, items) in zip(axes[:, 0], panels.items()):
        y = np.arange(len(items))
        values = np.array([_number(v or "") for _, v in items])
        ax.barh(y, np.nan_to_num(values, nan=0.0), color="#457b9d")
        for yi, number, (_, cell) in zip(y, values, items):
            if np.isnan(number):
                ax.text(0, yi, f" {cell or 'n/a'}", va="center", fontsize=7)
        ax.set_yticks(y, [name for name, _ in items], fontsize=7)
        ax.invert_yaxis()
        positive = values[values > 0]
        if positive.size > 1 and positive.max() > 100 * positive.min():
            ax.set_xscale("log")
        ax.set_xlabel(value)
        ax.set_title(title, fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _run_suite(name, quick, folder):
    """Run one suite with `folder` as working folder (files it writes by a relative path
    land there); returns its printed output and the CSV files it wrote."""
    from .._utils.progress import progress_bar

    before = {p: p.stat().st_mtime for p in folder.glob("*.csv")}
    command = [sys.executable, "-c", _BENCH_RUNNER, str(_bench_path(name))] + (["--quick"] if quick else [])
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    lines = []
    bar = progress_bar({"desc": f"bench {name}", "unit": " lines", "leave": False}, total=None)
    with tempfile.TemporaryFile(mode="w+") as errors:
        try:
            with subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=errors,
                                  text=True) as process:
                for line in process.stdout:
                    lines.append(line)
                    if line.strip():
                        bar.update(1)
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
    if args.suite == "all":
        source = _locate("benchmarks")
        suites = [name for name in SUITES if (source / f"bench_{name}.py").is_file()]
        if not suites:
            raise CommandError(f"no benchmark suite (bench_nnls.py, bench_nmf.py) in {source}")
    else:
        suites = [args.suite]
    for name in suites:
        _bench_path(name)
    folder = Path(args.output).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for name in suites:
        text, written = _run_suite(name, args.quick, folder)
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
    return 0
