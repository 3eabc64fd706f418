"""The benchmark suites shipped in ``reparamopt.benchmarks``: runnable by ``bench``, capped
runs marked as such, bad options refused."""

import csv
import importlib
import importlib.util
import sys

import pytest

from tests import REPO_ROOT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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
                                        (["--families", "22"], ["--families", "22"])])
def test_nnls_suite_bad_option(argv, words, capsys):
    from reparamopt.benchmarks import nnls

    with pytest.raises(SystemExit) as info:
        nnls.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert all(word in err for word in words), err


def test_nnls_suite_lists_a_peer_that_is_not_installed_as_skipped(tmp_path, capsys, monkeypatch):
    from reparamopt.benchmarks import nnls

    monkeypatch.setitem(sys.modules, "sklearn.linear_model", None)  # as if not installed
    path = tmp_path / "out.csv"
    assert nnls.main(["--quick", "--families", "3", "--time-cap", "1e-5", "--csv", str(path)]) == 0
    out = capsys.readouterr().out
    skipped = "skipped: sklearn-lasso needs sklearn, which is not installed: pip install 'reparamopt[nmf]'"
    assert skipped in out.splitlines(), out
    solvers = {row["solver"] for row in csv.DictReader(path.open())}
    assert "sklearn-lasso" not in solvers and {"scipy-nnls", "reparamopt-auto"} <= solvers, solvers
