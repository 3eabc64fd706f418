"""Pictures of reparamopt objects: convergence histories, the registry graph, NMF factors.

matplotlib is an optional dependency (the ``plot`` extra); it is imported when a
function here is called, and its absence raises :class:`MissingDependencyError` with
the command that installs it.
"""

import numbers
import re
import textwrap

import numpy as np

from ._utils.extras import require
from ._utils.validation import describe
from .exceptions import (
    InvalidArgumentError,
    InvalidTypeError,
    MissingDependencyError,
    ShapeError,
)

__all__ = [
    "MissingDependencyError",
    "pyplot",
    "history_of",
    "plot_convergence",
    "plot_registry_graph",
    "plot_components",
    "plot_benchmark",
]

def pyplot():
    """``matplotlib.pyplot``, or MissingDependencyError naming the ``plot`` extra."""
    return require("matplotlib.pyplot", "plotting")


def history_of(source):
    """The per-iteration records of a result or a fitted NMF model, as arrays.

    Parameters
    ----------
    source : OptimizeResult, dict or NMF
        A result solved with history recording on (its ``history`` dict), such a
        dict itself, or a fitted :class:`~reparamopt.NMF` (``loss_history_`` and
        ``time_history_``).

    Returns
    -------
    dict of ndarray
        ``"iteration"`` and whichever of ``"fun"``, ``"optimality"``, ``"time"`` and
        ``"t"`` were recorded, all of the same length.

    Examples
    --------
    >>> from reparamopt.plotting import history_of
    >>> history_of({"fun": [4.0, 1.0, 0.25], "optimality": [2.0, 1.0, 0.5]})["iteration"]
    array([0, 1, 2])
    """
    if hasattr(source, "loss_history_"):
        records = {"fun": source.loss_history_}
        if getattr(source, "time_history_", None) is not None:
            records["time"] = source.time_history_
    elif isinstance(source, dict) and isinstance(source.get("history"), dict):
        records = source["history"]
    elif isinstance(source, dict) and "history" in source:
        raise InvalidArgumentError(
            "the result has no history; solve again with history recording on "
            "(e.g. `history=True`)")
    elif isinstance(source, dict) and any(k in source for k in ("fun", "optimality")):
        records = source
    else:
        raise InvalidTypeError(
            f"`source` must be a result with a history, a history dict or a fitted NMF; "
            f"got {describe(source)}")
    out = {}
    for key in ("fun", "optimality", "time", "t"):
        if key in records and records[key] is not None and len(records[key]):
            out[key] = np.asarray(records[key], dtype=float)
    lengths = {len(v) for v in out.values()}
    if not out:
        raise InvalidArgumentError("the history is empty; nothing to plot")
    if len(lengths) != 1:
        raise ShapeError(f"history records must have equal lengths; got {sorted(lengths)}")
    out["iteration"] = np.arange(lengths.pop())
    return out


