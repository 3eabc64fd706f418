"""Seeded data for the unit tests of :mod:`reparamopt.finish`: well-conditioned and
ill-conditioned matrices (prescribed condition number, nearly dependent columns,
columns scaled over many decades), and the finish's inputs built from them."""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from reparamopt.finish.least_squares import SupportLeastSquares
from reparamopt.models.linear import LinearModel

EPS = np.finfo(float).eps

# The forms of the data the finish handles: dense with its Gram matrix or by columns,
# sparse with a Gram matrix or by conjugate gradients, and matrix-free (products only,
# or with sparse columns, whose supports are factored sparse).
KINDS = ["dense-gram", "dense-columns", "sparse-gram", "sparse-cg", "operator",
         "operator-columns"]


class _WithColumns(LinearOperator):
    """A matrix-free operator that gives its columns as a sparse matrix (as
    :class:`~reparamopt.models.operators.Convolution` does): the finish factors the
    sparse normal equations of each support."""

    def __init__(self, A):
        self.matrix = np.asarray(A)
        super().__init__(dtype=np.float64, shape=self.matrix.shape)

    def _matmat(self, X):
        return self.matrix @ X

    def _rmatmat(self, Y):
        return self.matrix.T @ Y

    def columns(self, idx):
        return sp.csc_array(self.matrix[:, idx])


def orthonormal(rng, m, n):
    Q, _ = np.linalg.qr(rng.standard_normal((m, n)))
    return Q


def gaussian(rng, m, n):
    """Well conditioned (for m >= 2 n, cond(A) below about 6)."""
    return rng.standard_normal((m, n)) / np.sqrt(m)


def with_condition(rng, m, n, cond):
    """``U diag(s) V^T``, singular values log-spaced from 1 to ``1 / cond``."""
    r = min(m, n)
    s = np.logspace(0.0, -np.log10(cond), r)
    return (orthonormal(rng, m, r) * s) @ orthonormal(rng, n, r).T


def near_duplicates(rng, m, n, eps=1e-10):
    """Every other column a copy of its left neighbour perturbed by `eps`."""
    A = rng.random((m, n))
    A[:, 1::2] = A[:, 0:n - 1:2] + eps * rng.standard_normal((m, n // 2))
    return A


def scaled_columns(rng, m, n, decades=12):
    """A well-conditioned matrix with its columns scaled over `decades` decades."""
    return gaussian(rng, m, n) * np.logspace(-decades / 2, decades / 2, n)


def ill_conditioned(name, rng, m=60, n=30):
    return {"cond 1e8": lambda: with_condition(rng, m, n, 1e8),
            "cond 1e12": lambda: with_condition(rng, m, n, 1e12),
            "near duplicates": lambda: near_duplicates(rng, m, n),
            "scaled columns": lambda: scaled_columns(rng, m, n)}[name]()


ILL_CONDITIONED = ["cond 1e8", "cond 1e12", "near duplicates", "scaled columns"]


def planted(rng, A, k, noise=1e-2, density=0.4):
    """``k`` right-hand sides ``A x + noise``, with sparse non-negative ``x``."""
    n = A.shape[1]
    X = np.abs(rng.standard_normal((n, k))) * (rng.random((n, k)) < density)
    B = A @ X
    return B + noise * np.linalg.norm(B, axis=0) / np.sqrt(A.shape[0]) * rng.standard_normal(B.shape)


def as_kind(A, kind):
    if kind.startswith("sparse"):
        return sp.csr_array(A)
    if kind == "operator":
        return aslinearoperator(A)
    if kind == "operator-columns":
        return _WithColumns(A)
    return A


def model_of(A, B, kind):
    """The :class:`LinearModel` of ``(A, B)`` in the form `kind`."""
    return LinearModel(as_kind(A, kind), B, gram=kind.endswith("gram"))


def support_least_squares(A, B, kind="dense-gram", **kwargs):
    """The :class:`SupportLeastSquares` of ``(A, B)`` in the form `kind`, as the finish
    builds it."""
    model = model_of(A, B, kind)
    return SupportLeastSquares(model, B, model.atb, model.norms, gram=kind.endswith("gram"), **kwargs)
