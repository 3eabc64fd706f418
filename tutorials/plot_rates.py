"""
Convergence rates: gradient flow, accelerated flow and decaying steps
=====================================================================

The paper proves ``f(x(t)) - f* = O(1/t)`` for the gradient flow of NNLS on
``x = u * u``, ``O(1/t^2)`` for an accelerated second-order flow, and a polynomial rate
for gradient descent with the decaying step ``eta_k = eta / (k + 2)^gamma`` (the
abstract says ``O(1/k^gamma)``; since ``sum_k eta_k ~ k^(1 - gamma)`` is the flow time
reached, the flow's ``1/t`` suggests ``k^-(1 - gamma)`` instead). We measure the
log-log slopes of the tails, with ``n = 50`` and ``m = 20``.

These are upper bounds: on a generic instance the dynamics end in a linear phase once
the support is found, and the measured tail is then steeper than the bound.
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import scipy.integrate
import scipy.optimize

import reparamopt as ro
from reparamopt.engines import GradientDescent, GradientFlow, run

QUICK = os.environ.get("REPARAMOPT_QUICK") == "1"
OUT = Path(os.environ.get("REPARAMOPT_OUTPUT", Path.cwd() / "reparamopt_output"))
OUT.mkdir(parents=True, exist_ok=True)

n, m, s = 50, 20, 5
t_max = 1e3 if QUICK else 1e5
k_max = 2000 if QUICK else 100000
gammas = (0.0, 0.25, 0.5, 0.75)
floor = 1e-12

rng = np.random.default_rng(0)
A = rng.standard_normal((m, n)) / np.sqrt(m)
x_star = np.zeros(n)
x_star[rng.choice(n, s, replace=False)] = np.abs(rng.standard_normal(s))
x_star /= np.linalg.norm(x_star)
b = A @ x_star + 0.05 * rng.standard_normal(m)
f_star = 0.5 * scipy.optimize.nnls(A, b)[1] ** 2


def value_and_grad(x):
    r = A @ x - b
    return 0.5 * r @ r, A.T @ r


problem = ro.Problem(value_and_grad=value_and_grad, x=ro.NonNegative(n))
u0 = problem.init(1.0)


def tail_slope(times, gaps):
    """Slope of log gap vs log time over the last decade above the round-off floor."""
    times, gaps = np.asarray(times, float), np.asarray(gaps, float)
    keep = (gaps > floor) & (times > 0)
    times, gaps = times[keep], gaps[keep]
    window = times >= times[-1] / 10
    if window.sum() < 3:
        return np.nan
    return np.polyfit(np.log(times[window]), np.log(gaps[window]), 1)[0]


# %%
# Gradient flow on u (LSODA), and the paper's accelerated flow in x-space,
# ``x' = (2/t)(y - x)``, ``y' = -(t/2) y * grad f(x)``, integrated with solve_ivp.

flow = run(GradientFlow(rtol=1e-10, atol=1e-14, t_max=t_max), problem, u0, tol=0.0,
           max_iter=10**6, history=True)
flow_t, flow_gap = np.array(flow.history["t"]), np.array(flow.history["fun"]) - f_star


def accelerated_rhs(t, z):
    x, y = z[:n], z[n:]
    return np.concatenate([2.0 / t * (y - x), -0.5 * t * y * value_and_grad(x)[1]])


t_eval = np.logspace(-2, np.log10(t_max), 400)
x0 = problem.to_feasible(u0)
ode = scipy.integrate.solve_ivp(accelerated_rhs, (t_eval[0], t_max), np.concatenate([x0, x0]),
                                method="LSODA", t_eval=t_eval, rtol=1e-10, atol=1e-14)
acc_gap = np.array([value_and_grad(np.maximum(z, 0.0))[0] for z in ode.y[:n].T]) - f_star

# %%
# Gradient descent on u with ``eta_k = eta / (k + 2)^gamma``; ``eta`` is a safe
# constant step for the curvature ``4 max(x) ||A||^2`` near the solution.

eta = 0.25 / (4 * max(1.0, np.abs(x_star).max()) * np.linalg.norm(A, 2) ** 2)
gd = {}
for gamma in gammas:
    res = run(GradientDescent(step_size=eta, decay=gamma), problem, u0, tol=0.0,
              max_iter=k_max, history=True)
    gd[gamma] = np.array(res.history["fun"]) - f_star

rows = [("gradient flow", "t", tail_slope(flow_t, flow_gap), -1.0, -1.0),
        ("accelerated flow", "t", tail_slope(ode.t, acc_gap), -2.0, -2.0)]
for gamma in gammas:
    k = np.arange(1, gd[gamma].size)
    rows.append((f"GD gamma={gamma}", "k", tail_slope(k, gd[gamma][1:]), -gamma, -(1 - gamma)))
print(f"{'dynamics':<18} {'in':>3} {'measured':>9} {'abstract':>9} {'flow time':>9}")
for name, var, slope, claim, alt in rows:
    print(f"{name:<18} {var:>3} {slope:9.2f} {claim:9.2f} {alt:9.2f}")
with open(OUT / "rates.csv", "w") as fh:
    fh.write("dynamics,variable,measured_slope,paper_abstract_slope,flow_time_slope\n")
    for row in rows:
        fh.write("{},{},{:.6g},{:.6g},{:.6g}\n".format(*row))

# %%
# The curves, with reference slopes.

fig, ax = plt.subplots(1, 2, figsize=(10, 4))
if QUICK:  # the figure says it comes from the quick mode
    fig.suptitle(f"REPARAMOPT_QUICK=1: shorter runs (t_max = {t_max:g}, k_max = {k_max}), not the paper's",
                 color="firebrick")
ax[0].loglog(flow_t[1:], np.maximum(flow_gap[1:], floor), label="gradient flow")
ax[0].loglog(ode.t, np.maximum(acc_gap, floor), label="accelerated flow")
ax[0].loglog(t_eval, 1.0 / t_eval, "k:", label="1/t")
ax[0].loglog(t_eval, 1.0 / t_eval ** 2, "k--", label="1/t^2")
ax[0].set_ylim(floor / 10, None)
ax[0].set_xlabel("t")
ax[0].set_ylabel("f(x(t)) - f*")
ax[0].legend()
for gamma in gammas:
    ax[1].loglog(np.arange(1, gd[gamma].size), np.maximum(gd[gamma][1:], floor), label=f"gamma = {gamma}")
ax[1].set_ylim(floor / 10, None)
ax[1].set_xlabel("k")
ax[1].set_ylabel("f(x_k) - f*")
ax[1].legend()
fig.tight_layout()
fig.savefig(OUT / "rates.png", dpi=120)
