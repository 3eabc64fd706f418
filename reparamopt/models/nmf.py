r"""Alternating solvers behind :class:`reparamopt.NMF`.

Every solver alternates between the blocks W and H and keeps each factor in the image
of its constraint map (``W = U**L``, ``H = V**L`` for the default non-negative maps), so
no iterate ever leaves the feasible set.

- ``cd``: exact latent block-coordinate minimization. With one component's latent
  column ``u_j`` free and everything else fixed, the Frobenius objective is a separable
  quadratic in ``x_j = u_j**L``; since the map is onto, the latent minimizers are the
  preimages of the projected x-space minimizer, available in closed form. Cheap
  repeated sweeps reuse the Gram matrices of a block (Gillis and Glineur's accelerated
  HALS rule), which is what makes it fast.
- ``mirror``: the multiplicative step ``x <- x * (N / P)**gamma`` with ``grad f = P - N``
  split into non-negative parts. To first order in ``N / P - 1`` it is the latent
  gradient step ``u <- u - eta * grad_u`` on ``x = u**2`` with the per-entry step
  ``eta = 1 / (4 P)``, and with gamma = 1 it is the exponentiated-gradient (entropic
  mirror) step on ``log P - log N``; it serves every beta-divergence.
- ``gd`` / ``nesterov``: plain or accelerated gradient steps on the latent factors
  through the maps' pullbacks (any registered constraint), a few per block.
"""

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

from ..engines import get_engine
from ..maps.sets import (
    BoxSet,
    LowerBoundSet,
    NonNegativeSet,
    RealSet,
    SimplexSet,
    SphereSet,
    UpperBoundSet,
)

__all__ = ["Problem", "SOLVERS", "BlockUpdates", "beta_divergence", "sweeps", "sweep_budget",
           "column_projector", "is_entrywise", "is_columnwise", "is_nonnegative", "is_cone",
           "exact_rows", "rowwise_mirror"]

SOLVERS = ("cd", "mirror", "gd", "nesterov")

_EPS = np.finfo(float).eps
_ENTRYWISE = (RealSet, NonNegativeSet, LowerBoundSet, UpperBoundSet, BoxSet)


def is_entrywise(cmap):
    """Whether the map's set constrains each entry on its own (projection = clipping)."""
    return isinstance(getattr(cmap, "target_set", None), _ENTRYWISE)


def is_columnwise(cmap):
    """Whether the set constrains each column (component) independently of the others."""
    target = getattr(cmap, "target_set", None)
    if isinstance(target, _ENTRYWISE):
        return True
    return isinstance(target, (SimplexSet, SphereSet)) and target.axis == 0


def is_nonnegative(cmap):
    return type(getattr(cmap, "target_set", None)) is NonNegativeSet


def is_cone(cmap):
    """Whether the set is a cone (``c * x`` stays inside for ``c > 0``), so that the factor
    can carry any scale: the non-negative orthant and the whole space."""
    return type(getattr(cmap, "target_set", None)) in (NonNegativeSet, RealSet)


def entry_bounds(cmap, shape):
    """The entrywise bounds ``(lower, upper)`` of an entrywise set, broadcast to `shape`."""
    target = cmap.target_set
    lower = 0.0 if isinstance(target, NonNegativeSet) else getattr(target, "lower", -np.inf)
    upper = getattr(target, "upper", np.inf)
    return np.broadcast_to(lower, shape), np.broadcast_to(upper, shape)


def column_projector(cmap):
    """``project(c, j)``: the nearest point to ``c`` in the set of column j."""
    target = cmap.target_set
    if isinstance(target, NonNegativeSet):
        return lambda c, j: np.maximum(c, 0.0)
    if isinstance(target, RealSet):
        return lambda c, j: c
    scratch = np.zeros(target.shape)

    def project(c, j):
        scratch[:, j] = c
        return target.project(scratch)[:, j]

    return project


