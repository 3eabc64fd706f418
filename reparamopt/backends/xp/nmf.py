r"""NMF on the device of the data: HALS ("cd") and multiplicative updates ("mu").

.. math:: \min_{W \ge 0,\ H \ge 0} D_\beta(M \odot X \,\|\, M \odot W H)

Every product runs with the namespace of X on its device, in its dtype (float32 stays
float32). The solvers are those of the NumPy path in their x-space form (the latent
maps of :class:`reparamopt.NMF` land on the same factors for "cd" and "mirror"):

* "cd": hierarchical alternating least squares, a few sweeps per block on the block's
  Gram matrices ``W^T W``, ``W^T X`` (Gillis and Glineur's accelerated HALS). A sweep
  updates one component after the other, each from the components already updated:
  that sequential dependence is what makes HALS decrease the objective monotonically,
  so the loop over components stays (its body is one small product on k x n
  matrices; the batched alternative, all components at once, is a projected gradient
  step that needs a step size and loses the monotone decrease). On a GPU this loop is
  launch-bound; capturing it (CUDA graphs, ``torch.compile``) is the library's job.
* "mu" ("mirror"): the multiplicative updates for any beta, fully batched, with masks.

``fit_transform`` finishes W of the Frobenius loss exactly with the device NNLS
(:mod:`.nnls`, every row certified), as the NumPy path finishes it row by row; ``fit``
skips that finish (it returns no W), as the NumPy path's does; ``transform`` solves W
the same way.
"""

import time

import numpy as np

from ..._utils.validation import check_random_state
from ...exceptions import InvalidArgumentError, ShapeError, warn_not_converged
from ...flagships.nmf.settings import NMFSettings
from ...solvers.nmf.kullback_leibler import Relaxation
from .common import check_no_option, checked_arrays, device_of
from .nnls import nnls

__all__ = ["fit", "fit_transform", "transform", "inverse_transform", "hals_rows", "beta_divergence"]

CHECK_EVERY = 10  # iterations between stopping checks (scikit-learn's rule)
SWEEPS = 3  # HALS sweeps per block (the Gram products are reused)


def fit(model, X, W=None, H=None, *, mask=None, graph=None):
    """Fit `model` (a :class:`reparamopt.NMF`) to X on X's device, without the exact W
    finish of :func:`fit_transform` (``finish_time_`` is 0); returns `model`.

    Examples
    --------
    >>> import numpy as np
    >>> import array_api_strict as xp
    >>> import reparamopt as ro
    >>> X = xp.asarray(np.random.default_rng(0).random((20, 8)))
    >>> model = ro.NMF(n_components=2, max_iter=500, random_state=0).fit(X)
    >>> model.finish_time_, model.components_.shape
    (0.0, (2, 8))
    """
    fit_transform(model, X, W, H, mask=mask, graph=graph, finish=False)
    return model
    return model


def fit_transform(model, X, W=None, H=None, *, mask=None, graph=None, finish=True):
    """Fit `model` (a :class:`reparamopt.NMF`) to X on X's device; returns W there
    (with `finish`, W of the Frobenius loss solved exactly against the final H).

    Examples
    --------
    >>> import numpy as np
    >>> import array_api_strict as xp
    >>> import reparamopt as ro
    >>> rng = np.random.default_rng(0)
    >>> X = xp.asarray(rng.random((30, 3)) @ rng.random((3, 20)), dtype=xp.float32)
    >>> model = ro.NMF(n_components=3, max_iter=500, random_state=0)
    >>> W = model.fit_transform(X)  # handed to this function by the estimator
    >>> W.dtype, model.components_.shape, model.reconstruction_err_ < 1e-2
    (array_api_strict.float32, (3, 20), True)
    """
    began = time.perf_counter()
    settings, solver = _settings(model, graph)
    data = checked_arrays({"X": X, "W": W, "H": H, "mask": mask}, missing=("X",),
                          ndims={"X": (2,), "W": (2,), "H": (2,), "mask": (2,)})
    xp, (X, W, H, mask) = data.xp, data.arrays.values()
    X, M = _observed(xp, X, mask)
    if solver == "cd" and M is not None:
        raise InvalidArgumentError("`solver` 'cd' takes no missing entries on this device "
                                   "path; got a mask or NaN in `X`: use solver='mu'")
    k = settings.rank(X.shape[1], W, H)
    # the fit runs on X / max(X), as the NumPy path's does (its NNDSVD start fills zeros
    # with the mean of X, which is not scale-free), so that c X fits as X does, in
    # float32's narrow range too; each factor takes sqrt(s) back, a divergence s**beta
    scale = _largest(xp, X)
    X, root = X / scale, scale ** 0.5
    W, H = _start(xp, X, M, settings, k, None if W is None else W / root, None if H is None else H / root)
    W, H, history, times = _iterate(xp, X, M, W, H, settings, solver, began)
    finishing, finish = time.perf_counter(), finish and solver == "cd"
    if finish:
        W = _exact_rows(X, H, W)
    if solver == "cd":  # its last value came from Gram matrices: measured directly below
        history.pop(), times.pop()
    # the last entry is the objective of the factors returned
    history.append(beta_divergence(xp, X, W @ H, settings.beta_loss, M))
    times.append(time.perf_counter() - began)
    history = [value * scale ** settings.beta_loss for value in history]
    _store(model, H * root, history, times, solver=solver, loss=history[-1],
           finish_time=time.perf_counter() - finishing if finish else 0.0)
    return W * root


