"""``reparamopt nmf``: the factors written in each format, progress and bad data."""

import numpy as np
import pytest

from .helpers import assert_one_line_error, needs_nmf, run_cli, run_in_process, write

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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


@needs_nmf
def test_nmf_iteration_limit_is_one_warning_line_of_its_own(tmp_path):
    np.save(tmp_path / "X.npy", np.random.default_rng(6).random((40, 30)))
    done = run_cli("nmf", "X.npy", "-k", "5", "--max-iter", "3", "--progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.split("\n") if line.strip()]  # as a log file shows them
    warned = [line for line in lines if "iterations" in line]
    assert len(warned) == 1, done.stderr
    assert warned[0].startswith("reparamopt nmf: warning: Maximum number of iterations 3 reached"), warned
    assert "--max-iter" in warned[0] and "max_iter" not in warned[0]
    assert any("%|" in line for line in lines), "a progress bar was asked for"