@dataclass
class Problem:
    r"""The data of one NMF fit.

    .. math::

        \min_{W \in C_W,\, H^\top \in C_H}\ D_\beta(M \odot X \,\|\, M \odot WH)
        + \ell_{1,W} \textstyle\sum W + \tfrac{\ell_{2,W}}{2} \|W\|_F^2
        + \ell_{1,H} \textstyle\sum H + \tfrac{\ell_{2,H}}{2} \|H\|_F^2
        + \lambda \operatorname{tr}(W^\top L W)

    with ``D_2 = 1/2 ||.||_F^2``; M is the mask of observed entries (None: all). X is
    sparse only without a mask and for the Frobenius (Gram-matrix paths) or the
    Kullback-Leibler loss (``W H`` formed only at the non-zeros of X).
    """

    X: Any
    mask: Optional[np.ndarray]
    beta: float
    l1_W: float
    l2_W: float
    l1_H: float
    l2_H: float
    W_map: Any
    H_map: Any
    graph_weight: float = 0.0
    adjacency: Any = None
    degree: Optional[np.ndarray] = None

    def __post_init__(self):
        X = self.X
        self.sq_norm = float(X.multiply(X).sum()) if sp.issparse(X) else float(np.vdot(X, X))
        self.has_graph = self.adjacency is not None and self.graph_weight > 0
        self.graph = (self.graph_weight, self.adjacency, self.degree) if self.has_graph else None

    def regularization(self, W, H):
        value = 0.0
        for l1, l2, F in ((self.l1_W, self.l2_W, W), (self.l1_H, self.l2_H, H)):
            if l1:
                value += l1 * F.sum()
            if l2:
                value += 0.5 * l2 * np.sum(F * F)
        if self.has_graph:
            laplacian = np.vdot(self.degree[:, None] * W, W) - np.vdot(W, self.adjacency @ W)
            value += self.graph_weight * laplacian
        return float(value)

    def data_loss(self, W, H):
        """The divergence term alone (observed entries only)."""
        if sp.issparse(self.X) and self.beta == 2:
            cross = np.vdot(self.X @ H.T, W)
            return 0.5 * max(self.sq_norm - 2 * cross + np.vdot(W.T @ W, H @ H.T), 0.0)
        if sp.issparse(self.X):  # Kullback-Leibler: sum(WH) needs no product
            x, y, _, _ = _at_nonzeros(self.X, W, H.T)
            return float(np.sum(x * np.log(x / y)) - x.sum() + W.sum(axis=0) @ H.sum(axis=1))
        return beta_divergence(self.X, W @ H, self.beta, self.mask)

    def objective(self, W, H):
        return self.data_loss(W, H) + self.regularization(W, H)


def beta_divergence(X, Y, beta, mask=None):
    """``D_beta(X || Y)`` summed over the observed entries; 1/2 ||X - Y||^2 for beta = 2."""
    if beta == 2:
        R = X - Y
        if mask is not None:
            R *= mask
        return 0.5 * float(np.vdot(R, R))
    return float(np.sum(_beta_terms(X, Y, beta, mask)))


def _beta_terms(X, Y, beta, mask=None):
    """The entries of ``D_beta(X || Y)`` (0 where `mask` is 0), dense X."""
    if beta == 2:
        terms = 0.5 * (X - Y) ** 2
    else:
        Y = np.maximum(Y, _EPS)
        if beta == 1:
            positive = X > 0
            terms = np.where(positive, X * np.log(np.where(positive, X, 1.0) / Y), 0.0) - X + Y
        elif beta == 0:
            ratio = np.maximum(X, _EPS) / Y
            terms = ratio - np.log(ratio) - 1
        else:
            terms = (X**beta + (beta - 1) * Y**beta - beta * X * Y ** (beta - 1)) / (beta * (beta - 1))
    return terms if mask is None else mask * terms


def _at_nonzeros(Xo, F, G):
    """The positive entries of sparse Xo and the matching entries of ``F G^T`` (>= eps),
    with their coordinates."""
    coo = Xo.tocoo()
    keep = coo.data > 0
    rows, cols, x = coo.row[keep], coo.col[keep], coo.data[keep]
    y = np.maximum(np.einsum("ij,ij->i", F[rows], G[cols]), _EPS)
    return x, y, rows, cols


# --- cd: exact latent block-coordinate minimization --------------------------------


