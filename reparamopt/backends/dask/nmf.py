r"""NMF on a row-chunked dask array: W stays with its rows, H is fitted from reductions.

With H fixed, the Frobenius objective separates over the rows of X, so every row chunk
``X_i`` updates its own block ``W_i`` (the same exact latent coordinate sweeps, or the
same multiplicative step, as in memory) on the worker that holds it. The H step needs
only ``W^T W`` (k x k), ``W^T X`` (k x n) and the column sums of W, summed over the
chunks in the same pass over X; H itself lives on the client and is shipped to every
chunk task. The objective comes from the same sums,
``||X - W H||^2 = ||X||^2 - 2 <W^T X, H> + <W^T W, H H^T>``, so X is read once per
iteration.

The fit shares the in-memory fit's settings, routing (start, solver, finish), checks of
custom factors, loop (:func:`reparamopt.flagships.nmf.fitting.run_blocks`: the
alternating engine in the shared run loop, its stopping rule and status) and stored
attributes; what is its own is the data's scan, the chunked start and the blocks.
"""

import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ...exceptions import InvalidArgumentError, NonFiniteError, ShapeError
from ...flagships.nmf.data import factor_map, factor_maps
from ...flagships.nmf.fitting import (
    at_returned_factors,
    check_factor,
    check_factor_dtypes,
    check_factor_shape,
    run_blocks,
    store_fit,
    warn_ignored_factors,
)
from ...flagships.nmf.routing import DataTraits, route
from ...flagships.nmf.settings import NMFSettings, Penalties
from ...solvers.nmf import column_projector, feasible, multiplicative_step, set_kind, sweep_budget, sweeps
from .cluster import STALL_TIMEOUT, Runner, check_timeouts
from .common import as_dask_array, compute, persist, scheduler_of

__all__ = ["fit_transform", "transform", "RowChunkBlocks"]

_EPS = np.finfo(float).eps
#: the solvers that update W chunk by chunk
DISTRIBUTED_SOLVERS = ("cd", "mirror")


# --- chunk tasks (run on the workers) ----------------------------------------------


@dataclass(frozen=True)
class ChunkStep:
    """What a row chunk's W update needs besides the arrays."""

    solver: str
    l1: float
    l2: float
    W_constraint: Any
    power: float
    max_sweeps: int


def _update_W(X, W, H, P, step):
    """The new W block of one row chunk, H fixed (``P = H H^T``)."""
    C = X @ H.T
    if step.solver == "mirror":
        return multiplicative_step(W, W @ P, C, step.l1, step.l2)
    cmap = factor_map(step.W_constraint, (X.shape[0], H.shape[0]), "W_constraint", step.power)
    Wt = np.ascontiguousarray(W.T)
    sweeps(Wt, P + step.l2 * np.eye(P.shape[0]), C.T - step.l1, column_projector(cmap), step.max_sweeps)
    return Wt.T


def _stats(W, X):
    """``[[W^T X, W^T W], [colsum(W), 0]]`` of one chunk, shape (1, k+1, n+k)."""
    k, n = W.shape[1], X.shape[1]
    out = np.zeros((1, k + 1, n + k))
    out[0, :k, :n] = W.T @ X
    out[0, :k, n:] = W.T @ W
    out[0, k, :k] = W.sum(axis=0)
    return out


def _transform_block(X, model):
    return model.transform(X)


# --- client side --------------------------------------------------------------------


class Sums(NamedTuple):
    """The reductions of one pass over X: ``W^T X``, ``W^T W`` and the column sums of W."""

    B: np.ndarray
    Q: np.ndarray
    colsum: np.ndarray


def _sums(W, X, scheduler):
    """W persisted, and the :class:`Sums` of (W, X), in one pass."""
    import dask.array as da

    k, n = W.shape[1], X.shape[1]
    blocks = da.blockwise(_stats, "ijk", W, "il", X, "ij", new_axes={"k": n + k},
                          adjust_chunks={"i": 1, "j": k + 1}, concatenate=True, dtype=float)
    W, packed = persist(W, blocks.sum(axis=0), scheduler=scheduler)
    (packed,) = compute(packed, scheduler=scheduler)
    return W, Sums(B=packed[:k, :n], Q=packed[:k, n:], colsum=packed[k, :k])


