"""NNLS on dask arrays: Gram reductions, column-parallel right-hand sides, matrix-free
iterations.

Three ways to spread the work, all built from dask.array operations run by whatever
scheduler is active:

* ``gram``: one pass over a row-chunked ``A`` reduces ``A^T A``, ``A^T b`` and
  ``||b||^2`` (an n x n matrix and n-vectors are all that leave the workers). With
  ``R^T R = A^T A`` and ``R^T d = A^T b``,
  ``||A x - b||^2 = ||R x - d||^2 + ||b||^2 - ||d||^2`` for every x, so the in-memory
  :func:`reparamopt.nnls` on the square ``(R, d)`` solves the original problem.
* ``columns``: right-hand sides chunked by columns; every column chunk is an
  independent batched in-memory solve, run in parallel by ``blockwise``.
* ``matrix-free``: accelerated gradient steps on ``u`` with ``x = u * u``, where every
  product with ``A`` and ``A^T`` is a dask graph and the iterate is persisted on the
  workers; an exact working-set finish gathers only the columns of the support.
"""

import time

import numpy as np
import scipy.linalg as sla

from ...finish.kkt import kkt_residual
from ...finish.support import support_of
from ...result import OptimizeResult, Status
from .common import check_finite_scalar, compute, persist, shipped

__all__ = ["gram_reduction", "SquareRoot", "solve_gram", "solve_columns", "solve_matrix_free"]

_TINY = np.finfo(float).tiny


def _memory_nnls(A, b, options):
    from ...flagships.nnls import nnls

    return nnls(A, b, **options)


# ---------------------------------------------------------------------------
# gram: one pass of reductions, then a small square problem
# ---------------------------------------------------------------------------

def _packed_gram(a, b):
    """``[[A_i^T A_i, A_i^T B_i], [0, colsum(B_i^2)]]`` of one row chunk, shape (1, n+1, n+k)."""
    n, k = a.shape[1], b.shape[1]
    out = np.zeros((1, n + 1, n + k))
    out[0, :n, :n] = a.T @ a
    out[0, :n, n:] = a.T @ b
    out[0, n, n:] = np.einsum("ij,ij->j", b, b)
    return out


def gram_reduction(A, B, scheduler):
    """``(A^T A, A^T B, colsum(B^2))`` as numpy arrays, in one pass over the row chunks.

    `B` is a 2-D dask array (possibly with no column) aligned with `A`'s rows.
    """
    import dask.array as da

    A = A.rechunk({1: -1})
    B = B.rechunk({0: A.chunks[0], 1: -1})
    n, k = A.shape[1], B.shape[1]
    blocks = da.blockwise(_packed_gram, "ijk", A, "ij", B, "il", new_axes={"k": n + k},
                          adjust_chunks={"i": 1, "j": n + 1}, concatenate=True, dtype=float)
    (packed,) = compute(blocks.sum(axis=0), scheduler=scheduler)
    return packed[:n, :n], packed[:n, n:], packed[n, n:]


class SquareRoot:
    """A square root ``R`` of a Gram matrix, ``R^T R = G``, with ``d = R^{-T} c``.

    Cholesky when ``G`` is numerically positive definite, else the eigendecomposition
    restricted to the numerical range (``A^T b`` always lies in the range of ``A^T A``).
    """

    def __init__(self, G):
        self.n = G.shape[0]
        self.factor = None
        try:
            R = sla.cholesky(G, lower=False, check_finite=False)
            d = np.abs(np.diag(R))
            if d.size and d.min() > 1e-7 * d.max():
                self.R, self.factor = R, "cholesky"
        except np.linalg.LinAlgError:
            pass
        if self.factor is None:
            w, Q = np.linalg.eigh(G)
            keep = w > max(self.n, 1) * np.finfo(float).eps * max(w[-1] if w.size else 0.0, _TINY)
            self.scale = np.sqrt(w[keep])
            self.Q = Q[:, keep]
            self.R, self.factor = self.scale[:, None] * self.Q.T, "eigh"

    def rhs(self, C):
        """``d`` with ``R^T d = C`` (projected on the range of G)."""
        if self.factor == "cholesky":
            return sla.solve_triangular(self.R, C, trans="T", check_finite=False)
        return (self.Q.T @ C) / (self.scale[:, None] if C.ndim == 2 else self.scale)


def _with_offset(res, offset):
    """Add the part of ``1/2 ||b||^2`` outside the range of A to the reported objective."""
    fun = np.asarray(res["fun"], dtype=float) + 0.5 * np.maximum(offset, 0.0)
    res["fun"] = float(fun) if fun.ndim == 0 else fun
    if "rnorm" in res:
        rnorm = np.sqrt(2.0 * np.maximum(fun, 0.0))
        res["rnorm"] = float(rnorm) if rnorm.ndim == 0 else rnorm
    return res


