"""`solve`: run an engine on a Problem and return a feasible result."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._utils.validation import check_random_state, check_scalar, describe
from ..declare.problem import Problem
from ..engines import get_engine, run
from ..exceptions import InvalidArgumentError, InvalidTypeError, warn_not_converged

if TYPE_CHECKING:
    from .._utils.typing import Any, ArrayLike, Callback, Optional, Seed, Union
    from ..result import OptimizeResult

__all__ = ["solve"]


def solve(problem: Problem, engine: Any = "auto", *, x0: Union[ArrayLike, dict, None] = None,
          init_scale: Optional[float] = None, tol: float = 1e-8, atol: float = 0.0,
          ftol: float = 0.0, max_iter: int = 15000, time_limit: Optional[float] = None,
          callback: Optional[Callback] = None, history: bool = False,
          progress: Union[bool, dict] = False, random_state: Seed = None,
          **engine_settings: Any) -> OptimizeResult:
    r"""Solve a constrained :class:`~reparamopt.declare.problem.Problem` through its latent form.

    .. math:: \min_u F(u) = f(\phi(u)), \qquad x^\star = \phi(u^\star)

    Parameters
    ----------
    problem : Problem
        The problem.
    engine : str or Engine, default "auto"
        "lbfgs" (quasi-Newton on the latent variables), "gd" (Barzilai-Borwein steps),
        "accelerated" (alias "nesterov"), "flow", "accelerated-flow", or an engine
        object; `engine_settings` replace its fields. "auto" is "lbfgs" (the fewest
        evaluations on smooth objectives), "gd" for a batched problem. Pick "gd" when
        evaluations are very cheap and the problem well conditioned, the flows to study
        the continuous dynamics (implicit bias).
    x0 : array or dict, optional
        Feasible starting point; otherwise every map's identical initialization.
    init_scale : float, optional
        Scale of the identical initialization (each map's default when omitted); for
        Hadamard maps a small scale biases the result to sparse solutions.
    tol : float, default 1e-8
        Relative tolerance: stop when the x-space optimality residual (see
        :meth:`Problem.optimality`) is ``<= tol * scale``, with ``scale`` the norm of
        the x-space gradient at the identical initialization (at `init_scale`, whatever
        `x0` or `random_state`: a warm start does not tighten the test; 1 where that
        gradient is 0).
        The measure is thus unchanged when f is multiplied by a constant, and is
        ``optimality`` in the result (as ``nnls``'s relative KKT residual is). A
        problem whose `value_and_grad` oracle has its own ``optimality`` measure
        (already relative) is measured by it, unscaled; so is a batched problem.
    atol : float, default 0
        Absolute tolerance: stop also when the unscaled residual is ``<= atol``.
    ftol : float, default 0
        Stop with status 2 when an iteration changes f by no more than ``ftol * |f|``;
        ``success`` is then True only if the optimality measure meets `tol` or `atol`.
    max_iter : int, default 15000
        Iteration limit (scipy's L-BFGS-B default); reaching it returns ``status=0``
        with a ConvergenceWarning, not an exception. The latent problem of a Hadamard
        map is worse conditioned than the x-space problem (entries tending to 0 have
        curvature proportional to their gradient): the benchmark problems take 100 to
        3000 L-BFGS iterations.
    time_limit, callback, history, progress
        As in :func:`reparamopt.engines.run`.
    random_state : int or Generator, optional
        Seed of a perturbed start: every latent entry of the identical initialization
        times ``exp(0.1 z)``, ``z ~ N(0, 1)``. The identical start ``u0 = alpha 1`` is a
        saddle of symmetric objectives (``W @ H`` with identical columns stays so under
        every engine), so matrix-shaped variables start perturbed even when
        `random_state` is None (seed 0); vectors start identical unless a seed is given
        (the implicit bias of Hadamard maps is a property of that identical start).

    Returns
    -------
    OptimizeResult
        With ``x`` feasible (a dict for several variables), ``u``, ``fun``,
        ``optimality``, ``nit``, ``nfev``, ``status``, ``success``, ``message``,
        ``history`` and ``t`` for flows.

    Examples
    --------
    >>> import numpy as np
    >>> import autograd.numpy as anp
    >>> import reparamopt as ro
    >>> target = np.array([0.2, 0.9, -0.4])
    >>> problem = ro.Problem(lambda w: anp.sum((w - target) ** 2), w=ro.Simplex(3))
    >>> res = ro.solve(problem, tol=1e-10)
    >>> np.round(res.x, 6)
    array([0.15, 0.85, 0.  ])
    """
    if not isinstance(problem, Problem):
        raise InvalidTypeError(f"`problem` must be a reparamopt.Problem; got {describe(problem)}")
    if isinstance(engine, str) and engine == "auto":
        engine = "gd" if getattr(problem, "batch", False) else "lbfgs"
    engine = get_engine(engine, **engine_settings)
    if init_scale is not None:
        init_scale = check_scalar(init_scale, "init_scale", lower=0, lower_inclusive=False)
        if not np.isfinite(init_scale):
            raise InvalidArgumentError(f"`init_scale` must be a finite number > 0; got {init_scale!r}")
    if x0 is not None:
        u0 = problem.to_latent(x0)
    elif random_state is None:
        # matrix-shaped variables (factors, low-rank maps): the identical start is a
        # saddle of products such as W @ H; start them perturbed, reproducibly
        matrices = [n for n in problem.names if len(problem.maps[n].shape) >= 2]
        u0 = problem.init(init_scale, np.random.default_rng(0) if matrices else None, matrices)
    else:
        u0 = problem.init(init_scale, check_random_state(random_state))
    tol = check_scalar(tol, "tol", lower=0)
    atol = check_scalar(atol, "atol", lower=0)
    scale = _residual_scale(problem, init_scale)
    optimality = None if scale is None else (lambda u: problem.optimality(u) / scale)
    # rel <= tol or abs <= atol, i.e. rel <= max(tol, atol / scale)
    threshold = atol if scale is None and tol == 0 else tol if scale is None else max(tol, atol / scale)
    result = run(engine, problem, u0, optimality=optimality, tol=threshold, ftol=ftol,
                 max_iter=max_iter, time_limit=time_limit, callback=callback, history=history,
                 progress=progress)
    result["engine"] = type(engine).__name__
    result["scale"] = 1.0 if scale is None else scale
    met = bool(np.all(np.asarray(result.optimality) <= threshold))
    result["success"] = result.status in (1, 2) and met
    if result.status == 0 or (result.status == 2 and not met):
        warn_not_converged(
            f"Not converged: {result.message} The relative optimality residual is "
            f"{float(np.max(result.optimality)):.2e} against `tol` = {tol:g}. Try a larger "
            "`max_iter`, a looser `tol`, or another engine (engine='lbfgs' or 'gd').")
    return result


def _residual_scale(problem, init_scale):
    """The norm of the x-space gradient at the identical start, 1 where it is 0 or not
    finite; None for a batch and when the problem's oracle has its own measure."""
    own = getattr(problem._oracle, "optimality", None) is not None and len(problem.names) == 1
    if own or problem.batch:
        return None
    _, _, _, gx = problem.evaluate(problem.init(init_scale))
    norm = np.sqrt(sum(float(np.sum(np.square(gx[n]))) for n in problem.names))
    return norm if np.isfinite(norm) and norm > 0 else 1.0
