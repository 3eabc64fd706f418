"""The steps of an NMF fit after the routing: the starting factors, the alternating
engine in the shared loop, W for fixed H (the finish, and transform), and the one place
that stores the fitted attributes."""

import time
from typing import NamedTuple

import numpy as np
from sklearn.utils import check_random_state

from ...engines.alternating import AlternatingBlocks
from ...engines.run import run
from ...exceptions import (
    InfeasibleError,
    InvalidArgumentError,
    InvalidTypeError,
    NonFiniteError,
    ShapeError,
    warn_not_converged,
    warn_user,
)
from ...result import Status
from ...solvers.nmf import (
    BlockUpdates,
    exact_rows,
    feasible,
    initialize,
    make_solver,
    rowwise_mirror,
)
from .data import row_means, times_exp2

__all__ = ["BlockRun", "starting_factors", "check_factor", "check_factor_shape",
           "check_factor_dtypes", "warn_ignored_factors", "run_blocks", "at_returned_factors",
           "fit_blocks", "solve_rows", "in_data_units", "store_fit"]


class BlockRun(NamedTuple):
    """What the shared loop gives back: the flat iterate, the iterations, the objective
    and the clock at the start and after each iteration, and why it stopped."""

    u: np.ndarray
    n_iter: int
    history: list
    times: list
    status: Status


# --- the start ----------------------------------------------------------------------


def _shape_and_dtype(value):
    """The shape and dtype of an array-like (of a dask array, without computing it)."""
    if not hasattr(value, "dtype"):
        value = np.asarray(value)
    return tuple(value.shape), value.dtype


def check_factor_shape(value, name, shape):
    """Raise unless the starting factor `value` has `shape`."""
    got = _shape_and_dtype(value)[0]
    if got != shape:
        raise ShapeError(f"`{name}` must have shape {shape}; got shape {got}")


def check_factor_dtypes(W, H, dtype):
    """As scikit-learn's ``_check_w_h``: custom factors come in the dtype of the data."""
    W_dtype, H_dtype = _shape_and_dtype(W)[1], _shape_and_dtype(H)[1]
    if W_dtype != dtype or H_dtype != dtype:
        raise InvalidTypeError(
            f"`W` and `H` should have the same dtype as X ({np.dtype(dtype)}); got "
            f"W.dtype = {W_dtype} and H.dtype = {H_dtype} (pass them as .astype(X.dtype))")


def check_factor(value, name, shape, cmap, *, transposed=False):
    """A custom starting factor, checked as scikit-learn's ``_check_init`` does (shape,
    non-negativity, here membership of its set) and made float64. `transposed`: `cmap`
    acts on the transpose (H)."""
    arr = np.array(value, dtype=np.float64)
    check_factor_shape(arr, name, shape)
    if not np.all(np.isfinite(arr)):
        raise NonFiniteError(f"`{name}` must be finite; got NaN or inf")
    if not cmap.contains(arr.T if transposed else arr):
        raise InfeasibleError(f"`{name}` must lie in its constraint set ({cmap.target}); got "
                              f"an infeasible starting factor (e.g. negative entries)")
    if not np.any(arr):
        # W = 0 (or H = 0) is a stationary point of every solver: it would never move
        raise InvalidArgumentError(f"`{name}` must not be all zero (a stationary point the "
                                   "solvers cannot leave); give a non-zero starting factor")
    return arr


def warn_ignored_factors(plan, W, H):
    """Warn when factors were passed that the planned start does not use."""
    if plan.init != "custom" and (W is not None or H is not None):
        warn_user(f"`W` and `H` are ignored with init={plan.init!r}; use init='custom'")


