"""reparamopt.NMF against scikit-learn's NMF (cd and mu), side by side in one run.

For each data set, scikit-learn's "cd" solver runs with its defaults (tol=1e-4,
max_iter=200); its final Frobenius error is the target and its fit time the budget.
Every other solver is then measured on

- time to target: seconds until its error first falls to the target (fit start to the
  end of that iteration, init included), and that time over the budget;
- error at budget: its error after the last iteration ending within the budget;
- the final time and error of the run, over the budget and the target: for
  "reparamopt cd (defaults)", reparamopt's default run (tol=1e-4, max_iter=200, `fit`),
  the figures of the speed bar of issue 23 (time to target at most 0.5 of the budget,
  a default run within 1.5 of it, at an error at most the target);
- time per iteration (ms).

reparamopt records the error and elapsed time of every iteration (``loss_history_`` and
``time_history_``), so one long run gives the curve. scikit-learn keeps no history,
so its mu solver is fitted anew with max_iter = 10, 20, 40, ... (tol=0) and the figures
come from those runs. Timings are the best of `--repeats` runs, scikit-learn's and
reparamopt's fits taking turns. All solvers share the same init ("nndsvda",
random_state=0). Time with one BLAS thread (``OPENBLAS_NUM_THREADS=1``) for ratios
that do not depend on the machine's other load.

The summary table (printed first) reports per (data, loss), both fits from the same
"nndsvda" start passed as init="custom": scikit-learn's default fit ("cd" for the
Frobenius loss, "mu" for the Kullback-Leibler), its error the target and its time the
budget; reparamopt's default `fit`, its time to the target over the budget, its final
time and error over scikit-learn's, and the time per iteration of each. `--huge` adds a
10^5 x 10^4 matrix of word counts at density 10^-3 (both losses) with the peak memory of
each fit (tracemalloc, in a separate untimed run).

Usage::

    python -m reparamopt.benchmarks.nmf            # digits (k = 10, 16), synthetic 2000 x 1000 rank 20
    python -m reparamopt.benchmarks.nmf --quick    # digits (k = 16) and a 500 x 250 synthetic matrix
    python -m reparamopt.benchmarks.nmf --large    # also dense 4000 x 1500 (k = 25), 10000 x 2000 (k = 30)
    python -m reparamopt.benchmarks.nmf --huge     # also sparse 10^5 x 10^4 word counts, with peak memory
    python -m reparamopt.benchmarks.nmf --summary --plot DIR  # and an error-vs-time figure per case
"""

import argparse
import sys
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.decomposition import NMF as SklearnNMF
from sklearn.exceptions import ConvergenceWarning

from reparamopt.flagships.nmf import NMF
from reparamopt.solvers.nmf import initialize

from ._harness import Progress


