"""Reading arrays in every supported format, and writes that keep the previous files when
they fail (a full disk)."""

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from .helpers import assert_one_line_error, run_in_process, write

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_load_array_formats(tmp_path):
    from reparamopt.cli import load_array

    A = np.arange(6.0).reshape(2, 3)
    for ext in (".npy", ".npz", ".mtx", ".csv", ".txt"):
        loaded = load_array(write(tmp_path / f"A{ext}", A), "A")
        loaded = loaded.toarray() if sp.issparse(loaded) else loaded
        np.testing.assert_array_equal(loaded, A)
    assert sp.issparse(load_array(tmp_path / "A.npz")) and sp.issparse(load_array(tmp_path / "A.mtx"))
    (tmp_path / "header.csv").write_text("a,b,c\n0,1,2\n3,4,5\n")
    np.testing.assert_array_equal(load_array(tmp_path / "header.csv"), A)
    (tmp_path / "header.txt").write_text("a b c\n0 1 2\n3\t4  5\n")
    np.testing.assert_array_equal(load_array(tmp_path / "header.txt"), A)
    np.savez(tmp_path / "one.npz", only=A)
    np.testing.assert_array_equal(load_array(tmp_path / "one.npz"), A)


def test_x_written_as_text_reads_back_as_input(tmp_path, monkeypatch, capsys):
    """Every extension `solve -o` writes is one the commands read."""
    rng = np.random.default_rng(0)
    write(tmp_path / "A.npy", rng.random((12, 5)))
    write(tmp_path / "b.npy", rng.random(12))
    for name in ("x.txt", "x.csv", "x.npy"):
        done = run_in_process("solve", "A.npy", "b.npy", "-o", name, cwd=tmp_path,
                              monkeypatch=monkeypatch, capsys=capsys)
        assert done.returncode == 0, done.stderr
    from reparamopt.cli import load_array

    x = np.load(tmp_path / "x.npy")
    for name in ("x.txt", "x.csv"):
        np.testing.assert_array_equal(load_array(tmp_path / name, "x").ravel(), x)


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


def test_write_cut_short_by_a_file_size_limit_keeps_the_previous_file(tmp_path):
    """Under a 2 KiB file size limit the 3.3 KB x.npy cannot be written: np.save goes
    through C stdio, which drops that error; the command must still see it, fail and keep
    the old file (the installed command ignores SIGXFSZ, as Python does, so the write
    fails with EFBIG instead of killing it)."""
    resource = pytest.importorskip("resource")
    rng = np.random.default_rng(0)
    write(tmp_path / "A.npy", rng.random((60, 400)))
    write(tmp_path / "b.npy", rng.random(60))
    previous = np.arange(5.0)
    np.save(tmp_path / "x.npy", previous)

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("REPARAMOPT_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "reparamopt", "solve", "A.npy", "b.npy", "-o", "x.npy"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
                          preexec_fn=limit_file_size)
    line = assert_one_line_error(done)
    assert "cannot write x.npy" in line and "written to" not in done.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["A.npy", "b.npy", "x.npy"]


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
def test_written_files_follow_the_umask_and_keep_a_replaced_files_mode(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    write(tmp_path / "A.npy", rng.random((12, 5)))
    write(tmp_path / "b.npy", rng.random(12))
    (tmp_path / "old.csv").write_text("previous result")
    (tmp_path / "old.csv").chmod(0o604)
    umask = os.umask(0o027)
    try:
        for name in ("new.npy", "old.csv"):
            done = run_in_process("solve", "A.npy", "b.npy", "-o", name, cwd=tmp_path,
                                  monkeypatch=monkeypatch, capsys=capsys)
            assert done.returncode == 0, done.stderr
    finally:
        os.umask(umask)
    assert (tmp_path / "new.npy").stat().st_mode & 0o777 == 0o640  # 0666 under umask 027
    assert (tmp_path / "old.csv").stat().st_mode & 0o777 == 0o604
    assert np.loadtxt(tmp_path / "old.csv", delimiter=",").shape == (5,)