def starting_factors(plan, objective, data, scale, *, n_components, factors, random_state,
                     fixed=None):
    """The starting factors of a rank-`n_components` fit in the units of `objective`
    (whose X is the scaled data): the custom `factors` ``(W, H)`` checked, or drawn by
    the planned init; the `fixed` rows of H (indices, or None) are those of the given H."""
    X, (W, H), k = objective.X, factors, n_components
    if fixed is not None:
        if H is None:
            raise InvalidArgumentError("`fixed_components` needs `H`, whose rows they keep; got H=None")
        H = check_factor(np.asarray(H), "H", (k, X.shape[1]), objective.H_map, transposed=True)
    if plan.init == "custom":
        check_factor_dtypes(W, H, data.dtype)
        W = check_factor(np.asarray(W), "W", (X.shape[0], k), objective.W_map)
        H = check_factor(np.asarray(H), "H", (k, X.shape[1]), objective.H_map, transposed=True)
        return times_exp2(W, -scale.W), times_exp2(H, -scale.H)
    warn_ignored_factors(plan, W, H if fixed is None else None)
    W0, H0 = _drawn_factors(plan, objective, data, scale, k, random_state)
    if fixed is not None:  # a power of 2 scales exactly: the fixed rows stay bit for bit
        H0[fixed] = times_exp2(H[fixed], -scale.H)
    return W0, H0


def _drawn_factors(plan, objective, data, scale, k, random_state):
    X = objective.X
    filled = X
    if data.observed is not None:  # SVD-based inits see column means where X is missing
        observed = data.observed
        means = (X * observed).sum(axis=0) / np.maximum(observed.sum(axis=0), 1)
        filled = np.where(observed > 0, X, means)
    W, H = initialize(filled, k, plan.init, check_random_state(random_state))
    # the inits put the square root of the scale 2**total of X on each factor: move it
    # to where the fit's units have it
    half = scale.total / 2
    W, H = times_exp2(W, half - scale.W), times_exp2(H, half - scale.H)
    return feasible(objective.W_map, W), np.ascontiguousarray(feasible(objective.H_map, H.T).T)


# --- the run ------------------------------------------------------------------------


def run_blocks(blocks, settings, began=None):
    """`blocks` (:class:`~reparamopt.solvers.nmf.BlockUpdates`, or any object with its
    methods and a ``start``) under :class:`~reparamopt.engines.AlternatingBlocks` in the
    shared loop, until its ``optimality(u)`` is at most ``settings.tol``
    (:func:`~reparamopt.solvers.nmf.stopping_measure`: scikit-learn's "cd" rule, the KKT
    violation relative to the first, for a solver that measures it, else its "mu" rule,
    the error's decrease over 10 iterations relative to its start);
    blocks without ``optimality`` (the Dask fit's) stop on the relative decrease of the
    objective over the last iteration. Warns when ``settings.max_iter`` ran out first.
    `began`: the ``time.perf_counter()`` the times count from (default: now)."""
    began = time.perf_counter() if began is None else began
    offset = time.perf_counter() - began

    def report(info):
        if info.nit % 10 == 0:
            print(f"NMF iteration {info.nit}: objective {info.fun:.6g}, "
                  f"{time.perf_counter() - began:.2f} s")

    progress = {"desc": "NMF"} if settings.progress is True else settings.progress
    optimality = getattr(blocks, "optimality", "decrease")
    res = run(AlternatingBlocks(), blocks, blocks.pack(blocks.start), optimality=optimality,
              tol=settings.tol, max_iter=settings.max_iter, history=True, progress=progress,
              callback=report if settings.verbose else None)
    status = Status(res.status)
    if status == Status.MAX_ITER and settings.tol > 0:
        warn_not_converged(f"Maximum number of iterations {res.nit} reached. Increase it "
                           "to improve convergence.")
    times = [offset + t for t in res.history["time"]]
    return BlockRun(u=res.u, n_iter=res.nit, history=res.history["fun"], times=times, status=status)


def at_returned_factors(outcome, value, began):
    """`outcome` (a :class:`BlockRun`) with its last entry the objective `value` of the
    factors returned, at the time now (seconds since `began`): after the W finish, and
    measured at the factors, not by a solver's running (expanded or updated) form."""
    history = list(outcome.history[:-1]) + [value]
    times = list(outcome.times[:-1]) + [time.perf_counter() - began]
    return outcome._replace(history=history, times=times)


