"""The scale families of the nnls benchmark: where the work is small, wide, sparse,
structured or batched (families 17 to 21 of :mod:`reparamopt.benchmarks.nnls`), and the
cost of a fresh process (import plus first call, ``--first-call``).

17. small: 40 x 150 Gaussian, 300 x 25 with raw column scales over 6 decades, and
    scikit-learn's breast-cancer (569 x 30) and diabetes (442 x 10) data in raw units;
18. wide coherent dictionaries: 64 x 1700 digit images (columns nearly parallel), a
    200 x 2000 library of smooth bumps;
19. sparse A at scale: 20000 x 2000 at density 0.005 and 10^5 x 10^4 at density 10^-3;
20. 2-D deconvolution: a 64 x 64 image under a 7 x 7 Gaussian blur, as a sparse
    4096 x 4096 matrix and as a matrix-free Convolution operator (FFT), and a
    256 x 256 image (65,536 unknowns) as an operator;
21. many right-hand sides: NMF subproblems (3000 x 40 bumps, 500 Poisson-count columns)
    and the 1797 digit images coded on a 64 x 24 non-negative dictionary.

The real data are scikit-learn's shipped datasets (no download); without scikit-learn
those problems are left out with a line saying so.
"""

import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp

from reparamopt import datasets
from reparamopt.models.operators import Convolution

__all__ = ["scale_families", "first_call"]

SCALE = (17, 18, 19, 20, 21)


def _sklearn_data(name):
    """``sklearn.datasets.load_<name>()``, or None (with a line) without scikit-learn."""
    try:
        from sklearn import datasets as sk
    except ImportError:
        print(f"skipped: the {name} data need scikit-learn (pip install scikit-learn)", flush=True)
        return None
    return getattr(sk, f"load_{name}")()


def _small(rng):
    out = [("small 40x150", *datasets.make_gaussian(40, 150, support=10, noise=1e-2,
                                                    random_state=rng)[:2])]
    A = rng.standard_normal((300, 25)) * 10.0 ** rng.uniform(-3, 3, 25)
    x = np.abs(rng.standard_normal(25)) / np.linalg.norm(A, axis=0) * (rng.random(25) < 0.6)
    out.append(("small 300x25 scaled", A, A @ x + 1e-3 * rng.standard_normal(300)))
    for name in ("breast_cancer", "diabetes"):
        data = _sklearn_data(name)
        if data is not None:
            out.append((f"{name} {data.data.shape[0]}x{data.data.shape[1]}",
                        np.asarray(data.data, float), np.asarray(data.target, float)))
    return out


def _wide(rng, quick):
    out = []
    digits = _sklearn_data("digits")
    if digits is not None:
        images = digits.data.T  # 64 x 1797
        n = 600 if quick else 1700
        out.append((f"digit atoms 64x{n}", images[:, :n], images[:, -1].copy()))
    m, n = (100, 600) if quick else (200, 2000)
    t = np.linspace(0.0, 1.0, m)[:, None]
    A = np.exp(-0.5 * ((t - np.linspace(0.0, 1.0, n)) / 0.05) ** 2)
    x = np.zeros(n)
    x[rng.choice(n, 15, replace=False)] = rng.uniform(0.5, 2.0, 15)
    out.append((f"smooth atoms {m}x{n}", A, A @ x + 1e-3 * rng.standard_normal(m)))
    return out


def _sparse(rng, quick):
    sizes = [(20000, 2000, 0.005)] if quick else [(20000, 2000, 0.005), (100000, 10000, 1e-3)]
    out = []
    for m, n, density in sizes:
        A = sp.random_array((m, n), density=density, rng=rng, format="csr")
        x = np.abs(rng.standard_normal(n)) * (rng.random(n) < 0.3)
        out.append((f"sparse {m}x{n} d={density:g}", A, A @ x + 1e-2 * rng.standard_normal(m)))
    return out


def _deconvolution(quick):
    """The blurred boxes of :func:`reparamopt.datasets.make_deconvolution`, as the sparse
    Kronecker matrix and as the same matrix-free :class:`Convolution`."""
    side = 32 if quick else 64
    A, b, _ = datasets.make_deconvolution((side, side), random_state=side)
    kernel = datasets.blur_kernel(2)
    out = [(f"deconvolution {side}x{side}", A, b),
           (f"deconvolution {side}x{side} operator", Convolution(kernel, (side, side)), b)]
    if not quick:
        b = datasets.make_deconvolution((256, 256), random_state=256).b
        out.append(("deconvolution 256x256 operator", Convolution(kernel, (256, 256)), b))
    return out


def _batched(rng, quick):
    k = 100 if quick else 500
    W = datasets.make_nmf_subproblem(3000, 40, 1, width=0.02, random_state=rng)[0]
    H = rng.gamma(0.5, 2.0, (40, k)) * (rng.random((40, k)) < 0.4)
    out = [(f"nmf counts 3000x40 k={k}", W, rng.poisson(5.0 * W @ H).astype(float))]
    digits = _sklearn_data("digits")
    if digits is not None:
        X = digits.data.T  # 64 x 1797
        # the dictionary of non-negative parts, learned by scikit-learn's NMF so that it
        # does not change with reparamopt's NMF
        from sklearn.decomposition import NMF
        model = NMF(24, init="nndsvda", random_state=0, max_iter=200).fit(digits.data)
        out.append((f"digit codes 64x24 k={X.shape[1]}", model.components_.T.copy(), X))
    return out


def scale_families(quick, rng):
    """``{family: [(name, A, b), ...]}`` of the scale families."""
    return {17: _small(rng), 18: _wide(rng, quick), 19: _sparse(rng, quick),
            20: _deconvolution(quick), 21: _batched(rng, quick)}


_FIRST_CALL = """
import time
t0 = time.perf_counter()
{imports}
import numpy as np
rng = np.random.default_rng(0)
A = rng.standard_normal((40, 150)); b = rng.standard_normal(40)
t1 = time.perf_counter()
{call}
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""

_FIRST = {"reparamopt": ("import reparamopt", "reparamopt.nnls(A, b)"),
          "scipy-nnls": ("import scipy.optimize", "scipy.optimize.nnls(A, b)")}


def first_call(repeats=3):
    """``{solver: (import seconds, first-call seconds)}``: the medians over `repeats`
    fresh interpreters of the import and of the first 40 x 150 call."""
    out = {}
    for name, (imports, call) in _FIRST.items():
        runs = []
        for _ in range(repeats):
            code = _FIRST_CALL.format(imports=imports, call=call)
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True)
            runs.append([float(v) for v in done.stdout.split()])
        out[name] = tuple(np.median(np.array(runs), axis=0))
    return out


def print_first_call(repeats=3):
    """Print the table of :func:`first_call`; return its rows."""
    start = time.perf_counter()
    table = first_call(repeats)
    print(f"{'fresh process, 40x150':28s} {'solver':28s} {'import[s]':>9s} {'call[s]':>9s} "
          f"{'total[s]':>9s}")
    rows = []
    for name, (imported, called) in table.items():
        print(f"{'':28s} {name:28s} {imported:9.4f} {called:9.4f} {imported + called:9.4f}")
        rows.append(dict(solver=name, import_s=imported, call_s=called))
    print(f"({repeats} fresh interpreters each, {time.perf_counter() - start:.1f} s)")
    return rows
