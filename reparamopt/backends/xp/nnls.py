r"""NNLS on the device of the data: accelerated steps for every column at once, then an
exact finish by batched block principal pivoting, certified on the device.

.. math::

    \min_{x \ge 0} \tfrac12 \|A x - b\|_2^2

Three stages, each of a fixed shape (no per-column Python loop, so that a GPU runs them
as a few large kernels):

1. *Support identification.* Projected accelerated gradient (FISTA with gradient
   restart) on the Gram form ``G = A^T A``, ``C = A^T B``, with the step ``1 / lambda_max(G)``
   (an exact eigenvalue, not an estimate that could be too small). The reparametrized
   steps on ``u`` with one global step do not settle on a GPU-sized batch (their local
   curvature differs by orders of magnitude between columns); the projected steps
   reach the support in a few dozen iterations, and the finish makes it exact.
2. *Exact finish.* Block principal pivoting (Kim and Park, 2011) for all columns at
   once: each column's passive set ``F`` gives the normal equations
   ``G_FF x_F = C_F``, solved as one batched solve of masked Gram matrices (``G`` on
   ``F x F``, the identity elsewhere), one matrix per distinct passive set (columns
   that share a set share its solve); infeasible indices are exchanged in blocks, with
   Murty's single exchange as the backup rule that guarantees termination.
3. *Certificate.* ``g = A^T (A x - b)`` from ``A`` itself, the relative KKT residual
   ``||min(x, g)|| / ||A^T b||`` and the part of it above the rounding level of the
   working dtype, as :func:`reparamopt.finish.kkt.check` does in NumPy. In float32 that
   level is float32's (about 1e-7 relative): ``success`` then means optimal to float32's
   rounding, not to `tol`.
"""

import math
import time
from collections import namedtuple

import numpy as np

from ...exceptions import InfeasibleError, ShapeError, warn_not_converged
from ...finish.kkt import FLOOR_FACTOR
from ...flagships.nnls.settings import NNLSSettings
from ...result import OptimizeResult, Status
from .common import above_rounding, as_result_scalars, check_no_option, checked_arrays, device_of

__all__ = ["nnls", "pivoting", "projected_fista"]

# masked Gram matrices per batched solve: n * n * columns entries at most (1 GiB in float64)
BATCH_ENTRIES = 2 ** 27
# projected accelerated steps before the finish (the support of a well-posed column
# settles in a few dozen; the finish exchanges whatever is still wrong)
WARMUP_STEPS = 50
# rounds of block exchanges allowed before Murty's single exchanges take over
BLOCK_TRIES = 3

Scaled = namedtuple("Scaled", "xp A B G C a c")


def nnls(A, b, *, x0=None, **arguments):
    """:func:`reparamopt.nnls` for arrays of an array-API library (see
    :mod:`reparamopt.backends.xp`): the same arguments (the methods other than "auto",
    `callback`, `progress`, `history` and ``gram=False`` are refused), the result's
    arrays in the library and on the device of `A`, its scalars Python floats.

    Examples
    --------
    >>> import array_api_strict as xp
    >>> from reparamopt.backends.xp import nnls
    >>> A = xp.asarray([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=xp.float32)
    >>> res = nnls(A, xp.asarray([[1.0, 2.0], [-1.0, 1.0], [0.0, 3.0]], dtype=xp.float32))
    >>> res.x.dtype, res.success
    (array_api_strict.float32, True)
    >>> [[round(float(v), 5) for v in row] for row in (res.x[0, :], res.x[1, :])]
    [[0.5, 2.0], [0.0, 1.0]]
    """
    start = time.perf_counter()
    settings = NNLSSettings(**arguments)
    for name, default in (("method", "auto"), ("callback", None), ("progress", False),
                          ("history", False)):
        check_no_option(name, getattr(settings, name), default)
    if settings.gram is False:
        check_no_option("gram", False, None)
    data = checked_arrays({"A": A, "b": b, "x0": x0},
                          ndims={"A": (2,), "b": (1, 2), "x0": (1, 2)})
    xp, (A, b, x0) = data.xp, data.arrays.values()
    one = b.ndim == 1
    B = b[:, None] if one else b
    X0 = None if x0 is None else (x0[:, None] if x0.ndim == 1 else x0)
    _check_shapes(xp, A, B, X0)
    problem = _scaled(xp, A, B)
    X, nit, nsolves = _solve(problem, settings, X0 if X0 is None else X0 * (problem.a / problem.c),
                             data.eps())
    optimality, ok, rnorm = certificate(problem, X, settings.tol, data.eps())
    return _result(xp, X * (problem.c / problem.a), rnorm * problem.c, optimality, ok,
                   dict(nit=nit, nsolves=nsolves, one=one, start=start, tol=settings.tol))


