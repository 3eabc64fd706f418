"""The result type and the status codes shared by every solver."""

from enum import IntEnum

__all__ = ["OptimizeResult", "Status", "STATUS_MESSAGES", "LimitReached"]


class Status(IntEnum):
    """Why a run ended: the ``status`` of every result (stored there as a plain int, with
    the values scipy users know: 1 and 2 are successes, 0 the iteration limit).

    Examples
    --------
    >>> from reparamopt.result import Status
    >>> Status(1).name, Status.MAX_ITER == 0, Status.STALLED.success
    ('CONVERGED', True, True)
    >>> Status.TIME_LIMIT.message
    'The time limit was reached.'
    """

    NON_FINITE = -1
    MAX_ITER = 0
    CONVERGED = 1
    STALLED = 2
    TIME_LIMIT = 3
    CALLBACK = 4

    @property
    def success(self):
        """Whether a stopping tolerance was met (CONVERGED or STALLED)."""
        return self in (Status.CONVERGED, Status.STALLED)

    @property
    def message(self):
        """The human-readable description of the status."""
        return STATUS_MESSAGES[self]


STATUS_MESSAGES = {
    Status.NON_FINITE: "Non-finite values met during the iteration.",
    Status.MAX_ITER: "The maximum number of iterations was reached.",
    Status.CONVERGED: "The optimality measure fell below `tol`.",
    Status.STALLED: "The relative change of the objective fell below `ftol`.",
    Status.TIME_LIMIT: "The time limit was reached.",
    Status.CALLBACK: "The callback asked to stop.",
}
"""The message of each status (keyed by :class:`Status`, which compares equal to its
integer value)."""


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
        A :class:`Status` value: 1 and 2 mean success, 0 the iteration limit, 3 the
        time limit, 4 a stop asked by the callback, -1 non-finite values.
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