def _largest(xp, X):
    """The largest entry of X (1 for X = 0)."""
    top = float(xp.max(X))
    return top if top > 0 else 1.0


def _settings(model, graph):
    """The validated settings and the solver, with what this path does not offer refused."""
    settings = NMFSettings.from_estimator(model)
    check_no_option("graph", graph, None)
    check_no_option("fixed_components", settings.fixed_components, None)
    for name in ("alpha_W", "alpha_H"):
        check_no_option(name, getattr(settings, name), 0.0)
    for name in ("W_constraint", "H_constraint"):
        check_no_option(name, getattr(settings, name), "nonnegative")
    check_no_option("progress", settings.progress, False)
    solver = settings.solver
    if solver == "auto":
        solver = "cd" if settings.beta_loss == 2 else "mirror"
    if solver not in ("cd", "mirror"):
        check_no_option("solver", solver, "cd' or 'mu")
    if solver == "cd" and settings.beta_loss != 2:
        raise InvalidArgumentError("`solver` 'cd' needs the Frobenius loss; got beta_loss="
                                   f"{settings.beta_loss!r}: use solver='mu'")
    return settings, solver


def _observed(xp, X, mask):
    """X with its missing entries (NaN, False in `mask`) set to zero, and the 0/1
    weights of the observed ones (None when every entry is observed)."""
    seen = ~xp.isnan(X)
    if mask is not None:
        if tuple(mask.shape) != tuple(X.shape):
            raise ShapeError(f"`mask` must have the shape of `X`, {tuple(X.shape)}; got {tuple(mask.shape)}")
        seen = seen & (mask != 0)
    X = xp.where(seen, X, xp.zeros_like(X))
    if bool(xp.any(X < 0)):
        raise InvalidArgumentError("Negative values in data passed to NMF: `X` must be "
                                   f"non-negative; got a minimum of {float(xp.min(X)):.3g}")
    if bool(xp.all(seen)):
        return X, None
    return X, xp.astype(seen, X.dtype)


def _iterate(xp, X, M, W, H, settings, solver, began):
    """The alternating updates until scikit-learn's stopping rule (the error's decrease
    over `CHECK_EVERY` iterations below `tol` times its start) or `max_iter`; the
    objective at the start and after each iteration, and the times. The multiplicative
    iterations give the objective of the factors they start from (no product is spent
    on it): their list lacks the last iterate's, which the caller adds. Reaching
    `max_iter` warns, as the NumPy path does."""
    beta = settings.beta_loss
    start = beta_divergence(xp, X, W @ H, beta, M)
    # Kullback-Leibler without missing entries: the NumPy path's over-relaxed step, which
    # gives the objective after each iteration as HALS does
    relaxed = (start, Relaxation().start) if beta == 1 and M is None and solver != "cd" else None
    after = solver == "cd" or relaxed is not None
    history = [start] if after else []
    times = [time.perf_counter() - began] if after else []
    start_error = previous = np.sqrt(2 * start)
    values = []
    for it in range(1, settings.max_iter + 1):
        if solver == "cd":
            W, H, value = _hals_iteration(xp, X, W, H)
        elif relaxed is not None:
            W, H, value, relaxed = _relaxed_kl_iteration(xp, X, W, H, relaxed)
        else:
            W, H, value = _mu_iteration(xp, X, M, W, H, beta)
        values.append(value)  # kept on the device until a check reads them
        if it % CHECK_EVERY == 0 or it == settings.max_iter:
            history.extend(float(v) for v in values)
            times.extend([time.perf_counter() - began] * len(values))
            values = []
            error = np.sqrt(2 * max(history[-1], 0.0))
            if start_error > 0 and (previous - error) / start_error < settings.tol:
                break
            previous = error
    else:
        warn_not_converged(f"Maximum number of iterations {settings.max_iter} reached: the error "
                           "still fell by more than `tol` over the last iterations. Increase "
                           "`max_iter` or loosen `tol`.")
    if relaxed is not None:  # the caller adds the last iterate's, as for the plain steps
        history.pop(), times.pop()
    return W, H, history, times


