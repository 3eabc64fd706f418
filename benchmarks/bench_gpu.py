"""reparamopt on a device (PyTorch or CuPy arrays) against its NumPy path, scipy or
scikit-learn, and a plain torch baseline, in one run.

    python benchmarks/bench_gpu.py --library torch --device cuda        # the full sizes
    python benchmarks/bench_gpu.py --library torch --device cpu --dry-run

Cases: batched NNLS 600 x 300 (the paper's Gaussian generator) with 10^3, 10^4, 10^5
right-hand sides; the NMF subproblem 2000 x 30 with 10^5; NMF 10000 x 2000, k = 30,
200 iterations, Frobenius ("cd") and Kullback-Leibler ("mu"); sparse recovery (the
flow's limit, Newton on the dual) of a 100-sparse non-negative x from a 2000 x 10000
Gaussian matrix. ``--dry-run`` divides the right-hand sides by 100 and the NMF and
sparse recovery by 10 in each dimension, for a check on a CPU.
Columns: seconds of reparamopt on the device, of reparamopt's NumPy path on the CPU, of
scipy.optimize.nnls looped over the columns (timed on at most 100 columns and scaled to
all of them) or scikit-learn's NMF, of a plain torch baseline written here (projected
FISTA for NNLS, HALS for NMF); the quality of each (the largest relative KKT residual for
NNLS, the relative error for NMF) and the peak device memory of the reparamopt run.
For sparse recovery: scipy's basis pursuit (linprog, the l1 minimum the limit
approaches) where n <= 2000, and the quality is the relative error to x_true, device /
NumPy path / basis pursuit. Every time is the median of ``--repeats`` runs after one
warm-up run. Not run: NMF of a 10^5 x 10^4 sparse matrix (the device NMF takes dense X
only: no sparse arrays of torch or CuPy are accepted yet) and sparse recovery with a
subsampled FFT operator at n = 10^6 (the device path takes matrices, not operators).
"""

import argparse
import statistics
import time
import warnings

import numpy as np
import scipy.optimize
from sklearn.decomposition import NMF as SklearnNMF

import reparamopt as ro
from reparamopt.baselines import basis_pursuit


def parse():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", choices=("torch", "cupy", "array-api-strict"), default="torch")
    parser.add_argument("--device", default="cuda", help="torch device (cuda, cuda:1, cpu)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64",
                        help="dtype of the NNLS cases (the NMF cases run in float32)")
    parser.add_argument("--dry-run", action="store_true", help="small sizes, for a CPU")
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args()


class Library:
    """Moving data to the device, synchronizing it, reading its peak memory."""

    def __init__(self, name, device):
        self.name, self.device = name, device
        if name == "torch":
            import torch

            self.module = torch
        elif name == "cupy":
            import cupy

            self.module = cupy
        else:
            import array_api_strict

            self.module = array_api_strict

    def put(self, a, dtype):
        if self.name == "torch":
            return self.module.tensor(a, dtype=getattr(self.module, dtype), device=self.device)
        return self.module.asarray(a.astype(dtype))

    def sync(self):
        if self.name == "torch" and self.device.startswith("cuda"):
            self.module.cuda.synchronize()
        elif self.name == "cupy":
            self.module.cuda.Device().synchronize()

    def reset_peak(self):
        if self.name == "torch" and self.device.startswith("cuda"):
            self.module.cuda.reset_peak_memory_stats()

    def peak(self):
        if self.name == "torch" and self.device.startswith("cuda"):
            return f"{self.module.cuda.max_memory_allocated() / 2**30:.2f} GiB"
        if self.name == "cupy":
            return f"{self.module.get_default_memory_pool().total_bytes() / 2**30:.2f} GiB"
        return "-"


