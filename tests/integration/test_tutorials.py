"""Every tutorial runs in quick mode and writes finite numbers in the expected direction;
run cell by cell as sphinx-gallery runs it, every panel of its figures is drawn by the
time the figure is captured."""

import csv
import json
import os
import subprocess
import sys

import numpy as np

from tests import REPO_ROOT

TUTORIALS = REPO_ROOT / "tutorials"

# Runs a tutorial the way sphinx-gallery's matplotlib scraper sees it: the cells (split at
# "# %%") in one namespace, and after each cell every open figure is captured (here: which
# of its axes hold anything drawn) and closed. Drawing into a figure after the cell that
# created it ends would leave an empty panel on the built page.
CELL_RUNNER = """
import json, re, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

script, report = sys.argv[1], sys.argv[2]
source = open(script, encoding="utf-8").read()
namespace = {"__name__": "__main__", "__file__": script}
captured = []
for cell, code in enumerate(re.split(r"^# %%.*$", source, flags=re.MULTILINE)):
    exec(compile(code, script, "exec"), namespace)
    for number in plt.get_fignums():
        axes = plt.figure(number).axes
        captured.append({"cell": cell, "drawn": [ax.has_data() or bool(ax.texts) for ax in axes],
                         "titles": [ax.get_title() for ax in axes]})
    plt.close("all")
json.dump(captured, open(report, "w"))
"""


def run_tutorial(name, tmp_path):
    env = dict(os.environ, REPARAMOPT_QUICK="1", REPARAMOPT_OUTPUT=str(tmp_path), MPLBACKEND="Agg")
    report = tmp_path / "captured_figures.json"
    done = subprocess.run([sys.executable, "-c", CELL_RUNNER, str(TUTORIALS / f"plot_{name}.py"),
                           str(report)], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / f"{name}.png").stat().st_size > 1000
    captured = json.loads(report.read_text())
    assert captured, f"{name}: no figure open at the end of any cell"
    for figure in captured:
        empty = [title or str(i) for i, (title, drawn) in
                 enumerate(zip(figure["titles"], figure["drawn"])) if not drawn]
        assert not empty, f"{name}: panels {empty} are empty when cell {figure['cell']} ends"
    with open(tmp_path / f"{name}.csv") as fh:
        return list(csv.DictReader(fh))


def column(rows, key, where=None):
    values = np.array([float(r[key]) for r in rows if where is None or where(r)])
    assert values.size and np.all(np.isfinite(values)), key
    return values


def test_every_tutorial_is_covered():
    names = {p.stem[len("plot_"):] for p in TUTORIALS.glob("plot_*.py")}
    assert names == {"implicit_bias", "rates", "phase_transition", "stability", "sparsity_table",
                     "fft_recovery"}


def test_implicit_bias(tmp_path):
    rows = run_tutorial("implicit_bias", tmp_path)
    for L in (2, 3):
        sel = [r for r in rows if float(r["power"]) == L]
        alphas = sorted({float(r["alpha"]) for r in sel})
        gaps = [np.median(column(sel, "relative_gap", lambda r, a=a: float(r["alpha"]) == a)) for a in alphas]
        assert gaps[0] < gaps[-1], (L, gaps)  # smaller alpha, smaller gap
        assert min(gaps) > -1e-6  # never below the LP minimum
    assert np.all(column(rows, "rnorm") < 1e-6)
    assert np.all(column(rows, "lawson_hanson_l1") >= column(rows, "lp_min") - 1e-8)


def test_rates(tmp_path):
    rows = {r["dynamics"]: r for r in run_tutorial("rates", tmp_path)}
    slopes = {k: float(r["measured_slope"]) for k, r in rows.items()}
    assert all(np.isfinite(v) for v in slopes.values()), slopes
    assert slopes["gradient flow"] <= -1.0 + 0.1  # at least the O(1/t) of the theory
    assert slopes["accelerated flow"] <= -2.0 + 0.2
    # a faster decay of the step gives a slower tail
    gd = [slopes[f"GD gamma={g}"] for g in (0.25, 0.5, 0.75)]
    assert gd[0] < gd[1] < gd[2] < 0, gd


def test_phase_transition(tmp_path):
    rows = run_tutorial("phase_transition", tmp_path)
    for method in ("Lawson-Hanson", "reparametrized_GD", "basis_pursuit"):
        p = column(rows, method)
        assert np.all((p >= 0) & (p <= 1))
        easy = column(rows, method, lambda r: float(r["m_over_n"]) == 0.8 and float(r["s_over_m"]) == 0.1)
        hard = column(rows, method, lambda r: float(r["m_over_n"]) == 0.2 and float(r["s_over_m"]) == 0.9)
        assert easy[0] == 1.0 and hard[0] == 0.0, method


def test_stability(tmp_path):
    rows = run_tutorial("stability", tmp_path)
    for kind in ("negative", "noise"):
        for method in ("reparametrized", "Lawson-Hanson"):
            def mean_error(level):
                return column(rows, "error", lambda r: r["perturbation"] == kind and r["method"] == method
                              and float(r["level"]) == level).mean()
            levels = sorted({float(r["level"]) for r in rows})
            assert mean_error(levels[0]) < 1e-6  # exact without perturbation
            assert mean_error(levels[-1]) > mean_error(levels[0])


def test_sparsity_table(tmp_path):
    rows = {r["method"]: r for r in run_tutorial("sparsity_table", tmp_path)}
    for r in rows.values():
        for key in ("support_size", "l1", "relative_error", "time_s"):
            assert np.isfinite(float(r[key]))
    sparse = rows["reparametrized (alpha=1e-4)"]
    dense = rows["least squares (min l2)"]
    # the flow's limit at alpha = 1e-4, power 2, is ~1e-5 from x* (the entropic bias
    # closes like 1/log(1/alpha))
    assert float(sparse["relative_error"]) < 1e-4
    assert float(sparse["support_size"]) < float(dense["support_size"])
    assert float(sparse["l1"]) <= float(rows["reparametrized (alpha=1)"]["l1"])


def test_fft_recovery(tmp_path):
    rows = run_tutorial("fft_recovery", tmp_path)
    assert np.all(column(rows, "adjoint_error") < 1e-12)
    assert np.all(column(rows, "error") < 1e-3)
