r"""NMF on a row-chunked dask array: W stays with its rows, H is fitted from reductions.

With H fixed, the Frobenius objective separates over the rows of X, so every row chunk
``X_i`` updates its own block ``W_i`` (the same exact latent coordinate sweeps, or the
same multiplicative step, as in memory) on the worker that holds it. The H step needs
only ``W^T W`` (k x k), ``W^T X`` (k x n) and the column sums of W, summed over the
chunks in the same pass over X; H itself lives on the client and is shipped to every
chunk task. The objective comes from the same sums,
``||X - W H||^2 = ||X||^2 - 2 <W^T X, H> + <W^T W, H H^T>``, so X is read once per
iteration.
"""

import time
import warnings

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..._utils.validation import describe
from ...exceptions import (
    InfeasibleError,
    InvalidArgumentError,
    NonFiniteError,
    ShapeError,
    warn_not_converged,
)
from ...flagships.nmf import factor_map, fit_rank, fit_settings, store_fit
from ...solvers import nmf as solvers
from .common import as_dask_array, compute, persist, scheduler_of

__all__ = ["fit_transform", "transform"]

_EPS = np.finfo(float).eps


# --- chunk tasks (run on the workers) ----------------------------------------------

def _update_W(X, W, H, P, l1, l2, solver, W_spec, power, sweeps):
    """The new W block of one row chunk, H fixed."""
    C = X @ H.T
    if solver == "mirror":
        return W * (np.maximum(C, 0.0) / np.maximum(W @ P + l1 + l2 * W, _EPS))
    cmap = _chunk_map(W_spec, (X.shape[0], H.shape[0]), power)
    Wt = np.ascontiguousarray(W.T)
    solvers.sweeps(Wt, P + l2 * np.eye(P.shape[0]), C.T - l1, solvers.column_projector(cmap), sweeps)
    return Wt.T


def _chunk_map(spec, shape, power):
    from ...maps.registry import resolve

    base = resolve(spec, shape)
    if isinstance(spec, str) and any(hasattr(m, "power") for m in getattr(base, "maps", ())):
        return resolve(spec, shape, power=power)
    return base


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

def _sums(W, X, scheduler, also=()):
    """Persist `also` (e.g. the new W) and reduce the statistics of (W, X) in one pass."""
    import dask.array as da

    k, n = W.shape[1], X.shape[1]
    blocks = da.blockwise(_stats, "ijk", W, "il", X, "ij", new_axes={"k": n + k},
                          adjust_chunks={"i": 1, "j": k + 1}, concatenate=True, dtype=float)
    *kept, packed = persist(*also, blocks.sum(axis=0), scheduler=scheduler)
    (packed,) = compute(packed, scheduler=scheduler)
    B, Q, colsum = packed[:k, :n], packed[:k, n:], packed[k, :k]
    return kept, B, Q, colsum


class _Objective:
    """Loss and penalties from the reduced sums only."""

    def __init__(self, sq_norm, l1_W, l2_W, l1_H, l2_H):
        self.sq_norm, self.l1_W, self.l2_W, self.l1_H, self.l2_H = sq_norm, l1_W, l2_W, l1_H, l2_H

    def data_loss(self, B, Q, H):
        return 0.5 * max(self.sq_norm - 2 * float(np.vdot(B, H)) + float(np.vdot(Q, H @ H.T)), 0.0)

    def __call__(self, B, Q, colsum, H):
        value = self.data_loss(B, Q, H)
        value += self.l1_W * colsum.sum() + 0.5 * self.l2_W * np.trace(Q)
        value += self.l1_H * H.sum() + 0.5 * self.l2_H * float(np.vdot(H, H))
        return float(value)


def _check(model, X):
    X = as_dask_array(X, "X", ndim=2).rechunk({1: -1})
    settings = fit_settings(model)
    if settings["beta"] != 2:
        raise InvalidArgumentError(
            f"dask input supports `beta_loss`='frobenius' only; got {model.beta_loss!r}")
    solver = "cd" if settings["solver"] == "auto" else settings["solver"]
    if solver not in ("cd", "mirror"):
        raise InvalidArgumentError(
            f"dask input supports `solver` 'auto', 'cd' or 'mirror'; got {settings['solver']!r}")
    return X, settings, solver


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
    return float(total) / (X.shape[0] * X.shape[1]), float(sq_norm), float(high)


