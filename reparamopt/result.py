"""The result type shared by every solver."""

__all__ = ["OptimizeResult", "STATUS_MESSAGES"]

STATUS_MESSAGES = {
    -1: "Non-finite values met during the iteration.",
    0: "The maximum number of iterations was reached.",
    1: "The optimality measure fell below `tol`.",
    2: "The relative change of the objective fell below `ftol`.",
    3: "The time limit was reached.",
    4: "The callback asked to stop.",
}


class OptimizeResult(dict):
    """Result of a reparamopt solver: a dict with attribute access, like
    :class:`scipy.optimize.OptimizeResult` (the same fields, the same printout).

    Attributes
    ----------
    x : ndarray or dict
        The feasible solution (a dict of arrays for problems with several variables).
    u : ndarray
        The latent point, ``x = phi(u)``.
    fun : float
        Objective value at `x`.
    optimality : float
        First-order optimality measure in x-space (KKT residual).
    nit, nfev : int
        Iterations and objective/gradient evaluations.
    status : int
        One of :data:`STATUS_MESSAGES`: 1 and 2 mean success, 0 the iteration limit,
        3 the time limit, 4 a stop asked by the callback, -1 non-finite values.
    success : bool
        Whether a stopping tolerance was met.
    message : str
        Human-readable description of `status`.
    history : dict or None
        Per-iteration records (``fun``, ``optimality``, ``time``; ``t`` for flows)
        when asked for, else None.
    time : float
        Wall-clock seconds spent.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    __setattr__ = dict.__setitem__
    __delattr__ = dict.__delitem__

    def __dir__(self):
        return list(self.keys())

    def __repr__(self):
        # scipy's layout (aligned keys, arrays in short form); scipy.optimize is
        # imported only here, so that `import reparamopt` does not load it
        import scipy.optimize

        return scipy.optimize.OptimizeResult.__repr__(self)


class LimitReached(str):
    """An engine's failure message that is one of its limits (a flow's ``t_max``), not
    an error: the run loop ends with ``status=0`` and this message."""