def _check_shapes(xp, A, B, X0):
    m, n = A.shape
    if m == 0 or n == 0:
        raise ShapeError(f"`A` must have at least one row and one column; got shape {tuple(A.shape)}")
    if B.shape[0] != m:
        raise ShapeError(f"`b` must have {m} rows to match `A` of shape {tuple(A.shape)}; "
                         f"got shape {tuple(B.shape)}")
    if X0 is not None:
        if tuple(X0.shape) != (n, B.shape[1]):
            raise ShapeError(f"`x0` must have shape {(n, B.shape[1])}; got {tuple(X0.shape)}")
        low = float(xp.min(X0))
        if low < 0:
            raise InfeasibleError(f"`x0` must be non-negative; got an entry {low:.3g}")


def _scaled(xp, A, B):
    """The data divided by powers of two (exact) when their magnitude would bring
    ``A^T A`` near the ends of the dtype's range, and the Gram form."""
    info = xp.finfo(A.dtype)
    # fourth roots of the range: squares summed over many rows stay far inside it
    # (1e-77..1e77 in float64, 1e-10..1e9 in float32)
    safe = (float(info.smallest_normal) ** 0.25, float(info.max) ** 0.25)

    def power_of_two(M):
        top = float(xp.max(xp.abs(M)))
        if top == 0 or safe[0] <= top <= safe[1]:
            return 1.0
        return 2.0 ** round(math.log2(top))

    a, c = power_of_two(A), power_of_two(B)
    A, B = A / a, B / c
    return Scaled(xp, A, B, A.T @ A, A.T @ B, a, c)


def _solve(problem, settings, X0, eps):
    """The accelerated steps, the finish, and the best candidate per column; returns the
    point, the number of steps and the number of batched solves. When the finish does
    not terminate on every column (singular blocks of a rank-deficient ``A``), the steps
    go on up to `max_iter` and the finish is tried once more from their support."""
    xp, G, C = problem.xp, problem.G, problem.C
    L = float(xp.max(xp.linalg.eigvalsh(G)))
    if L == 0:  # A == 0: x = 0 is optimal
        return xp.zeros_like(C), 0, 0
    start = xp.zeros_like(C) if X0 is None else X0
    if not settings.polish:
        X, steps = _steps_until_certified(problem, L, start, settings.max_iter, settings.tol, eps)
        return best_candidate(problem, [X, start]), steps, 0
    steps = min(settings.max_iter, WARMUP_STEPS)
    X = projected_fista(xp, G, C, L, start, steps)
    limit = settings.options.get("max_solves", 3 * G.shape[0] + 50)
    exact, done, nsolves = pivoting(xp, G, C, X > 0, limit, eps)
    candidates = [exact, X, start]
    if not bool(xp.all(done)) and settings.max_iter > steps:
        X, more_steps = _steps_until_certified(problem, L, X, settings.max_iter - steps,
                                               settings.tol, eps)
        again, _, more = pivoting(xp, G, C, X > 0, limit, eps)
        candidates = [again, exact, X, start]
        steps, nsolves = steps + more_steps, nsolves + more
    return best_candidate(problem, candidates), steps, nsolves


def _steps_until_certified(problem, L, X, max_steps, tol, eps):
    """Projected accelerated steps in rounds of :data:`WARMUP_STEPS`, until every column
    passes the certificate or `max_steps` are taken; the point and the steps taken."""
    taken = 0
    while taken < max_steps:
        steps = min(WARMUP_STEPS, max_steps - taken)
        X, taken = projected_fista(problem.xp, problem.G, problem.C, L, X, steps), taken + steps
        if bool(problem.xp.all(certificate(problem, X, tol, eps)[1])):
            break
    return X, taken