def timed(run, library, repeats):
    """Median seconds of `run()` over `repeats` runs after a warm-up, and its last value."""
    value = run()
    library.sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        value = run()
        library.sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def torch_fista(A, B, steps=500):
    """Plain projected FISTA on the Gram form, the baseline of the NNLS cases."""
    import torch

    G, C = A.T @ A, A.T @ B
    L = torch.linalg.eigvalsh(G)[-1]
    X = Y = torch.zeros_like(C)
    t = 1.0
    for _ in range(steps):
        new = torch.clamp(Y - (G @ Y - C) / L, min=0)
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        Y, X, t = new + (t - 1) / t_next * (new - X), new, t_next
    return X


def torch_hals(X, k, iterations, seed=0):
    """Plain HALS with a Python loop over the components, the baseline of the NMF cases."""
    import torch

    generator = torch.Generator(device=X.device).manual_seed(seed)
    scale = float((X.mean() / k) ** 0.5)
    W = scale * torch.rand(X.shape[0], k, generator=generator, device=X.device, dtype=X.dtype)
    H = scale * torch.rand(k, X.shape[1], generator=generator, device=X.device, dtype=X.dtype)
    for _ in range(iterations):
        WtW, WtX = W.T @ W, W.T @ X
        for j in range(k):
            H[j] = torch.clamp(H[j] + (WtX[j] - WtW[j] @ H) / WtW[j, j].clamp(min=1e-30), min=0)
        HHt, XHt = H @ H.T, X @ H.T
        for j in range(k):
            W[:, j] = torch.clamp(W[:, j] + (XHt[:, j] - W @ HHt[:, j]) / HHt[j, j].clamp(min=1e-30), min=0)
    return W, H


def kkt(A, B, X):
    """The largest relative KKT residual over the columns (NumPy)."""
    G = A.T @ (A @ X - B)
    return float(np.max(np.linalg.norm(np.minimum(X, G), axis=0) / np.linalg.norm(A.T @ B, axis=0)))


def nnls_row(name, A, B, library, options):
    """One NNLS case: device, NumPy path, scipy looped, torch FISTA."""
    dtype, repeats = options.dtype, options.repeats
    Ad, Bd = library.put(A, dtype), library.put(B, dtype)
    library.reset_peak()
    device_time, res = timed(lambda: ro.nnls(Ad, Bd), library, repeats)
    peak = library.peak()
    cpu_time, cpu = timed(lambda: ro.nnls(A, B), library, 1)
    sample = min(B.shape[1], 100)
    scipy_time, _ = timed(lambda: [scipy.optimize.nnls(A, B[:, j]) for j in range(sample)], library, 1)
    row = dict(case=name, device=device_time, numpy=cpu_time, reference=scipy_time * B.shape[1] / sample,
               quality=f"{float(np.max(_host(res.optimality))):.1e}/{float(np.max(cpu.optimality)):.1e}",
               peak=peak, baseline="-")
    if library.name == "torch":
        base_time, X = timed(lambda: torch_fista(Ad, Bd), library, repeats)
        row["baseline"] = f"{base_time:.3g} (KKT {kkt(A, B, _host(X).astype(float)):.1e})"
    return row


def nmf_row(name, X, k, beta, iterations, library, options):
    """One NMF case: device, NumPy path, scikit-learn, torch HALS (Frobenius only)."""
    solver = "cd" if beta == "frobenius" else "mu"
    settings = dict(n_components=k, solver=solver, beta_loss=beta, max_iter=iterations, tol=0.0,
                    init="random", random_state=0)
    Xd = library.put(X, "float32")
    library.reset_peak()
    device_time, model = timed(lambda: ro.NMF(**settings).fit(Xd), library, options.repeats)
    peak = library.peak()
    cpu_time, cpu = timed(lambda: ro.NMF(**settings).fit(X.astype(np.float32)), library, 1)
    sk_time, sk = timed(lambda: SklearnNMF(**settings).fit(X.astype(np.float32)), library, 1)
    norm = np.linalg.norm(X)
    row = dict(case=name, device=device_time, numpy=cpu_time, reference=sk_time,
               quality=(f"{model.reconstruction_err_ / norm:.4f}/{cpu.reconstruction_err_ / norm:.4f}"
                        f"/{sk.reconstruction_err_ / norm:.4f}"), peak=peak, baseline="-")
    if library.name == "torch" and beta == "frobenius":
        base_time, (W, H) = timed(lambda: torch_hals(Xd, k, iterations), library, options.repeats)
        error = float(np.linalg.norm(X - _host(W) @ _host(H))) / norm
        row["baseline"] = f"{base_time:.3g} (error {error:.4f})"
    return row


