"""
Stability under negative perturbations and noise
================================================

The paper's stable recovery result: write ``x* = x+ - x-`` with ``x+ >= 0`` sparse and a
small negative part ``x-``; from ``b = A x*`` the non-negative methods cannot fit
``x-``, and the error ``||x - x+||_2`` grows at most linearly in ``||x-||_1``. We
compare the reparametrized small-initialization method with Lawson-Hanson as
``||x-||_1`` grows, and under Gaussian noise of growing level (``n = 200``, ``m = 100``,
``s = 10``).
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import scipy.optimize

import reparamopt as ro

QUICK = os.environ.get("REPARAMOPT_QUICK") == "1"
OUT = Path(os.environ.get("REPARAMOPT_OUTPUT", Path.cwd() / "reparamopt_output"))
OUT.mkdir(parents=True, exist_ok=True)

n, m, s = (60, 30, 3) if QUICK else (200, 100, 10)
trials = 2 if QUICK else 20
levels = np.linspace(0.0, 0.5, 3 if QUICK else 11)  # ||x-||_1, and the noise norm


def solvers(A, b):
    return {"reparametrized": ro.sparse_recovery(A, b, max_iter=5000).x,
            "Lawson-Hanson": scipy.optimize.nnls(A, b)[0]}


# %%
# For each trial one ``A``, one sparse ``x+`` (unit norm) and one direction for the
# negative part (on ``s`` entries outside the support) or for the noise; only the
# level changes along a curve.

rows = []
for trial in range(trials):
    rng = np.random.default_rng(trial)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    perm = rng.permutation(n)
    x_plus = np.zeros(n)
    x_plus[perm[:s]] = np.abs(rng.standard_normal(s))
    x_plus /= np.linalg.norm(x_plus)
    negative = np.zeros(n)
    negative[perm[s:2 * s]] = np.abs(rng.standard_normal(s))
    negative /= negative.sum()
    noise = rng.standard_normal(m)
    noise /= np.linalg.norm(noise)
    for level in levels:
        for kind, b in (("negative", A @ (x_plus - level * negative)), ("noise", A @ x_plus + level * noise)):
            for name, x in solvers(A, b).items():
                rows.append((kind, name, trial, level, np.linalg.norm(x - x_plus)))

with open(OUT / "stability.csv", "w") as fh:
    fh.write("perturbation,method,trial,level,error\n")
    for row in rows:
        fh.write("{},{},{},{:.6g},{:.6g}\n".format(*row))

# %%
# Mean error per level.

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
if QUICK:  # the figure says it comes from the quick mode
    fig.suptitle(f"REPARAMOPT_QUICK=1: reduced sizes (n = {n}, m = {m}, s = {s}, {trials} trials), "
                 "not the paper's",
                 color="firebrick")
for ax, kind, label in ((axes[0], "negative", "||x-||_1"), (axes[1], "noise", "||noise||_2")):
    for name in ("reparametrized", "Lawson-Hanson"):
        errors = [np.mean([r[4] for r in rows if r[0] == kind and r[1] == name and r[3] == lv])
                  for lv in levels]
        ax.plot(levels, errors, "o-", label=name)
        print(f"{kind:<8} {name:<15} mean error per level: {np.array2string(np.array(errors), precision=3)}")
    ax.set_xlabel(label)
    ax.set_ylabel("||x - x+||_2")
    ax.legend()
fig.tight_layout()
fig.savefig(OUT / "stability.png", dpi=120)
