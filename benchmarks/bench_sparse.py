"""Sparse recovery: time and implicit-bias gap of each method, in one run.

Setups (``b = A x*``, ``x*`` with unit norm, non-negative or with random signs):

* ``paper``: n = 50, m = 10, s = 3, A ~ N(0, 1/m) (the paper's Figure 3 setup);
* ``medium``: n = 500, m = 100, s = 10, the same distribution;
* ``fft``: the matrix-free subsampled FFT, n = 10000, m = 8810, s = 50.

For every power, init_scale and sign, each method's ``||x||_1`` is compared with the
reference, the flow's limit (``method="limit", polish=False``: the limit the
implicit-bias theory is about, checked against long integrations of the flow in
``tests/flagships/test_implicit_bias.py``), and with the LP minimum-l1 point; ``dx`` is
``||x - x_ref|| / ||x_ref||``. Each method runs under ``--time-limit`` seconds.

Usage::

    python benchmarks/bench_sparse.py                       # paper and medium, 5 seeds
    python benchmarks/bench_sparse.py --setups fft --powers 2 --inits 1e-4
    python benchmarks/bench_sparse.py --tree /path/to/other/checkout --methods auto

``--tree`` imports reparamopt from another source tree (to time an earlier default);
``--reference none`` skips the flow reference there.
"""

import argparse
import sys
import time
import warnings

import numpy as np


def _setup(name, seed, nonnegative):
    rng = np.random.default_rng(1000 + seed)
    if name == "fft":
        from reparamopt.models.operators import SubsampledFFT

        n, m, s = 10000, 8810, 50
        A = SubsampledFFT(n, m, random_state=seed)
    else:
        n, m, s = (50, 10, 3) if name == "paper" else (500, 100, 10)
        A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    support = rng.choice(n, s, replace=False)
    x[support] = np.abs(rng.standard_normal(s))
    if not nonnegative:
        x[support] *= rng.choice([-1.0, 1.0], s)
    x /= np.linalg.norm(x)
    return A, A @ x


def _lp_l1(A, b, nonnegative):
    from scipy.optimize import linprog

    if not isinstance(A, np.ndarray):
        return np.nan
    m, n = A.shape
    if nonnegative:
        res = linprog(np.ones(n), A_eq=A, b_eq=b, bounds=(0, None), method="highs")
    else:
        res = linprog(np.ones(2 * n), A_eq=np.hstack([A, -A]), b_eq=b, bounds=(0, None),
                      method="highs")
    return res.fun if res.status == 0 else np.nan


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setups", nargs="*", default=["paper", "medium"])
    parser.add_argument("--powers", nargs="*", type=float, default=[2, 3, 4])
    parser.add_argument("--inits", nargs="*", type=float, default=[1e-1, 1e-2, 1e-3, 1e-4])
    parser.add_argument("--signs", nargs="*", default=["nonneg", "signed"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--methods", nargs="*", default=["auto", "flow", "gd", "accelerated"])
    parser.add_argument("--reference", default="limit", help='"limit" or "none"')
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--tree", help="import reparamopt from this source tree")
    parser.add_argument("--max-iter", type=int, default=100000)
    args = parser.parse_args(argv)
    if args.tree:
        sys.path.insert(0, args.tree)
    import reparamopt as ro

    warnings.simplefilter("ignore")
    print(f"reparamopt from {ro.__file__}")
    header = f"{'setup':7} {'L':>2} {'init':>6} {'sign':7} {'method':12} {'time[s]':>9} " \
             f"{'max l1 gap':>11} {'max dx':>9} {'vs LP':>9}"
    print(header)
    # (label, method): the reference runs first, unpolished
    runs = ([("ref:" + args.reference, args.reference)] if args.reference != "none" else []) + [
        (m, m) for m in args.methods]
    methods = [label for label, _ in runs]
    for setup in args.setups:
        for power in args.powers:
            for init in args.inits:
                for sign in args.signs:
                    nonneg = sign == "nonneg"
                    times = {k: [] for k in methods}
                    gaps = {k: [] for k in methods}
                    dxs = {k: [] for k in methods}
                    lps = {k: [] for k in methods}
                    for seed in range(args.seeds):
                        A, b = _setup(setup, seed, nonneg)
                        lp = _lp_l1(A, b, nonneg)
                        ref = None
                        for label, method in runs:
                            start = time.perf_counter()
                            ref_run = label.startswith("ref:")
                            options = {"polish": False} if ref_run else {
                                "time_limit": args.time_limit} if method != "auto" else {}
                            res = ro.sparse_recovery(A, b, nonnegative=nonneg, power=power,
                                                     init_scale=init, method=method,
                                                     max_iter=args.max_iter, **options)
                            times[label].append(time.perf_counter() - start)
                            if ref_run:
                                ref = res.x
                            if ref is not None:
                                gaps[label].append(abs(res.l1 - np.abs(ref).sum())
                                                   / np.abs(ref).sum())
                                dxs[label].append(np.linalg.norm(res.x - ref)
                                                  / np.linalg.norm(ref))
                            lps[label].append((res.l1 - lp) / lp)
                    for method in methods:
                        gap = max(gaps[method]) if gaps[method] else np.nan
                        dx = max(dxs[method]) if dxs[method] else np.nan
                        print(f"{setup:7} {power:2g} {init:6.0e} {sign:7} {method:12} "
                              f"{np.median(times[method]):9.4f} {gap:11.2e} {dx:9.2e} "
                              f"{max(lps[method]):9.2e}", flush=True)


if __name__ == "__main__":
    main()
