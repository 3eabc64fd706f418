"""`solve`: run an engine on a Problem and return a feasible result."""

from .._utils.validation import check_random_state, describe
from ..declare.problem import Problem
from ..engines import get_engine, run
from ..exceptions import InvalidTypeError

__all__ = ["solve"]


def solve(problem, engine="accelerated", *, x0=None, init_scale=None, tol=1e-8, ftol=0.0,
          max_iter=1000, time_limit=None, callback=None, history=False, progress=False,
          random_state=None, **engine_settings):
    r"""Solve a constrained :class:`~reparamopt.declare.problem.Problem` through its latent form.

    .. math:: \min_u F(u) = f(\phi(u)), \qquad x^\star = \phi(u^\star)

    Parameters
    ----------
    problem : Problem
        The problem.
    engine : str or Engine, default "accelerated"
        "gd", "accelerated" (alias "nesterov"), "flow", "accelerated-flow", or an engine
        object. `engine_settings` replace its fields.
    x0 : array or dict, optional
        Feasible starting point; otherwise every map's identical initialization.
    init_scale : float, optional
        Scale of the identical initialization (each map's default when omitted); for
        Hadamard maps a small scale biases the result to sparse solutions.
    tol : float, default 1e-8
        Stop when the x-space optimality residual (see :meth:`Problem.optimality`) is
        ``<= tol``.
    ftol, max_iter, time_limit, callback, history, progress
        As in :func:`reparamopt.engines.run`. Reaching `max_iter` returns ``status=0``.
    random_state : int or Generator, optional
        Seed passed to the maps' initializations.

    Returns
    -------
    OptimizeResult
        With ``x`` feasible (a dict for several variables), ``u``, ``fun``,
        ``optimality``, ``nit``, ``nfev``, ``status``, ``success``, ``message``,
        ``history`` and ``t`` for flows.

    Examples
    --------
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
    engine = get_engine(engine, **engine_settings)
    rng = check_random_state(random_state)
    u0 = problem.to_latent(x0) if x0 is not None else problem.init(init_scale, rng)
    result = run(engine, problem, u0, tol=tol, ftol=ftol, max_iter=max_iter, time_limit=time_limit,
                 callback=callback, history=history, progress=progress)
    result["engine"] = type(engine).__name__
    return result
