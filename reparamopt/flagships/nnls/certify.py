"""The one certification of :func:`~reparamopt.nnls`: the best candidate, checked on
the data, as an :class:`~reparamopt.result.OptimizeResult`."""

import time

import numpy as np

from ...result import OptimizeResult, Status
from .refine import refine_attainable, second_opinion

__all__ = ["certify", "explain"]


def certify(outcome, finish, settings, x0, start):
    """The result of a path's `outcome`.

    The result is never worse than ``x = 0``, the warm start `x0` or the iterates the
    finish started from (``outcome.before``); its KKT residual is measured on ``A``
    itself, and the status is CONVERGED only when every column passes.
    """
    model = finish.model
    best, chosen, fun, residual = _best_candidate(outcome, model, x0)
    x, unresolved = refine_attainable(best, model, skip=outcome.stable & chosen, fun=fun)
    optimality, ok, _, rnorm = model.certify(x, settings.tol,
                                             residual if x is best else None)
    # the paper's methods end with a conservative finish: columns it certified only at
    # the rounding level get a second solve too ("auto"'s paths are exact methods)
    weak = unresolved | ((optimality > settings.tol) & (settings.method != "auto"))
    if weak.any() and settings.polish:
        x = second_opinion(x, model, weak, unresolved)
        optimality, ok, _, rnorm = model.certify(x, settings.tol)
    status = Status(outcome.status)
    if status != Status.CALLBACK:
        if np.all(ok):
            status = Status.CONVERGED
        elif status not in (Status.NON_FINITE, Status.TIME_LIMIT):
            status = Status.MAX_ITER
    message = status.message
    if status == Status.MAX_ITER:
        message = explain(outcome, optimality, ok, finish, settings)
    return OptimizeResult(
        x=x, u=outcome.u, rnorm=rnorm, fun=0.5 * rnorm ** 2, optimality=optimality,
        nit=int(outcome.nit), nfev=int(outcome.nfev), status=int(status),
        success=status.success, message=message, method=settings.method,
        time=time.perf_counter() - start, history=outcome.history)


def _best_candidate(outcome, model, x0):
    """Per column, the path's point unless another candidate is lower beyond rounding;
    which columns kept the path's point; the objective at the point kept; and its
    residual ``A x - b`` when every column kept the path's point (else None)."""
    x = outcome.x
    if not np.all(np.isfinite(x)):
        x = np.nan_to_num(x, nan=0.0, posinf=0.0)
    x = np.maximum(x, 0.0)
    candidates = [x] + [np.maximum(v, 0.0) for v in outcome.before]
    if x0 is not None:
        candidates.append(x0)
    # the path's residual serves the certificate too; the objective at zero is
    # ||b||^2 / 2: no product with A for it
    residual = model.matvec(x) - model.b
    values = np.array([0.5 * np.sum(residual * residual, axis=0)]
                      + [model.objective(v) for v in candidates[1:]] + [0.5 * model.b_norm2])
    candidates.append(np.zeros(x.shape))
    # keep the method's point unless another is lower beyond rounding
    slack = 64 * np.finfo(float).eps * (values.min(axis=0) + 0.5 * model.b_norm2)
    best = np.where(values[0] <= values.min(axis=0) + slack, 0, np.argmin(values, axis=0))
    columns = np.arange(x.shape[1])
    if not best.any():  # the usual case: no copy of the candidates
        return x, best == 0, values[0], residual
    stacked = np.stack(candidates)
    return stacked[best, :, columns].T, best == 0, values[best, columns], None


def explain(outcome, optimality, ok, finish, settings):
    """The status-0 message: what was reached and what to try."""
    worst = float(np.max(optimality))
    text = (f"Not converged: the relative KKT residual is {worst:.2e}, above `tol` = "
            f"{settings.tol:.1e}")
    if np.size(ok) > 1:
        failing = np.flatnonzero(~np.asarray(ok))
        shown = ", ".join(str(j) for j in failing[:10]) + (", ..." if failing.size > 10 else "")
        text += f" in {failing.size} of the {np.size(ok)} right-hand sides (columns {shown})"
    if not settings.polish:
        return (text + f" after {outcome.nit} iterations of the dynamics alone (polish=False), "
                "which converge at a first-order rate. Try polish=True for the exact "
                "finish, a larger `max_iter`, or a looser `tol`.")
    model = finish.model
    if finish.nfallback:
        hint = ("The problem is ill-conditioned (the finish needed pivoted QR "
                f"factorizations {finish.nfallback} times). Try method='auto', a larger "
                "options['max_solves'], or dense `A` if it is sparse or an operator.")
    elif model.kind in ("sparse", "operator") and model.G is None and not model.local_gram:
        hint = ("The finish solves its least squares by conjugate gradients here; try "
                "gram=True (sparse A with moderate n) or a looser `tol`.")
    else:
        hint = "Try method='auto', a larger `max_iter` or options['max_solves']."
    return (f"{text} after {outcome.nit} iterations and {finish.nsolves} least-squares "
            f"solves. {hint}")
