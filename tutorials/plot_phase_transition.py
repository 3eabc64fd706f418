"""
Phase transition of exact recovery
==================================

Probability that a method recovers an ``s``-sparse non-negative ``x*`` exactly
(relative error below 1e-3) from ``m`` Gaussian measurements, over a grid of
``m / n`` and ``s / m`` with ``n = 200``: Lawson-Hanson (scipy.optimize.nnls), the
reparametrized small-initialization dynamics (gradient descent on ``x = u * u`` from
``u0 = 1e-4``) and basis pursuit (signed l1 minimization, which ignores the sign).
"""

import os
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

n = 40 if QUICK else 200
trials = 3 if QUICK else 20
deltas = np.array([0.2, 0.5, 0.8]) if QUICK else np.linspace(0.1, 0.9, 9)  # m / n
rhos = np.array([0.1, 0.5, 0.9]) if QUICK else np.linspace(0.1, 0.9, 9)    # s / m


def recovered(x, x_star):
    return np.linalg.norm(x - x_star) < 1e-3 * np.linalg.norm(x_star)


methods = {
    "Lawson-Hanson": lambda A, b: scipy.optimize.nnls(A, b)[0],
    "reparametrized GD": lambda A, b: ro.sparse_recovery(A, b, method="gd", max_iter=3000).x,
    "basis pursuit": lambda A, b: basis_pursuit(A, b).x,
}

# %%
# One seed per cell and trial, the same data for every method.

rows = []
for i, delta in enumerate(deltas):
    m = max(int(round(delta * n)), 1)
    for j, rho in enumerate(rhos):
        s = max(int(round(rho * m)), 1)
        hits = dict.fromkeys(methods, 0)
        for trial in range(trials):
            A, b, x_star = make_gaussian(m, n, support=s,
                                         random_state=np.random.default_rng([i, j, trial]))
            for name, method in methods.items():
                hits[name] += recovered(method(A, b), x_star)
        rows.append([delta, rho] + [hits[name] / trials for name in methods])

data = np.array(rows)
np.savetxt(OUT / "phase_transition.csv", data, delimiter=",", comments="",
           header="m_over_n,s_over_m," + ",".join(k.replace(" ", "_") for k in methods))
for k, name in enumerate(methods):
    print(f"{name:<20} mean recovery probability over the grid: {data[:, 2 + k].mean():.3f}")

# %%
# Recovery probability maps.

fig, axes = plt.subplots(1, len(methods), figsize=(4 * len(methods), 3.6), sharey=True)
if QUICK:  # the figure says it comes from the quick mode
    fig.suptitle(f"REPARAMOPT_QUICK=1: reduced sizes (n = {n}, {trials} trials, "
                 f"{deltas.size} x {rhos.size} grid), "
                 "not the paper's",
                 color="firebrick")
    fig.subplots_adjust(top=0.8)  # room for it above the panel titles
for k, (ax, name) in enumerate(zip(axes, methods)):
    grid = data[:, 2 + k].reshape(deltas.size, rhos.size).T
    image = ax.imshow(grid, origin="lower", vmin=0, vmax=1, cmap="viridis", aspect="auto",
                      extent=(deltas[0], deltas[-1], rhos[0], rhos[-1]))
    ax.set_title(name)
    ax.set_xlabel("m / n")
axes[0].set_ylabel("s / m")
fig.colorbar(image, ax=axes, label="P(exact recovery)")
fig.savefig(OUT / "phase_transition.png", dpi=120)
