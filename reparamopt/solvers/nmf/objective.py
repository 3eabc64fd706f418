r"""The objective of one NMF fit (:class:`NMFObjective`) and the beta-divergences."""

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

__all__ = ["NMFObjective", "beta_divergence", "beta_terms", "at_nonzeros", "products_at", "EPS"]

EPS = np.finfo(float).eps


@dataclass(frozen=True, eq=False)
class NMFObjective:
    r"""The data and penalties of one NMF fit, and its value.

    .. math::

        \min_{W \in C_W,\, H^\top \in C_H}\ D_\beta(M \odot X \,\|\, M \odot WH)
        + \ell_{1,W} \textstyle\sum W + \tfrac{\ell_{2,W}}{2} \|W\|_F^2
        + \ell_{1,H} \textstyle\sum H + \tfrac{\ell_{2,H}}{2} \|H\|_F^2
        + \lambda \operatorname{tr}(W^\top L W)

    with ``D_2 = 1/2 ||.||_F^2``; M is the mask of observed entries (None: all). X is
    sparse only without a mask and for the Frobenius (Gram-matrix paths) or the
    Kullback-Leibler loss (``W H`` formed only at the non-zeros of X). `W_map` and
    `H_map` are the maps of the factors' sets (`H_map` acts on ``H.T``).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.solvers.nmf import NMFObjective
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> f = NMFObjective(X=X, mask=None, beta=2.0, l1_W=0.0, l2_W=0.0, l1_H=1.0, l2_H=0.0,
    ...                  W_map=None, H_map=None)
    >>> W, H = np.ones((2, 1)), np.array([[2.0, 3.0]])
    >>> f.data_loss(W, H), f.value(W, H)  # 1/2 (1 + 1 + 1 + 1), plus sum(H)
    (2.0, 7.0)
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
    #: ``||X||_F^2`` (the constant of the expanded Frobenius loss)
    sq_norm: float = field(init=False, repr=False)
    #: the non-zero entries of X, stored or not: what the sweep plan prices, so that it,
    #: and with it the fit, is the same for sparse and dense X
    nnz: int = field(init=False, repr=False)
    #: ``(weight, adjacency, degree)`` of the graph term, None without one
    graph: Any = field(init=False, repr=False)

    def __post_init__(self):
        X = self.X
        sq_norm = float(X.multiply(X).sum()) if sp.issparse(X) else float(np.vdot(X, X))
        object.__setattr__(self, "sq_norm", sq_norm)
        nnz = X.count_nonzero() if sp.issparse(X) else np.count_nonzero(X)
        object.__setattr__(self, "nnz", int(nnz))
        graph = (self.graph_weight, self.adjacency, self.degree) if self.has_graph else None
        object.__setattr__(self, "graph", graph)

    @property
    def has_graph(self):
        """Whether the objective has a graph term (a graph and a positive weight)."""
        return self.adjacency is not None and self.graph_weight > 0

    def regularization(self, W, H):
        """The penalties and the graph term."""
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
            x, y, _, _ = at_nonzeros(self.X, W, H.T)
            return float(np.sum(x * np.log(x / y)) - x.sum() + W.sum(axis=0) @ H.sum(axis=1))
        return beta_divergence(self.X, W @ H, self.beta, self.mask)

    def value(self, W, H):
        """The objective: data loss plus penalties."""
        return self.data_loss(W, H) + self.regularization(W, H)


def beta_divergence(X, Y, beta, mask=None):
    """``D_beta(X || Y)`` summed over the observed entries; 1/2 ||X - Y||^2 for beta = 2."""
    if beta == 2:
        R = X - Y
        if mask is not None:
            R *= mask
        return 0.5 * float(np.vdot(R, R))
    return float(np.sum(beta_terms(X, Y, beta, mask)))


def beta_terms(X, Y, beta, mask=None):
    """The entries of ``D_beta(X || Y)`` (0 where `mask` is 0), dense X.

    Kullback-Leibler: ``x log(x / y) - x + y`` as ``x (d - log1p(d))`` with ``d = y / x - 1``,
    which does not cancel at an exact fit, and ``y`` itself where ``x = 0`` (0 log 0 = 0;
    no clip of y at eps there, which would add eps per zero of X)."""
    if beta == 2:
        terms = 0.5 * (X - Y) ** 2
    elif beta == 1:
        positive = X > 0
        x = np.where(positive, X, 1.0)
        d = np.maximum(Y, EPS) / x - 1.0
        terms = np.where(positive, x * (d - np.log1p(d)), Y)
    else:
        Y = np.maximum(Y, EPS)
        if beta == 0:
            ratio = np.maximum(X, EPS) / Y
            terms = ratio - np.log(ratio) - 1
        else:
            terms = (X**beta + (beta - 1) * Y**beta - beta * X * Y ** (beta - 1)) / (beta * (beta - 1))
    return terms if mask is None else mask * terms


def products_at(rows, cols, F, G):
    """The entries ``(F G^T)[rows, cols]``, a component at a time: two gathers from
    contiguous rows beat one gather of ``(len(rows), k)``, and no temporary is that
    large (for sparse data, ``nnz(X) k``).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.solvers.nmf.objective import products_at
    >>> F, G = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> products_at(np.array([0, 1]), np.array([1, 0]), F, G)  # (F G^T)[0, 1], [1, 0]
    array([2., 3.])
    """
    y = np.zeros(len(rows))
    for f, g in zip(np.ascontiguousarray(F.T), np.ascontiguousarray(G.T)):
        y += f[rows] * g[cols]
    return y


def at_nonzeros(Xo, F, G):
    """The positive entries of sparse Xo and the matching entries of ``F G^T`` (>= eps),
    with their coordinates."""
    coo = Xo.tocoo()
    keep = coo.data > 0
    rows, cols, x = coo.row[keep], coo.col[keep], coo.data[keep]
    return x, np.maximum(products_at(rows, cols, F, G), EPS), rows, cols
