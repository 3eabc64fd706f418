"""reparamopt.plotting: what is drawn matches the data, and matplotlib stays optional."""

import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import reparamopt as ro  # noqa: E402
from reparamopt import plotting  # noqa: E402
from reparamopt.exceptions import (  # noqa: E402
    InvalidArgumentError,
    InvalidTypeError,
    ReparamoptError,
    ShapeError,
)
from reparamopt.plotting import (  # noqa: E402
    MissingDependencyError,
    history_of,
    plot_components,
    plot_convergence,
    plot_registry_graph,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def solved():
    import autograd.numpy as anp

    c = np.array([1.0, -2.0, 0.5, 3.0])
    problem = ro.Problem(lambda x: anp.sum((x - c) ** 2), x=ro.NonNegative(4))
    return ro.solve(problem, tol=1e-8, history=True)


def test_history_of_result(solved):
    records = history_of(solved)
    n = len(solved.history["fun"])
    assert set(records) >= {"iteration", "fun", "optimality", "time"}
    np.testing.assert_array_equal(records["iteration"], np.arange(n))
    np.testing.assert_array_equal(records["optimality"], solved.history["optimality"])


def test_plot_convergence_draws_the_history(solved):
    axes = plot_convergence(solved, label="accelerated")
    assert [ax.get_ylabel() for ax in axes] == ["optimality", "objective"]
    assert all(ax.get_yscale() == "log" for ax in axes)
    line = axes[0].get_lines()[0]
    opt = np.asarray(solved.history["optimality"])
    keep = opt > 0
    np.testing.assert_array_equal(line.get_ydata(), opt[keep])
    np.testing.assert_array_equal(line.get_xdata(), np.arange(opt.size)[keep])
    assert axes[0].get_legend() is not None


def test_plot_convergence_against_time_overlays(solved):
    axes = plot_convergence(solved, x="time", quantities="optimality")
    assert len(axes) == 1 and axes[0].get_xscale() == "log" and axes[0].get_xlabel() == "time (s)"
    plot_convergence(solved, x="time", quantities=["optimality"], axes=axes, label="again")
    assert len(axes[0].get_lines()) == 2


def test_plot_convergence_of_a_flow_in_flow_time():
    import autograd.numpy as anp

    problem = ro.Problem(lambda x: anp.sum((x - 1.0) ** 2), x=ro.NonNegative(3))
    res = ro.solve(problem, "flow", tol=1e-6, history=True, max_iter=200)
    axes = plot_convergence(res, x="t", quantities="fun")
    assert axes[0].get_xlabel() == "flow time t"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_plot_convergence_of_nnls_and_nmf():
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(0)
    A, b = rng.random((30, 10)), rng.random(30)
    res = ro.nnls(A, b, method="bb", polish=False, history=True, tol=1e-8)
    axes = plot_convergence(res, x="time")
    assert len(axes) == 2 and axes[0].get_lines()[0].get_ydata().size >= 2
    X = rng.random((20, 3)) @ rng.random((3, 16))
    model = ro.NMF(n_components=3, random_state=0, max_iter=30).fit(X)
    axes = plot_convergence(model)  # loss_history_: the objective only
    assert len(axes) == 1 and axes[0].get_ylabel() == "objective"
    fig = plot_components(model, (4, 4))
    assert len(fig.axes) == 3


def test_plot_convergence_errors(solved):
    no_history = ro.solve(ro.Problem(lambda x: (x[0] - 1.0) ** 2, x=ro.NonNegative(1)))
    with pytest.raises(InvalidArgumentError, match="history"):
        plot_convergence(no_history)
    with pytest.raises(InvalidTypeError, match="source"):
        plot_convergence(np.ones(3))
    with pytest.raises(InvalidArgumentError, match="`x`"):
        plot_convergence(solved, x="seconds")
    with pytest.raises(InvalidArgumentError, match="'t'"):
        plot_convergence(solved, x="t")
    with pytest.raises(InvalidArgumentError, match="quantities"):
        plot_convergence(solved, quantities=["gradient"])
    with pytest.raises(ShapeError, match="equal lengths"):
        plot_convergence({"fun": [1.0, 0.5], "optimality": [1.0]})
    with pytest.raises(ShapeError, match="panels"):
        _, ax = plt.subplots()
        plot_convergence(solved, axes=ax)


def test_registry_graph_draws_every_set_and_map():
    ax = plot_registry_graph()
    graph = ro.registry.graph()
    labels = {t.get_text() for t in ax.texts}
    assert set(graph.nodes) <= labels
    edge_names = {d["factory"].__name__ for _, _, d in graph.edges(data=True)}
    assert edge_names <= labels
    arrows = [p for p in ax.patches if type(p).__name__ == "FancyArrowPatch"]
    assert len(arrows) == graph.number_of_edges()


def test_registry_graph_highlights_a_path_and_follows_new_maps():
    from reparamopt.maps import HadamardPower
    from reparamopt.maps.registry import Registry
    from reparamopt.maps.sets import NonNegativeSet

    registry = Registry.default()
    registry.register_set("my-set", NonNegativeSet)
    registry.register_map("simplex", "my-set", HadamardPower)
    ax = plot_registry_graph(registry, highlight="my-set", edge_labels=False)
    assert ax.get_title() == "real -> nonnegative -> simplex -> my-set"
    assert "my-set" in {t.get_text() for t in ax.texts}


def test_plot_components_shows_each_row_as_an_image():
    H = np.arange(3 * 12, dtype=float).reshape(3, 12)
    fig = plot_components(H, (3, 4), n_cols=2)
    assert len(fig.axes) == 3
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), H[1].reshape(3, 4))
    assert fig.axes[2].get_title() == "component 2"
    assert len(plot_components(np.ones((4, 9))).axes) == 4  # square images by default


