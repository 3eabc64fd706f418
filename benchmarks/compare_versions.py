"""Two source trees of reparamopt side by side: nnls and NMF times and answers.

Each tree runs in its own worker process (its folder first on ``sys.path``); the main
process builds the problems once (the families of :mod:`reparamopt.benchmarks.nnls` and the data
of :mod:`reparamopt.benchmarks.nmf`), sends them to both workers and alternates which one goes first, so
that the machine's load falls on both alike. A time is the median of ``--repeats`` runs.
Answers are compared by objective (NNLS: ``1/2 ||A x - b||^2``, relative to the better
of the two plus ``1e-12 ||b||^2``; NMF: the final Frobenius error).

Only public names are used in the workers (``reparamopt.nnls``, ``reparamopt.NMF``,
``reparamopt.operators``), so any two versions with those names can be compared.

Usage::

    python benchmarks/compare_versions.py OLD_TREE NEW_TREE --families 1 2 3 7 8
    python benchmarks/compare_versions.py OLD_TREE NEW_TREE --quick --methods gd nesterov
"""

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

# --- worker ------------------------------------------------------------------------------

def _load(path):
    with open(path, "rb") as handle:
        A, b = pickle.load(handle)
    if isinstance(A, tuple) and A[0] == "fft":
        import reparamopt

        A = reparamopt.operators.SubsampledFFT(A[1], A[2], random_state=A[3])
    return A, b


def _nnls_task(task):
    import reparamopt

    A, b = _load(task["path"])
    times, result = [], None
    for _ in range(task["repeats"]):
        start = time.perf_counter()
        result = reparamopt.nnls(A, b, method=task["method"])
        times.append(time.perf_counter() - start)
    r = A @ result.x - b
    return dict(time=statistics.median(times), fun=float(0.5 * np.sum(r * r)),
                status=np.atleast_1d(result.status).tolist())


def _nmf_task(task):
    import reparamopt

    with open(task["path"], "rb") as handle:
        X = pickle.load(handle)
    times, model = [], None
    for _ in range(task["repeats"]):
        model = reparamopt.NMF(task["k"], solver=task["solver"], init="nndsvda",
                               random_state=0, max_iter=task["max_iter"], tol=0)
        start = time.perf_counter()
        model.fit(X)
        times.append(time.perf_counter() - start)
    return dict(time=statistics.median(times), fun=float(model.reconstruction_err_),
                status=[int(model.n_iter_)])


def worker(root):
    sys.path.insert(0, root)
    warnings.simplefilter("ignore")
    import reparamopt

    # import the lazy parts before any timing
    _ = reparamopt.NMF, reparamopt.operators
    sys.stdout.write(json.dumps(dict(file=reparamopt.__file__)) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        task = json.loads(line)
        out = _nnls_task(task) if task["kind"] == "nnls" else _nmf_task(task)
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


# --- main --------------------------------------------------------------------------------

class Worker:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        # the worker must not see this tree's package first: run it from a neutral folder
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", self.root],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tempfile.gettempdir())
        self.file = json.loads(self.process.stdout.readline())["file"]
        if not self.file.startswith(self.root):
            raise RuntimeError(f"the worker for {self.root} imported {self.file}")

    def __call__(self, task):
        self.process.stdin.write(json.dumps(task) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker of {self.root} stopped")
        return json.loads(line)

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def _dump(folder, name, obj):
    path = os.path.join(folder, name + ".pkl")
    with open(path, "wb") as handle:
        pickle.dump(obj, handle)
    return path


def _nnls_problems(args, folder):
    from reparamopt.benchmarks import nnls as bench_nnls
    from reparamopt.models.operators import SubsampledFFT

    problems = []
    for family, items in bench_nnls.families(args.quick).items():
        if family not in args.families:
            continue
        for index, (name, A, b) in enumerate(items):
            stored = A
            if isinstance(A, SubsampledFFT):
                stored = ("fft", A.shape[1], A.shape[0], 2)  # bench_nnls's random_state
            methods = ["auto"] + (args.methods if family in bench_nnls.GAUSSIAN else [])
            path = _dump(folder, f"nnls{family}_{index}", (stored, b))
            bb = float(np.sum(b * b))
            for method in methods:
                problems.append((f"{name} [{method}]", dict(kind="nnls", path=path, method=method,
                                                            repeats=args.repeats), bb))
    return problems


def _nmf_problems(args, folder):
    from sklearn.datasets import load_digits

    from reparamopt.benchmarks import nmf as bench_nmf

    shape = (500, 250) if args.quick else (2000, 1000)
    data = [("digits k=16", load_digits().data, 16),
            (f"synthetic {shape[0]}x{shape[1]} k=20",
             bench_nmf.synthetic(*shape, rank=20, noise=0.1), 20)]
    problems = []
    for index, (name, X, k) in enumerate(data):
        path = _dump(folder, f"nmf{index}", X)
        for solver in args.nmf_solvers:
            problems.append((f"NMF {name} [{solver}]",
                             dict(kind="nmf", path=path, k=k, solver=solver,
                                  max_iter=args.nmf_iter, repeats=args.repeats), 0.0))
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--quick", action="store_true", help="bench_nnls's small sizes")
    parser.add_argument("--families", type=int, nargs="*", default=list(range(1, 17)))
    parser.add_argument("--methods", nargs="*", default=[],
                        help="methods besides auto on the Gaussian families")
    parser.add_argument("--nmf-solvers", nargs="*", default=["cd", "mirror"])
    parser.add_argument("--nmf-iter", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        problems = _nnls_problems(args, folder) + _nmf_problems(args, folder)
        workers = [Worker(args.old), Worker(args.new)]
        print(f"old: {workers[0].file}\nnew: {workers[1].file}")
        print(f"{'problem':44s} {'old[s]':>9s} {'new[s]':>9s} {'new/old':>8s} {'same':>5s}")
        ratios = []
        for position, (name, task, bb) in enumerate(problems):
            order = [0, 1] if position % 2 == 0 else [1, 0]
            out = [None, None]
            for which in order:
                out[which] = workers[which](task)
            old, new = out
            best = min(old["fun"], new["fun"])
            same = abs(new["fun"] - old["fun"]) <= 1e-9 * abs(best) + 1e-12 * bb + \
                (1e-6 * abs(best) if task["kind"] == "nmf" else 0.0)
            ratio = new["time"] / max(old["time"], 1e-9)
            ratios.append(ratio)
            print(f"{name:44s} {old['time']:9.4f} {new['time']:9.4f} {ratio:8.2f} "
                  f"{'yes' if same else 'NO':>5s}", flush=True)
        for w in workers:
            w.close()
    print(f"geometric mean new/old: {float(np.exp(np.mean(np.log(ratios)))):.3f}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    else:
        main()
