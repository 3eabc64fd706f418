r"""``mirror``: multiplicative steps for every beta-divergence.

The step ``x <- x * (N / P)**gamma`` with ``grad f = P - N`` split into non-negative
parts. To first order in ``N / P - 1`` it is the latent gradient step
``u <- u - eta * grad_u`` on ``x = u**2`` with the per-entry step ``eta = 1 / (4 P)``, and
with gamma = 1 it is the exponentiated-gradient (entropic mirror) step on
``log P - log N``.
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp

from .objective import EPS, NMFObjective, at_nonzeros, beta_divergence

__all__ = ["Multiplicative", "multiplicative_step", "mirror_step", "exponent"]


def exponent(beta):
    """The exponent gamma of the step for the divergence `beta`.

    Fevotte and Idier (2011): this exponent makes the step a majorization-minimization
    step, so the divergence never increases.
    """
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


def multiplicative_step(F, positive, negative, l1, l2, gamma=1.0, graph=None):
    """``F * (N / P)**gamma`` from the parts ``P`` (`positive`) and ``N`` (`negative`) of
    the gradient of the data term, with the penalties (and the graph term) added.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.solvers.nmf import multiplicative_step
    >>> multiplicative_step(np.array([[1.0, 2.0]]), np.array([[2.0, 1.0]]),
    ...                     np.array([[1.0, 1.0]]), l1=0.0, l2=0.0)
    array([[0.5, 2. ]])
    """
    # the terms that are zero are skipped: `positive` may be one row (the Kullback-
    # Leibler loss), and each term added to it would make a temporary of F's size
    if l1:
        positive = positive + l1
    if l2:
        positive = positive + l2 * F
    if graph is not None:
        weight, adjacency, degree = graph
        positive = positive + 2 * weight * degree[:, None] * F
        negative = negative + 2 * weight * (adjacency @ F)
    ratio = np.maximum(negative, 0.0)
    ratio /= np.maximum(positive, EPS)
    if gamma != 1:
        ratio **= gamma
    ratio *= F
    return ratio


def only_rows(new, old, rows):
    """`new` with the rows outside `rows` (None: all rows are in) as in `old`, bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.solvers.nmf.multiplicative import only_rows
    >>> only_rows(np.ones((3, 2)), np.zeros((3, 2)), np.array([1]))
    array([[0., 0.],
           [1., 1.],
           [0., 0.]])
    """
    if rows is None:
        return new
    kept = old.copy()
    kept[rows] = new[rows]
    return kept


def _gradient_parts(Xo, Mo, F, G, Yo, beta):
    """``(P, N)`` of the data term's gradient in F, in column orientation ``Xo ~ F G^T``."""
    if Yo is None and sp.issparse(Xo) and beta == 1:
        x, y, rows, cols = at_nonzeros(Xo, F, G)
        negative = np.asarray(sp.csr_matrix((x / y, (rows, cols)), shape=Xo.shape) @ G)
        positive = np.broadcast_to(G.sum(axis=0), F.shape)
        return positive, negative
    if Yo is None:
        return F @ (G.T @ G), np.asarray(Xo @ G)
    Yo = np.maximum(Yo, EPS)
    if beta == 1:
        negative, positive = Xo / Yo, np.ones_like(Yo)
    elif beta == 2:
        negative, positive = Xo, Yo
    else:
        negative, positive = Xo * Yo ** (beta - 2), Yo ** (beta - 1)
    if Mo is not None:
        negative, positive = negative * Mo, positive * Mo
    return positive @ G, negative @ G


def mirror_step(Xo, Mo, F, G, Yo, beta, l1, l2, graph=None):
    """One multiplicative step on F, in column orientation ``Xo ~ F G^T`` (the W block
    has ``Xo = X, G = H^T``; the H block ``Xo = X^T, G = W`` and F = H^T). ``Yo = F G^T``,
    or None without a mask for the Frobenius loss (Gram products) and for sparse Xo with
    the Kullback-Leibler loss."""
    positive, negative = _gradient_parts(Xo, Mo, F, G, Yo, beta)
    return multiplicative_step(F, positive, negative, l1, l2, exponent(beta), graph)


@dataclass(frozen=True)
class Multiplicative:
    """``mirror``: one multiplicative step on W, then one on H. Its state is the product
    ``W H`` where the step needs it (a mask, or a loss other than the Frobenius on dense
    data), else None.

    Parameters
    ----------
    objective : NMFObjective
        With non-negative factor sets.
    update_H : bool, default True
    free_H : ndarray of int, optional
        The rows of H that are updated (None: all; the others stay as they are).
    """

    objective: NMFObjective
    update_H: bool = True
    free_H: Optional[np.ndarray] = None

    @property
    def product_free(self):
        """Whether the steps and the objective need no product ``W H``."""
        problem = self.objective
        return problem.mask is None and (problem.beta == 2 or sp.issparse(problem.X))

    def prepare(self, W, H):
        return W, H

    def init_state(self, W, H):
        return None if self.product_free else W @ H

    def update(self, W, H, product):
        problem = self.objective
        X, M, beta = problem.X, problem.mask, problem.beta
        W = mirror_step(X, M, W, H.T, product, beta, problem.l1_W, problem.l2_W, problem.graph)
        if self.update_H:
            Yt = None if product is None else (W @ H).T
            new = mirror_step(X.T, None if M is None else M.T, H.T, W, Yt, beta, problem.l1_H,
                              problem.l2_H).T
            H = np.ascontiguousarray(only_rows(new, H, self.free_H))
        if product is None:
            return W, H, None, problem.value(W, H)
        product = W @ H
        return W, H, product, beta_divergence(X, product, beta, M) + problem.regularization(W, H)