def plot_convergence(source, *, x="iteration", quantities=("optimality", "fun"), axes=None,
                     label=None, **line_kwargs):
    r"""Plot optimality and objective against iterations or time, on log scales (a
    symmetric log scale for an objective that is negative or zero somewhere).

    Parameters
    ----------
    source : OptimizeResult, dict or NMF
        Anything :func:`history_of` accepts, e.g. ``reparamopt.nnls(A, b, ...)`` solved
        with its history recorded.
    x : {"iteration", "time", "t"}, default "iteration"
        Horizontal axis: iteration count, wall-clock seconds, or the flow time of a
        continuous engine.
    quantities : sequence of {"optimality", "fun"}, default ("optimality", "fun")
        What to draw, one panel each; quantities the history lacks are skipped.
    axes : matplotlib Axes or sequence of Axes, optional
        Panels to draw into (one per quantity), to overlay several runs; a new figure
        otherwise.
    label : str, optional
        Legend label of the curves.
    **line_kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    list of matplotlib.axes.Axes
        One panel per quantity drawn.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from reparamopt.plotting import plot_convergence
    >>> history = {"fun": [1.0, 0.1, 0.01], "optimality": [1.0, 0.3, 0.09],
    ...            "time": [0.0, 0.1, 0.2]}
    >>> axes = plot_convergence(history, x="time", label="run")
    >>> [ax.get_ylabel() for ax in axes]
    ['optimality', 'objective']
    """
    plt = pyplot()
    records = history_of(source)
    if x not in ("iteration", "time", "t"):
        raise InvalidArgumentError(f"`x` must be one of 'iteration', 'time', 't'; got {x!r}")
    if x not in records:
        raise InvalidArgumentError(f"the history has no {x!r} records; use x='iteration'")
    if isinstance(quantities, str):
        quantities = (quantities,)
    for q in quantities:
        if q not in ("optimality", "fun"):
            raise InvalidArgumentError(f"`quantities` must hold 'optimality' or 'fun'; got {q!r}")
    drawn = [q for q in quantities if q in records]
    if not drawn:
        raise InvalidArgumentError(f"the history records none of {list(quantities)}")
    if axes is None:
        fig, axes = plt.subplots(1, len(drawn), figsize=(5 * len(drawn), 3.8), squeeze=False)
        axes = list(axes[0])
        fig.set_layout_engine("constrained")
    else:
        axes = list(np.atleast_1d(axes))
        if len(axes) < len(drawn):
            raise ShapeError(f"`axes` must hold {len(drawn)} panels; got {len(axes)}")
    xs = records[x]
    names = {"optimality": "optimality", "fun": "objective"}
    xlabels = {"iteration": "iteration", "time": "time (s)", "t": "flow time t"}
    for ax, q in zip(axes, drawn):
        ys = records[q]
        signed = q == "fun" and np.any(ys <= 0)  # an objective may be negative or zero
        keep = np.isfinite(ys) if signed else ys > 0
        if x != "iteration":
            keep &= xs > 0
        ax.plot(xs[keep], ys[keep], label=label, **line_kwargs)
        if signed:
            nonzero = np.abs(ys[keep & (ys != 0)])
            ax.set_yscale("symlog", linthresh=float(nonzero.min()) if nonzero.size else 1.0)
        else:
            ax.set_yscale("log")
        if x != "iteration":
            ax.set_xscale("log")
        ax.set_xlabel(xlabels[x])
        ax.set_ylabel(names[q])
        ax.grid(True, which="major", alpha=0.3)
        if label is not None:
            ax.legend()
    return axes


def _layers(graph, root):
    import networkx as nx

    depth = nx.single_source_shortest_path_length(graph, root)
    deepest = max(depth.values(), default=0)
    for node in graph.nodes:
        graph.nodes[node]["layer"] = depth.get(node, deepest + 1)
    return nx.multipartite_layout(graph, subset_key="layer", align="horizontal", scale=1.0)


def plot_registry_graph(registry=None, *, highlight=None, ax=None, edge_labels=True):
    """Draw the registry: constraint sets as nodes, maps as labeled edges.

    Parameters
    ----------
    registry : Registry, optional
        The registry to draw; the default registry (with every map registered so far)
        when omitted.
    highlight : str, optional
        A set name or alias; the chain of maps that resolves it is drawn in color.
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    edge_labels : bool, default True
        Label each edge with the class name of its map.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from reparamopt.plotting import plot_registry_graph
    >>> ax = plot_registry_graph(highlight="simplex")
    >>> ax.get_title()
    'real -> nonnegative -> simplex'
    """
    plt = pyplot()
    import networkx as nx

    from .maps.registry import ROOT, default_registry

    registry = default_registry if registry is None else registry
    graph = registry.graph()
    path_edges = set()
    title = "constraint maps"
    if highlight is not None:
        path = registry.path(highlight)
        path_edges = set(zip(path[:-1], path[1:]))
        title = " -> ".join(path)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    pos = _layers(graph, ROOT)
    on_path = {n for edge in path_edges for n in edge}
    node_colors = ["#f4a261" if n in on_path else "#a8dadc" for n in graph.nodes]
    edge_colors = ["#e76f51" if e in path_edges else "#457b9d" for e in graph.edges]
    widths = [2.5 if e in path_edges else 1.2 for e in graph.edges]
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_color=node_colors, node_size=1800,
                           edgecolors="#1d3557")
    nx.draw_networkx_labels(graph, pos, ax=ax, font_size=9)
    nx.draw_networkx_edges(graph, pos, ax=ax, edge_color=edge_colors, width=widths,
                           arrows=True, arrowsize=16, node_size=1800,
                           connectionstyle="arc3,rad=0.08")
    if edge_labels:
        labels = {(s, t): getattr(d["factory"], "__name__", type(d["factory"]).__name__)
                  for s, t, d in graph.edges(data=True)}
        nx.draw_networkx_edge_labels(graph, pos, edge_labels=labels, ax=ax, font_size=7,
                                     connectionstyle="arc3,rad=0.08")
    ax.set_title(title)
    ax.set_axis_off()
    ax.margins(0.12)
    return ax


