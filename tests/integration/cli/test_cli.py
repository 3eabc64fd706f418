"""The ``reparamopt`` command line, end to end in subprocesses on small files.

Answers are checked against scipy.optimize.nnls on the same files. The matrices have
entries uniform on [0, 1] (the M+ criterion holds), so the NNLS solution is unique and x
itself can be compared; tolerance 1e-6 relative, far above the 1e-10 KKT tolerance the
solvers stop at and far below any wrong active set.
"""

import csv
import importlib
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.optimize
import scipy.sparse as sp

import reparamopt
from tests import REPO_ROOT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

COMMANDS = ["demo", "solve", "nmf", "bench", "reproduce"]


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
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(7)
    A = rng.random((40, 25))
    x_true = np.where(rng.random(25) < 0.4, rng.random(25), 0.0)
    b = A @ x_true + 0.05 * rng.standard_normal(40)
    x_ref, rnorm_ref = scipy.optimize.nnls(A, b)
    return {"folder": folder, "A": A, "b": b, "x_ref": x_ref, "rnorm_ref": rnorm_ref}


def printed(stdout, key):
    for line in stdout.splitlines():
        if line.split(":")[0].strip() == key:
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{key!r} not printed:\n{stdout}")


# -- version and help ---------------------------------------------------------------
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


# -- solve --------------------------------------------------------------------------
@needs_nnls
@pytest.mark.parametrize("a_ext,b_ext,out_ext", [
    (".npy", ".npy", ".npy"),
    (".npz", ".csv", ".csv"),
    (".mtx", ".mtx", ".txt"),
    (".csv", ".npy", ".npy"),
])
def test_solve_matches_scipy(data, a_ext, b_ext, out_ext):
    folder = data["folder"]
    a_path = write(folder / f"A{a_ext}", data["A"])
    b_path = write(folder / f"b{b_ext}", data["b"])
    out = folder / f"x_{a_ext[1:]}{out_ext}"
    done = run_cli("solve", a_path.name, b_path.name, "-o", out.name, cwd=folder)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar unless asked for
    x = np.load(out) if out_ext == ".npy" else np.loadtxt(out, delimiter="," if out_ext == ".csv" else None)
    np.testing.assert_allclose(x, data["x_ref"], rtol=1e-6, atol=1e-9)
    assert float(printed(done.stdout, "rnorm")) == pytest.approx(data["rnorm_ref"], rel=1e-8)
    assert float(printed(done.stdout, "optimality")) <= 1e-8
    assert int(printed(done.stdout, "iterations")) >= 0
    assert printed(done.stdout, "time").endswith(" s")


@needs_nnls
def test_solve_options_and_progress(data):
    folder = data["folder"]
    write(folder / "A.npy", data["A"])
    write(folder / "b.npy", data["b"])
    done = run_cli("solve", "A.npy", "b.npy", "--method", "bb", "--power", "3", "--init-scale", "0.5",
                   "--tol", "1e-9", "--max-iter", "5000", "--progress", "-o", "x_opts.npy", cwd=folder)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.load(folder / "x_opts.npy"), data["x_ref"], rtol=1e-6, atol=1e-9)
    assert "bb" in printed(done.stdout, "method")
    assert done.stderr.strip(), "a progress bar was asked for"