def test_plot_components_errors():
    with pytest.raises(ShapeError, match="image_shape"):
        plot_components(np.ones((2, 10)))
    with pytest.raises(ShapeError, match="image_shape"):
        plot_components(np.ones((2, 10)), (3, 3))
    with pytest.raises(ShapeError, match="2-D"):
        plot_components(np.ones(9))
    with pytest.raises(InvalidArgumentError, match="n_cols"):
        plot_components(np.ones((2, 9)), n_cols=0)


@pytest.mark.parametrize("call", [
    lambda: plot_convergence({"fun": [1.0, 0.1]}),
    lambda: plot_registry_graph(),
    lambda: plot_components(np.ones((2, 4))),
])
def test_missing_matplotlib_says_how_to_install(monkeypatch, call):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'reparamopt\[plot\]'") as info:
        call()
    assert isinstance(info.value, ImportError) and isinstance(info.value, ReparamoptError)


def test_module_imports_without_matplotlib(monkeypatch):
    import importlib

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    module = importlib.reload(plotting)
    assert callable(module.plot_convergence)
    monkeypatch.undo()
    importlib.reload(plotting)


# -- progress bars: the other live picture a user sees ------------------------------
def _quadratic():
    import autograd.numpy as anp

    return ro.Problem(lambda x: anp.sum((x - 1.0) ** 2), x=ro.NonNegative(3))


def _data():
    rng = np.random.default_rng(1)
    A = rng.random((30, 60))
    return A, A @ np.where(rng.random(60) < 0.1, 1.0, 0.0)


def _nnls_methods():
    try:
        from reparamopt.flagships.nnls import METHODS
    except ImportError:
        return []
    return list(METHODS)


SOLVERS = {
    "solve": lambda **kw: ro.solve(_quadratic(), max_iter=20, tol=0, **kw),
    "sparse_recovery": lambda **kw: ro.sparse_recovery(*_data(), max_iter=20, **kw),
    "NMF": lambda **kw: ro.NMF(3, max_iter=20, tol=0, random_state=0, **kw).fit(
        np.random.default_rng(0).random((12, 10))),
}
SOLVERS.update({f"nnls-{m}": (lambda m: lambda **kw: ro.nnls(*_data(), method=m, polish=False,
                                                              max_iter=20, tol=0, **kw))(m)
                for m in _nnls_methods()})


