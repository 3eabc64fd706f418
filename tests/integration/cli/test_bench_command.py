"""``reparamopt bench`` on stand-in suites: tables to CSV and plots, the suite's own CSV,
its progress bar, and the errors of missing or broken suites."""

import pytest

from .helpers import assert_one_line_error, run_cli, run_in_process, without

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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
    assert not (tmp_path / "benchmark-results").exists()  # no empty output folder left behind


def test_bench_all_runs_the_suites_present(tmp_path):
    done = run_cli("bench", "--quick", "-o", "results", cwd=tmp_path,
                   env=_fake_suites(tmp_path, nmf=FAKE_BENCH))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "results" / "nmf.csv").is_file()
    assert not (tmp_path / "results" / "nnls.csv").exists()


@pytest.mark.parametrize("suite", ["nmf", "all"])
def test_bench_suite_without_scikit_learn_fails_at_once(tmp_path, suite):
    """The nmf suite measures against scikit-learn's NMF: without it, the command stops
    before running anything, names the extra to install and leaves no folder."""
    done = run_cli("bench", suite, "--quick", "-o", "results", cwd=tmp_path,
                   env={"REPARAMOPT_BENCHMARKS": "", **without(tmp_path / "site", "sklearn")})
    line = assert_one_line_error(done)
    assert line.endswith("needs sklearn, which is not installed: pip install 'reparamopt[nmf]'"), line
    assert "nmf benchmark suite" in line and done.stdout == ""
    assert not (tmp_path / "results").exists()
