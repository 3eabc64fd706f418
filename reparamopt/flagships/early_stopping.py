"""Pieces behind :func:`reparamopt.sparse_recovery`: the data term and early stopping.

* :class:`LeastSquares`, the x-space oracle ``1/2 ||A x - b||^2`` for a dense, sparse or
  matrix-free ``A`` (closed form, no autograd), with row selection for validation splits;
* :func:`parse_early_stopping`, which turns the user's `early_stopping` argument into a
  :class:`Discrepancy` or :class:`Validation` rule; a rule is a ``checkpoint`` for
  :func:`reparamopt.engines.run`, called after every iteration.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from .._utils.validation import as_float_array, check_random_state, check_scalar, describe
from ..exceptions import InvalidArgumentError, InvalidTypeError, ShapeError

__all__ = ["check_data", "LeastSquares", "Discrepancy", "Validation", "parse_early_stopping", "select_rows"]


def check_data(A, b, *, allow_operator=True):
    """Validate ``(A, b)``: A dense, sparse (or a LinearOperator), non-empty, b of length m."""
    if not allow_operator and isinstance(A, LinearOperator):
        raise InvalidTypeError(
            "`A` must be a dense or sparse matrix here; got a LinearOperator "
            "(materialize it with `A @ np.eye(n)` if it is small)")
    A = as_float_array(A, "A", ndim=2, allow_sparse=True, allow_operator=allow_operator)
    if len(A.shape) != 2:
        raise ShapeError(f"`A` must have 2 dimensions; got shape {A.shape}")
    m, n = A.shape
    if m == 0 or n == 0:
        raise ShapeError(f"`A` must have at least one row and one column; got shape {A.shape}")
    b = as_float_array(b, "b", ndim=1)
    if b.shape != (m,):
        raise ShapeError(f"`b` must have shape ({m},) to match `A` of shape {A.shape}; got {b.shape}")
    return A, b


def select_rows(A, rows):
    """The rows `rows` of `A` (a matrix-free `A` is wrapped, never materialized)."""
    if isinstance(A, LinearOperator):
        m, n = A.shape

        def rmatvec(y):
            full = np.zeros(m)
            full[rows] = np.ravel(y)
            return A.rmatvec(full)

        return LinearOperator((rows.size, n), matvec=lambda x: A.matvec(np.ravel(x))[rows],
                              rmatvec=rmatvec, dtype=float)
    if sp.issparse(A):
        return sp.csr_array(A)[rows]
    return A[rows]


class LeastSquares:
    """``f(x) = 1/2 ||A x - b||^2`` with its gradient ``A^T (A x - b)``.

    Parameters
    ----------
    A : ndarray, sparse matrix or LinearOperator
        Validated float64 data; a LinearOperator is used through `matvec`/`rmatvec`.
    b : ndarray
        Right-hand side, shape ``(m,)``.
    """

    def __init__(self, A, b):
        if sp.issparse(A):
            A = sp.csr_array(A)
        self.A = A
        self.b = b
        self.nfev = 0
        self.atb_norm = float(np.linalg.norm(self.rmatvec(b)))

    def matvec(self, x):
        if isinstance(self.A, LinearOperator):
            return np.ravel(self.A.matvec(x))
        return self.A @ x

    def rmatvec(self, r):
        if isinstance(self.A, LinearOperator):
            return np.ravel(self.A.rmatvec(r))
        return self.A.T @ r

    def residual(self, x):
        return self.matvec(x) - self.b

    def value_and_grad(self, x):
        self.nfev += 1
        r = self.residual(x)
        return 0.5 * float(r @ r), self.rmatvec(r)


class Discrepancy:
    """Stop at the first iterate with ``||A x - b|| <= tau * noise_level``."""

    name = "discrepancy"

    def __init__(self, noise_level, tau=1.0):
        self.noise_level = check_scalar(noise_level, "early_stopping['noise_level']", lower=0)
        self.tau = check_scalar(tau, "early_stopping['tau']", lower=0, lower_inclusive=False)
        if not np.isfinite(self.noise_level * self.tau):
            raise InvalidArgumentError(
                f"`early_stopping` needs a finite noise level; got {noise_level!r}")
        self.triggered = False
        self.value = None

    def split(self, A, b):
        return A, b

    def checkpoint_for(self, problem):
        def checkpoint(u, k):
            # the engines evaluate the objective at their new iterate, so this is a cache hit
            fun = problem.value_and_grad(u)[0]
            self.value = float(np.sqrt(2.0 * max(fun, 0.0)))
            if self.value <= self.tau * self.noise_level:
                self.triggered = True
                return u, True
            return None
        return checkpoint

    def best(self, u):
        return u

    def describe(self):
        return (f"the residual norm {self.value:.3g} reached tau * noise_level = "
                f"{self.tau * self.noise_level:.3g} (discrepancy principle)")


class Validation:
    """Hold out a fraction of the rows; keep the iterate with the smallest validation
    error and stop after `patience` iterations without improvement."""

    name = "validation"

    def __init__(self, fraction=0.2, patience=200, random_state=0):
        self.fraction = check_scalar(fraction, "early_stopping['fraction']", lower=0, upper=1,
                                     lower_inclusive=False, upper_inclusive=False)
        self.patience = check_scalar(patience, "early_stopping['patience']", lower=1, integer=True)
        self.rng = check_random_state(random_state, "early_stopping['random_state']")
        self.triggered = False
        self.value = np.inf
        self._best_u = None
        self._best_k = 0

    def split(self, A, b):
        m = b.size
        n_val = int(round(self.fraction * m))
        if n_val < 1 or n_val > m - 1:
            raise InvalidArgumentError(
                f"`early_stopping['fraction']` = {self.fraction:g} leaves no validation or no "
                f"training row for m = {m} measurements")
        order = self.rng.permutation(m)
        self.val_rows, train_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
        self._val = LeastSquares(select_rows(A, self.val_rows), b[self.val_rows])
        return select_rows(A, train_rows), b[train_rows]

    def checkpoint_for(self, problem):
        def checkpoint(u, k):
            error = float(np.linalg.norm(self._val.residual(problem.to_feasible(u))))
            if error < self.value:
                self.value, self._best_u, self._best_k = error, np.array(u), k
            elif k - self._best_k >= self.patience:
                self.triggered = True
                return self._best_u, True
            return None
        return checkpoint

    def best(self, u):
        return u if self._best_u is None else self._best_u

    def describe(self):
        return (f"the validation residual {self.value:.3g} did not improve for "
                f"{self.patience} iterations (best iterate kept)")


_RULES = {"discrepancy": Discrepancy, "validation": Validation}


def parse_early_stopping(spec):
    """A rule from None, a noise level, "validation", or a dict with a "rule" key."""
    if spec is None:
        return None
    if isinstance(spec, numbers.Real) and not isinstance(spec, (bool, np.bool_)):
        return Discrepancy(spec)
    if isinstance(spec, str):
        if spec not in _RULES or spec == "discrepancy":
            raise InvalidArgumentError(
                f"`early_stopping` must be None, a noise level, 'validation' or a dict with "
                f"'rule' in {sorted(_RULES)}; got {spec!r}")
        return _RULES[spec]()
    if isinstance(spec, dict):
        options = dict(spec)
        rule = options.pop("rule", "discrepancy" if "noise_level" in options else None)
        if rule not in _RULES:
            raise InvalidArgumentError(
                f"`early_stopping['rule']` must be one of {sorted(_RULES)}; got {rule!r}")
        if rule == "discrepancy" and "noise_level" not in options:
            raise InvalidArgumentError(
                f"`early_stopping` with the discrepancy rule needs a 'noise_level'; got {spec!r}")
        try:
            return _RULES[rule](**options)
        except TypeError as exc:
            raise InvalidArgumentError(f"`early_stopping` has unknown keys for the rule "
                                       f"{rule!r}: {sorted(options)}") from exc
    raise InvalidTypeError(
        f"`early_stopping` must be None, a number, a string or a dict; got {describe(spec)}")


class SupportPolish:
    """Finish on the identified support: solve the least squares on it exactly.

    The entries outside the support (of the order of ``init_scale**power`` at the limit
    of the dynamics) are set to zero and the entries on it solved for. The point is
    accepted only if it meets the stopping tolerance, so a wrong guess costs one small
    least squares and never changes the trajectory.

    Parameters
    ----------
    problem : Problem
        The latent problem (one variable, a Hadamard power or difference map).
    data : LeastSquares
        The data term.
    optimality : callable
        ``optimality(u)``, the relative KKT residual of the run.
    tol : float
        The run's tolerance.
    nonnegative : bool
        Whether x must stay non-negative.
    start : float, default 1e-3
        Try only once the optimality measure is below this.
    """

    def __init__(self, problem, data, optimality, tol, nonnegative, start=1e-3):
        self.problem, self.data, self.optimality = problem, data, optimality
        self.tol, self.nonnegative, self.start = tol, nonnegative, start
        self.polished = False

    def _columns(self, idx):
        A = self.data.A
        if isinstance(A, LinearOperator):
            eye = np.zeros((A.shape[1], idx.size))
            eye[idx, np.arange(idx.size)] = 1.0
            return np.asarray(A.matmat(eye))
        if sp.issparse(A):
            return sp.csc_array(A)[:, idx].toarray()
        return A[:, idx]

    def __call__(self, u, k):
        if self.optimality(u) > self.start:
            return None
        x = np.asarray(self.problem.to_feasible(u), dtype=float)
        m = self.data.b.size
        threshold = 1e-3 * float(np.abs(x).max(initial=0.0))
        idx = np.flatnonzero(np.abs(x) > threshold)
        if idx.size == 0 or idx.size > m:
            return None
        z, _, rank, _ = np.linalg.lstsq(self._columns(idx), self.data.b, rcond=None)
        if rank < idx.size or not np.all(np.isfinite(z)) or (self.nonnegative and np.any(z < 0)):
            return None
        x_new = np.zeros_like(x)
        x_new[idx] = z
        u_new = self.problem.to_latent(x_new)
        if self.optimality(u_new) <= self.tol:
            self.polished = True
            return u_new, True
        return None