def projected_fista(xp, G, C, L, X, steps):
    """`steps` projected accelerated gradient steps on ``1/2 x^T G x - C^T x`` over
    ``x >= 0`` for every column, step ``1 / L``, momentum restarted per column when it
    points uphill (O'Donoghue and Candes' gradient restart).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.backends.xp.nnls import projected_fista
    >>> G, C = np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([[2.0], [-1.0]])
    >>> projected_fista(np, G, C, 2.0, np.zeros((2, 1)), 30).ravel()
    array([1., 0.])
    """
    Y, t = X, xp.ones((1, C.shape[1]), dtype=C.dtype, device=device_of(C))
    for _ in range(steps):
        new = xp.maximum(Y - (G @ Y - C) / L, 0.0)
        uphill = xp.sum((Y - new) * (new - X), axis=0, keepdims=True) > 0
        t_next = (1.0 + xp.sqrt(1.0 + 4.0 * t * t)) / 2.0
        momentum = xp.where(uphill, 0.0, (t - 1.0) / t_next)
        Y = new + momentum * (new - X)
        t = xp.where(uphill, 1.0, t_next)
        X = new
    return X


def pivoting(xp, G, C, passive, max_solves, eps):
    """Block principal pivoting for ``min 1/2 x^T G x - C^T x`` over ``x >= 0``, every
    column at once, from the passive sets `passive` (bool, shape of `C`).

    Returns the point (exact zeros off the final passive sets), which columns
    terminated (no infeasible index left) and the number of batched solves.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.backends.xp.nnls import pivoting
    >>> G, C = np.array([[2.0, 1.0], [1.0, 2.0]]), np.array([[3.0, 1.0], [0.0, -1.0]])
    >>> X, done, nsolves = pivoting(np, G, C, np.zeros((2, 2), dtype=bool), 10, 2.2e-16)
    >>> (np.round(X, 12) + 0.0).tolist(), done.tolist(), nsolves
    ([[1.5, 0.5], [0.0, 0.0]], [True, True], 2)
    """
    n, k = C.shape
    where = device_of(C)
    rows = xp.reshape(xp.arange(n, device=where), (n, 1))
    best = xp.full((k,), n + 1, device=where)
    tries = xp.full((k,), BLOCK_TRIES, device=where)
    absG, absC = xp.abs(G), xp.abs(C)
    X, nsolves = masked_solve(xp, G, C, passive, eps), 1
    while True:
        Y = G @ X - C
        # a gradient entry within the rounding level of its computation is zero
        level = FLOOR_FACTOR * eps * (absG @ xp.abs(X) + absC)
        wrong = (passive & (X < 0)) | (~passive & (Y < -level))
        count = xp.sum(xp.astype(wrong, xp.int64), axis=0)
        if nsolves >= max_solves or not bool(xp.any(count > 0)):
            break
        improved = count < best
        block = improved | (tries >= 1)
        best = xp.where(improved, count, best)
        tries = xp.where(improved, BLOCK_TRIES, xp.where(tries >= 1, tries - 1, tries))
        last = xp.max(xp.where(wrong, rows, -1), axis=0)  # Murty: the largest wrong index
        single = wrong & (rows == last)
        passive = xp.logical_xor(passive, xp.where(block, wrong, single))
        X, nsolves = _resolve_columns(xp, G, C, passive, X, count > 0, eps), nsolves + 1
    return X, count == 0, nsolves


def _resolve_columns(xp, G, C, passive, X, changed, eps):
    """`X` with the columns `changed` solved again on their new passive sets (the
    others kept: most columns terminate after the first solve)."""
    index = xp.nonzero(changed)[0]
    size = int(index.shape[0])
    fresh = masked_solve(xp, G, xp.take(C, index, axis=1), xp.take(passive, index, axis=1), eps)
    # back in place through a running index (the standard has no scatter)
    position = xp.clip(xp.cumulative_sum(xp.astype(changed, xp.int64)) - 1, 0, size - 1)
    return xp.where(changed[None, :], xp.take(fresh, position, axis=1), X)


def masked_solve(xp, G, C, passive, eps):
    """The solutions of ``G_FF x_F = C_F`` (zero off ``F``) for the passive set ``F`` of
    each column, by batched solves of masked Gram matrices (``G`` on ``F x F``, the
    identity elsewhere). Columns that share a passive set share one matrix: each such
    group is solved once, with its columns as one right-hand side matrix (NMF's
    subproblems repeat a few supports over thousands of columns). A ridge at the
    dtype's rounding level keeps exactly singular blocks (dependent columns of ``A``)
    solvable.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.backends.xp.nnls import masked_solve
    >>> G = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> C = np.array([[3.0, 2.0, 4.0, 1.0], [3.0, 2.0, 1.0, 5.0]])
    >>> passive = np.array([[True, True, True, True], [True, True, False, False]])
    >>> np.round(masked_solve(np, G, C, passive, 2.2e-16), 12) + 0.0
    array([[1.        , 0.66666667, 2.        , 0.5       ],
           [1.        , 0.66666667, 0.        , 0.        ]])
    """
    ridge = eps * float(xp.max(xp.linalg.diagonal(G)))
    groups = _groups(xp, passive)
    if groups is None:  # (almost) every column has a passive set of its own
        masks = xp.permute_dims(xp.astype(passive, G.dtype), (1, 0))
        rhs = xp.permute_dims(C, (1, 0))[:, :, None]
        return xp.permute_dims(_stacked_solve(xp, G, masks, rhs, ridge)[:, :, 0], (1, 0))
    return _grouped_solve(xp, G, C, passive, groups, ridge)


