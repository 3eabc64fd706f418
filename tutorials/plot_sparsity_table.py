"""
Sparsity of the solutions: the paper's table
============================================

``n = 500``, ``m = 200``, ``s = 25``, ``A ~ N(0, 1/m)``, non-negative unit-norm ``x*``,
``b = A x*``. For each method: support size (entries above ``1e-6 ||x||_inf``), l1
norm, relative error ``||x - x*|| / ||x*||`` and wall time, averaged over trials.
"""

import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import scipy.optimize

import reparamopt as ro
from reparamopt.baselines import basis_pursuit
from reparamopt.datasets import make_gaussian

QUICK = os.environ.get("REPARAMOPT_QUICK") == "1"
OUT = Path(os.environ.get("REPARAMOPT_OUTPUT", Path.cwd() / "reparamopt_output"))
OUT.mkdir(parents=True, exist_ok=True)

n, m, s = (100, 40, 5) if QUICK else (500, 200, 25)
trials = 2 if QUICK else 10

methods = {
    "Lawson-Hanson": lambda A, b: scipy.optimize.nnls(A, b)[0],
    "reparametrized (alpha=1e-4)": lambda A, b: ro.sparse_recovery(A, b).x,
    "reparametrized (no finish)": lambda A, b: ro.sparse_recovery(A, b, polish=False, max_iter=5000).x,
    "reparametrized (alpha=1)": lambda A, b: ro.sparse_recovery(A, b, init_scale=1.0, polish=False,
                                                                 max_iter=5000).x,
    "non-negative basis pursuit": lambda A, b: basis_pursuit(A, b, nonnegative=True).x,
    "basis pursuit": lambda A, b: basis_pursuit(A, b).x,
    "least squares (min l2)": lambda A, b: np.linalg.lstsq(A, b, rcond=None)[0],
}

# %%
# Measure.

records = {name: [] for name in methods}
for trial in range(trials):
    A, b, x_star = make_gaussian(m, n, support=s, random_state=trial)
    for name, method in methods.items():
        start = time.perf_counter()
        x = method(A, b)
        elapsed = time.perf_counter() - start
        support = int(np.sum(np.abs(x) > 1e-6 * np.abs(x).max()))
        records[name].append((support, np.abs(x).sum(), np.linalg.norm(x - x_star), elapsed))

table = {name: np.mean(values, axis=0) for name, values in records.items()}
with open(OUT / "sparsity_table.csv", "w") as fh:
    fh.write("method,support_size,l1,relative_error,time_s\n")
    for name, row in table.items():
        fh.write("{},{:.6g},{:.6g},{:.6g},{:.6g}\n".format(name, *row))
print(f"{'method':<30} {'support':>8} {'l1':>8} {'error':>10} {'time [s]':>9}")
for name, (support, l1, error, elapsed) in table.items():
    print(f"{name:<30} {support:8.1f} {l1:8.4f} {error:10.2e} {elapsed:9.4f}")

# %%
# Support size and error side by side.

fig, ax = plt.subplots(1, 2, figsize=(11, 4))
if QUICK:  # the figure says it comes from the quick mode
    fig.suptitle(f"REPARAMOPT_QUICK=1: reduced sizes (n = {n}, m = {m}, s = {s}, {trials} trials), "
                 "not the paper's",
                 color="firebrick")
names = list(table)
ax[0].barh(names, [table[k][0] for k in names])
ax[0].axvline(s, color="k", lw=0.8)
ax[0].set_xlabel("support size")
ax[1].barh(names, [max(table[k][2], 1e-16) for k in names])
ax[1].set_xscale("log")
ax[1].set_xlabel("||x - x*||_2")
ax[1].set_yticks([])
fig.tight_layout()
fig.savefig(OUT / "sparsity_table.png", dpi=120)
