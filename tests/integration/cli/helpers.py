"""Helpers of the command-line tests: run the command in a subprocess or in this process,
check a one-line error, write arrays in each format, read printed values; skip marks for
the flagships that may be absent."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp


def has(module):
    return importlib.util.find_spec(f"reparamopt.flagships.{module}") is not None


needs_nnls = pytest.mark.skipif(not has("nnls"), reason="reparamopt.nnls is not available")


needs_sparse = pytest.mark.skipif(not has("sparse"), reason="reparamopt.sparse_recovery is not available")


needs_nmf = pytest.mark.skipif(not has("nmf"), reason="reparamopt.NMF is not available")


def run_cli(*args, cwd, env=None, timeout=240):
    full_env = dict(os.environ, MPLBACKEND="Agg", **(env or {}))
    full_env.pop("REPARAMOPT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "reparamopt.cli", *map(str, args)], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def without(folder, *modules):
    """The environment of a command run as if `modules` were not installed: a
    sitecustomize.py in `folder` sets each to None in sys.modules, so that importing it
    fails as a missing module does, and find_spec finds nothing."""
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "import sys\n" + "".join(f"sys.modules[{module!r}] = None\n" for module in modules))
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))}


def run_in_process(*args, cwd, monkeypatch, capsys):
    """`main` in this process (cheaper than a subprocess); returns (status, stdout, stderr)."""
    from reparamopt.cli import main

    monkeypatch.chdir(cwd)
    monkeypatch.delenv("REPARAMOPT_DEBUG", raising=False)
    capsys.readouterr()
    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, out, err)


def assert_one_line_error(done):
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "error" in lines[0]
    return lines[0]


def write(path, value):
    """Write `value` in the format given by the extension of `path`."""
    path = Path(path)
    suffix = path.suffix
    if suffix == ".npy":
        np.save(path, value)
    elif suffix == ".npz":
        sp.save_npz(path, sp.csr_array(np.atleast_2d(value)))
    elif suffix == ".mtx":
        scipy.io.mmwrite(path, sp.coo_array(value) if value.ndim == 2 else value[:, None])
    elif suffix == ".csv":
        np.savetxt(path, value, delimiter=",")
    elif suffix == ".txt":
        np.savetxt(path, value)
    return path


def printed(stdout, key):
    for line in stdout.splitlines():
        if line.split(":")[0].strip() == key:
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{key!r} not printed:\n{stdout}")