def sweeps(F, Q, B, project, max_sweeps, graph=None):
    """Minimize ``1/2 <Q F, F> - <B, F> (+ graph term)`` over the rows of F in place.

    Row j of F is component j. Each row step is exact; with a graph term the coupling
    ``-w^T A w`` (concave) is replaced by its tangent, a majorizer, so the step still
    decreases the objective. Sweeps repeat while they still move F by more than a tenth
    of the first sweep's move (in Frobenius norm).
    """
    first = None
    if graph is not None:
        weight, adjacency, degree = graph
        curvature_extra = 2 * weight * degree
    for _ in range(max_sweeps):
        moved = 0.0
        for j in range(F.shape[0]):
            q = Q[j, j]
            if q <= 0:
                continue  # a dead component: nothing to fit it to
            row = F[j]
            if graph is None:
                new = project(row + (B[j] - Q[j] @ F) / q, j)
            else:
                numerator = B[j] - Q[j] @ F + q * row + 2 * weight * (adjacency @ row)
                new = project(numerator / (q + curvature_extra), j)
            delta = new - row
            moved += delta @ delta
            F[j] = new
        if first is None:
            first = moved
        if moved <= 0.01 * first:
            break


def sweep_budget(rows, cols, k, nnz):
    """Most sweeps per block: about half the cost of forming the block's Gram products.

    A row step also pays a fixed interpreter overhead, counted as ~5e4 flops, so that
    small problems do not spend their time in Python loops; at least 3 sweeps, because
    near-exact block solves pay off on hard (ill-conditioned) problems, and the sweeps
    stop early once they barely move the block.
    """
    setup = nnz * k + rows * k * k
    sweep = k * (cols * k + 5e4)
    return int(np.clip(1 + 0.5 * setup / sweep, 3, 10))


def _cd_gram(problem, W, H, update_H):
    """One cd outer iteration on full data; returns W, H and the objective."""
    X = problem.X
    k = H.shape[0]
    m, n = X.shape
    nnz = X.nnz if sp.issparse(X) else m * n
    P = H @ H.T
    C = np.asarray(X @ H.T)
    Wt = np.ascontiguousarray(W.T)
    sweeps(Wt, P + problem.l2_W * np.eye(k), C.T - problem.l1_W,
            column_projector(problem.W_map), sweep_budget(n, m, k, nnz), problem.graph)
    W = Wt.T
    Q = W.T @ W
    if update_H:
        B = np.asarray((X.T @ W).T) if sp.issparse(X) else W.T @ X
        sweeps(H, Q + problem.l2_H * np.eye(k), B - problem.l1_H,
                column_projector(problem.H_map), sweep_budget(m, n, k, nnz))
        P = H @ H.T
        cross = np.vdot(B, H)
    else:
        cross = np.vdot(C, W)
    loss = 0.5 * max(problem.sq_norm - 2 * cross + np.vdot(Q, P), 0.0)
    return W, H, loss + problem.regularization(W, H)


def _masked_sweep(F, G, R, M, project, l1, l2, graph=None):
    """Exact weighted coordinate steps on the columns of F, in column orientation
    ``Xo ~ F G^T``; ``R = M * (Xo - F G^T)`` is kept up to date in place.

    The weights make each column's quadratic non-isotropic, so the projection is exact
    for entrywise sets only (the caller checks).
    """
    for j in range(F.shape[1]):
        g = G[:, j]
        curvature = M @ (g * g) + l2
        old = F[:, j].copy()
        numerator = (curvature - l2) * old + R @ g - l1
        if graph is not None:
            weight, adjacency, degree = graph
            numerator += 2 * weight * (adjacency @ old)
            curvature = curvature + 2 * weight * degree
        new = project(np.divide(numerator, curvature, out=np.zeros_like(old), where=curvature > 0), j)
        F[:, j] = new
        R -= M * np.outer(new - old, g)


def _cd_masked(problem, W, H, update_H, state):
    """cd with a mask: weighted exact coordinate steps on the residual."""
    X, M = problem.X, problem.mask
    R = state.get("residual")
    if R is None:
        R = M * (X - W @ H)
    W = np.array(W)
    _masked_sweep(W, H.T, R, M, column_projector(problem.W_map), problem.l1_W, problem.l2_W, problem.graph)
    if update_H:
        _masked_sweep(H.T, W, R.T, M.T, column_projector(problem.H_map), problem.l1_H, problem.l2_H)
    state["residual"] = R
    return W, H, 0.5 * float(np.vdot(R, R)) + problem.regularization(W, H)


# --- mirror: multiplicative steps for every beta ----------------------------------