def _hals_iteration(xp, X, W, H):
    """One HALS iteration: H from ``W^T W``, ``W^T X``, then W from ``H H^T``, ``H X^T``;
    and the Frobenius objective after it, from the same Gram matrices."""
    WtW, WtX = W.T @ W, W.T @ X
    H = hals_rows(xp, H, WtW, WtX, SWEEPS)
    HHt, HXt = H @ H.T, H @ X.T
    W = hals_rows(xp, W.T, HHt, HXt, SWEEPS).T
    # 1/2 ||X - W H||^2 = 1/2 ||X||^2 - <W, X H^T> + 1/2 <W^T W, H H^T>
    value = 0.5 * (xp.sum(X * X) - 2.0 * xp.sum(W.T * HXt) + xp.sum((W.T @ W) * HHt))
    return W, H, xp.maximum(value, 0.0)


def hals_rows(xp, F, Q, B, sweeps):
    """`sweeps` HALS sweeps on ``min_{F >= 0} 1/2 tr(F^T Q F) - tr(B^T F)``, one row of
    F (one component) after the other. A component whose Gram diagonal is zero (an
    all-zero factor) is left as it is.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.backends.xp.nmf import hals_rows
    >>> Q, B = np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([[4.0, -1.0], [1.0, 3.0]])
    >>> hals_rows(np, np.ones((2, 2)), Q, B, 1)
    array([[2., 0.],
           [1., 3.]])
    """
    k = F.shape[0]
    rows = xp.reshape(xp.arange(k, device=device_of(F)), (k, 1))
    diagonal = xp.linalg.diagonal(Q)
    safe = xp.where(diagonal > 0, diagonal, xp.ones_like(diagonal))
    for _ in range(sweeps):
        for j in range(k):
            row = F[j:j + 1, :]
            new = xp.maximum(row + (B[j:j + 1, :] - Q[j:j + 1, :] @ F) / safe[j], 0.0)
            # a functional update (no in-place write: JAX arrays are immutable)
            F = xp.where(rows == j, xp.where(diagonal[j] > 0, new, row), F)
    return F


def _relaxed_kl_iteration(xp, X, W, H, relaxed):
    """One over-relaxed multiplicative iteration of the Kullback-Leibler loss (the step of
    :class:`reparamopt.solvers.nmf.kullback_leibler.KLMultiplicative`, its exponent
    adapted by :class:`~reparamopt.solvers.nmf.kullback_leibler.Relaxation`): an
    iteration that would go uphill is replaced by the plain one, which never does.
    `relaxed` is ``(objective, exponent)`` at the incoming factors; returns the new
    factors, their objective and the new `relaxed`."""
    value, exponent = relaxed

    def attempt(power):
        H_new = H * _kl_ratio(xp, X, W, W @ H) ** power
        W_new = W * (_kl_ratio(xp, X.T, H_new.T, H_new.T @ W.T) ** power).T
        return W_new, H_new, beta_divergence(xp, X, W_new @ H_new, 1.0)

    W_new, H_new, new = attempt(exponent)
    downhill = new <= value
    if not downhill and exponent > 1:
        W_new, H_new, new = attempt(1.0)
    return W_new, H_new, new, (new, Relaxation().after(exponent, downhill))


def _kl_ratio(xp, X, W, WH):
    """The multiplicative factor of H for the Kullback-Leibler loss,
    ``W^T (X / W H) / W^T 1``."""
    WH = xp.maximum(WH, float(xp.finfo(X.dtype).eps))
    denominator = xp.sum(W, axis=0)[:, None]
    return (W.T @ (X / WH)) / xp.maximum(denominator, float(xp.finfo(X.dtype).smallest_normal))


def _mu_iteration(xp, X, M, W, H, beta):
    """One multiplicative iteration (H, then W) and the objective at the factors it
    started from (its first product ``W H`` is theirs, so the value costs nothing)."""
    H, value = _mu_step(xp, X, M, W, H, beta)
    Mt = None if M is None else M.T
    W = _mu_step(xp, X.T, Mt, H.T, W.T, beta)[0].T
    return W, H, value


