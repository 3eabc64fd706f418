"""``reparamopt solve``: NNLS and sparse recovery on files, against scipy.optimize.nnls.

The matrices have entries uniform on [0, 1] (the M+ criterion holds), so the NNLS
solution is unique and x itself can be compared; tolerance 1e-6 relative, far above the
1e-10 KKT tolerance the solvers stop at and far below any wrong active set.
"""

import numpy as np
import pytest

from .helpers import needs_nnls, needs_sparse, printed, run_cli, run_in_process, write

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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


def test_kkt_residual_is_zero_at_scipy_solution(data):
    from reparamopt.finish import check

    def kkt_residual(A, b, x):
        return check(A, b, x, 0.0)[0]

    assert kkt_residual(data["A"], data["b"], data["x_ref"]) < 1e-12
    assert kkt_residual(data["A"], data["b"], np.zeros(25)) > 0.1


def _stderr_lines(done):
    """The lines of stderr as a log file shows them (a progress bar redraws its line with
    carriage returns, which stay inside a line there)."""
    return [line for line in done.stderr.split("\n") if line.strip()]


@needs_nnls
def test_solve_not_converged_says_why_once_in_option_names(tmp_path):
    rng = np.random.default_rng(2)
    write(tmp_path / "A.npy", rng.standard_normal((30, 10)))
    write(tmp_path / "b.npy", rng.standard_normal(30))
    done = run_cli("solve", "A.npy", "b.npy", "--method", "gd", "--max-iter", "20", "--no-polish",
                   "--progress", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert printed(done.stdout, "status") == "0 (not converged)"
    said = [line for line in _stderr_lines(done) if "KKT residual" in line]
    assert len(said) == 1 and "KKT residual" not in done.stdout, done.stderr
    assert said[0].startswith("reparamopt solve: not converged (status 0): the relative KKT"), said
    assert "Warning" not in done.stderr and ".py:" not in done.stderr, done.stderr
    assert "`--max-iter`" in said[0] and "`--tol`" in said[0] and "(--no-polish)" in said[0]
    assert "max_iter" not in said[0] and "polish=" not in said[0]
    assert any("%|" in line for line in _stderr_lines(done)), "a progress bar was asked for"


def test_a_warning_the_command_does_not_report_itself_is_one_line(tmp_path, monkeypatch, capsys):
    import warnings

    import reparamopt.cli.solve as solve

    def load_vector(path, name):
        warnings.warn("b looks odd\nsecond line", UserWarning, stacklevel=2)
        return np.ones(6)

    write(tmp_path / "A.npy", np.random.default_rng(0).random((6, 3)))
    monkeypatch.setattr(solve, "load_vector", load_vector)
    done = run_in_process("solve", "A.npy", "b.npy", cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["reparamopt solve: warning: b looks odd"]