Groups = namedtuple("Groups", "inverse order starts counts first")


def _groups(xp, passive):
    """The columns of `passive` grouped by equal passive sets, or None when there are
    more than half as many groups as columns (grouping would not pay). Columns are
    keyed by an exact integer hash of their set; a column whose set differs from its
    group's first column (a collision) becomes a group of its own, so every group's
    columns share one set exactly."""
    k = passive.shape[1]
    where = device_of(passive)
    keys = set_keys(xp, passive)
    for _ in range(2):
        inverse = xp.unique_inverse(keys)[1]
        order = xp.argsort(inverse, stable=True)
        counts = xp.unique_counts(inverse)[1]
        if 2 * int(counts.shape[0]) > k:
            return None
        starts = xp.cumulative_sum(counts) - counts
        first = xp.take(order, starts)
        same = xp.all(passive == xp.take(passive, xp.take(first, inverse), axis=1), axis=0)
        if bool(xp.all(same)):
            return Groups(inverse, order, starts, counts, first)
        columns = xp.arange(k, dtype=xp.int64, device=where)
        keys = xp.where(same, xp.astype(inverse, xp.int64), int(counts.shape[0]) + columns)
    raise AssertionError("the second keys are exact")  # pragma: no cover


def set_keys(xp, passive):
    """One int64 per column of `passive`, equal for equal passive sets: the sum of
    seeded random weights below 2**40 over the set (exact up to 8e6 unknowns; unequal
    sets rarely share a key, and :func:`_groups` checks)."""
    n = passive.shape[0]
    weights = np.random.default_rng(0).integers(1, 2 ** 40, size=n)
    weights = xp.reshape(xp.asarray(weights, dtype=xp.int64, device=device_of(passive)), (n, 1))
    return xp.sum(xp.where(passive, weights, xp.zeros_like(weights)), axis=0)


def _grouped_solve(xp, G, C, passive, groups, ridge):
    """:func:`masked_solve` for grouped columns: the groups in buckets of sizes
    ``(2**(j-1), 2**j]``, each bucket one stacked solve with ``2**j`` right-hand sides
    per group (zero-padded: at most twice the columns), the columns gathered back."""
    n, k = C.shape
    where = device_of(C)
    size = int(xp.max(groups.counts))
    bucket = xp.zeros_like(groups.counts)
    for j in range(max(size - 1, 0).bit_length()):
        bucket = bucket + xp.astype(groups.counts > 2 ** j, bucket.dtype)
    slot = xp.zeros_like(groups.counts)  # where each group's first column lands
    parts, offset = [], 0
    for j in range(int(xp.max(bucket)) + 1):
        inside = bucket == j
        members = xp.nonzero(inside)[0]
        if int(members.shape[0]) == 0:
            continue
        width = 2 ** j
        rank = xp.cumulative_sum(xp.astype(inside, slot.dtype)) - 1
        slot = xp.where(inside, offset + rank * width, slot)
        position = xp.reshape(xp.arange(width, device=where), (1, width))
        index = xp.reshape(xp.take(groups.starts, members), (-1, 1)) + position
        valid = position < xp.reshape(xp.take(groups.counts, members), (-1, 1))
        columns = xp.take(groups.order, xp.reshape(xp.where(valid, index, 0), (-1,)))
        rhs = xp.take(C, columns, axis=1) * xp.astype(xp.reshape(valid, (1, -1)), C.dtype)
        rhs = xp.permute_dims(xp.reshape(rhs, (n, -1, width)), (1, 0, 2))
        masks = xp.astype(xp.permute_dims(xp.take(passive, xp.take(groups.first, members), axis=1),
                                          (1, 0)), G.dtype)
        solved = _stacked_solve(xp, G, masks, rhs, ridge)  # (groups, n, width)
        parts.append(xp.reshape(xp.permute_dims(solved, (1, 0, 2)), (n, -1)))
        offset += int(members.shape[0]) * width
    # each column's place: its group's slot plus its rank within the group
    rank = xp.argsort(groups.order, stable=True) - xp.take(groups.starts, groups.inverse)
    solutions = parts[0] if len(parts) == 1 else xp.concat(parts, axis=1)
    return xp.take(solutions, xp.take(slot, groups.inverse) + rank, axis=1)