class SumsObjective(NamedTuple):
    """Loss and penalties from the reduced sums only."""

    sq_norm: float
    penalties: Penalties

    def data_loss(self, sums, H):
        B, Q = sums.B, sums.Q
        return 0.5 * max(self.sq_norm - 2 * float(np.vdot(B, H)) + float(np.vdot(Q, H @ H.T)), 0.0)

    def value(self, sums, H):
        p = self.penalties
        value = self.data_loss(sums, H)
        value += p.l1_W * sums.colsum.sum() + 0.5 * p.l2_W * np.trace(sums.Q)
        value += p.l1_H * H.sum() + 0.5 * p.l2_H * float(np.vdot(H, H))
        return float(value)


class RowChunkBlocks:
    """The Dask fit as blocks for :class:`reparamopt.engines.AlternatingBlocks` (run by
    :func:`~reparamopt.flagships.nmf.fitting.run_blocks`, as the in-memory fit is).

    The blocks are ``(W, H, sums)``: W a persisted dask array chunked by rows as X, H
    on the client, and the :class:`Sums` of the last pass over X. The loop carries H
    only (``pack``; W lives on the cluster), so ``blocks(u)`` finds the blocks whose H
    is `u` among the start and the last two updates.
    """

    def __init__(self, X, W, H, *, solver, settings, H_map, sq_norm, scheduler):
        m, n = X.shape
        k = H.shape[0]
        penalties = settings.penalties(m, n)
        self.X, self.solver, self.scheduler = X, solver, scheduler
        self.sum_objective = SumsObjective(sq_norm=sq_norm, penalties=penalties)
        self.step = ChunkStep(solver=solver, l1=penalties.l1_W, l2=penalties.l2_W,
                              W_constraint=settings.W_constraint, power=settings.power,
                              max_sweeps=sweep_budget(n, m, k, m * n))
        self.project_H = column_projector(H_map)
        self.sweeps_H = sweep_budget(m, n, k, m * n)
        W, sums = _sums(W, X, scheduler)
        self.start = (W, H, sums)
        self._recent = (self.start,)

    def pack(self, blocks):
        return np.ravel(blocks[1])

    def blocks(self, u):
        for blocks in reversed(self._recent):
            if np.array_equal(np.ravel(blocks[1]), u, equal_nan=True):
                return blocks
        raise KeyError("no recent blocks have this H")

    def objective(self, blocks):
        _, H, sums = blocks
        return self.sum_objective.value(sums, H)

    def update(self, blocks):
        import dask.array as da

        W, H, _ = blocks
        W = da.map_blocks(_update_W, self.X, W, chunks=W.chunks, H=H, P=H @ H.T, step=self.step,
                          dtype=float)
        W, sums = _sums(W, self.X, self.scheduler)
        p = self.sum_objective.penalties
        if self.solver == "mirror":
            H = multiplicative_step(H, sums.Q @ H, sums.B, p.l1_H, p.l2_H)
        else:
            H = np.array(H)
            sweeps(H, sums.Q + p.l2_H * np.eye(H.shape[0]), sums.B - p.l1_H, self.project_H,
                   self.sweeps_H)
        new = (W, H, sums)
        self._recent = (self._recent[-1], new)
        return new, self.sum_objective.value(sums, H)


class _Scan(NamedTuple):
    mean: float
    sq_norm: float
    high: float


def _scan(X, scheduler):
    """One pass: finiteness, minimum, mean, squared norm and maximum of X."""
    import dask.array as da

    finite, low, total, sq_norm, high = compute(da.isfinite(X).all(), X.min(), X.sum(),
                                                (X * X).sum(), X.max(), scheduler=scheduler)
    if not finite:
        raise NonFiniteError("`X` must be finite for dask input (missing entries as NaN "
                             "are supported in memory only); got NaN or inf")
    if low < 0:
        raise InvalidArgumentError(
            f"Negative values in data passed to NMF: `X` must be non-negative; got a minimum of {low:g}")
    return _Scan(mean=float(total) / (X.shape[0] * X.shape[1]), sq_norm=float(sq_norm), high=float(high))


