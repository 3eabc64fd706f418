"""Starting factors for NMF: random scaled, NNDSVD and its two zero-filling variants.

NNDSVD (Boutsidis and Gallopoulos, "SVD based initialization: A head start for
nonnegative matrix factorization", Pattern Recognition 41, 2008) keeps, for every
singular triplet, the larger in norm of the positive and negative parts of the
singular vectors.
"""

import numpy as np
import scipy.sparse as sp

from ...exceptions import InvalidArgumentError

__all__ = ["INITS", "initialize", "mean_of", "check_rank_for_init"]

INITS = ("random", "nndsvd", "nndsvda", "nndsvdar", "custom")


def mean_of(X, observed=None):
    """Mean entry of X (dense or sparse), over the `observed` entries when given."""
    if sp.issparse(X):
        return X.sum() / (X.shape[0] * X.shape[1])
    if observed is None:
        return X.mean()
    return (X * observed).sum() / max(observed.sum(), 1)


def _leading_svd(X, rank, rng):
    from sklearn.utils.extmath import randomized_svd

    if sp.issparse(X) or min(X.shape) > 2 * rank + 20:
        return randomized_svd(X, rank, random_state=rng)
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    return U[:, :rank], s[:rank], Vt[:rank]


def _nndsvd(X, rank, rng, eps=1e-6):
    U, s, Vt = _leading_svd(X, rank, rng)
    W = np.zeros((X.shape[0], rank))
    H = np.zeros((rank, X.shape[1]))
    # the leading singular vectors of a non-negative matrix have one sign (Perron-Frobenius)
    W[:, 0] = np.sqrt(s[0]) * np.abs(U[:, 0])
    H[0] = np.sqrt(s[0]) * np.abs(Vt[0])
    for j in range(1, rank):
        x, y = U[:, j], Vt[j]
        xp, xn = np.maximum(x, 0), np.maximum(-x, 0)
        yp, yn = np.maximum(y, 0), np.maximum(-y, 0)
        xp_norm, yp_norm = np.linalg.norm(xp), np.linalg.norm(yp)
        xn_norm, yn_norm = np.linalg.norm(xn), np.linalg.norm(yn)
        positive, negative = xp_norm * yp_norm, xn_norm * yn_norm
        if positive >= negative:
            u, v, sigma = xp / xp_norm, yp / yp_norm, positive
        else:
            u, v, sigma = xn / xn_norm, yn / yn_norm, negative
        scale = np.sqrt(s[j] * sigma)
        W[:, j] = scale * u
        H[j] = scale * v
    W[W < eps] = 0.0
    H[H < eps] = 0.0
    return W, H


def check_rank_for_init(init, n_components, shape):
    """Raise unless the init `init` can start a rank-`n_components` fit of data of
    `shape`: the NNDSVD inits need ``n_components <= min(shape)``."""
    if init.startswith("nndsvd") and n_components > min(shape):
        raise InvalidArgumentError(
            f"`init`={init!r} needs `n_components` <= min(n_samples, n_features) = "
            f"{min(shape)}; got {n_components} (use init='random')")


def initialize(X, n_components, init, rng):
    """Non-negative starting factors ``W (n_samples, k)`` and ``H (k, n_features)``.

    Parameters
    ----------
    X : ndarray or sparse matrix
        Non-negative data without missing entries (missing ones already filled in).
    n_components : int
        The rank k.
    init : {"random", "nndsvd", "nndsvda", "nndsvdar"}
        "random": entries ``|N(0, 1)| * sqrt(mean(X) / k)``, so that ``W H`` has the
        scale of X. "nndsvd": NNDSVD (sparse factors with exact zeros). "nndsvda": zeros
        replaced by ``mean(X)``. "nndsvdar": zeros replaced by small random values.
    rng : numpy.random.RandomState
        Source of randomness.
    """
    n_samples, n_features = X.shape
    avg = np.sqrt(mean_of(X) / n_components)
    if init == "random":
        W = avg * np.abs(rng.standard_normal((n_samples, n_components)))
        H = avg * np.abs(rng.standard_normal((n_components, n_features)))
        return W, H
    check_rank_for_init(init, n_components, X.shape)
    W, H = _nndsvd(X, n_components, rng)
    if init == "nndsvda":
        mean = mean_of(X)
        W[W == 0] = mean
        H[H == 0] = mean
    elif init == "nndsvdar":
        W[W == 0] = abs(avg * rng.standard_normal(np.count_nonzero(W == 0)) / 100)
        H[H == 0] = abs(avg * rng.standard_normal(np.count_nonzero(H == 0)) / 100)
    return W, H
