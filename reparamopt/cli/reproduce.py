"""``reparamopt reproduce``: the paper's figures, regenerated from the tutorials."""

import os
import subprocess
import sys
import time
from importlib.resources import as_file, files

from .. import tutorials
from .common import CommandError, _override, output_folder, require_installed

OVERRIDE = "REPARAMOPT_TUTORIALS"

_RUNNER = r"""
import os, runpy, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
script, folder = sys.argv[1], sys.argv[2]
sys.argv = [script]
def pictures():
    return {name for name in os.listdir(folder) if name.lower().endswith(".png")}
before = pictures()
runpy.run_path(script, run_name="__main__")
# Figures the script left open and did not save itself are saved as stem_<i>.png.
if pictures() == before:
    stem = os.path.splitext(os.path.basename(script))[0]
    for i, number in enumerate(plt.get_fignums(), start=1):
        plt.figure(number).savefig(os.path.join(folder, f"{stem}_{i}.png"), dpi=100)
"""


def _tutorials():
    """The tutorial scripts by figure name: the ``plot_*.py`` files shipped in
    ``reparamopt.tutorials``, or those of the folder REPARAMOPT_TUTORIALS names."""
    folder = _override(OVERRIDE, "plot_*.py tutorials") or files(tutorials)
    scripts = sorted((entry for entry in folder.iterdir()
                      if entry.name.startswith("plot_") and entry.name.endswith(".py")),
                     key=lambda entry: entry.name)
    if not scripts:
        raise CommandError(f"no tutorial scripts (plot_*.py) in {folder}")
    return {entry.name[len("plot_"):-len(".py")]: entry for entry in scripts}


def _select(available, wanted):
    if not wanted:
        return list(available.items())
    chosen = []
    for name in wanted:
        key = name[len("plot_"):] if name.startswith("plot_") else name
        key = key[:-3] if key.endswith(".py") else key
        matches = [k for k in available if k == key] or [k for k in available if key in k]
        if len(matches) != 1:
            problem = "matches several figures" if matches else "is not a figure"
            raise CommandError(f"{name!r} {problem}; choose from {', '.join(available)}")
        chosen.append((matches[0], available[matches[0]]))
    return chosen


def _cmd_reproduce(args):
    available = _tutorials()
    if args.list:
        for name, path in available.items():
            print(f"{name}  ({path.name})")
        return 0
    chosen = _select(available, args.figure)
    require_installed("matplotlib", "drawing the figures")  # the runner and every tutorial
    with output_folder(args.output) as folder:
        failures = _run_tutorials(chosen, folder, args.quick)
        if len(failures) < len(chosen):
            print(f"figures in {folder}")
        if failures:
            raise CommandError(f"{len(failures)} of {len(chosen)} figure(s) failed: {', '.join(failures)}")
    return 0


def _run_tutorials(chosen, folder, quick):
    """Run each ``(name, script)`` of `chosen` in a fresh interpreter writing into
    `folder`, with one line for each; the names of those that failed."""
    from .._utils.progress import progress_bar

    env = dict(os.environ, REPARAMOPT_OUTPUT=str(folder), MPLBACKEND="Agg")
    if quick:
        env["REPARAMOPT_QUICK"] = "1"
    failures = []
    bar = progress_bar({"desc": "reproduce", "unit": " figures", "leave": False}, total=len(chosen))
    try:
        for name, script in chosen:
            before = set(folder.iterdir())
            start = time.perf_counter()
            with as_file(script) as path:  # a real file even from a zipped install
                done = subprocess.run([sys.executable, "-c", _RUNNER, str(path), str(folder)], env=env,
                                      cwd=folder, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            bar.update(1)
            if done.returncode != 0:
                lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
                failures.append(name)
                bar.write(f"{name}: failed after {elapsed:.1f} s: {lines[-1] if lines else 'no message'}")
                continue
            new = sorted(p.name for p in set(folder.iterdir()) - before)
            bar.write(f"{name}: {elapsed:.1f} s, {len(new)} file(s): {', '.join(new) or '(none)'}")
    finally:
        bar.close()
    return failures