def _exponent(beta):
    # Fevotte and Idier (2011): this exponent makes the step a majorization-minimization
    # step, so the divergence never increases.
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


def _mirror_step(Xo, Mo, F, G, Yo, beta, l1, l2, graph=None):
    """One multiplicative step on F, in column orientation ``Xo ~ F G^T`` (see
    :func:`_block_objective`). ``Yo = F G^T``, or None without a mask for the Frobenius
    loss (Gram products) and for sparse Xo with the Kullback-Leibler loss."""
    if Yo is None and sp.issparse(Xo) and beta == 1:
        x, y, rows, cols = _at_nonzeros(Xo, F, G)
        negative = np.asarray(sp.csr_matrix((x / y, (rows, cols)), shape=Xo.shape) @ G)
        positive = np.broadcast_to(G.sum(axis=0), F.shape)
    elif Yo is None:
        positive, negative = F @ (G.T @ G), np.asarray(Xo @ G)
    else:
        Yo = np.maximum(Yo, _EPS)
        if beta == 1:
            negative, positive = Xo / Yo, np.ones_like(Yo)
        elif beta == 2:
            negative, positive = Xo, Yo
        else:
            negative, positive = Xo * Yo ** (beta - 2), Yo ** (beta - 1)
        if Mo is not None:
            negative, positive = negative * Mo, positive * Mo
        positive, negative = positive @ G, negative @ G
    positive = positive + l1 + l2 * F
    if graph is not None:
        weight, adjacency, degree = graph
        positive = positive + 2 * weight * degree[:, None] * F
        negative = negative + 2 * weight * (adjacency @ F)
    ratio = np.maximum(negative, 0.0) / np.maximum(positive, _EPS)
    gamma = _exponent(beta)
    return F * (ratio if gamma == 1 else ratio**gamma)


def _mirror(problem, W, H, update_H, state):
    X, M, beta = problem.X, problem.mask, problem.beta
    product_free = M is None and (beta == 2 or sp.issparse(X))
    Y = None if product_free else state.get("product")
    if Y is None and not product_free:
        Y = W @ H
    W = _mirror_step(X, M, W, H.T, Y, beta, problem.l1_W, problem.l2_W, problem.graph)
    if update_H:
        Yt = None if product_free else (W @ H).T
        H = _mirror_step(X.T, None if M is None else M.T, H.T, W, Yt, beta, problem.l1_H, problem.l2_H).T
        H = np.ascontiguousarray(H)
    if product_free:
        return W, H, problem.objective(W, H)
    Y = W @ H
    state["product"] = Y
    return W, H, beta_divergence(X, Y, beta, M) + problem.regularization(W, H)


# --- gd / nesterov: latent gradient steps through the maps -------------------------


class _Block:
    """The latent problem of one block, flattened for the engines."""

    def __init__(self, cmap, shape, value_and_grad_x):
        self.cmap, self.shape, self._vg = cmap, shape, value_and_grad_x

    def value_and_grad(self, u):
        u = u.reshape(self.shape)
        xt = self.cmap.forward(u)
        value, grad_x = self._vg(xt)
        return value, np.ravel(self.cmap.pullback(u, grad_x))


def _block_objective(Xo, Mo, G, l1, l2, graph=None):
    """``value_and_grad(F)`` of one block in column orientation: ``Xo ~ F G^T``.

    The W block has ``Xo = X, G = H^T``; the H block ``Xo = X^T, G = W`` and F = H^T.
    Without a mask the value drops the constant ``||X||^2 / 2`` and uses Gram products
    formed once per block.
    """
    if Mo is None:
        P = G.T @ G
        C = np.asarray(Xo @ G)

    def value_and_grad(F):
        if Mo is None:
            FP = F @ P
            value, grad = 0.5 * np.vdot(FP, F) - np.vdot(C, F), FP - C
        else:
            R = Mo * (F @ G.T - Xo)
            value, grad = 0.5 * np.vdot(R, R), R @ G
        value += l1 * F.sum() + 0.5 * l2 * np.vdot(F, F)
        grad = grad + l1 + l2 * F
        if graph is not None:
            weight, adjacency, degree = graph
            LF = degree[:, None] * F - adjacency @ F
            value += weight * np.vdot(F, LF)
            grad = grad + 2 * weight * LF
        return float(value), grad

    return value_and_grad