def plot_components(components, image_shape=None, *, n_cols=None, cmap="viridis",
                    titles=True, fig=None):
    """Show NMF components (rows of H) as images.

    Parameters
    ----------
    components : ndarray of shape (k, n_features) or fitted NMF
        The components, e.g. ``model.components_``; a fitted model is accepted.
    image_shape : tuple of int, optional
        ``(height, width)`` with ``height * width == n_features``; a square when
        omitted and n_features is a perfect square.
    n_cols : int, optional
        Panels per row (about ``sqrt(k)`` by default).
    cmap : str, default "viridis"
        Colormap.
    titles : bool, default True
        Title each panel with its component index.
    fig : matplotlib Figure, optional
        Figure to draw into; a new one otherwise.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from reparamopt.plotting import plot_components
    >>> H = np.random.default_rng(0).random((6, 64))
    >>> fig = plot_components(H, (8, 8))
    >>> len(fig.axes)
    6
    """
    plt = pyplot()
    if hasattr(components, "components_"):
        components = components.components_
    H = np.asarray(components, dtype=float)
    if H.ndim != 2:
        raise ShapeError(f"`components` must be 2-D (k, n_features); got shape {H.shape}")
    k, n_features = H.shape
    if image_shape is None:
        side = int(round(np.sqrt(n_features)))
        if side * side != n_features:
            raise ShapeError(
                f"`image_shape` is needed: {n_features} features do not form a square image")
        image_shape = (side, side)
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) != 2 or image_shape[0] * image_shape[1] != n_features:
        raise ShapeError(f"`image_shape` must be (height, width) with height * width = "
                         f"{n_features}; got {image_shape}")
    if n_cols is None:
        n_cols = int(np.ceil(np.sqrt(k)))
    elif not isinstance(n_cols, numbers.Integral) or n_cols < 1:
        raise InvalidArgumentError(f"`n_cols` must be a positive int; got {n_cols!r}")
    n_cols = max(1, min(n_cols, k))
    n_rows = int(np.ceil(k / n_cols))
    if fig is None:
        fig = plt.figure(figsize=(1.8 * n_cols, 1.8 * n_rows + 0.2), layout="constrained")
    for i in range(k):
        ax = fig.add_subplot(n_rows, n_cols, i + 1)
        ax.imshow(H[i].reshape(image_shape), cmap=cmap, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles:
            ax.set_title(f"component {i}", fontsize=8)
    return fig


# -- benchmark results -------------------------------------------------------------------
_LEADING_NUMBER = re.compile(r"^\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)")


def _as_number(cell):
    """A table cell as a float: numbers as they are, text by its leading number
    ("0.3 s" is 0.3), NaN for anything else ("not reached", "-", empty)."""
    if isinstance(cell, numbers.Real):
        return float(cell)
    match = _LEADING_NUMBER.match(str(cell if cell is not None else ""))
    return float(match.group(1)) if match else np.nan


def _is_true(cell):
    return cell is True or str(cell).strip().lower() in ("true", "yes", "1")


def _solver_colors(names):
    """One colour per name, in order, distinct for up to 20 names (tab10, then tab20's
    lighter shades): the same solver gets the same colour in every panel."""
    plt = pyplot()
    palette = list(plt.get_cmap("tab10").colors) + list(plt.get_cmap("tab20").colors[1::2])
    return {name: palette[i % len(palette)] for i, name in enumerate(dict.fromkeys(names))}


def _benchmark_bars(ax, items, solver, value, colors, capped, base):
    """Horizontal bars from `base` to each row's value, in the solver's colour; a
    missing value gets its cell's text instead, a capped run hatching and "capped"."""
    names = [str(row[solver]) for row in items]
    values = np.array([_as_number(row.get(value)) for row in items])
    y = np.arange(len(items))
    for yi, row, name, v in zip(y, items, names, values):
        if not (np.isfinite(v) and v > base):
            ax.text(base, yi, f" {row.get(value) or 'n/a'}", va="center", fontsize=7)
            continue
        is_capped = capped is not None and _is_true(row.get(capped))
        style = ({"color": colors[name], "alpha": 0.45, "hatch": "//", "edgecolor": colors[name]}
                 if is_capped else {"color": colors[name]})
        ax.barh(yi, v - base, left=base, **style)
        if is_capped:
            ax.text(v, yi, " capped", va="center", fontsize=7)
    ax.set_yticks(y, names, fontsize=7)
    ax.set_ylim(max(len(items), 3) - 0.5, -0.5)  # the first row on top; thin bars when few
    return values


def plot_benchmark(rows, *, value, solver="solver", panel=None, memory=None, capped="capped",
                   value_label=None, memory_label=None, n_cols=3):
    """Benchmark results as a grid of bar panels, one per problem, one colour per solver.

    Every panel draws its problem's `value` (a time, in seconds) per solver on one log
    axis shared by all panels; the solver keeps its colour in every panel, and one legend
    names them all. Capped runs are hatched and marked "capped"; a cell that is not a
    number ("not reached") is written where its bar would start. With `memory`, the
    rows that have one get a panel of their own on its own axis.

    Parameters
    ----------
    rows : sequence of dict
        One result per row, e.g. the rows of a CSV file read by ``csv.DictReader``: numbers
        or text (cells are read by their leading number).
    value : str
        The column drawn, e.g. ``"time"``.
    solver : str, default "solver"
        The column that names the solver: the bar's label and colour.
    panel : str, optional
        The column that groups rows into panels (``"problem"``, ``"case"``); one panel
        when omitted.
    memory : str, optional
        A column of peak memory, drawn in a panel of its own when some row has one.
    capped : str or None, default "capped"
        A column of booleans marking runs stopped at a time cap.
    value_label, memory_label : str, optional
        Axis labels; the column names by default.
    n_cols : int, default 3
        Panels per row of the grid.

    Returns
    -------
    matplotlib.figure.Figure
        Its axes are the time panels, in the order the problems first appear, then the
        memory panel.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from reparamopt.plotting import plot_benchmark
    >>> rows = [{"problem": "square", "solver": "auto", "time": "0.002"},
    ...         {"problem": "square", "solver": "scipy", "time": "0.004"},
    ...         {"problem": "wide", "solver": "auto", "time": "0.03"}]
    >>> fig = plot_benchmark(rows, value="time", panel="problem")
    >>> [ax.get_title() for ax in fig.axes]
    ['square', 'wide']
    """
    if not isinstance(n_cols, numbers.Integral) or n_cols < 1:
        raise InvalidArgumentError(f"`n_cols` must be a positive int; got {n_cols!r}")
    rows = list(rows)
    if not rows:
        raise InvalidArgumentError("`rows` is empty; nothing to plot")
    panels = {}
    for row in rows:
        panels.setdefault(str(row.get(panel, "")) if panel else "", []).append(row)
    memory_rows = [row for row in rows if memory and _as_number(row.get(memory)) > 0]
    fig, axes = _benchmark_grid([len(items) for items in panels.values()]
                                + ([len(memory_rows)] if memory_rows else []), n_cols)
    colors = _solver_colors(str(row[solver]) for row in rows)
    times = np.array([_as_number(row.get(value)) for row in rows])
    positive = times[np.isfinite(times) & (times > 0)]
    base = positive.min() / 2 if positive.size else 1e-3
    for ax, (title, items) in zip(axes, panels.items()):
        if ax is not axes[0]:
            ax.sharex(axes[0])
        _benchmark_bars(ax, items, solver, value, colors, capped, base)
        ax.set_xscale("log")
        ax.set_xlabel(value_label or value, fontsize=8)
        ax.set_title(textwrap.fill(title, 48), fontsize=9)
        ax.grid(True, axis="x", which="major", alpha=0.3)
    axes[0].set_xlim(base, max(positive.max() * 3 if positive.size else 1.0, base * 10))
    if memory_rows:
        ax = axes[-1]
        labelled = [dict(row, _label=f"{row[panel]}: {row[solver]}" if panel else row[solver])
                    for row in memory_rows]
        _benchmark_bars(ax, labelled, "_label", memory,
                        {row["_label"]: colors[str(row[solver])] for row in labelled}, None, 0.0)
        ax.set_xlabel(memory_label or memory, fontsize=8)
        ax.set_title("peak memory", fontsize=9)
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=name) for name, c in colors.items()]
    fig.legend(handles=handles, loc="outside upper center", ncols=min(len(handles), 4), fontsize=8,
               title="solver (one colour in every panel)", title_fontsize=8)
    return fig


def _benchmark_grid(sizes, n_cols):
    """A figure with one axes per entry of `sizes` (bars per panel) on a grid of `n_cols`
    columns, each row as tall as its fullest panel; unused cells removed."""
    plt = pyplot()
    n_cols = min(n_cols, len(sizes))
    n_rows = -(-len(sizes) // n_cols)
    heights = [0.2 * max(sizes[r * n_cols:(r + 1) * n_cols]) + 1.0 for r in range(n_rows)]
    fig, grid = plt.subplots(n_rows, n_cols, squeeze=False, layout="constrained",
                             figsize=(4.6 * n_cols, sum(heights) + 0.3 * (len(sizes) // 4 + 2)),
                             gridspec_kw={"height_ratios": heights})
    cells = list(grid.flat)
    for ax in cells[len(sizes):]:
        fig.delaxes(ax)
    return fig, cells[:len(sizes)]
