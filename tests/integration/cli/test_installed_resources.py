"""Where ``bench`` and ``reproduce`` find their suites and tutorials: inside an installed
package (the wheel of the source tree), or in folders named by environment variables."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import REPO_ROOT

from .helpers import assert_one_line_error, run_cli, run_in_process

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _copy_of_the_package(tmp_path):
    """The wheel of the source tree, unpacked as an install lays it out: no benchmarks/
    or tutorials/ of a source tree beside it (the tutorials/ folder installs as
    reparamopt.tutorials)."""
    import zipfile

    root = REPO_ROOT
    wheels = tmp_path / "wheels"
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(wheels), str(root)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = wheels.glob("reparamopt-*.whl")
    site = tmp_path / "site-packages"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    assert sorted(p.name for p in (site / "reparamopt" / "tutorials").glob("plot_*.py")) == sorted(
        p.name for p in (root / "tutorials").glob("plot_*.py"))
    return site


def test_bench_and_reproduce_find_their_resources_in_an_installed_package(tmp_path):
    """The suites and tutorials ship inside the package: with only the package on the
    path and the working folder elsewhere, they are found there."""
    site = _copy_of_the_package(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PYTHONPATH": str(site), "REPARAMOPT_BENCHMARKS": "", "REPARAMOPT_TUTORIALS": ""}
    done = run_cli("reproduce", "--list", cwd=elsewhere, env=env)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == [
        "fft_recovery", "implicit_bias", "phase_transition", "rates", "sparsity_table", "stability"]
    probe = ("import importlib, reparamopt.cli.bench as bench, reparamopt.cli.reproduce as rep\n"
             "for target in bench._suite_targets(None).values():\n"
             "    print(importlib.util.find_spec(target).origin)\n"
             "for script in rep._tutorials().values():\n"
             "    print(script)\n")
    done = subprocess.run([sys.executable, "-c", "import importlib.util\n" + probe], cwd=elsewhere,
                          env=dict(os.environ, **env), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    paths = [Path(line) for line in done.stdout.splitlines()]
    from reparamopt.benchmarks import SUITES

    assert len(paths) == len(SUITES) + 6
    assert all(path.is_file() and path.is_relative_to(site / "reparamopt") for path in paths), paths
    # the runner of `bench` imports a shipped suite by its module name
    from reparamopt.cli.bench import _BENCH_RUNNER

    done = subprocess.run([sys.executable, "-c", _BENCH_RUNNER, "reparamopt.benchmarks.nnls", "--help"],
                          cwd=elsewhere, env=dict(os.environ, **env), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "--quick" in done.stdout, done.stderr


@pytest.mark.parametrize("variable,command", [("REPARAMOPT_BENCHMARKS", ["bench", "nnls"]),
                                              ("REPARAMOPT_TUTORIALS", ["reproduce", "--list"])])
def test_override_that_is_not_a_folder(tmp_path, monkeypatch, capsys, variable, command):
    monkeypatch.setenv(variable, str(tmp_path / "missing"))
    line = assert_one_line_error(run_in_process(*command, cwd=tmp_path, monkeypatch=monkeypatch,
                                                capsys=capsys))
    assert variable in line and repr(str(tmp_path / "missing")) in line