def _run(name, **kwargs):
    SOLVERS[name](**kwargs)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_progress_is_off_by_default(capsys, name):
    _run(name)
    assert capsys.readouterr() == ("", "")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_progress_bar_when_asked(capsys, name):
    _run(name, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "it/s]" in err or "s/it]" in err


@pytest.mark.parametrize("x", ["iteration", "time"])
def test_negative_objective_is_drawn(x):
    import matplotlib

    matplotlib.use("Agg")
    history = {"fun": np.array([1.0, -0.5, -2.0, -2.5]), "optimality": np.array([1.0, 0.1, 0.01, 1e-3]),
               "time": np.array([0.001, 0.002, 0.003, 0.004]), "iteration": np.arange(4)}
    axes = ro.plotting.plot_convergence(history, x=x)
    line = axes[1].get_lines()[0]
    assert len(line.get_ydata()) == 4 and axes[1].get_yscale() == "symlog"


# -- benchmark results (the figure of `reparamopt bench`) ----------------------------
def _recorded(name):
    import csv

    from tests import REPO_ROOT

    path = REPO_ROOT / "docs" / "benchmarks" / f"{name}.csv"
    if not path.is_file():
        pytest.skip(f"no recorded {name} benchmark in this tree")
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _bar_colors(ax):
    """{solver: facecolor} of the bars of a panel, read from its tick labels."""
    names = [t.get_text() for t in ax.get_yticklabels()]
    bars = sorted(ax.patches, key=lambda p: p.get_y())
    return {name: tuple(bar.get_facecolor()[:3]) for name, bar in zip(names, bars)}


def test_benchmark_figure_is_a_grid_with_one_colour_per_solver_and_a_legend():
    rows = _recorded("nnls")
    problems = list(dict.fromkeys(row["problem"] for row in rows))
    fig = plotting.plot_benchmark(rows, value="time", panel="problem")
    assert [ax.get_title() for ax in fig.axes] == problems
    columns = {round(ax.get_position().x0, 3) for ax in fig.axes}
    assert len(columns) == 3  # a grid, not one column of panels
    width, height = fig.get_size_inches()
    assert height < 2.5 * width
    seen = {}
    for ax in fig.axes:
        assert ax.get_xscale() == "log"
        for solver, color in _bar_colors(ax).items():
            assert seen.setdefault(solver, color) == color, solver  # the same in every panel
    solvers = list(dict.fromkeys(row["solver"] for row in rows))
    assert len(set(seen.values())) == len(solvers)  # and different between solvers
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == solvers
    legend_colors = [tuple(h.get_facecolor()[:3]) for h in legend.legend_handles]
    assert legend_colors == [seen[s] for s in solvers]


def test_benchmark_figure_marks_capped_and_missing_runs():
    rows = [{"case": "a", "solver": "ours", "time": "0.5", "capped": "True"},
            {"case": "a", "solver": "theirs", "time": "not reached", "capped": "False"},
            {"case": "b", "solver": "theirs", "time": "0.01", "capped": "False"}]
    fig = plotting.plot_benchmark(rows, value="time", panel="case", value_label="time (s)")
    first, second = fig.axes
    assert [t.get_text().strip() for t in first.texts] == ["capped", "not reached"]
    assert first.patches[0].get_hatch() == "//"
    assert first.get_xlabel() == "time (s)" and second.get_shared_x_axes().joined(first, second)
    with pytest.raises(InvalidArgumentError, match="rows"):
        plotting.plot_benchmark([], value="time")
    with pytest.raises(InvalidArgumentError, match="n_cols"):
        plotting.plot_benchmark(rows, value="time", n_cols=0)
