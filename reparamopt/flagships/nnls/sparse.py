"""The sparse path of "auto": a projected Newton method whose Newton steps are solved
by conjugate gradients, so that nothing costs more than products with ``A``.

The Gram matrix of a sparse ``A`` is dense: ``n^2`` numbers to store and ``n^3 / 3``
flops to factor, against ``2 nnz(A)`` per product. One iteration of the path, from a
feasible ``x`` with gradient ``g``:

1. the free set ``F = {x > 0 or g < 0}`` (the indices at zero that the gradient pushes
   out stay fixed, as in Bertsekas' projected Newton method);
2. the least squares on ``F`` by conjugate gradients on the column-equilibrated normal
   equations (CGLS, warm-started from ``x_F``), until the gradient on ``F`` falls by
   :data:`FORCING` (or below the KKT target);
3. a projected step ``max(x + alpha (z - x), 0)``, alpha halved until the objective
   drops.

On well-conditioned data it needs a handful of iterations and a few dozen products
(measured: 65 products to a KKT residual of 1e-10 on 20000 x 2000 at density 0.005).
The convergence of the conjugate gradients measures the conditioning: when a solve
stalls, or the iteration runs past its budget, the right-hand side is handed over, to
the Gram route when ``A^T A`` may be stored (``gram`` left to its default and
``n <= SPARSE_GRAM_MAX_N`` of :mod:`.route`: the model is in Gram mode, its ``A^T A``
formed on first use), else to the exact finish from the support reached.
"""

import numpy as np

from ...finish.kkt import kkt_residual
from .direct import least_squares_path
from .finishing import Finisher, NNLSOutcome

__all__ = ["sparse_path", "projected_newton"]

_TINY = np.finfo(float).tiny

# Newton iterations, and conjugate-gradient iterations over all of them, per right-hand
# side before it is handed over (a well-conditioned problem needs about 7 and 40; the
# Gram route was measured at the cost of 1500-4000 iterations on n = 400-2000)
MAX_NEWTON = 40
MAX_CG_TOTAL = 400
# A solve whose gradient has not fallen by this factor over the last WINDOW iterations
# has stalled: the columns of F are nearly dependent (a well-conditioned solve gains
# that factor in two or three iterations)
STALL, WINDOW = 0.5, 20
# Halvings of the projected step before the iteration gives up
MAX_HALVINGS = 12
# Each Newton step is solved until the gradient on F falls by this factor (measured:
# 0.01 to 0.03 take the fewest products on random sparse data; a forcing that tightens
# with the KKT residual takes 50% more)
FORCING = 0.01


def sparse_path(finish, settings):
    """Every right-hand side by :func:`projected_newton`; those it cannot finish go to
    the Gram route (when allowed) or to the exact finish from the point reached."""
    model = finish.model
    n, k = model.n, model.b.shape[1]
    X = np.zeros((n, k))
    done = np.zeros(k, bool)
    nit = 0
    for j in range(k):
        column = model if k == 1 else model.take([j])
        X[:, j], done[j], it = projected_newton(column, settings.tol, model.norms)
        nit += it
    rest = np.flatnonzero(~done)
    if not rest.size:
        return NNLSOutcome(X, nit)
    before = X.copy()
    stable = np.zeros(k, bool)
    if model.use_gram:
        # the Gram route's factorizations do not depend on the spectrum
        gram = Finisher(model.take(rest), settings)
        outcome = least_squares_path(gram)
        X[:, rest] = outcome.x
        stable[rest] = outcome.stable
        finish.nsolves += gram.nsolves
        finish.nfallback += gram.nfallback
    else:
        X[:, rest] = finish(X[:, rest], model=model.take(rest))
    return NNLSOutcome(X, nit, before=[before], stable=stable)


