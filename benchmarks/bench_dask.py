"""A tall NNLS read from zarr: reparamopt.dask on a LocalCluster, the in-memory
reparamopt.nnls and scipy.optimize.nnls, with wall time and peak memory.

The data: ``A`` (rows x cols, default 2,000,000 x 200, 3.2 GB in float64) with
N(-0.5, 1) entries in zarr chunks of 50,000 rows, ``x*`` with a third of its entries
positive, ``b = A x* + noise``. Every solver runs in its own process, so that its peak
resident memory (``ru_maxrss``) is its own:

- ``dask``: ``reparamopt.dask.nnls`` on ``dask.array.from_zarr`` with a LocalCluster of
  2 worker processes (1 thread each, `--worker-memory` each); the client and the
  largest worker peak are reported apart;
- ``memory``: the array loaded into RAM, then ``reparamopt.nnls`` (skipped when three
  copies of A would not fit in the available memory);
- ``scipy``: ``scipy.optimize.nnls`` on the loaded array (same condition, and stopped
  after `--scipy-timeout` seconds).

Times are the solve alone (the dask solve includes reading the zarr chunks; the
in-memory ones exclude the load, reported apart). The data go to a temporary directory
(`--workdir`, default /tmp) that is deleted at the end.

Usage::

    python benchmarks/bench_dask.py            # 2e6 x 200
    python benchmarks/bench_dask.py --quick    # 2e5 x 200
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np


def make_data(path, rows, cols, chunk, seed=0):
    import dask
    import dask.array as da

    rng = np.random.default_rng(seed)
    x = np.where(rng.random(cols) < 1 / 3, 1.0 + rng.random(cols), 0.0)
    A = da.random.default_rng(seed + 1).standard_normal((rows, cols), chunks=(chunk, cols)) - 0.5
    noise = da.random.default_rng(seed + 2).standard_normal(rows, chunks=chunk)
    store = A.to_zarr(os.path.join(path, "A.zarr"), compute=False)
    _, b = dask.compute(store, A @ x + 0.1 * noise, scheduler="threads")
    np.save(os.path.join(path, "b.npy"), b)
    np.save(os.path.join(path, "x.npy"), x)


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run(method, path, worker_memory):
    """Solve with one method in this process; print a JSON line of figures."""
    import zarr

    b = np.load(os.path.join(path, "b.npy"))
    figures = {"method": method}
    if method == "dask":
        import dask.array as da
        from distributed import Client, LocalCluster

        import reparamopt.dask as rd

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, memory_limit=worker_memory) as cluster, \
                Client(cluster) as client:
            A = da.from_zarr(os.path.join(path, "A.zarr"))
            start = time.perf_counter()
            res = rd.nnls(A, b, client=client)
            figures["solve_s"] = time.perf_counter() - start
            figures["workers_peak_mb"] = max(client.run(_peak_mb).values())
            figures["scheduler"] = res.scheduler
        x, optimality = res.x, res.optimality
    else:
        start = time.perf_counter()
        A = zarr.open_array(os.path.join(path, "A.zarr"), mode="r")[:]
        figures["load_s"] = time.perf_counter() - start
        start = time.perf_counter()
        if method == "memory":
            import reparamopt as ro

            res = ro.nnls(A, b)
            x, optimality = res.x, res.optimality
        else:
            import scipy.optimize

            x = scipy.optimize.nnls(A, b, maxiter=10 * A.shape[1])[0]
            r = A @ x - b
            g, atb = A.T @ r, A.T @ b
            optimality = float(np.linalg.norm(np.where(x > 0, g, np.minimum(g, 0.0)))
                               / np.linalg.norm(atb))
        figures["solve_s"] = time.perf_counter() - start
    figures["client_peak_mb"] = _peak_mb()
    figures["optimality"] = float(optimality)
    np.save(os.path.join(path, f"x_{method}.npy"), x)
    print(json.dumps(figures))


def available_bytes():
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2e5 rows instead of 2e6")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--cols", type=int, default=200)
    parser.add_argument("--chunk", type=int, default=50_000, help="rows per zarr chunk")
    parser.add_argument("--worker-memory", default="2GiB", help="memory limit of each worker")
    parser.add_argument("--scipy-timeout", type=float, default=900.0)
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    parser.add_argument("--run", choices=("dask", "memory", "scipy"), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        run(args.run, args.path, args.worker_memory)
        return
    rows = args.rows or (200_000 if args.quick else 2_000_000)
    path = tempfile.mkdtemp(prefix="bench_dask_", dir=args.workdir)
    try:
        start = time.perf_counter()
        make_data(path, rows, args.cols, min(args.chunk, rows))
        nbytes = rows * args.cols * 8
        print(f"A: {rows} x {args.cols} float64 ({nbytes / 1e9:.2f} GB) in zarr chunks of "
              f"{min(args.chunk, rows)} rows, written in {time.perf_counter() - start:.1f} s")
        fits = 3 * nbytes < available_bytes()
        rows_out = []
        for method in ("dask", "memory", "scipy"):
            if method != "dask" and not fits:
                rows_out.append({"method": method, "note": "skipped: does not fit in memory"})
                continue
            command = [sys.executable, __file__, "--run", method, "--path", path,
                       "--worker-memory", args.worker_memory]
            timeout = args.scipy_timeout if method == "scipy" else None
            try:
                out = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                     check=True).stdout
                figures = json.loads(out.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                figures = {"method": method, "note": f"stopped after {timeout:.0f} s"}
            except subprocess.CalledProcessError as exc:
                figures = {"method": method, "note": f"failed: {exc.stderr.strip().splitlines()[-1]}"}
            rows_out.append(figures)
        reference = os.path.join(path, "x_memory.npy")
        x_ref = np.load(reference) if os.path.exists(reference) else None
        print(f"{'method':8} {'solve s':>9} {'load s':>8} {'client MB':>10} {'workers MB':>11} "
              f"{'KKT':>9} {'|x - x_mem|':>11}  note")
        for f in rows_out:
            x_path = os.path.join(path, f"x_{f['method']}.npy")
            diff = (f"{np.abs(np.load(x_path) - x_ref).max():.1e}"
                    if x_ref is not None and os.path.exists(x_path) else "-")
            print(f"{f['method']:8} {f.get('solve_s', float('nan')):9.2f} "
                  f"{f.get('load_s', float('nan')):8.2f} {f.get('client_peak_mb', float('nan')):10.0f} "
                  f"{f.get('workers_peak_mb', float('nan')):11.0f} {f.get('optimality', float('nan')):9.1e} "
                  f"{diff:>11}  {f.get('note', f.get('scheduler', ''))}")
    finally:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