def solve_gram(A, B, scheduler, options, one_rhs):
    """Tall (or narrow) ``A``: reductions on the workers, the square solve on the client."""
    G, C, bb = gram_reduction(A, B, scheduler)
    check_finite_scalar(G, "A")
    check_finite_scalar(C, "b")
    root = SquareRoot(G)
    D = root.rhs(C)
    offset = bb - np.sum(D * D, axis=0)
    rhs = D[:, 0] if one_rhs else D
    res = _memory_nnls(root.R, rhs, options)
    return _with_offset(res, offset[0] if one_rhs else offset)


# ---------------------------------------------------------------------------
# columns: independent column chunks solved in parallel
# ---------------------------------------------------------------------------

_ROWS = ("fun", "optimality", "nit", "status")


def _pack_result(res, k):
    rows = [np.broadcast_to(np.asarray(res[name], dtype=float), (k,)) for name in _ROWS]
    x = np.asarray(res["x"], dtype=float).reshape(-1, k)
    return np.vstack([x] + rows)


def _solve_chunk(B, A, options):
    return _pack_result(_memory_nnls(A, B, options), B.shape[1])


def _solve_gram_chunk(C, bb, G, options):
    root = SquareRoot(G)
    D = root.rhs(C)
    res = _with_offset(_memory_nnls(root.R, D, options), bb - np.sum(D * D, axis=0))
    return _pack_result(res, C.shape[1])


def solve_columns(A, B, scheduler, options):
    """Many right-hand sides chunked by columns: one in-memory batched solve per chunk.

    `A` is a numpy array (shipped once as a one-chunk dask array) or a dask array, then
    reduced to ``A^T A`` once and ``A^T B`` chunk by chunk.
    """
    import dask.array as da

    n = A.shape[1]
    extra = len(_ROWS)
    B = B.rechunk({0: -1}) if isinstance(A, np.ndarray) else B
    if isinstance(A, np.ndarray):
        A_d = da.from_array(A, chunks=A.shape)
        packed = da.blockwise(_solve_chunk, "ij", B, "ij", A_d, "kl", concatenate=True,
                              adjust_chunks={"i": n + extra}, dtype=float, options=options)
    else:
        G, _, _ = gram_reduction(A, B[:, :0], scheduler)
        check_finite_scalar(G, "A")
        C = A.rechunk({1: -1}).T @ B.rechunk({0: A.chunks[0]})
        bb = (B * B).sum(axis=0)
        G_d = da.from_array(G, chunks=G.shape)
        packed = da.blockwise(_solve_gram_chunk, "ij", C, "ij", bb, "j", G_d, "kl",
                              concatenate=True, adjust_chunks={"i": n + extra}, dtype=float,
                              options=options)
    (packed,) = compute(packed, scheduler=scheduler)
    x = packed[:n]
    fun, optimality, nit, status = packed[n:]
    status = status.astype(int)
    successes = (int(Status.CONVERGED), int(Status.STALLED))
    worst = int(status[np.argmin(np.isin(status, successes))]) if status.size else 1
    res = OptimizeResult(
        x=x, fun=fun, optimality=optimality, nit=int(nit.max(initial=0)), status=status,
        success=bool(np.all(np.isin(status, successes))),
        message=Status(worst).message if not Status(worst).success else
        "Every right-hand side met its stopping tolerance.",
        history=None)
    res["rnorm"] = np.sqrt(2.0 * np.maximum(fun, 0.0))
    return res


# ---------------------------------------------------------------------------
# matrix-free: persisted latent iterate, exact working-set finish
# ---------------------------------------------------------------------------

def _power_estimate(A, scheduler, iters=20):
    """``||A||_2^2`` by power iteration with persisted vectors (a 10% safety margin)."""
    import dask.array as da

    n = A.shape[1]
    v = da.random.default_rng(0).standard_normal(n, chunks=(A.chunks[1],))
    (v,) = persist(v / da.linalg.norm(v), scheduler=scheduler)
    lam = None
    for _ in range(iters):
        w = A.T @ persist(A @ v, scheduler=scheduler)[0]
        lam = da.linalg.norm(w)
        v, lam = persist(w / lam, lam, scheduler=scheduler)
    (lam,) = compute(lam, scheduler=scheduler)
    return 1.1 * float(lam) + _TINY