def synthetic(n_samples, n_features, rank, noise, seed=0):
    """Exact rank-`rank` non-negative matrix plus non-negative noise."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_samples, rank)) @ rng.random((rank, n_features))
    return X + noise * np.abs(rng.standard_normal(X.shape))


def topic_counts(n_documents, n_words, n_topics, length=150, seed=0):
    """Word counts of a topic model, as a sparse CSR matrix: each document draws a
    sparse mixture of topics (Dirichlet 0.1) and a Poisson number of words (mean
    `length`); each word draws a topic from the mixture, then a word from the topic's
    sparse distribution (Dirichlet 0.05). The counts are Poisson with mean `length`
    times the mixture's word distribution, drawn word by word, so that neither the
    counts nor their means are ever dense.

    Examples
    --------
    >>> from reparamopt.benchmarks.nmf import topic_counts
    >>> X = topic_counts(50, 80, 4, seed=0)
    >>> X.shape, X.format, bool(0 < X.nnz < 50 * 80), bool((X.data > 0).all())
    ((50, 80), 'csr', True, True)
    """
    rng = np.random.default_rng(seed)
    mixtures = rng.dirichlet(np.full(n_topics, 0.1), size=n_documents)
    topics = rng.dirichlet(np.full(n_words, 0.05), size=n_topics)
    documents = np.repeat(np.arange(n_documents), rng.poisson(length, size=n_documents))
    # inverse CDF draws; the clip guards against a last cumulative sum below 1 by rounding
    drawn = (rng.random(documents.size)[:, None] > np.cumsum(mixtures, axis=1)[documents]).sum(axis=1)
    drawn = np.minimum(drawn, n_topics - 1)
    words = np.empty(documents.size, dtype=np.intp)
    for topic in range(n_topics):
        at = np.flatnonzero(drawn == topic)
        words[at] = np.searchsorted(np.cumsum(topics[topic]), rng.random(at.size))
    words = np.minimum(words, n_words - 1)
    counts = sp.coo_matrix((np.ones(documents.size), (documents, words)), shape=(n_documents, n_words))
    return counts.tocsr()  # duplicates summed: the counts


def best_fit(make, X, repeats):
    """The fitted model with the smallest fit time over `repeats` runs, and that time."""
    best = None
    for _ in range(repeats):
        model = make()
        start = time.perf_counter()
        model.fit(X)
        elapsed = time.perf_counter() - start
        if best is None or elapsed < best[1]:
            best = (model, elapsed)
    return best


def sklearn_curve(X, k, solver, iterations, repeats):
    """(time, error) of scikit-learn fits with growing max_iter."""
    curve = []
    for max_iter in iterations:
        model, elapsed = best_fit(
            lambda: SklearnNMF(k, solver=solver, init="nndsvda", random_state=0, max_iter=max_iter, tol=0),
            X, repeats)
        curve.append((elapsed, model.reconstruction_err_))
    return curve


def history_curve(model):
    """(time, error) after every iteration of a reparamopt fit."""
    errors = np.sqrt(2 * np.maximum(model.loss_history_, 0))
    return list(zip(model.time_history_[1:], errors[1:]))


def reference_and_default(X, k, repeats):
    """scikit-learn's cd and reparamopt's default fit, taking turns (best time of each):
    ``((sklearn model, time), (reparamopt model, time))``. Two iterations of each first,
    untimed, so that neither pays for first-call set-up (imports, caches)."""
    SklearnNMF(k, solver="cd", init="nndsvda", random_state=0, max_iter=2).fit(X)
    NMF(k, init="nndsvda", random_state=0, max_iter=2).fit(X)
    reference = default = None
    for _ in range(repeats):
        runs = (best_fit(lambda: SklearnNMF(k, solver="cd", init="nndsvda", random_state=0), X, 1),
                best_fit(lambda: NMF(k, init="nndsvda", random_state=0), X, 1))
        reference = runs[0] if reference is None or runs[0][1] < reference[1] else reference
        default = runs[1] if default is None or runs[1][1] < default[1] else default
    return reference, default


def summarize(curve, target, budget):
    reach = next((t for t, err in curve if err <= target), None)
    within = [err for t, err in curve if t <= budget]
    return reach, (min(within) if within else None), curve[-1]


def _ratio(value, base):
    return "-" if value is None else f"{value / base:.2f}"


def print_rows(rows, target, budget):
    print("| solver | time to target (s) | time to target / cd's | error at cd's time | "
          "final time (s) | final time / cd's | final error | final error / cd's | "
          "time per iteration (ms) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, reach, within, (t_last, e_last), per_iteration in rows:
        reach_text = "not reached" if reach is None else f"{reach:.3f}"
        within_text = "-" if within is None else f"{within:.6g}"
        print(f"| {label} | {reach_text} | {_ratio(reach, budget)} | {within_text} | {t_last:.3f} | "
              f"{t_last / budget:.2f} | {e_last:.6g} | {e_last / target:.4f} | {1e3 * per_iteration:.3g} |")


def run(name, X, k, args, progress):
    repeats = args.repeats
    (reference, budget), (default, default_time) = reference_and_default(X, k, repeats)
    target = reference.reconstruction_err_
    norm = np.linalg.norm(X)
    rows = [("scikit-learn cd (defaults)", budget, target, (budget, target), budget / reference.n_iter_),
            ("reparamopt cd (defaults)", *summarize(history_curve(default), target, budget)[:2],
             (default_time, default.reconstruction_err_), default_time / default.n_iter_)]
    progress.step(f"{name}: defaults")
    doublings = 6 if args.quick else 8
    iterations = [10 * 2**i for i in range(doublings)]
    mu = sklearn_curve(X, k, "mu", iterations, repeats)
    rows.append((f"scikit-learn mu (max_iter up to {iterations[-1]})", *summarize(mu, target, budget),
                 mu[-1][0] / iterations[-1]))
    progress.step(f"{name}: scikit-learn mu")
    for solver in args.solvers:
        model, _ = best_fit(lambda: NMF(k, solver=solver, init="nndsvda", random_state=0,
                                        max_iter=args.max_iter, tol=0), X, repeats)
        curve = history_curve(model)
        rows.append((f"reparamopt {solver} ({len(curve)} it)", *summarize(curve, target, budget),
                     curve[-1][0] / len(curve)))
        progress.step(f"{name}: reparamopt {solver}")
    print(f"\n{name}: X {X.shape[0]} x {X.shape[1]}, k = {k}, ||X||_F = {norm:.4g}")
    print(f"target: scikit-learn cd error {target:.6g} (relative {target / norm:.5g}) in "
          f"{budget:.3f} s ({reference.n_iter_} iterations); reparamopt's default run: "
          f"{default.n_iter_} iterations")
    print_rows(rows, target, budget)


class Case(NamedTuple):
    """One (data, loss) of the summary table; `memory`: also measure the peak memory."""

    name: str
    X: object
    k: int
    loss: str
    memory: bool = False


def _timed_fit(model, X, start):
    began = time.perf_counter()
    model.fit(X, W=start[0].copy(), H=start[1].copy())
    return model, time.perf_counter() - began


def _peak_mib(make, X, start):
    """The peak of the memory traced during one fit, in MiB."""
    tracemalloc.start()
    try:
        make().fit(X, W=start[0].copy(), H=start[1].copy())
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def compare(case, repeats):
    """The summary row of `case`: both default fits from the same start, taking turns
    (best time of `repeats` each)."""
    start = initialize(case.X, case.k, "nndsvda", np.random.RandomState(0))
    reference_solver = "cd" if case.loss == "frobenius" else "mu"
    makers = (lambda: SklearnNMF(case.k, solver=reference_solver, beta_loss=case.loss, init="custom"),
              lambda: NMF(case.k, beta_loss=case.loss, init="custom"))
    best = [None, None]
    for _ in range(repeats):
        for index, make in enumerate(makers):
            run_ = _timed_fit(make(), case.X, start)
            best[index] = run_ if best[index] is None or run_[1] < best[index][1] else best[index]
    (reference, budget), (ours, elapsed) = best
    target = reference.reconstruction_err_
    curve = history_curve(ours)
    reach = summarize(curve, target, budget)[0]
    peaks = [_peak_mib(make, case.X, start) for make in makers] if case.memory else [None, None]
    return dict(case=case, budget=budget, target=target, sklearn_iter=reference.n_iter_,
                reach=reach, elapsed=elapsed, error=ours.reconstruction_err_, iterations=ours.n_iter_,
                peaks=peaks, curve=curve)


def print_summary(rows):
    print("\n| data | loss | scikit-learn (s) | scikit-learn error | time to its error / its time | "
          "default time / its time | default error / its error | ms per iteration (scikit-learn, "
          "reparamopt) | peak MiB (scikit-learn, reparamopt) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        case, budget = row["case"], row["budget"]
        peaks = "-" if row["peaks"][0] is None else f"{row['peaks'][0]:.0f}, {row['peaks'][1]:.0f}"
        reach = "not reached" if row["reach"] is None else f"{row['reach'] / budget:.2f}"
        print(f"| {case.name} ({case.X.shape[0]} x {case.X.shape[1]}, k = {case.k}) | {case.loss} | "
              f"{budget:.3f} | {row['target']:.6g} | {reach} | {row['elapsed'] / budget:.2f} | "
              f"{row['error'] / row['target']:.5f} | {1e3 * budget / row['sklearn_iter']:.3g}, "
              f"{1e3 * row['elapsed'] / row['iterations']:.3g} | {peaks} |")


def plot_summary(rows, directory):
    """One error-vs-time figure per summary row, written to `directory` as PNG:
    reparamopt's default fit iteration by iteration (its recorded history) and
    scikit-learn's final error and time (it records no history)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for row in rows:
        case = row["case"]
        times, errors = zip(*row["curve"])
        figure, axes = plt.subplots(figsize=(5, 3.5))
        axes.plot(times, errors, label="reparamopt (default)")
        axes.axhline(row["target"], color="gray", linestyle=":", label="scikit-learn's final error")
        axes.plot([row["budget"]], [row["target"]], "o", color="black", label="scikit-learn (default)")
        axes.set(xlabel="seconds", ylabel="error", yscale="log",
                 title=f"{case.name} ({case.X.shape[0]} x {case.X.shape[1]}, k = {case.k}), {case.loss}")
        axes.legend()
        figure.tight_layout()
        slug = "".join(c if c.isalnum() else "_" for c in f"{case.name}_{case.k}_{case.loss}")
        figure.savefig(path / f"{slug}.png", dpi=100)
        plt.close(figure)