def _mu_step(xp, X, M, W, H, beta):
    """H updated by the multiplicative rule of the beta-divergence, with scikit-learn's
    exponent (``1 / (2 - beta)`` below 1, ``1 / (beta - 1)`` above 2), and the
    divergence at the incoming factors."""
    WH = W @ H
    value = beta_divergence(xp, X, WH, beta, M, as_array=True)
    def observed(Y):  # no copy of an m x n matrix when every entry is observed
        return Y if M is None else Y * M

    if beta == 2:
        numerator, denominator = W.T @ observed(X), W.T @ observed(WH)
    else:
        WH = xp.maximum(WH, float(xp.finfo(X.dtype).eps))
        numerator = W.T @ observed(X * WH ** (beta - 2.0))
        if beta == 1 and M is None:  # W^T 1: the column sums of W, no product
            denominator = xp.sum(W, axis=0)[:, None]
        else:
            denominator = W.T @ observed(WH ** (beta - 1.0))
    ratio = numerator / xp.maximum(denominator, float(xp.finfo(X.dtype).smallest_normal))
    if beta < 1:
        ratio = ratio ** (1.0 / (2.0 - beta))
    elif beta > 2:
        ratio = ratio ** (1.0 / (beta - 1.0))
    return H * ratio, value


def beta_divergence(xp, X, Y, beta, M=None, as_array=False):
    """``D_beta(X || Y)`` over the entries weighted by `M` (all when None), a Python
    float (a 0-d array of X's library with `as_array`); ``0 log 0 = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.backends.xp.nmf import beta_divergence
    >>> X, Y = np.array([[1.0, 2.0]]), np.array([[2.0, 2.0]])
    >>> beta_divergence(np, X, Y, 2.0), round(beta_divergence(np, X, Y, 1.0), 6)
    (0.5, 0.306853)
    """
    tiny = float(xp.finfo(X.dtype).eps)
    Y = xp.maximum(Y, tiny) if beta < 2 else Y
    if beta == 2:
        terms = 0.5 * (X - Y) ** 2
    elif beta == 1:
        logs = xp.where(X > 0, xp.log(xp.maximum(X, tiny) / Y), xp.zeros_like(X))
        terms = X * logs - X + Y
    elif beta == 0:
        ratio = xp.maximum(X, tiny) / Y
        terms = ratio - xp.log(ratio) - 1.0
    else:
        terms = (X ** beta + (beta - 1.0) * Y ** beta - beta * X * Y ** (beta - 1.0)) / (
            beta * (beta - 1.0))
    total = xp.sum(terms if M is None else terms * M)
    return total if as_array else float(total)


def _start(xp, X, M, settings, k, W, H):
    """The starting factors: the custom ones, random ones (drawn as scikit-learn does,
    on the host, then placed on the device) or NNDSVD on the device."""
    init = settings.init
    if init is None:
        init = "custom" if W is not None and H is not None else (
            "nndsvda" if k <= min(X.shape) else "random")
    n, p = X.shape
    if init == "custom":
        if W is None or H is None or tuple(W.shape) != (n, k) or tuple(H.shape) != (k, p):
            raise ShapeError(f"init='custom' needs `W` of shape {(n, k)} and `H` of shape {(k, p)}; "
                             f"got {None if W is None else tuple(W.shape)} and "
                             f"{None if H is None else tuple(H.shape)}")
        return W, H
    average = float(xp.sum(X)) / (n * p if M is None else max(float(xp.sum(M)), 1.0))
    rng = check_random_state(settings.random_state)
    if init == "random":
        scale = np.sqrt(average / k)
        return (_placed(xp, X, scale * np.abs(rng.standard_normal((n, k)))),
                _placed(xp, X, scale * np.abs(rng.standard_normal((k, p)))))
    if k > min(n, p):
        raise InvalidArgumentError(f"init={init!r} needs n_components <= min(n_samples, "
                                   f"n_features) = {min(n, p)}; got {k}")
    return _nndsvd(xp, X, k, init, average, rng)


def _placed(xp, X, values):
    return xp.asarray(values, dtype=X.dtype, device=device_of(X))


