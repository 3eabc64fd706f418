"""``reparamopt.nnls`` against scipy's compiled Lawson-Hanson method where the work is
small or wide: the measurements behind the small-call path and the compiled route of
wide dense data (:func:`reparamopt.flagships.nnls.route.compiled_pays`).

``small``: calls of microseconds (real tabular data in raw units and small Gaussian
problems), each timed as the minimum over alternating rounds of repeated calls, so
that both solvers meet the same machine load. ``wide``: Gaussian, uniform and
smooth-bump dictionaries from 20 x 200 to 1000 x 4000, best of three runs; the column
``m^2 n`` is the quantity the route compares with ``COMPILED_WIDE_WORK``.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/sweep_wide_and_small.py small
    OPENBLAS_NUM_THREADS=1 python benchmarks/sweep_wide_and_small.py wide --largest 500
"""

import argparse
import time
import warnings

import numpy as np
import scipy.optimize

import reparamopt as ro
from reparamopt import datasets

WIDE_SHAPES = [(20, 200), (50, 200), (50, 1000), (100, 500), (100, 2000), (200, 800),
               (200, 2000), (500, 2000), (1000, 4000)]


def _rounds(f, n):
    start = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - start) / n


def small_problems(rng):
    out = {"40x150": (rng.standard_normal((40, 150)), rng.standard_normal(40)),
           "50x200": (rng.standard_normal((50, 200)), rng.standard_normal(50)),
           "300x25 scaled": (rng.standard_normal((300, 25)) * 10.0 ** rng.uniform(-3, 3, 25),
                             rng.standard_normal(300))}
    try:
        from sklearn.datasets import load_breast_cancer, load_diabetes
    except ImportError:
        print("skipped: the real data need scikit-learn")
        return out
    for name, load in (("diabetes", load_diabetes), ("breast cancer", load_breast_cancer)):
        data = load()
        out[f"{name} {data.data.shape[0]}x{data.data.shape[1]}"] = (
            np.ascontiguousarray(data.data, float), np.asarray(data.target, float))
    return out


def small(rounds=15):
    rng = np.random.default_rng(0)
    for name, (A, b) in small_problems(rng).items():
        ours, theirs = (lambda: ro.nnls(A, b)), (lambda: scipy.optimize.nnls(A, b))
        ours(), theirs()
        n = max(1, int(0.01 / _rounds(theirs, 3)))
        t_ours = min(_rounds(ours, n) for _ in range(rounds))
        t_theirs = min(_rounds(theirs, n) for _ in range(rounds))
        print(f"{name:22s} reparamopt {t_ours * 1e6:9.1f} us   scipy {t_theirs * 1e6:9.1f} us   "
              f"scipy/reparamopt {t_theirs / t_ours:5.2f}")


def _best(f, repeats=3):
    f()
    return min(_rounds(f, 1) for _ in range(repeats))


def wide_problems(m, n, rng):
    t = np.linspace(0.0, 1.0, m)[:, None]
    smooth = np.exp(-0.5 * ((t - np.linspace(0.0, 1.0, n)) / 0.05) ** 2)
    uniform = rng.random((m, n))
    return {
        "gaussian": datasets.make_gaussian(m, n, support=max(2, n // 40), random_state=rng)[:2],
        "gaussian, noise b": (rng.standard_normal((m, n)) / np.sqrt(m), rng.standard_normal(m)),
        "uniform": (uniform, uniform @ (rng.random(n) * (rng.random(n) < 0.05))
                    + 0.01 * rng.random(m)),
        "smooth bumps": (smooth, smooth @ (rng.random(n) * (rng.random(n) < 0.01))
                         + 1e-3 * rng.standard_normal(m)),
    }


def wide(largest):
    rng = np.random.default_rng(1)
    warnings.simplefilter("ignore")
    for m, n in [s for s in WIDE_SHAPES if s[0] <= largest]:
        for name, (A, b) in wide_problems(m, n, rng).items():
            t_ours = _best(lambda: ro.nnls(A, b))
            t_theirs = _best(lambda: scipy.optimize.nnls(A, b, maxiter=50 * n))
            print(f"{m:5d} x {n:<5d} m^2 n {m * m * n:8.1e} {name:18s} reparamopt "
                  f"{t_ours * 1e3:9.2f} ms   scipy {t_theirs * 1e3:9.2f} ms   "
                  f"scipy/reparamopt {t_theirs / t_ours:6.2f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", choices=["small", "wide"])
    parser.add_argument("--largest", type=int, default=1000,
                        help="largest number of rows of the wide sweep (default 1000)")
    args = parser.parse_args(argv)
    if args.sweep == "small":
        small()
    else:
        wide(args.largest)


if __name__ == "__main__":
    main()