def summary_cases(args, digits):
    """The (data, loss) pairs of the summary table for the options `args`."""
    quick = args.quick
    shape = (500, 250) if quick else (2000, 1000)
    words = (600, 800, 10) if quick else (3000, 4000, 20)
    cases = [Case("digits", digits, 10, "frobenius"), Case("digits", digits, 16, "frobenius"),
             Case("digits", digits, 10, "kullback-leibler"),
             Case("low rank 20 + noise 0.1", synthetic(*shape, rank=20, noise=0.1), 20, "frobenius"),
             Case("word counts", topic_counts(*words), words[2], "kullback-leibler")]
    if args.large:
        cases += [Case(f"low rank {k} + noise 0.1", synthetic(n, m, rank=k, noise=0.1), k, "frobenius")
                  for n, m, k in ((4000, 1500, 25), (10000, 2000, 30))]
    if args.huge:
        counts = topic_counts(100_000, 10_000, 20, length=10)
        cases += [Case("sparse word counts", counts, 20, loss, memory=True)
                  for loss in ("frobenius", "kullback-leibler")]
    return cases


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller synthetic problem, fewer runs")
    parser.add_argument("--large", action="store_true",
                        help="also dense 4000 x 1500 (k = 25) and 10000 x 2000 (k = 30) matrices")
    parser.add_argument("--huge", action="store_true",
                        help="also sparse 10^5 x 10^4 word counts at density 10^-3, with peak memory")
    parser.add_argument("--summary", action="store_true", help="the summary table only")
    parser.add_argument("--plot", metavar="DIR", default=None,
                        help="also write an error-vs-time figure per summary case to DIR")
    parser.add_argument("--repeats", type=int, default=None, help="runs per timing (best kept)")
    parser.add_argument("--max-iter", type=int, default=400, help="iterations of the reparamopt runs")
    parser.add_argument("--solvers", nargs="+", default=["cd", "mirror"],
                        help="reparamopt solvers to run (cd, mirror, gd, nesterov)")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    shape = (500, 250) if args.quick else (2000, 1000)
    digits = load_digits().data
    data = [("load_digits", digits, 16),
            ("synthetic rank 20 + noise 0.1", synthetic(*shape, rank=20, noise=0.1), 20)]
    if not args.quick:
        data.insert(0, ("load_digits", digits, 10))
    if args.large:
        data.append(("dense 4000 x 1500, rank 25 + noise 0.1", synthetic(4000, 1500, rank=25, noise=0.1), 25))
    cases = summary_cases(args, digits)
    # per data set: the defaults (both), the mu curve, each reparamopt solver; each summary case
    data = [] if args.summary else data
    progress = Progress(len(cases) + len(data) * (2 + len(args.solvers)), "solvers")
    rows = []
    for case in cases:
        rows.append(compare(case, args.repeats))
        progress.step(f"{case.name}, {case.loss}")
    print_summary(rows)
    if args.plot is not None:
        plot_summary(rows, args.plot)
    for name, X, k in data:
        run(name, X, k, args, progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
