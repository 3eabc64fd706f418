"""
Implicit bias: small initialization finds the minimum-l1 solution
=================================================================

With ``n = 50`` unknowns and ``m = 10`` Gaussian measurements the set of non-negative
solutions of ``A x = b`` is unbounded (a mean-zero Gaussian ``A`` with ``n > 2m`` fails
the M+ criterion), so "the" NNLS solution does not exist: every method picks one.
The gradient flow on ``x = u**L`` started at ``u0 = alpha * 1`` picks, as ``alpha -> 0``,
the solution of smallest l1 norm. We measure ``||x||_1`` of the limit against the
linear-programming minimum for ``alpha`` from 1e-4 to 1e-1 and ``L`` in {2, 3}, and
compare with Lawson-Hanson (scipy.optimize.nnls) and signed basis pursuit.

Theory: the gap closes like ``1/log(1/alpha)`` for ``L = 2`` (an entropy potential)
and polynomially in ``alpha`` for ``L >= 3``.
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import scipy.optimize

import reparamopt as ro
from reparamopt.baselines import basis_pursuit, min_l1_nnls
from reparamopt.datasets import make_gaussian

QUICK = os.environ.get("REPARAMOPT_QUICK") == "1"
OUT = Path(os.environ.get("REPARAMOPT_OUTPUT", Path.cwd() / "reparamopt_output"))
OUT.mkdir(parents=True, exist_ok=True)

n, m, s = 50, 10, 3
trials = 2 if QUICK else 10
alphas = np.logspace(-3, -1, 3) if QUICK else np.logspace(-4, -1, 7)
powers = (2, 3)

# %%
# The paper's generator: ``A ~ N(0, 1/m)``, ``x*`` with ``s`` non-zeros ``|N(0, 1)|``,
# unit norm, ``b = A x*``. The flow's limit is computed exactly (``method="limit"``,
# the default: a Bregman projection solved through its dual, checked against long
# integrations of the flow in the test suite) and the exact support finish is switched
# off (``polish=False``): we want the limit of the dynamics itself.

rows = []
for trial in range(trials):
    A, b, x_star = make_gaussian(m, n, support=s, random_state=trial)
    lp = min_l1_nnls(A, b).l1
    lawson_hanson = scipy.optimize.nnls(A, b)[0].sum()
    bp = basis_pursuit(A, b).l1
    for L in powers:
        for alpha in alphas:
            res = ro.sparse_recovery(A, b, power=L, init_scale=alpha, method="limit",
                                     polish=False)
            rows.append((trial, L, alpha, res.l1, lp, lawson_hanson, bp, res.rnorm,
                         (res.l1 - lp) / lp))

data = np.array(rows)
header = "trial,power,alpha,l1,lp_min,lawson_hanson_l1,basis_pursuit_l1,rnorm,relative_gap"
np.savetxt(OUT / "implicit_bias.csv", data, delimiter=",", header=header, comments="")

# %%
# Median relative gap over the trials, and two fits: for ``L = 2`` a straight line
# through the origin in ``1/log(1/alpha)`` (its relative misfit tells whether the law
# holds), for ``L = 3`` the slope of ``log gap`` against ``log alpha``.

summary, median_gaps = [], {}
for L in powers:
    sel = data[:, 1] == L
    gaps = np.array([np.median(data[sel & (data[:, 2] == a), 8]) for a in alphas])
    gaps = np.maximum(gaps, 1e-16)
    median_gaps[L] = gaps
    slope = np.polyfit(np.log(alphas), np.log(gaps), 1)[0]
    inv_log = 1.0 / np.log(1.0 / alphas)
    c = (inv_log @ gaps) / (inv_log @ inv_log)
    misfit = np.linalg.norm(gaps - c * inv_log) / np.linalg.norm(gaps)
    summary.append((L, slope, c, misfit))
    print(f"L = {L}: median relative gap {np.array2string(gaps, precision=2)}; "
          f"log-log slope {slope:.2f}; fit gap ~ {c:.3g}/log(1/alpha), relative misfit {misfit:.2f}")
np.savetxt(OUT / "implicit_bias_fit.csv", np.array(summary), delimiter=",",
           header="power,loglog_slope,inverse_log_coefficient,inverse_log_relative_misfit", comments="")

# %%
# The methods side by side on the first problem (power 2): the integrated flow, the
# default (the flow's limit), gradient descent with Barzilai-Borwein steps and the
# accelerated method, each from ``u0 = alpha * 1``. Large steps leave the flow's path:
# their l1 norm differs. Lawson-Hanson has no initialization: its l1 norm is one number,
# a horizontal line (on this problem its vertex happens to be the minimum-l1 one; the
# middle panel shows how far it lands on the others).

A, b, _ = make_gaussian(m, n, support=s, random_state=0)
lp_first = min_l1_nnls(A, b).l1
methods = {"flow": {"method": "flow", "time_limit": 30.0}, "default (the flow's limit)": {},
           "gd": {"method": "gd"}, "accelerated": {"method": "accelerated"}}
curves = {label: np.array([ro.sparse_recovery(A, b, init_scale=alpha, polish=False, tol=1e-10,
                                              **options).l1 for alpha in alphas])
          for label, options in methods.items()}
lawson_hanson_first = scipy.optimize.nnls(A, b)[0].sum()

# %%
# The figure, drawn in one piece: the implicit-bias gap against ``alpha`` for both
# powers, the l1 norms of the reference solutions (Lawson-Hanson, signed basis
# pursuit) relative to the LP minimum, and the methods of the first problem.

fig, ax = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
if QUICK:  # the figure says it comes from the quick mode
    fig.suptitle(f"REPARAMOPT_QUICK=1: reduced sizes ({trials} trials, {alphas.size} scales), "
                 "not the paper's",
                 color="firebrick")
for L, gaps in median_gaps.items():
    ax[0].loglog(alphas, gaps, "o-", label=f"L = {L}")
ax[0].set_xlabel("alpha (u0 = alpha * 1)")
ax[0].set_ylabel("(||x||_1 - LP min) / LP min")
ax[0].legend()
ax[0].set_title("implicit-bias gap (median over trials)")
sel = data[:, 1] == powers[0]
ratios = {"Lawson-Hanson": data[sel, 5] / data[sel, 4], "basis pursuit (signed)": data[sel, 6] / data[sel, 4]}
ax[1].boxplot(list(ratios.values()), tick_labels=list(ratios.keys()))
ax[1].axhline(1.0, color="k", lw=0.5)
ax[1].set_ylabel("||x||_1 / LP min")
ax[1].set_title("reference solutions")
styles = {"flow": {"marker": "o", "ms": 11, "mfc": "none", "lw": 2.5, "alpha": 0.6},
          "default (the flow's limit)": {"marker": ".", "ms": 8, "ls": "--", "color": "k"},
          "gd": {"marker": "s", "ms": 5}, "accelerated": {"marker": "^", "ms": 6}}
for label, l1 in curves.items():
    ax[2].semilogx(alphas, l1, label=label, **styles[label])
ax[2].axhline(lp_first, color="k", lw=1, label="LP minimum")
ax[2].axhline(lawson_hanson_first, color="firebrick", ls=":", lw=2,
              label="Lawson-Hanson (no init_scale)")
ax[2].set_xlabel("init_scale alpha")
ax[2].set_ylabel("||x||_1")
ax[2].set_title("methods on the first problem, L = 2")
ax[2].legend(fontsize=8)
fig.savefig(OUT / "implicit_bias.png", dpi=120)
