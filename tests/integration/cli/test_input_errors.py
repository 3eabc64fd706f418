"""Bad files, bad option values and bad usage: one line on stderr that says what is wrong,
no traceback, a non-zero exit (2 for usage errors)."""

import pytest

from .helpers import assert_one_line_error, needs_nnls, run_cli, run_in_process

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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