def _latent(problem, W, H, update_H, state, engine, steps):
    X, M = problem.X, problem.mask
    objective = _block_objective(X, M, H.T, problem.l1_W, problem.l2_W, problem.graph)
    U = _inner(engine, _Block(problem.W_map, state["U"].shape, objective), state["U"], steps)
    W = problem.W_map.forward(U)
    state["U"] = U
    if update_H:
        objective = _block_objective(X.T, None if M is None else M.T, W, problem.l1_H, problem.l2_H)
        V = _inner(engine, _Block(problem.H_map, state["V"].shape, objective), state["V"], steps)
        H = np.ascontiguousarray(problem.H_map.forward(V).T)
        state["V"] = V
    return W, H, problem.objective(W, H)


def _inner(engine, block, u, steps):
    current = engine.init_state(block, np.ravel(u))
    for _ in range(steps):
        current = engine.step(block, current)
    return current.u.reshape(u.shape)


def _off_boundary(cmap, x):
    # A latent point mapped onto the boundary has a zero latent gradient there and
    # would never move: start a little inside the set instead.
    inside = cmap.project(np.full(x.shape, max(float(np.mean(x)), _EPS)))
    nudged = 0.99 * x + 0.01 * inside
    if is_nonnegative(cmap):
        # only the entries on the boundary (zeros) move: a start inside stays exact
        return np.where(x > 0, x, nudged)
    return nudged


# --- transform: every row of W on its own against fixed H -----------------------


def exact_rows(problem, H):
    r"""The exact W for fixed H, row by row (Frobenius loss, entrywise W set).

    Each row w of W solves its own bounded least-squares problem
    ``min 1/2 ||m * (x - w H)||^2 + l1 sum(w) + l2/2 ||w||^2`` over ``lower <= w <= upper``
    (m the row of the mask), a quadratic ``1/2 w^T Q w - b^T w`` with a k x k matrix Q.
    Written as ``1/2 ||R w - d||^2`` with ``Q = R^T R`` (eigenvalues below
    ``k eps`` of the largest dropped), it goes to Lawson and Hanson's method (non-negative
    rows) or bounded-variable least squares (other bounds), both exact up to rounding.
    A row's answer depends on that row only. Components that are zero on a row's observed
    entries get the bound nearest 0 there.

    Returns ``(W, failed)``: the rows and the number of rows whose solve hit its
    iteration limit (then left at the bounded least-squares point found so far).
    """
    import scipy.optimize

    X, M = problem.X, problem.mask
    n, k = X.shape[0], H.shape[0]
    lower, upper = entry_bounds(problem.W_map, (n, k))
    nonnegative = is_nonnegative(problem.W_map)
    ridge = problem.l2_W * np.eye(k)
    W = np.clip(0.0, lower, upper)
    if M is None:
        B = np.asarray(X @ H.T) - problem.l1_W
        shared = _whiten(H @ H.T + ridge)
    failed = 0
    for i in range(n):
        if M is None:
            live, R, to_d = shared
            b = B[i]
        else:
            live, R, to_d = _whiten((H * M[i]) @ H.T + ridge)
            b = H @ (M[i] * X[i]) - problem.l1_W
        if not live.any():
            continue
        d = to_d(b[live])
        lo, hi = lower[i, live], upper[i, live]
        if nonnegative:
            try:
                W[i, live] = scipy.optimize.nnls(R, d, maxiter=50 * k + 100)[0]
                continue
            except RuntimeError:
                pass
        res = scipy.optimize.lsq_linear(R, d, bounds=(lo, hi), method="bvls")
        W[i, live] = res.x
        failed += res.status < 1
    return W, failed


def _whiten(Q):
    """``(live, R, to_d)`` with ``Q[live][:, live] = R^T R`` and ``to_d(b) = d`` such that
    ``1/2 w^T Q w - b^T w = 1/2 ||R w - d||^2 + const`` on the live components (those
    with a positive diagonal entry)."""
    live = np.diag(Q) > 0
    values, vectors = np.linalg.eigh(Q[np.ix_(live, live)])
    keep = values > values.max(initial=0.0) * max(live.sum(), 1) * _EPS
    root = np.sqrt(values[keep])
    vectors = vectors[:, keep]
    R = root[:, None] * vectors.T
    return live, R, lambda b: (b @ vectors) / root