def sparse_row(name, A, x_true, library, options):
    """Sparse recovery: the device's limit, the NumPy path's limit, basis pursuit."""
    b = A @ x_true
    Ad, bd = library.put(A, options.dtype), library.put(b, options.dtype)
    library.reset_peak()
    device_time, res = timed(lambda: ro.sparse_recovery(Ad, bd, method="limit"), library,
                             options.repeats)
    peak = library.peak()
    cpu_time, cpu = timed(lambda: ro.sparse_recovery(A, b, method="limit"), library, 1)
    errors = [np.linalg.norm(_host(res.x) - x_true), np.linalg.norm(cpu.x - x_true)]
    reference = float("nan")
    if A.shape[1] <= 2000:
        reference, bp = timed(lambda: basis_pursuit(A, b, nonnegative=True), library, 1)
        errors.append(np.linalg.norm(bp.x - x_true))
    quality = "/".join(f"{e / np.linalg.norm(x_true):.1e}" for e in errors)
    return dict(case=f"{name} ({res.method})", device=device_time, numpy=cpu_time,
                reference=reference, quality=quality, peak=peak, baseline="-")


def _host(a):
    """A device array as NumPy, for the quality columns only (after the timings)."""
    if hasattr(a, "cpu"):
        return a.cpu().numpy()
    if hasattr(a, "get"):
        return a.get()
    return np.asarray(a)


def cases(options, library):
    rng = np.random.default_rng(0)
    shrink = 100 if options.dry_run else 1
    A = rng.standard_normal((600, 300)) / np.sqrt(600)
    for k in (10**3, 10**4, 10**5):
        k //= shrink
        yield nnls_row(f"nnls 600x300, {k} rhs", A, rng.standard_normal((600, k)), library, options)
    k = 10**5 // shrink
    W = rng.random((2000, 30))
    yield nnls_row(f"nnls 2000x30, {k} rhs", W, W @ rng.random((30, k)) + 0.1 * rng.random((2000, k)),
                   library, options)
    side = 10 if options.dry_run else 1
    n, p = 10000 // side, 2000 // side
    X = rng.random((n, 30)) @ rng.random((30, p)) + 0.1 * rng.random((n, p))
    iterations = 200 // (10 if options.dry_run else 1)
    for beta in ("frobenius", "kullback-leibler"):
        yield nmf_row(f"nmf {n}x{p} k=30 {beta}, {iterations} it", X, 30, beta, iterations,
                      library, options)
    m, n, s = 2000 // side, 10000 // side, 100 // side
    x_true = np.zeros(n)
    x_true[rng.choice(n, s, replace=False)] = np.abs(rng.standard_normal(s))
    yield sparse_row(f"sparse recovery {m}x{n}, s={s}", rng.standard_normal((m, n)) / np.sqrt(m),
                     x_true / np.linalg.norm(x_true), library, options)


def main():
    options = parse()
    library = Library(options.library, options.device)
    warnings.simplefilter("ignore")  # iteration limits of the fixed-iteration NMF runs
    header = ("case", "device s", "numpy s", "scipy/sklearn s", "torch baseline s", "quality", "peak")
    print(f"library={options.library} device={options.device} nnls dtype={options.dtype}")
    print(" | ".join(header))
    for row in cases(options, library):
        print(" | ".join([row["case"], f"{row['device']:.3g}", f"{row['numpy']:.3g}",
                          f"{row['reference']:.3g}", row["baseline"], row["quality"], row["peak"]]),
              flush=True)


if __name__ == "__main__":
    main()