# --- the start ----------------------------------------------------------------------


def _custom_start(X, factors, k, maps, dtype):
    """The custom factors, checked as in memory (W's values stay unread: a dask W is
    checked for its shape and dtype only)."""
    import dask.array as da

    m, n = X.shape
    W, H = factors
    check_factor_dtypes(W, H, dtype)
    H = check_factor(np.asarray(H), "H", (k, n), maps.H, transposed=True)
    check_factor_shape(W, "W", (m, k))
    return da.asarray(W).astype(float).rechunk((X.chunks[0], (k,))), H


def _drawn_start(init, X, k, scan, rng):
    """The starting factors of `init` ("random" or an NNDSVD init) for the dask X."""
    import dask.array as da

    m, n = X.shape
    row_chunks = (X.chunks[0], (k,))
    avg = np.sqrt(scan.mean / k)
    seed = int(rng.randint(np.iinfo(np.int32).max))
    if init == "random":
        H = avg * np.abs(rng.standard_normal((k, n)))
        W = avg * abs(da.random.default_rng(seed).standard_normal((m, k), chunks=row_chunks))
        return W, H
    W, H = _nndsvd(X, k, seed, row_chunks)
    if init == "nndsvda":
        # the in-memory fit's fill: the mean of X / max(X), scaled back on each factor
        fill = scan.mean / np.sqrt(scan.high) if scan.high > 0 else scan.mean
        W = da.where(W == 0, fill, W)
        H[H == 0] = fill
    elif init == "nndsvdar":
        noise = abs(da.random.default_rng(seed + 1).standard_normal((m, k), chunks=row_chunks))
        W = da.where(W == 0, avg * noise / 100, W)
        zeros = H == 0
        H[zeros] = abs(avg * rng.standard_normal(np.count_nonzero(zeros)) / 100)
    return W, H


def _nndsvd(X, k, seed, row_chunks, eps=1e-6):
    """NNDSVD from a randomized SVD of the dask array: W lazy, H on the client.

    Same rule as in memory: for every singular triplet keep the larger in norm of the
    positive and negative parts of the singular vectors.
    """
    import dask.array as da

    U, s, Vt = da.linalg.svd_compressed(X, k, n_power_iter=2, seed=seed)
    U = U.rechunk(row_chunks)
    Up, Un = da.maximum(U, 0), da.maximum(-U, 0)
    up_norm, un_norm, s, Vt = compute(da.linalg.norm(Up, axis=0), da.linalg.norm(Un, axis=0), s, Vt)
    Vp, Vn = np.maximum(Vt, 0), np.maximum(-Vt, 0)
    vp_norm, vn_norm = np.linalg.norm(Vp, axis=1), np.linalg.norm(Vn, axis=1)
    positive = up_norm * vp_norm >= un_norm * vn_norm
    positive[0] = True  # the leading pair has one sign; use its absolute value
    u_norm = np.where(positive, up_norm, un_norm)
    v_norm = np.where(positive, vp_norm, vn_norm)
    sigma = np.where(positive, up_norm * vp_norm, un_norm * vn_norm)
    sigma[0] = 1.0
    u_norm[0] = v_norm[0] = 1.0
    scale = np.sqrt(s * sigma)
    first = np.zeros(k, bool)
    first[0] = True
    W_parts = da.where(first, abs(U), da.where(positive, Up, Un))
    W = W_parts * (scale / np.maximum(u_norm, _EPS))
    H = np.where(first[:, None], np.abs(Vt), np.where(positive[:, None], Vp, Vn))
    H = H * (scale / np.maximum(v_norm, _EPS))[:, None]
    W = da.where(W < eps, 0.0, W)
    H[H < eps] = 0.0
    return W, H


# --- the fit ------------------------------------------------------------------------


