"""Ctrl-C: exit status 130 and one line, whether it comes during a command, while the
package imports or while the command line is parsed; a suite or tutorial started is
stopped too."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


SLOW_BENCH = '''
import os, time

def main(argv=None):
    with open("started", "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(120)
'''


def _gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as handle:  # a zombie waiting for its parent is gone too
        return handle.read().split(") ")[-1].startswith("Z")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
@pytest.mark.parametrize("command", ["bench", "reproduce"])
def test_ctrl_c_during_a_command_exits_130_without_traceback(tmp_path, command):
    import signal
    import time

    folder = tmp_path / "scripts"
    folder.mkdir()
    out = tmp_path / "out"
    if command == "bench":
        (folder / "bench_nnls.py").write_text(SLOW_BENCH)
        args, env = ["bench", "nnls", "-o", str(out)], {"REPARAMOPT_BENCHMARKS": str(folder)}
    else:
        (folder / "plot_slow.py").write_text(SLOW_BENCH + "\nmain()\n")
        args, env = ["reproduce", "slow", "-o", str(out)], {"REPARAMOPT_TUTORIALS": str(folder)}
    full_env = dict(os.environ, MPLBACKEND="Agg", **env)
    full_env.pop("REPARAMOPT_DEBUG", None)
    process = subprocess.Popen([sys.executable, "-m", "reparamopt", *args], cwd=tmp_path, env=full_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = out / "started"
    deadline = time.monotonic() + 120
    while not started.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), process.communicate(timeout=10)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.replace("\r", "\n").splitlines()
             if line.strip() and not line.startswith(f"{command}")]  # the progress bar
    assert lines == [f"reparamopt {command}: interrupted"], stderr
    child = int(started.read_text())
    deadline = time.monotonic() + 10
    while not _gone(child) and time.monotonic() < deadline:  # the suite or tutorial is stopped too
        time.sleep(0.05)
    assert _gone(child)


def test_ctrl_c_while_the_package_imports(monkeypatch, capsys):
    """The entry point catches a KeyboardInterrupt raised while reparamopt imports."""
    import builtins

    import _reparamopt_cli

    real_import = builtins.__import__

    def interrupted_import(name, *args, **kwargs):
        if name.startswith("reparamopt"):
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    assert _reparamopt_cli.main(["demo"]) == 130
    assert capsys.readouterr().err == "reparamopt: interrupted\n"


@pytest.mark.parametrize("stage", ["build_parser", "parse_args"])
def test_ctrl_c_while_parsing_the_command_line(monkeypatch, capsys, stage):
    import argparse

    from reparamopt import cli

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    if stage == "build_parser":
        monkeypatch.setattr(cli, "build_parser", interrupt)
    else:
        monkeypatch.setattr(argparse.ArgumentParser, "parse_args", interrupt)
    monkeypatch.delenv("REPARAMOPT_DEBUG", raising=False)
    assert cli.main(["demo"]) == 130
    assert capsys.readouterr().err == "reparamopt: interrupted\n"