def _start(model, X, W, H, k, mean, W_map, H_map, rng, high=1.0):
    import dask.array as da

    m, n = X.shape
    row_chunks = (X.chunks[0], (k,))
    init = model.init
    if init is None:
        init = "custom" if W is not None and H is not None else ("nndsvda" if k <= min(m, n) else "random")
    if init == "custom":
        if W is None or H is None:
            raise InvalidArgumentError("`init`='custom' needs both `W` and `H`")
        H = np.array(H, dtype=float)
        if H.shape != (k, n):
            raise ShapeError(f"`H` must have shape {(k, n)}; got {describe(H)}")
        W = da.asarray(W).astype(float).rechunk(row_chunks)
        if W.shape != (m, k):
            raise ShapeError(f"`W` must have shape {(m, k)}; got shape {W.shape}")
        if not H_map.contains(H.T):
            raise InfeasibleError(f"`H` must lie in its constraint set ({H_map.target}); got "
                                  "an infeasible starting factor (e.g. negative entries)")
        return W, H
    if W is not None or H is not None:
        warnings.warn(f"`W` and `H` are ignored with init={init!r}; use init='custom'",
                      UserWarning, stacklevel=4)
    avg = np.sqrt(mean / k)
    seed = int(rng.randint(np.iinfo(np.int32).max))
    if init == "random":
        H = avg * np.abs(rng.standard_normal((k, n)))
        W = avg * abs(da.random.default_rng(seed).standard_normal((m, k), chunks=row_chunks))
    else:
        if k > min(m, n):
            raise InvalidArgumentError(
                f"`init`={init!r} needs `n_components` <= min(n_samples, n_features) = "
                f"{min(m, n)}; got {k} (use init='random')")
        W, H = _nndsvd(X, k, seed, row_chunks)
        if init == "nndsvda":
            # the in-memory fit's fill: the mean of X / max(X), scaled back on each factor
            fill = mean / np.sqrt(high) if high > 0 else mean
            W = da.where(W == 0, fill, W)
            H[H == 0] = fill
        elif init == "nndsvdar":
            noise = abs(da.random.default_rng(seed + 1).standard_normal((m, k), chunks=row_chunks))
            W = da.where(W == 0, avg * noise / 100, W)
            zeros = H == 0
            H[zeros] = abs(avg * rng.standard_normal(np.count_nonzero(zeros)) / 100)
    H = H if H_map.contains(H.T) else H_map.project(H.T).T
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


def fit_transform(model, X, W=None, H=None, client=None):
    """Fit `model` (a :class:`reparamopt.NMF`) to the dask array `X`; return W (dask)."""
    import dask.array as da

    start = time.perf_counter()
    X, settings, solver = _check(model, X)
    m, n = X.shape
    k = fit_rank(model, X, W, H)
    power = settings["power"]
    W_map = factor_map(model.W_constraint, (m, k), "W_constraint", power)
    H_map = factor_map(model.H_constraint, (n, k), "H_constraint", power)
    if not solvers.is_entrywise(W_map):
        raise InvalidArgumentError(
            "dask input needs an entrywise `W_constraint` (such as 'nonnegative'): the rows "
            f"of W are updated chunk by chunk; got {model.W_constraint!r}")
    if solver == "cd" and not solvers.is_columnwise(H_map):
        raise InvalidArgumentError(f"`solver`='cd' cannot handle `H_constraint`={model.H_constraint!r}")
    if solver == "mirror" and not (solvers.is_nonnegative(W_map) and solvers.is_nonnegative(H_map)):
        raise InvalidArgumentError("`solver`='mirror' needs 'nonnegative' W and H constraints")
    scheduler, name = scheduler_of([X], client)
    mean, sq_norm, high = _scan(X, scheduler)
    l1, l2 = settings["l1_ratio"], 1.0 - settings["l1_ratio"]
    l1_W, l2_W = settings["alpha_W"] * l1 * n, settings["alpha_W"] * l2 * n
    l1_H, l2_H = settings["alpha_H"] * l1 * m, settings["alpha_H"] * l2 * m
    objective = _Objective(sq_norm, l1_W, l2_W, l1_H, l2_H)
    W, H = _start(model, X, W, H, k, mean, W_map, H_map, check_random_state(model.random_state),
                  high)
    (W,), B, Q, colsum = _sums(W, X, scheduler, also=(W,))
    history = [objective(B, Q, colsum, H)]
    times = [time.perf_counter() - start]
    project_H = solvers.column_projector(H_map)
    sweeps_W = solvers.sweep_budget(n, m, k, m * n)
    sweeps_H = solvers.sweep_budget(m, n, k, m * n)
    max_iter, tol = settings["max_iter"], settings["tol"]
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        W_new = da.map_blocks(_update_W, X, W, chunks=W.chunks, H=H, P=H @ H.T, l1=l1_W, l2=l2_W,
                              solver=solver,
                             W_spec=model.W_constraint, power=power, sweeps=sweeps_W, dtype=float)
        (W,), B, Q, colsum = _sums(W_new, X, scheduler, also=(W_new,))
        if solver == "mirror":
            H = H * (np.maximum(B, 0.0) / np.maximum(Q @ H + l1_H + l2_H * H, _EPS))
        else:
            H = np.array(H)
            solvers.sweeps(H, Q + l2_H * np.eye(k), B - l1_H, project_H, sweeps_H)
        value = objective(B, Q, colsum, H)
        history.append(value)
        times.append(time.perf_counter() - start)
        if model.verbose and n_iter % 10 == 0:
            print(f"NMF iteration {n_iter}: objective {value:.6g}, {times[-1]:.2f} s")
        if not np.isfinite(value) or history[-2] - value <= tol * abs(value):
            break
    if n_iter == max_iter and tol > 0 and history[-2] - history[-1] > tol * abs(history[-1]):
        warn_not_converged(f"Maximum number of iterations {n_iter} reached. Increase it to "
                           "improve convergence.")
    store_fit(model, H, n_iter, history, times, solver, objective.data_loss(B, Q, H))
    model.n_features_in_ = n
    model.__dict__.pop("feature_names_in_", None)
    model.scheduler_ = name
    # as the in-memory fit: W finished row by row against the final H (one more pass
    # over X), kept when it lowers the objective
    finished = transform(model, X)
    (finished,), B2, Q2, colsum2 = _sums(finished, X, scheduler, also=(finished,))
    if objective(B2, Q2, colsum2, H) <= history[-1]:
        W = finished
        store_fit(model, H, n_iter, history, times, solver, objective.data_loss(B2, Q2, H))
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
