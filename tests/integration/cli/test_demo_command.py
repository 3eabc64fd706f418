"""``reparamopt demo``: the rows it prints say what it claims (the implicit bias, scipy's
answer matched on an ill-conditioned problem, one call for many right-hand sides, NMF
beside scikit-learn's), it runs without scikit-learn, and it writes its plot."""

import sys

import pytest

from .helpers import assert_one_line_error, needs_nnls, needs_sparse, run_cli, run_in_process

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def tables(out):
    """The demo's tables: {part number: {row label: [cells]}}, the label being the text
    before the first run of two spaces."""
    parts, part = {}, None
    for line in out.splitlines():
        if line[:2] in {f"{i}." for i in range(1, 10)}:
            part = int(line[0])
            parts[part] = {}
        elif part and "  " in line and not line.startswith((" ", "-")):
            label, *cells = [c.strip() for c in line.split("  ") if c.strip()]
            parts[part][label] = cells
    return parts


def number(cell):
    return float(cell)


def check_bias(rows):
    header = rows.pop("solver")
    assert header[0] == "median time (s)"
    l1_min = number(rows["minimum-l1 NNLS solution (linprog)"][-3])
    l1 = {label: number(cells[-3]) for label, cells in rows.items() if "init_scale=" in label}
    assert len(l1) == 5
    # at init_scale 1e-3, power 2: within 2% above the LP minimum; power 3 on it
    assert all(l1_min * (1 - 1e-9) <= v <= 1.02 * l1_min for v in l1.values())
    flow = next(v for k, v in l1.items() if "flow," in k)
    default = next(v for k, v in l1.items() if "default (the flow's limit)" in k)
    assert default == pytest.approx(flow, rel=1e-3)
    assert next(v for k, v in l1.items() if "power=3" in k) == pytest.approx(l1_min, rel=1e-8)
    assert number(rows["scipy.optimize.nnls (Lawson-Hanson)"][-3]) > 1.05 * l1_min


def check_same_answer(rows, reference, objective, kkt):
    """Every row reaches scipy's objective, and the independent KKT check certifies it."""
    rows.pop("solver")
    assert len(rows) >= 2 and any(label.startswith("reparamopt.nnls") for label in rows)
    target = number(rows[reference][objective])
    for label, cells in rows.items():
        assert number(cells[0]) > 0, label  # a measured time
        assert number(cells[objective]) == pytest.approx(target, rel=1e-9), label
        assert number(cells[kkt]) < 1e-12, label


@needs_nnls
@needs_sparse
def test_demo_prints_what_it_claims_and_writes_plot(tmp_path):
    # what is printed is checked, not how fast: one BLAS thread keeps the small NMF quick
    # on a machine whose cores are busy with other work
    done = run_cli("demo", "--size", "60", "-o", "plots/demo.png", cwd=tmp_path,
                   env={name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "median of 3 calls" in out and "reparamopt.finish.check" in out
    parts = tables(out)
    assert sorted(parts) == [1, 2, 3, 4], out
    check_bias(parts[1])
    assert "300 channels" in out
    check_same_answer(parts[2], "scipy.optimize.nnls (Lawson-Hanson)", objective=1, kkt=2)
    assert len(parts[2]) == 4
    check_same_answer(parts[3], "scipy.optimize.nnls, a loop over the 100 columns", objective=1, kkt=2)
    if "skipped:" not in out:  # scikit-learn installed: both estimators at 100 iterations
        nmf = parts[4]
        assert nmf.pop("estimator")[1] == "iterations"
        assert [cells[1] for label, cells in nmf.items() if "reaches" not in label] == ["100", "100"]
    plot = tmp_path / "plots" / "demo.png"
    assert plot.is_file() and plot.stat().st_size > 10_000
    assert str(plot.resolve()) in out


@needs_nnls
@needs_sparse
def test_demo_without_scikit_learn_says_what_it_skipped(tmp_path, monkeypatch, capsys):
    for module in ("sklearn", "sklearn.datasets", "sklearn.decomposition"):
        monkeypatch.setitem(sys.modules, module, None)
    done = run_in_process("demo", "--size", "20", "--no-plot", cwd=tmp_path, monkeypatch=monkeypatch,
                          capsys=capsys)
    assert done.returncode == 0, done.stderr
    assert sorted(tables(done.stdout)) == [1, 2, 3, 4]
    skipped = next(line for line in done.stdout.splitlines() if "skipped:" in line)
    assert "pip install 'reparamopt[nmf]'" in skipped
    assert not list(tmp_path.iterdir())  # --no-plot


def test_demo_bad_output_extension(tmp_path, monkeypatch, capsys):
    line = assert_one_line_error(run_in_process("demo", "-o", "plot.pdf", cwd=tmp_path,
                                                monkeypatch=monkeypatch, capsys=capsys))
    assert ".png" in line


def test_demo_bad_size(tmp_path, monkeypatch, capsys):
    line = assert_one_line_error(run_in_process("demo", "--size", "1", cwd=tmp_path,
                                                monkeypatch=monkeypatch, capsys=capsys))
    assert "`--size`" in line
