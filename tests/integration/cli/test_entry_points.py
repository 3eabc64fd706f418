"""The entry points of the command line: ``reparamopt`` and ``python -m reparamopt``,
their version and help, and the console script declared for an install."""

import subprocess
import sys

import pytest

import reparamopt
from tests import REPO_ROOT

from .helpers import run_cli, run_in_process

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


COMMANDS = ["demo", "solve", "nmf", "bench", "reproduce"]


def test_version(tmp_path):
    done = run_cli("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"reparamopt {reparamopt.__version__}"


def test_python_dash_m_runs_the_command_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "reparamopt", "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"reparamopt {reparamopt.__version__}"


def test_help(tmp_path):
    done = run_cli("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: reparamopt")
    for name in COMMANDS:
        assert name in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_each_command(tmp_path, monkeypatch, capsys, command):
    done = run_in_process(command, "--help", cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: reparamopt {command}")
    assert done.stderr == ""


def test_no_command_prints_usage(tmp_path):
    done = run_cli(cwd=tmp_path)
    assert done.returncode == 2
    assert "usage: reparamopt" in done.stderr


def test_console_script_is_declared():
    from importlib.metadata import entry_points

    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    # a top-level module, so that Ctrl-C while the package imports exits cleanly
    assert scripts.get("reparamopt") == "_reparamopt_cli:main"


def test_console_script_is_the_guarded_entry_point():
    tomllib = pytest.importorskip("tomllib")

    pyproject = REPO_ROOT / "pyproject.toml"
    config = tomllib.loads(pyproject.read_text())
    assert config["project"]["scripts"]["reparamopt"] == "_reparamopt_cli:main"
    assert "_reparamopt_cli" in config["tool"]["setuptools"]["py-modules"]