def projected_newton(model, tol, norms):
    """The projected Newton iteration for the one right-hand side of `model` (`norms`:
    the column norms of ``A``).

    Returns ``(x, converged, nit)``: the last iterate (feasible, each iterate lowering
    the objective), whether its relative KKT residual reached `tol` (with the residual
    formed from ``A``), and the number of Newton iterations. It stops without
    converging on a stalled solve or its budget.
    """
    b, atb_norm = model.b[:, 0], max(float(model.atb_norm[0]), _TINY)
    scale = np.where(norms > 0, norms, 1.0)
    x, res, fun = np.zeros(model.n), -b, 0.5 * float(b @ b)
    g = -model.atb[:, 0]
    budget, exact = MAX_CG_TOTAL, True
    for it in range(MAX_NEWTON):
        kkt = float(kkt_residual(x, g, atb_norm))
        if kkt <= tol and not exact:
            # the conjugate gradients' own residual said so: check on A itself
            res = model.matvec(x) - b
            g, exact = model.rmatvec(res), True
            kkt = float(kkt_residual(x, g, atb_norm))
        if kkt <= tol:
            return x, True, it
        F = np.flatnonzero(((x > 0) | (g < 0)) & (norms > 0))
        target = max(FORCING * float(np.linalg.norm(g[F])), 0.1 * tol * atb_norm)
        z, s, used, ok = _cgls(model.columns(F), scale[F], x[F], -res, -g[F], target,
                               budget)
        budget -= used
        step = _projected_step(model, x, F, z, s, fun)
        if step is None or not ok:
            return (x if step is None else step[0]), False, it + 1
        x, res, fun, exact = step
        g = model.rmatvec(res)
    return x, False, MAX_NEWTON


def _cgls(AF, scale, z, s, grad, target, max_iter):
    """``min ||A_F z - b||`` by conjugate gradients on the normal equations of
    ``A_F D^-1`` (``D`` the column norms `scale`) from `z`, with ``s = b - A_F z`` and
    ``grad = A_F^T s``; stops when ``||A_F^T s|| <= target``. Returns
    ``(z, s, iterations, ok)``; not ok when the budget ran out or the solve stalled
    (:data:`STALL`)."""
    AFT, inv = AF.T, 1.0 / scale
    z, s = z.copy(), s.copy()
    r = grad * inv
    p = r * inv
    gamma = float(r @ r)
    mark = last = float(grad @ grad)
    target = target * target
    for it in range(max_iter):
        if last <= target:
            return z, s, it, True
        q = AF @ p
        alpha = gamma / max(float(q @ q), _TINY)
        z += alpha * p
        q *= alpha
        s -= q
        grad = AFT @ s
        last = float(grad @ grad)
        r = grad * inv
        gamma_new = float(r @ r)
        p *= gamma_new / gamma
        p += r * inv
        gamma = gamma_new
        if (it + 1) % WINDOW == 0:
            if last > STALL * STALL * mark:
                return z, s, it + 1, False
            mark = last
    return z, s, max_iter, last <= target


def _projected_step(model, x, F, z, s, fun):
    """``(x, A x - b, objective, exact)`` at the first ``max(x + alpha (z - x), 0)``,
    alpha in 1, 1/2, ..., that lowers the objective below `fun` (None when none does).
    A positive `z` is taken whole, with the residual ``-s`` the conjugate gradients
    updated (``exact`` False); the other points have theirs formed from ``A``."""
    if np.all(z >= 0):
        value = 0.5 * float(s @ s)
        if value < fun:
            trial = np.zeros_like(x)
            trial[F] = z
            return trial, -s, value, False
    b = model.b[:, 0]
    d = z - x[F]
    alpha = 1.0
    for _ in range(MAX_HALVINGS):
        trial = x.copy()
        trial[F] = np.maximum(x[F] + alpha * d, 0.0)
        res = model.matvec(trial) - b
        value = 0.5 * float(res @ res)
        if value < fun:
            return trial, res, value, True
        alpha *= 0.5
    return None