def _stacked_solve(xp, G, masks, rhs, ridge):
    """``M_i X_i = R_i`` for the masked Gram matrices ``M_i`` of the rows of `masks`
    (shape (b, n)) and right-hand sides `rhs` (shape (b, n, w), masked here), in batches
    that keep the stacked matrices under :data:`BATCH_ENTRIES` entries."""
    count, n, width = rhs.shape
    eye = xp.eye(n, dtype=G.dtype, device=device_of(G))
    step = max(1, BATCH_ENTRIES // (n * (n + width)))
    parts = []
    for s in range(0, count, step):
        e = min(s + step, count)  # the standard leaves out-of-bounds slices unspecified
        f = masks[s:e, :]
        M = G * (f[:, :, None] * f[:, None, :]) + eye * (1.0 - f + ridge * f)[:, None, :]
        parts.append(xp.linalg.solve(M, rhs[s:e, ...] * f[:, :, None]) * f[:, :, None])
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)


def best_candidate(problem, candidates):
    """Per column, the first of `candidates` (made non-negative and finite) unless a
    later one, or ``x = 0``, has a lower objective beyond rounding: the result is never
    worse than the accelerated steps, the start or zero."""
    xp, A, B = problem.xp, problem.A, problem.B
    eps = float(xp.finfo(B.dtype).eps)
    zero_value = 0.5 * xp.sum(B * B, axis=0)
    best = xp.zeros_like(candidates[0])
    best_value = zero_value
    for X in reversed(candidates):
        X = xp.where(xp.isfinite(X), xp.maximum(X, 0.0), 0.0)
        R = A @ X - B
        value = 0.5 * xp.sum(R * R, axis=0)
        # the earlier (more exact) candidate wins ties up to rounding
        better = value <= best_value + 64 * eps * (best_value + zero_value)
        best = xp.where(better, X, best)
        best_value = xp.where(better, value, best_value)
    return best


def certificate(problem, X, tol, eps):
    """The relative KKT residual of each column, whether it passes (below `tol`, or
    its part above the dtype's rounding level is) and the residual norms, all on the
    device of the data."""
    xp, A, B = problem.xp, problem.A, problem.B
    R = A @ X - B
    g = A.T @ R
    scale = xp.maximum(xp.linalg.vector_norm(problem.C, axis=0), float(xp.finfo(X.dtype).smallest_normal))
    natural = xp.minimum(X, g)
    optimality = xp.linalg.vector_norm(natural, axis=0) / scale
    excess = above_rounding(xp, A, B, X, natural, eps) / scale
    ok = (optimality <= tol) | (excess <= tol)
    return optimality, ok, xp.linalg.vector_norm(R, axis=0)


def _result(xp, X, rnorm, optimality, ok, info):
    """The OptimizeResult, with the ConvergenceWarning of an uncertified column."""
    one = info["one"]
    converged = bool(xp.all(ok))
    status = Status.CONVERGED if converged else Status.MAX_ITER
    message = status.message
    if not converged:
        worst = float(xp.max(optimality))
        message = (f"Not converged: the relative KKT residual is {worst:.2e}, above `tol` = "
                   f"{info['tol']:.1e} and above the rounding level, after {info['nit']} "
                   f"accelerated steps and {info['nsolves']} batched solves. Try a larger "
                   "options['max_solves'] or `max_iter`, float64 data, or the NumPy path "
                   "(its finish falls back to pivoted QR on ill-conditioned data).")
        warn_not_converged(message)
    rnorm = as_result_scalars(rnorm, one)
    return OptimizeResult(
        x=X[:, 0] if one else X, u=None, rnorm=rnorm, fun=0.5 * rnorm ** 2,
        optimality=as_result_scalars(optimality, one), nit=info["nit"],
        nfev=info["nit"] + info["nsolves"], status=int(status), success=status.success,
        message=message, method="auto", time=time.perf_counter() - info["start"], history=None)