def _nndsvd(xp, X, k, init, average, rng):
    """NNDSVD (Boutsidis and Gallopoulos) for all components at once: each singular
    pair's dominant sign part; zeros filled with the mean ("nndsvda") or small random
    values ("nndsvdar")."""
    U, S, Vt = xp.linalg.svd(X, full_matrices=False)
    U, S, Vt = U[:, :k], S[:k], Vt[:k, :]
    tiny = float(xp.finfo(X.dtype).smallest_normal)
    parts = []
    for u, v in ((xp.maximum(U, 0.0), xp.maximum(Vt, 0.0)), (xp.maximum(-U, 0.0), xp.maximum(-Vt, 0.0))):
        nu, nv = xp.linalg.vector_norm(u, axis=0), xp.linalg.vector_norm(v, axis=1)
        parts.append((u / xp.maximum(nu, tiny), v / xp.maximum(nv, tiny)[:, None], nu * nv))
    (up, vp, sp_), (un, vn, sn) = parts
    positive = sp_ >= sn
    scale = xp.sqrt(S * xp.where(positive, sp_, sn))
    W = xp.where(positive, up, un) * scale
    H = xp.where(positive[:, None], vp, vn) * scale[:, None]
    eps = float(xp.finfo(X.dtype).eps)
    W, H = xp.where(W < eps, xp.zeros_like(W), W), xp.where(H < eps, xp.zeros_like(H), H)
    if init == "nndsvda":
        return (xp.where(W == 0, xp.full_like(W, average), W),
                xp.where(H == 0, xp.full_like(H, average), H))
    if init == "nndsvdar":
        return (xp.where(W == 0, _placed(xp, X, average * rng.random(W.shape) / 100), W),
                xp.where(H == 0, _placed(xp, X, average * rng.random(H.shape) / 100), H))
    return W, H


def _exact_rows(X, H, W):
    """W solved exactly against H (every row an NNLS on the device, certified), never
    worse than the fit's own W (the warm start)."""
    res = nnls(H.T, X.T, x0=None if W is None else W.T, max_iter=200)
    return res.x.T


def _store(model, H, history, times, *, solver, loss, finish_time):
    model.components_ = H
    model.n_components_ = H.shape[0]
    model.n_features_in_ = H.shape[1]
    model.n_iter_ = len(history) - 1
    model.loss_history_ = np.asarray(history, dtype=float)
    model.time_history_ = np.asarray(times, dtype=float)
    model.solver_ = "cd" if solver == "cd" else "mirror"
    model.finish_time_ = float(finish_time)
    model.reconstruction_err_ = float(np.sqrt(2 * max(loss, 0.0)))
    model._scale_log2 = None


def transform(model, X, mask=None):
    """W for X with `model`'s components fixed, on X's device: exact NNLS rows for the
    Frobenius loss, multiplicative steps on W for the others and with missing entries.

    Examples
    --------
    >>> import numpy as np
    >>> import array_api_strict as xp
    >>> import reparamopt as ro
    >>> X = xp.asarray(np.random.default_rng(0).random((10, 6)))
    >>> model = ro.NMF(n_components=2, max_iter=50, random_state=0).fit(X)
    >>> model.transform(X).shape, model.inverse_transform(model.transform(X)).shape
    ((10, 2), (10, 6))
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    settings, solver = _settings(model, None)
    data = checked_arrays({"X": X, "components_": model.components_, "mask": mask}, missing=("X",),
                          ndims={"X": (2,), "components_": (2,), "mask": (2,)})
    xp, (X, H, mask) = data.xp, data.arrays.values()
    if X.shape[1] != H.shape[1]:
        raise ShapeError(f"`X` must have {H.shape[1]} features, as in fit; got shape {tuple(X.shape)}")
    X, M = _observed(xp, X, mask)
    if settings.beta_loss == 2 and M is None:
        return _exact_rows(X, H, None)
    # W of X / s is W / s (H fixed): steps in the range of the dtype whatever X's scale
    scale = _largest(xp, X)
    X = X / scale
    W = xp.full((X.shape[0], H.shape[0]), float(np.sqrt(float(xp.mean(X)) / H.shape[0])) or 1.0,
                dtype=X.dtype, device=device_of(X))
    previous = None
    for it in range(settings.for_transform().max_iter):
        W, value = _mu_step(xp, X.T, None if M is None else M.T, H.T, W.T, settings.beta_loss)
        W = W.T
        if it % CHECK_EVERY == 0:
            value = float(value)
            if previous is not None and previous - value <= settings.tol * previous:
                break
            previous = value
    return W * scale


def inverse_transform(model, W):
    """``W @ components_`` on W's device (both of one library, checked)."""
    data = checked_arrays({"X": W, "components_": model.components_},
                          ndims={"X": (2,), "components_": (2,)})
    W, H = data.arrays["X"], data.arrays["components_"]
    if W.shape[1] != H.shape[0]:
        raise ShapeError(f"`X` must have shape (n_samples, {H.shape[0]}); got {tuple(W.shape)}")
    return W @ H
