"""``reparamopt demo``: the comparison table, the implicit bias it shows and its plot."""

import pytest

from .helpers import assert_one_line_error, needs_nnls, run_cli, run_in_process

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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