def _plan(settings, model, shape, k, maps, factors):
    """The in-memory fit's plan for this data (no mask, no graph), and the restrictions
    of a row-chunked fit: the Frobenius loss, an entrywise W set, "cd" or "mirror"."""
    if settings.beta_loss != 2:
        raise InvalidArgumentError(
            f"dask input supports `beta_loss`='frobenius' only; got {model.beta_loss!r}")
    if settings.fixed_components is not None:
        raise InvalidArgumentError("dask input does not support `fixed_components`; got "
                                   f"{model.fixed_components!r} (fit an in-memory array)")
    if not set_kind(maps.W).entrywise:
        raise InvalidArgumentError(
            "dask input needs an entrywise `W_constraint` (such as 'nonnegative'): the rows "
            f"of W are updated chunk by chunk; got {model.W_constraint!r}")
    W, H = factors
    traits = DataTraits(shape=shape, n_components=k, masked=False, graph=False,
                        W_set=set_kind(maps.W), H_set=set_kind(maps.H),
                        W_given=W is not None, H_given=H is not None)
    plan = route(settings, traits)
    if plan.solver not in DISTRIBUTED_SOLVERS:
        raise InvalidArgumentError(
            f"dask input supports `solver` 'auto', 'cd' or 'mirror' (and 'auto' only where it "
            f"means one of them); got {model.solver!r}, which is {plan.solver!r} here")
    return plan


def fit_transform(model, X, W=None, H=None, client=None, timeout=None,
                  stall_timeout=STALL_TIMEOUT):
    """Fit `model` (a :class:`reparamopt.NMF`) to the dask array `X`; return W (dask)."""
    began = time.perf_counter()
    check_timeouts(timeout, stall_timeout)
    settings = NMFSettings.from_estimator(model)
    dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64  # as in memory
    X = as_dask_array(X, "X", ndim=2).rechunk({1: -1})
    m, n = X.shape
    k = settings.rank(n, W, H)
    maps = factor_maps(settings, (m, n), k)
    plan = _plan(settings, model, (m, n), k, maps, (W, H))
    scheduler, name = scheduler_of([X], client)
    scheduler = Runner(scheduler, timeout=timeout, stall_timeout=stall_timeout, inputs=[X])
    scan = _scan(X, scheduler)
    if plan.init == "custom":
        W, H = _custom_start(X, (W, H), k, maps, dtype)
    else:
        warn_ignored_factors(plan, W, H)
        W, H = _drawn_start(plan.init, X, k, scan, check_random_state(settings.random_state))
        H = feasible(maps.H, H.T).T
    blocks = RowChunkBlocks(X, W, H, solver=plan.solver, settings=settings, H_map=maps.H,
                            sq_norm=scan.sq_norm, scheduler=scheduler)
    outcome = run_blocks(blocks, settings, began)
    W, H, sums = blocks.blocks(outcome.u)
    objective = blocks.sum_objective
    store_fit(model, H, outcome, solver=plan.solver, data_loss=objective.data_loss(sums, H))
    model.n_features_in_ = n
    model.__dict__.pop("feature_names_in_", None)
    model.scheduler_ = name
    if plan.finish:
        # as the in-memory fit: W finished row by row against the final H (one more
        # pass over X), kept when it lowers the objective
        finished, sums = _sums(transform(model, X), X, scheduler)
        value = objective.value(sums, H)
        if value <= outcome.history[-1]:
            W = finished
            # the last entry of the history is the objective of the W returned
            store_fit(model, H, at_returned_factors(outcome, value, began), solver=plan.solver,
                      data_loss=objective.data_loss(sums, H))
    return W


def transform(model, X):
    """W for the dask array `X`, chunk by chunk, with the fitted components fixed."""
    check_is_fitted(model)
    X = as_dask_array(X, "X", ndim=2).rechunk({1: -1})
    if X.shape[1] != model.n_features_in_:
        raise ShapeError(f"`X` has {X.shape[1]} features, but NMF is expecting "
                         f"{model.n_features_in_} features as input")
    return X.map_blocks(_transform_block, model=model, chunks=(X.chunks[0], (model.n_components_,)),
                        dtype=float)