@needs_nnls
def test_solve_without_output_file_prints_only(data):
    folder = data["folder"]
    write(folder / "A.npy", data["A"])
    write(folder / "b.npy", data["b"])
    done = run_cli("solve", "A.npy", "b.npy", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "written" not in done.stdout


@needs_sparse
def test_solve_sparse_recovery(tmp_path):
    rng = np.random.default_rng(3)
    A = rng.random((30, 80))
    x_true = np.zeros(80)
    x_true[[4, 21, 60]] = [1.0, 0.5, 2.0]
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", A @ x_true)
    done = run_cli("solve", "A.npy", "b.npy", "--sparse-recovery", "-o", "x.npy", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    x = np.load(tmp_path / "x.npy")
    np.testing.assert_allclose(x, x_true, atol=1e-4)
    assert "sparse recovery" in printed(done.stdout, "problem")


@needs_sparse
def test_solve_signed_sparse_recovery(tmp_path):
    rng = np.random.default_rng(4)
    A = rng.standard_normal((40, 100)) / np.sqrt(40)
    x_true = np.zeros(100)
    x_true[[3, 50, 77]] = [1.0, -0.7, 0.4]
    np.save(tmp_path / "A.npy", A)
    np.save(tmp_path / "b.npy", A @ x_true)
    done = run_cli("solve", "A.npy", "b.npy", "--sparse-recovery", "--signed", "-o", "x.npy",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.load(tmp_path / "x.npy"), x_true, atol=1e-3)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    np.save(folder / "A.npy", rng.random((6, 4)))
    np.save(folder / "b.npy", rng.random(6))
    np.save(folder / "b5.npy", rng.random(5))
    np.save(folder / "B.npy", rng.random((6, 2)))
    np.save(folder / "v.npy", rng.random(6))
    np.save(folder / "cube.npy", rng.random((2, 2, 2)))
    A_nan = rng.random((6, 4))
    A_nan[1, 2] = np.nan
    np.save(folder / "A_nan.npy", A_nan)
    np.save(folder / "A_complex.npy", rng.random((6, 4)) + 1j)
    np.save(folder / "A_text.npy", np.array([["a", "b"], ["c", "d"]]))
    (folder / "garbage.npy").write_bytes(b"this is not a numpy file")
    (folder / "garbage.npz").write_bytes(b"PK\x03\x04 broken zip")
    (folder / "garbage.mtx").write_text("%%MatrixMarket nonsense\n1 2\n")
    (folder / "text.csv").write_text("1,2,3\n4,five,6\n")
    (folder / "ragged.csv").write_text("1,2,3\n4,5\n")
    (folder / "A.dat").write_text("1 2\n3 4\n")
    np.savez(folder / "two.npz", a=np.ones(3), b=np.ones(3))
    (folder / "folder.npy").mkdir()
    return folder


@pytest.mark.parametrize("args,words", [
    (["solve", "missing.npy", "b.npy"], "no such file"),
    (["solve", "A.npy", "missing.csv"], "no such file"),
    (["solve", "A.dat", "b.npy"], "unknown file type"),
    (["solve", "garbage.npy", "b.npy"], "cannot read A"),
    (["solve", "garbage.npz", "b.npy"], "cannot read A"),
    (["solve", "garbage.mtx", "b.npy"], "cannot read A"),
    (["solve", "text.csv", "b.npy"], "cannot read A"),
    (["solve", "ragged.csv", "b.npy"], "cannot read A"),
    (["solve", "two.npz", "b.npy"], "single array"),
    (["solve", "folder.npy", "b.npy"], "no such file"),
    (["solve", "A_text.npy", "b.npy"], "numeric"),
    (["solve", "A.npy", "b5.npy"], "do not match"),
    (["solve", "v.npy", "b.npy"], "must be a matrix"),
    (["solve", "A.npy", "B.npy"], "must be a vector"),
    (["solve", "cube.npy", "b.npy"], "must be a matrix"),
    (["solve", "A_nan.npy", "b.npy"], "finite"),
    (["solve", "A_complex.npy", "b.npy"], "real"),
    (["solve", "A.npy", "b.npy", "-o", "x.json"], "extension"),
    (["nmf", "missing.npy", "-k", "2"], "no such file"),
    (["nmf", "text.csv", "-k", "2"], "cannot read X"),
    (["nmf", "v.npy", "-k", "2"], "must be a matrix"),
])
def test_bad_input_gives_one_line_error(bad_files, monkeypatch, capsys, args, words):
    done = run_in_process(*args, cwd=bad_files, monkeypatch=monkeypatch, capsys=capsys)
    line = assert_one_line_error(done)
    assert words in line


@pytest.mark.parametrize("args", [
    ["solve", "garbage.npy", "b.npy"],
    ["solve", "A.npy", "b5.npy"],
    ["nmf", "missing.npy", "-k", "2"],
])
def test_bad_input_in_a_subprocess(bad_files, args):
    assert_one_line_error(run_cli(*args, cwd=bad_files))


@needs_nnls
@pytest.mark.parametrize("option,value,argument", [
    ("--power", "1.5", "power"),
    ("--tol", "-1", "tol"),
    ("--method", "newton", "method"),
    ("--max-iter", "-3", "max_iter"),
])
def test_bad_option_values_give_one_line_error(bad_files, monkeypatch, capsys, option, value, argument):
    done = run_in_process("solve", "A.npy", "b.npy", option, value, cwd=bad_files,
                          monkeypatch=monkeypatch, capsys=capsys)
    line = assert_one_line_error(done)
    assert argument in line


@pytest.mark.parametrize("args", [["solve", "A.npy"], ["solve", "A.npy", "b.npy", "--tol", "small"],
                                  ["frobnicate"], ["nmf", "A.npy"]])
def test_usage_errors_exit_2(bad_files, monkeypatch, capsys, args):
    done = run_in_process(*args, cwd=bad_files, monkeypatch=monkeypatch, capsys=capsys)
    assert done.returncode == 2
    assert "usage: reparamopt" in done.stderr


# -- nmf ----------------------------------------------------------------------------
@needs_nmf
@pytest.mark.parametrize("ext,fmt,subprocess_run", [
    (".npy", "npy", True), (".npz", "csv", True), (".mtx", "npy", False), (".csv", "csv", False)])
def test_nmf_writes_factors(tmp_path, monkeypatch, capsys, ext, fmt, subprocess_run):
    rng = np.random.default_rng(5)
    X = rng.random((30, 3)) @ rng.random((3, 20))
    write(tmp_path / f"X{ext}", X)
    args = ("nmf", f"X{ext}", "-k", "3", "-o", "out/fac", "--format", fmt, "--max-iter", "500",
            "--tol", "1e-10")
    if subprocess_run:
        done = run_cli(*args, cwd=tmp_path)
    else:
        done = run_in_process(*args, cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert done.returncode == 0, done.stderr
    read = np.load if fmt == "npy" else (lambda p: np.loadtxt(p, delimiter=","))
    W = read(tmp_path / "out" / f"fac_W.{fmt}")
    H = np.atleast_2d(read(tmp_path / "out" / f"fac_H.{fmt}"))
    assert W.shape == (30, 3) and H.shape == (3, 20)
    assert W.min() >= 0 and H.min() >= 0
    assert np.linalg.norm(X - W @ H) <= 1e-3 * np.linalg.norm(X)
    assert "reconstruction error" in done.stdout


@needs_nmf
def test_nmf_default_prefix_and_progress(tmp_path):
    rng = np.random.default_rng(6)
    np.save(tmp_path / "data.npy", rng.random((12, 8)))
    done = run_cli("nmf", "data.npy", "-k", "2", "--max-iter", "20", "--progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data_W.npy").is_file() and (tmp_path / "data_H.npy").is_file()
    assert "NMF" in done.stderr


@needs_nmf
def test_nmf_negative_data_error(tmp_path, monkeypatch, capsys):
    np.save(tmp_path / "X.npy", -np.ones((5, 4)))
    line = assert_one_line_error(run_in_process("nmf", "X.npy", "-k", "2", cwd=tmp_path,
                                                monkeypatch=monkeypatch, capsys=capsys))
    assert "non-negative" in line


# -- demo ---------------------------------------------------------------------------
@needs_nnls
def test_demo_prints_table_and_writes_plot(tmp_path):
    done = run_cli("demo", "--size", "300", "-o", "plots/demo.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "scipy.optimize.nnls" in out and "reparamopt.nnls" in out
    assert "Implicit bias" in out and "NNLS 300 x 300" in out
    plot = tmp_path / "plots" / "demo.png"
    assert plot.is_file() and plot.stat().st_size > 10_000
    assert str(plot.resolve()) in out
    # The implicit bias at init_scale 1e-3: flow, default (its limit), gd, accelerated,
    # all within 2% above the LP minimum; the default on the flow's own l1 norm
    rows = {line.split(" init_scale")[0]: line.split() for line in out.splitlines()
            if "init_scale=" in line}
    l1 = {label: float(row[-3]) for label, row in rows.items()}
    assert len(l1) == 4
    l1_min = float(next(line.split()[-3] for line in out.splitlines() if "linprog" in line))
    assert all(l1_min * (1 - 1e-9) <= v <= 1.02 * l1_min for v in l1.values())
    flow = next(v for k, v in l1.items() if "flow," in k)
    default = next(v for k, v in l1.items() if "default" in k)
    assert default == pytest.approx(flow, rel=1e-3)


def test_demo_bad_output_extension(tmp_path, monkeypatch, capsys):
    line = assert_one_line_error(run_in_process("demo", "-o", "plot.pdf", cwd=tmp_path,
                                                monkeypatch=monkeypatch, capsys=capsys))
    assert ".png" in line


# -- bench --------------------------------------------------------------------------
FAKE_BENCH = '''
import argparse

def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print("case one: 10 x 5")
    print("| solver | time (s) | error |")
    print("| --- | --- | --- |")
    print("| ours | 0.5 | 1e-9 |")
    print("| theirs | not reached | 1e-3 |")
    print()
    print("case two: quick" if args.quick else "case two: full")
    print("| solver | time (s) | error |")
    print("| --- | --- | --- |")
    print("| ours | 1.5 | 2e-9 |")
'''


def _fake_suites(tmp_path, **sources):
    """A benchmarks folder with ``bench_<name>.py`` = source, and the environment
    pointing `bench` at it."""
    benchmarks = tmp_path / "benchmarks"
    benchmarks.mkdir()
    for name, source in sources.items():
        (benchmarks / f"bench_{name}.py").write_text(source)
    return {"REPARAMOPT_BENCHMARKS": str(benchmarks)}


def test_bench_tables_csv_and_plot(tmp_path):
    done = run_cli("bench", "nnls", "--quick", "-o", "results", cwd=tmp_path,
                   env=_fake_suites(tmp_path, nnls=FAKE_BENCH))
    assert done.returncode == 0, done.stderr
    assert "| ours | 0.5 | 1e-9 |" in done.stdout and "case two: quick" in done.stdout
    lines = (tmp_path / "results" / "nnls.csv").read_text().splitlines()
    assert lines[0] == "case,solver,time (s),error"
    assert lines[1:] == ["case one: 10 x 5,ours,0.5,1e-9", "case one: 10 x 5,theirs,not reached,1e-3",
                         "case two: quick,ours,1.5,2e-9"]
    assert (tmp_path / "results" / "nnls.png").stat().st_size > 5_000


FAKE_CSV_BENCH = '''
import argparse, csv

def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--csv", default="bench_fake.csv")
    args = parser.parse_args(argv)
    rows = [dict(problem="square 500", solver="auto", time=0.25, kkt=1e-15),
            dict(problem="square 500", solver="scipy-nnls", time=1.5, kkt=1e-15),
            dict(problem="wide 2000", solver="auto", time=0.75, kkt=1e-12)]
    for row in rows:
        print(f"{row['problem']:12s} {row['solver']:12s} {row['time']:6.2f}", flush=True)
    with open(args.csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.csv}")
'''


def test_bench_suite_writing_its_own_csv(tmp_path):
    done = run_cli("bench", "nnls", "-o", "results", cwd=tmp_path,
                   env=_fake_suites(tmp_path, nnls=FAKE_CSV_BENCH))
    assert done.returncode == 0, done.stderr
    assert "scipy-nnls" in done.stdout
    csv_path = tmp_path / "results" / "bench_fake.csv"
    assert csv_path.read_text().splitlines()[0] == "problem,solver,time,kkt"
    assert f"written: {csv_path}" in done.stdout
    assert (tmp_path / "results" / "nnls.png").stat().st_size > 5_000


def test_bench_missing_suite(tmp_path, monkeypatch, capsys):
    (tmp_path / "benchmarks").mkdir()
    monkeypatch.setenv("REPARAMOPT_BENCHMARKS", str(tmp_path / "benchmarks"))
    line = assert_one_line_error(run_in_process("bench", "nmf", cwd=tmp_path, monkeypatch=monkeypatch,
                                                capsys=capsys))
    assert "bench_nmf.py" in line


@pytest.mark.parametrize("suite", ["nnls", "nmf"])
def test_bench_real_suites_are_runnable(suite):
    """The suites shipped in reparamopt.benchmarks expose the main(argv) the command runs,
    and the wrappers of the source tree's benchmarks/ run the same main."""
    from reparamopt.cli.bench import _suite_targets

    module = importlib.import_module(_suite_targets([suite])[suite])
    assert module.__name__ == f"reparamopt.benchmarks.{suite}"
    with pytest.raises(SystemExit) as info:
        module.main(["--help"])
    assert info.value.code == 0
    wrapper = REPO_ROOT / "benchmarks" / f"bench_{suite}.py"
    if wrapper.is_file():
        spec = importlib.util.spec_from_file_location(f"bench_{suite}", wrapper)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        assert loaded.main is module.main


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
    assert len(paths) == 2 + 6
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


PROGRESS_BENCH = '''
import time
from reparamopt.benchmarks._harness import Progress

def main(argv=None):
    progress = Progress(3, "solver runs")
    print("case one")
    print("| solver | time (s) |")
    print("| --- | --- |")
    for name in ("a", "b", "c"):
        time.sleep(0.2)  # past tqdm's refresh interval
        progress.step(f"case one {name}")
        print(f"| {name} | 0.5 |")
'''


def test_bench_progress_bar_counts_the_suite_steps(tmp_path):
    done = run_cli("bench", "nnls", "-o", "results", cwd=tmp_path,
                   env=_fake_suites(tmp_path, nnls=PROGRESS_BENCH))
    assert done.returncode == 0, done.stderr
    assert "##reparamopt-progress" not in done.stdout  # the events never reach the tables
    assert "| c | 0.5 |" in done.stdout
    assert "3/3" in done.stderr and "solver runs" in done.stderr, done.stderr
    assert " lines" not in done.stderr
    assert (tmp_path / "results" / "nnls.csv").read_text().count("case one") == 3


def test_time_solver_marks_a_capped_run():
    from reparamopt.benchmarks.nnls import time_solver

    def slow(A, b):
        while True:
            pass

    seconds, x, runs, capped = time_solver(slow, None, None, repeats=3, budget=30.0, cap=0.05)
    assert capped and x is None and runs == 1 and 0.05 <= seconds < 1.0
    seconds, x, runs, capped = time_solver(lambda A, b: "x", None, None, repeats=1, budget=30.0, cap=0.5)
    assert not capped and x == "x"


def test_nnls_suite_marks_capped_rows_in_table_and_csv(tmp_path, capsys):
    """A cap far below any solve stops every run: each row says so, with no KKT."""
    from reparamopt.benchmarks import nnls

    path = tmp_path / "out.csv"
    assert nnls.main(["--quick", "--families", "9", "--time-cap", "1e-5", "--csv", str(path)]) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("hilbert", "vander"))]
    assert len(table) == 4 and all(line.endswith("capped at 1e-05 s") for line in table), table
    rows = list(csv.DictReader(path.open()))
    assert [r["capped"] for r in rows] == ["True"] * 4 and all(r["kkt"] == "nan" for r in rows)
    assert nnls.main(["--quick", "--families", "9", "--time-cap", "0", "--csv", str(path)]) == 0
    rows = list(csv.DictReader(path.open()))
    assert [r["capped"] for r in rows] == ["False"] * 4 and all(float(r["kkt"]) < 1e-8 for r in rows)


@pytest.mark.parametrize("argv,words", [(["--time-cap", "-1"], ["--time-cap", "'-1'"]),
                                        (["--families", "17"], ["--families", "17"])])
def test_nnls_suite_bad_option(argv, words, capsys):
    from reparamopt.benchmarks import nnls

    with pytest.raises(SystemExit) as info:
        nnls.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert all(word in err for word in words), err


def test_bench_plot_log_time_axes_and_memory_panel():
    """Every time panel is on a log axis labelled in seconds; the peak memory has a panel
    and an axis of its own, and no memory is drawn among the times."""
    pytest.importorskip("matplotlib")
    from reparamopt.cli.bench import _bench_figure

    rows = [dict(family="6", problem="fft", solver="auto", time="0.02", capped="False",
                 peak_memory_mib="1.3"),
            dict(family="6", problem="fft", solver="apg", time="2.0", capped="True", peak_memory_mib="nan"),
            dict(family="1", problem="square", solver="auto", time="0.001", capped="False",
                 peak_memory_mib="nan")]
    fig = _bench_figure("nnls", rows)
    *time_axes, memory_axis = fig.axes
    assert len(time_axes) == 2
    for ax in time_axes:
        assert ax.get_xscale() == "log" and ax.get_xlabel() == "time (s)"
        assert max(patch.get_x() + patch.get_width() for patch in ax.patches) <= 2.0 + 1e-12
    assert [len(ax.patches) for ax in time_axes] == [2, 1]
    assert memory_axis.get_xlabel() == "peak memory (MiB)"
    assert memory_axis.get_shared_x_axes().get_siblings(memory_axis) == [memory_axis]
    assert [t.get_text() for t in memory_axis.get_yticklabels()] == ["fft: auto"]
    assert any(text.get_text().strip() == "capped" for text in time_axes[0].texts)
    nmf = [{"case": "digits", "solver": "cd", "time to target (s)": "0.3", "error at cd's time": "684",
            "final time (s)": "0.3"},
           {"case": "digits", "solver": "mu", "time to target (s)": "not reached",
            "error at cd's time": "731", "final time (s)": "0.2"}]
    fig = _bench_figure("nmf", nmf)
    assert [(ax.get_xscale(), ax.get_xlabel()) for ax in fig.axes] == [("log", "time to target (s)")]
    assert [t.get_text().strip() for t in fig.axes[0].texts] == ["not reached"]


@pytest.mark.parametrize("source,words", [
    ("raise RuntimeError('no data here')\n", "no data here"),
    ("x = 1\n", "no main(argv)"),
    ("def main(argv=None):\n    print('nothing to see')\n", "printed no table"),
])
def test_bench_broken_suite_gives_one_line_error(tmp_path, source, words):
    done = run_cli("bench", "nnls", cwd=tmp_path,
                   env=_fake_suites(tmp_path, nnls=source))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    # Besides the progress bar of the run, one line: the error.
    lines = [line for line in done.stderr.replace("\r", "\n").splitlines()
             if line.strip() and not line.startswith("bench nnls:")]
    assert len(lines) == 1 and words in lines[0], done.stderr


# -- reproduce ----------------------------------------------------------------------
FAKE_TUTORIAL = '''
"""A figure."""
import os
import matplotlib.pyplot as plt
quick = os.environ.get("REPARAMOPT_QUICK") == "1"
with open(os.path.join(os.environ["REPARAMOPT_OUTPUT"], "{name}.txt"), "w") as handle:
    handle.write("quick" if quick else "full")
plt.figure()
plt.plot([1, 2, 3])
'''


@pytest.fixture
def tutorials(tmp_path):
    folder = tmp_path / "tutorials"
    folder.mkdir()
    for name in ("rates", "implicit_bias"):
        (folder / f"plot_{name}.py").write_text(textwrap.dedent(FAKE_TUTORIAL.replace("{name}", name)))
    (folder / "plot_broken.py").write_text("raise RuntimeError('boom')\n")
    return {"REPARAMOPT_TUTORIALS": str(folder)}


def test_reproduce_list(tmp_path, monkeypatch, capsys, tutorials):
    monkeypatch.setenv("REPARAMOPT_TUTORIALS", tutorials["REPARAMOPT_TUTORIALS"])
    done = run_in_process("reproduce", "--list", cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["broken", "implicit_bias", "rates"]


def test_reproduce_one_figure(tmp_path, tutorials):
    done = run_cli("reproduce", "implicit", "--quick", "-o", "figs", cwd=tmp_path, env=tutorials)
    assert done.returncode == 0, done.stderr
    figs = tmp_path / "figs"
    assert (figs / "implicit_bias.txt").read_text() == "quick"
    assert (figs / "plot_implicit_bias_1.png").stat().st_size > 1_000
    assert not (figs / "rates.txt").exists()


def test_reproduce_failure_and_unknown_name(tmp_path, tutorials):
    done = run_cli("reproduce", "broken", "rates", "-o", "figs", cwd=tmp_path, env=tutorials)
    assert done.returncode != 0
    assert "boom" in done.stdout
    assert (tmp_path / "figs" / "rates.txt").read_text() == "full"
    assert "Traceback" not in done.stderr

def test_reproduce_unknown_name(tmp_path, monkeypatch, capsys, tutorials):
    monkeypatch.setenv("REPARAMOPT_TUTORIALS", tutorials["REPARAMOPT_TUTORIALS"])
    for name in ("nothing", "r"):  # no match; several matches
        line = assert_one_line_error(run_in_process("reproduce", name, cwd=tmp_path,
                                                    monkeypatch=monkeypatch, capsys=capsys))
        assert "implicit_bias" in line


def test_reproduce_lists_the_shipped_tutorials(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("REPARAMOPT_TUTORIALS", raising=False)
    from importlib.resources import files

    import reparamopt.tutorials

    scripts = sorted(p for p in files(reparamopt.tutorials).iterdir() if p.name.startswith("plot_"))
    assert len(scripts) == 6
    done = run_in_process("reproduce", "--list", cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert done.returncode == 0, done.stderr
    assert [line.split()[1] for line in done.stdout.splitlines()] == [f"({s.name})" for s in scripts]


# -- in-process helpers -------------------------------------------------------------
def test_load_array_formats(tmp_path):
    from reparamopt.cli import load_array

    A = np.arange(6.0).reshape(2, 3)
    for ext in (".npy", ".npz", ".mtx", ".csv"):
        loaded = load_array(write(tmp_path / f"A{ext}", A), "A")
        loaded = loaded.toarray() if sp.issparse(loaded) else loaded
        np.testing.assert_array_equal(loaded, A)
    assert sp.issparse(load_array(tmp_path / "A.npz")) and sp.issparse(load_array(tmp_path / "A.mtx"))
    (tmp_path / "header.csv").write_text("a,b,c\n0,1,2\n3,4,5\n")
    np.testing.assert_array_equal(load_array(tmp_path / "header.csv"), A)
    np.savez(tmp_path / "one.npz", only=A)
    np.testing.assert_array_equal(load_array(tmp_path / "one.npz"), A)


def test_kkt_residual_is_zero_at_scipy_solution(data):
    from reparamopt.cli import kkt_residual

    assert kkt_residual(data["A"], data["b"], data["x_ref"]) < 1e-12
    assert kkt_residual(data["A"], data["b"], np.zeros(25)) > 0.1


def test_bench_all_runs_the_suites_present(tmp_path):
    done = run_cli("bench", "--quick", "-o", "results", cwd=tmp_path,
                   env=_fake_suites(tmp_path, nmf=FAKE_BENCH))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "results" / "nmf.csv").is_file()
    assert not (tmp_path / "results" / "nnls.csv").exists()


def _failing_after(original, calls_ok):
    """A writer that works `calls_ok` times, then writes a few bytes and fails (a full
    disk)."""
    count = {"n": 0}

    def writer(stream, *args, **kwargs):
        count["n"] += 1
        if count["n"] > calls_ok:
            stream.write(b"partial")
            raise OSError(28, "No space left on device")
        return original(stream, *args, **kwargs)

    return writer


@pytest.mark.parametrize("ext", ["npy", "csv"])
def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch, capsys, ext):
    rng = np.random.default_rng(0)
    write(tmp_path / "A.npy", rng.standard_normal((12, 5)))
    write(tmp_path / "b.npy", rng.standard_normal(12))
    target = tmp_path / f"x.{ext}"
    target.write_text("previous result")
    name = "save" if ext == "npy" else "savetxt"
    monkeypatch.setattr(np, name, _failing_after(getattr(np, name), 0))
    done = run_in_process("solve", "A.npy", "b.npy", "-o", target.name, cwd=tmp_path,
                          monkeypatch=monkeypatch, capsys=capsys)
    line = assert_one_line_error(done)
    assert "No space left" in line and "written to" not in done.stdout
    assert target.read_text() == "previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["A.npy", "b.npy", target.name])


def test_nmf_writes_both_factors_or_neither(tmp_path, monkeypatch, capsys):
    write(tmp_path / "X.npy", np.random.default_rng(1).random((20, 8)))
    for name in ("out_W.npy", "out_H.npy"):
        (tmp_path / name).write_text("old")
    monkeypatch.setattr(np, "save", _failing_after(np.save, 1))  # W succeeds, H fails
    done = run_in_process("nmf", "X.npy", "-k", "2", "-o", "out", "--max-iter", "20",
                          cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert_one_line_error(done)
    assert (tmp_path / "out_W.npy").read_text() == "old"
    assert (tmp_path / "out_H.npy").read_text() == "old"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_solve_prints_x_and_exits_3_when_not_converged(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(2)
    write(tmp_path / "A.npy", rng.standard_normal((30, 10)))
    write(tmp_path / "b.npy", rng.standard_normal(30))
    done = run_in_process("solve", "A.npy", "b.npy", cwd=tmp_path, monkeypatch=monkeypatch,
                          capsys=capsys)
    assert done.returncode == 0
    x_line = next(line for line in done.stdout.splitlines() if line.startswith("x "))
    assert "[" in x_line and "-o FILE" in x_line
    done = run_in_process("solve", "A.npy", "b.npy", "--method", "gd", "--max-iter", "2",
                          "--no-polish", cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert done.returncode == 3
    assert "not converged" in done.stderr


# -- Ctrl-C -------------------------------------------------------------------------
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


def test_console_script_is_the_guarded_entry_point():
    tomllib = pytest.importorskip("tomllib")

    pyproject = REPO_ROOT / "pyproject.toml"
    config = tomllib.loads(pyproject.read_text())
    assert config["project"]["scripts"]["reparamopt"] == "_reparamopt_cli:main"
    assert "_reparamopt_cli" in config["tool"]["setuptools"]["py-modules"]