def fit_blocks(objective, W0, H0, plan, settings, began=None, free_H=None):
    """The alternating fit of W and H by the planned solver: ``(W, H, BlockRun)``;
    `free_H`: the rows of H that are learnt (None: all)."""
    solver = make_solver(plan.solver, objective, inner_steps=settings.inner_steps, free_H=free_H)
    blocks = BlockUpdates(solver, W0, H0)
    outcome = run_blocks(blocks, settings, began)
    W, H = blocks.factors(outcome.u)
    return W, H, outcome


def solve_rows(objective, H, plan, settings, W0=None):
    """W for fixed H (transform; `W0`: the fit's W, to finish), by the planned rows:
    "exact" (every row by bounded least squares), "mirror" (multiplicative steps with a
    stopping rule per row), "block" (the solver on the whole W block, for a W set that
    ties the rows together)."""
    if plan.rows == "exact":
        W, failed = exact_rows(objective, H)
        if failed:
            warn_not_converged(f"The exact solve of {failed} row(s) of W reached its "
                               "iteration limit; those rows may not be optimal.")
        return W
    finishing = W0 is not None  # the fit has warned already if it ran out of iterations
    if W0 is None:  # a start from each row's own mean, so that no row depends on the others
        W0 = np.sqrt(np.maximum(row_means(objective.X, objective.mask), 0.0) / H.shape[0])
        W0 = feasible(objective.W_map, np.repeat(W0[:, None], H.shape[0], axis=1))
    if plan.rows == "mirror":
        W, unconverged = rowwise_mirror(objective, W0, H, settings.tol, settings.max_iter)
        if unconverged and settings.tol > 0 and not finishing:
            warn_not_converged(f"Maximum number of iterations {settings.max_iter} reached for "
                               f"{unconverged} row(s) of W. Increase `transform_max_iter` (default: "
                               "`max_iter`) to improve convergence.")
        return W
    solver = make_solver(plan.solver, objective, update_H=False, inner_steps=settings.inner_steps)
    blocks = BlockUpdates(solver, W0, H)
    return blocks.factors(run_blocks(blocks, settings).u)[0]


# --- the fitted attributes ----------------------------------------------------------


def in_data_units(H, scale, dtype, fixed=None, given=None):
    """The fit's H (in the units of `scale`) in the units of X and in `dtype`; the `fixed`
    rows are those of the `given` H, bit for bit (the scale, a power of 2 with a
    fractional exponent, could move them by a rounding)."""
    H = times_exp2(H, scale.H)
    if fixed is not None:
        H[fixed] = np.asarray(given, dtype=np.float64)[fixed]
    return H.astype(dtype, copy=False)


def store_fit(model, H, outcome, *, solver, data_loss, loss_exponent=0.0, scale_log2=None,
              finish_time=0.0):
    """Set the fitted attributes of `model` (the in-memory and the Dask fits' one place).

    `H` is the final H in the units of X; `outcome` the :class:`BlockRun`, whose
    history, like `data_loss`, is in units of ``2**loss_exponent`` (a fit of scaled
    data); the stored values are in the units of X. `scale_log2`: the total exponent of
    the fit's scale (None: a fit at the data's own scale), which transform reuses.
    `finish_time`: the seconds the W finish took (0 without one).
    """
    model.components_ = H
    model.n_components_ = H.shape[0]
    model.n_iter_ = outcome.n_iter
    with np.errstate(over="ignore"):  # a loss beyond the float range is stored as inf
        model.loss_history_ = np.asarray(outcome.history, dtype=float) * np.exp2(loss_exponent)
        # an expanded Frobenius loss can round to a tiny negative number at an exact fit
        error = np.sqrt(2 * max(float(data_loss), 0.0)) * np.exp2(loss_exponent / 2)
    model.time_history_ = np.asarray(outcome.times)
    model.solver_ = solver
    model.finish_time_ = float(finish_time)
    model.reconstruction_err_ = float(error)
    model._scale_log2 = scale_log2