class _MatrixFree:
    """State shared by the iteration and the finish of one right-hand side."""

    def __init__(self, A, b, scheduler, options, tol, max_gather_bytes):

        self.A, self.b, self.scheduler = A, b, scheduler
        self.m, self.n = A.shape
        self.options, self.tol = options, tol
        self.max_columns = max(1, int(max_gather_bytes // (8 * self.m)))
        self.b_d = shipped(b, (A.chunks[0],), scheduler)
        (self.c,) = compute(A.T @ self.b_d, scheduler=scheduler)
        check_finite_scalar(self.c, "A")
        self.c_norm = float(np.linalg.norm(self.c))
        self.passes = 1

    def gradient(self, r):
        """``A^T r`` on the workers, returned to the client (an n-vector)."""

        self.passes += 1
        (g,) = compute(self.A.T @ shipped(r, (self.A.chunks[0],), self.scheduler),
                       scheduler=self.scheduler)
        return g

    def finish(self, F, max_rounds=50):
        """Exact NNLS by a working set grown from the indices `F`.

        Each round gathers the columns of the working set (m x |F|), solves that small
        NNLS exactly in memory, and checks the full gradient (one pass over A); indices
        whose gradient is negative enter, zeros leave. Returns ``(x, g, ok)``, or None
        when the working set outgrows ``max_gather_bytes``.
        """
        n = self.n
        thr = 0.1 * self.tol * self.c_norm / np.sqrt(n)
        for _ in range(max_rounds):
            if F.size > self.max_columns:
                return None
            x = np.zeros(n)
            if F.size:
                (A_F,) = compute(self.A[:, F], scheduler=self.scheduler)
                self.passes += 1
                x[F] = np.maximum(_memory_nnls(A_F, self.b, self.options)["x"], 0.0)
                r = A_F @ x[F] - self.b
            else:
                r = -self.b
            g = self.gradient(r)
            violators = np.flatnonzero((x == 0) & (g < -thr))
            kept = F[x[F] > 0]
            if violators.size == 0:
                return x, g, r, True
            room = max(1, self.m - kept.size)
            worst = violators[np.argsort(g[violators])[: min(max(10, kept.size), room)]]
            F = np.union1d(kept, worst)
        return x, g, r, False


def solve_matrix_free(A, b, scheduler, *, tol, max_iter, init_scale, check_every,
                      max_gather_bytes, options):
    """Accelerated latent iterations with dask products, finished exactly.

    The latent step is Nesterov's on ``F(u) = f(u * u)`` with the step
    ``1 / (4 L max(x) + 2 max|g|)``, a bound on the latent Hessian at the current point
    (``L >= ||A||^2``), and gradient restart; the step, the momentum and the restart
    test are dask scalars, so a whole iteration is queued without a round trip. Every
    `check_every` iterations the support of x seeds the exact working-set finish.
    """
    import dask.array as da

    start = time.perf_counter()
    state = _MatrixFree(A, b, scheduler, options, tol, max_gather_bytes)
    L = _power_estimate(A, scheduler)
    state.passes += 40
    n = state.n
    u = da.full(n, float(init_scale), chunks=(A.chunks[1],))
    (u,) = persist(u, scheduler=scheduler)
    u_prev, t, beta = u, da.asarray(1.0), da.asarray(0.0)
    outcome, nit = None, 0
    while outcome is None:
        steps = min(check_every, max_iter - nit)
        for _ in range(steps):
            y = u + beta * (u - u_prev)
            x = y * y
            (r,) = persist(A @ x - state.b_d, scheduler=scheduler)
            g = A.T @ r
            grad_u = 2.0 * y * g
            eta = 1.0 / (4.0 * L * x.max() + 2.0 * abs(g).max() + _TINY)
            u_new = y - eta * grad_u
            restart = (grad_u * (u_new - u)).sum() > 0
            t_new = da.where(restart, 1.0, 0.5 * (1.0 + da.sqrt(1.0 + 4.0 * t * t)))
            beta_new = da.where(restart, 0.0, (t - 1.0) / t_new)
            u_prev = u
            u, t, beta = persist(u_new, t_new, beta_new, scheduler=scheduler)
            state.passes += 2
        nit += steps
        (x,) = compute(u * u, scheduler=scheduler)
        check_finite_scalar(x, "the iterate (diverged)")
        outcome = state.finish(np.flatnonzero(support_of(x[:, None], room=state.m)[:, 0]))
        if outcome is not None and not outcome[3] and nit < max_iter:
            outcome = None
        if outcome is None and nit >= max_iter:
            outcome = (x, None, None, False)
    x, g, r, ok = outcome
    if g is None:
        r = compute(A @ shipped(x, (A.chunks[1],), scheduler), scheduler=scheduler)[0] - b
        g = state.gradient(r)
    optimality = float(kkt_residual(x, g, state.c_norm))
    status = Status.CONVERGED if ok or optimality <= tol else Status.MAX_ITER
    fun = 0.5 * float(r @ r)
    return OptimizeResult(
        x=x, u=np.sqrt(x), fun=fun, rnorm=float(np.sqrt(2 * fun)), optimality=optimality,
        nit=nit, nfev=state.passes, status=int(status), success=status.success,
        message=status.message, history=None, time=time.perf_counter() - start)