def _row_objectives(problem, W, H, rows):
    """The objective of each row of W (the W terms; H's are the same for every row)."""
    X, M, beta = problem.X[rows], None if problem.mask is None else problem.mask[rows], problem.beta
    if sp.issparse(X):  # Kullback-Leibler: sum(w H) needs no product
        x, y, at, _ = _at_nonzeros(X, W, H.T)
        data = np.bincount(at, weights=x * np.log(x / y) - x, minlength=W.shape[0]) + W @ H.sum(axis=1)
    else:
        data = _beta_terms(X, W @ H, beta, M).sum(axis=1)
    return data + problem.l1_W * W.sum(axis=1) + 0.5 * problem.l2_W * np.einsum("ij,ij->i", W, W)


def rowwise_mirror(problem, W, H, tol, max_iter):
    """Multiplicative (mirror) steps on W for fixed H, each row stopping on its own.

    A row stops once a step lowers its objective by less than `tol` times its value
    (the rule of the fit, applied per row), so its answer does not depend on the other
    rows. Returns ``(W, n_unconverged)``.
    """
    X, M = problem.X, problem.mask
    product_free = M is None and (problem.beta == 2 or sp.issparse(X))
    W = np.array(W, dtype=float)
    active = np.arange(W.shape[0])
    values = _row_objectives(problem, W, H, active)
    for _ in range(max_iter):
        if not active.size:
            break
        F = W[active]
        Y = None if product_free else F @ H
        F = _mirror_step(X[active], None if M is None else M[active], F, H.T, Y, problem.beta,
                         problem.l1_W, problem.l2_W)
        W[active] = F
        new = _row_objectives(problem, F, H, active)
        done = values[active] - new <= tol * np.maximum(np.abs(new), np.finfo(float).tiny)
        values[active] = new
        active = active[~done]
    return W, active.size


# --- the blocks, for the alternating engine -------------------------------------


class BlockUpdates:
    """The NMF fit as blocks for :class:`reparamopt.engines.AlternatingBlocks`.

    ``blocks(u)`` gives ``(W, H)``, ``update((W, H))`` one outer iteration of `solver`
    (W, then H unless `update_H` is False) with its objective value, ``pack`` the flat
    iterate the loop checks, ``to_feasible`` the factors back.

    Parameters
    ----------
    problem : Problem
        The data of the fit.
    W, H : ndarray
        The starting factors.
    solver : {"cd", "mirror", "gd", "nesterov"}
    update_H : bool, default True
        False keeps H fixed (``transform``).
    inner_steps : int, default 10
        Latent steps per block of "gd" and "nesterov".
    """

    def __init__(self, problem, W, H, solver, update_H=True, inner_steps=10):
        self.problem, self.update_H = problem, update_H
        W = np.array(W, dtype=float)
        H = np.array(H, dtype=float)
        self.shapes = (W.shape, H.shape)
        self.cache = {}
        if solver in ("gd", "nesterov"):
            engine = get_engine("gd", step_size="armijo") if solver == "gd" else get_engine("nesterov")
            W = _off_boundary(problem.W_map, W)
            self.cache["U"] = problem.W_map.inverse(W)
            if update_H:
                H = _off_boundary(problem.H_map, H.T).T
                self.cache["V"] = problem.H_map.inverse(H.T)

            def step(W, H):
                return _latent(problem, W, H, update_H, self.cache, engine, inner_steps)
        elif solver == "mirror":
            def step(W, H):
                return _mirror(problem, W, H, update_H, self.cache)
        elif problem.mask is not None:
            def step(W, H):
                return _cd_masked(problem, W, H, update_H, self.cache)
        else:
            def step(W, H):
                return _cd_gram(problem, W, H, update_H)
        self._step = step
        self.start = (W, H)

    def pack(self, blocks):
        W, H = blocks
        return np.concatenate([np.ravel(W), np.ravel(H)])

    def blocks(self, u):
        (wm, wn), _ = self.shapes
        return u[: wm * wn].reshape(self.shapes[0]), u[wm * wn:].reshape(self.shapes[1])

    def to_feasible(self, u):
        return self.blocks(u)

    def objective(self, blocks):
        return self.problem.objective(*blocks)

    def update(self, blocks):
        W, H, value = self._step(*blocks)
        return (W, H), value
