r"""Non-negative matrix factorization by reparametrized factors: the scikit-learn
estimator. A fit reads as settings (:mod:`.settings`, validated once) -> data
(:mod:`.data`) -> a plan (:mod:`.routing`) -> the alternating engine in the shared loop
-> the W finish -> the stored attributes (:mod:`.fitting`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted

from ..._utils.dispatch import backend_for
from ..._utils.validation import describe
from ...exceptions import ShapeError
from .data import (
    factor_maps,
    fit_scale,
    graph_matrices,
    observed_data,
    scaled_objective,
    times_exp2,
    transform_scale,
)
from .fitting import (
    at_returned_factors,
    fit_blocks,
    in_data_units,
    solve_rows,
    starting_factors,
    store_fit,
)
from .routing import route, route_transform, traits_of
from .settings import NMFSettings

if TYPE_CHECKING:
    from ..._utils.typing import Any, ArrayLike, Optional, Seed, Union

__all__ = ["NMF"]


class NMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    r"""Non-negative matrix factorization with reparametrized factors.

    Finds factors ``W`` (n_samples, k) and ``H`` (k, n_features), ``H = components_``, with

    .. math::

        \min_{W = \phi_W(U),\ H^\top = \phi_H(V)}\
        D_\beta(M \odot X \,\|\, M \odot W H)
        + \ell_{1,W} \textstyle\sum_{ij} W_{ij} + \tfrac{\ell_{2,W}}{2} \|W\|_F^2
        + \ell_{1,H} \textstyle\sum_{ij} H_{ij} + \tfrac{\ell_{2,H}}{2} \|H\|_F^2
        + \lambda \operatorname{tr}(W^\top L W),

    where the constraint maps ``phi`` make the problem unconstrained in the latent
    factors (by default ``W = U**L`` and ``H = V**L`` entrywise, L = `power`), ``D_2`` is
    ``1/2 ||.||_F^2``, M masks the observed entries and L is the Laplacian of an optional
    graph over the samples. As in scikit-learn,
    ``l1_W = alpha_W * l1_ratio * n_features``, ``l2_W = alpha_W * (1 - l1_ratio) * n_features``,
    ``l1_H = alpha_H * l1_ratio * n_samples`` and ``l2_H = alpha_H * (1 - l1_ratio) * n_samples``.

    Parameters
    ----------
    n_components : int, None or "auto", default "auto"
        Rank k. None or "auto": the number of features ("auto" takes it from a custom
        `W` or `H` when given).
    init : {"random", "nndsvd", "nndsvda", "nndsvdar", "custom"} or None, default None
        Starting factors. None: "nndsvda" when ``k <= min(n_samples, n_features)``, else
        "random". "custom": the `W` and `H` passed to :meth:`fit_transform`. NNDSVD inits
        need ``k <= min(n_samples, n_features)``.
    solver : {"auto", "cd", "mirror", "gd", "accelerated"}, default "auto"
        How the latent factors are updated, alternating between W and H (aliases:
        "mu", scikit-learn's name of the multiplicative update, is "mirror";
        "nesterov" is "accelerated", as in the engine table):

        - "cd" (the default for the Frobenius loss): exact latent block-coordinate
          minimization. With all but one component's latent column fixed the objective
          is a separable quadratic in ``x = u**L``; the map is onto, so the latent
          minimizer is a preimage of the projected x-space minimizer, in closed form.
          Several sweeps per block reuse the block's Gram matrices. It is the fastest
          solver here (see :mod:`reparamopt.benchmarks.nmf`).
        - "mirror" (the default for other beta losses): ``x <- x * (N / P)**gamma`` with
          ``grad f = P - N`` split into non-negative parts; to first order the latent
          gradient step on ``u`` (``x = u**2``) with per-entry steps ``1 / (4 P)``, an
          exponentiated-gradient (mirror) step. Every beta; non-negative factors only.
          For ``1 <= beta <= 2`` without a graph the objective never increases. For the
          Kullback-Leibler loss (no mask, no graph) the step is over-relaxed (its
          exponent grows while the objective goes down, and an uphill step is replaced
          by the plain one) and ``W H`` is formed only where X is positive, so sparse X
          stays sparse.
        - "gd", "accelerated" (alias "nesterov"): `inner_steps` plain (Armijo) or
          accelerated (backtracking, restart) gradient steps on each latent block per
          iteration, through the maps' pullbacks; any registered constraint; Frobenius
          loss only.

        "auto" picks "cd" for the Frobenius loss when the constraints allow it (each
        component constrained on its own; entrywise sets with a mask or a graph), else
        "accelerated", and "mirror" for the other losses.
    power : float, default 2
        Exponent L >= 2 of the Hadamard maps ``W = U**L``. It shapes the latent
        trajectory of "gd" and "accelerated"; "cd" and "mirror" land on the same factors for
        every L (exact block minimizers and multiplicative steps are map-independent).
    beta_loss : {"frobenius", "kullback-leibler", "itakura-saito"} or float, default "frobenius"
        The beta-divergence (2, 1 and 0). For ``beta <= 0`` the observed entries of X
        must be positive.
    tol : float, default 1e-4
        Stopping tolerance, with scikit-learn's meaning for each kind of solver: "cd"
        on non-negative factors without a graph stops once the KKT violation, the l1
        norm of the projected gradient, falls to ``tol`` times its value at the first
        iteration (scikit-learn's "cd" rule, measured every 10 iterations); every other
        solver, every 10 iterations, once the error ``sqrt(2 * objective)`` fell by less
        than ``tol`` times its value at the start over the last 10 (scikit-learn's "mu"
        rule).
    max_iter : int, default 200
        Maximum number of outer (W, H) iterations.
    random_state : int, RandomState instance or None, default None
        Seed for the "random" and "nndsvdar" inits and the randomized SVD.
    alpha_W : float, default 0
        Regularization strength of W (see above).
    alpha_H : float or "same", default "same"
        Regularization strength of H; "same" uses `alpha_W`.
    l1_ratio : float, default 0
        Mix of the l1 (1) and squared l2 (0) penalties.
    verbose : int, default 0
        Print the objective every 10 iterations when positive.
    W_constraint, H_constraint : str or Constraint, default "nonnegative"
        Any registered constraint that fits a factor matrix, resolved by
        :func:`reparamopt.maps.registry.resolve`. Both act on the matrix whose columns are the
        components: W itself (n_samples, k) and ``H.T`` (n_features, k). So
        ``"column-simplex-matrix"`` puts every component on the simplex: each row of
        `components_` sums to 1 (topic-word distributions, topic-model style) for
        `H_constraint`, each column of W sums to 1 for `W_constraint`.
        ``"row-simplex-matrix"`` for W puts every sample's weights on the simplex.
    graph_weight : float, default 1
        lambda, the weight of ``tr(W^T L W)`` when a graph is passed to :meth:`fit`.
    inner_steps : int, default 10
        Latent steps per block and iteration for "gd" and "accelerated".
    progress : bool or dict, default False
        Show a tqdm progress bar (a dict is passed to tqdm).
    fixed_components : array-like of int or of bool, optional
        Components that stay fixed while the others are learnt: their indices, or a
        boolean mask of length k. Their rows are those of the `H` passed to
        :meth:`fit` (required; with ``init="custom"`` the other rows start from it
        too, else from `init`), and `components_` keeps them bit for bit. Solvers "cd"
        and "mirror".
    transform_max_iter : int, optional
        Most iterations of :meth:`transform` (and of the W finish of
        :meth:`fit_transform`, which solves W as transform does) where W is solved
        iteratively (losses other than the Frobenius, W sets that tie the rows
        together); None: `max_iter`. The Frobenius loss with an entrywise W set solves
        each row exactly and takes no iterations.
    shuffle : bool, default False
        Accepted for scikit-learn compatibility and without effect: "cd" minimizes each
        block exactly in closed form, so the order of the components within a sweep does
        not randomize anything here.

    Notes
    -----
    As in scikit-learn, float32 data give float32 `components_` and W (every other dtype
    gives float64); the solvers compute in float64. The fit runs on ``X / max(X)`` and
    scales the factors back (the square root of ``max(X)`` on each, or all of it on the
    factor whose set is a cone when the other's is not), so ``c * X`` fits like X for
    every ``c > 0``, up to 1e-300 and 1e300. A numpy masked array's masked entries are
    missing entries, like NaN and `mask`. :meth:`transform` solves each row of W on its
    own against `components_` (exactly for the Frobenius loss and an entrywise W set,
    by multiplicative steps that stop row by row for the other losses), so a row's W
    does not depend on the other rows of the batch; :meth:`fit_transform` finishes its W
    the same way against the final `components_`. A W set that ties the rows together
    (``"column-simplex-matrix"`` for W, ...) is solved on the whole block instead.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The factor H, in the dtype of the data of the fit.
    n_components_ : int
        The rank used.
    reconstruction_err_ : float
        ``sqrt(2 * D_beta)`` over the observed entries (masked, NaN and `mask`-ed entries
        excluded) at the returned factors (the Frobenius norm of the residual for the
        Frobenius loss), as in scikit-learn. Never NaN (0 at an exact fit and for all-zero
        data).
    n_iter_ : int
        Outer iterations run.
    loss_history_ : ndarray of shape (n_iter_ + 1,)
        The objective (loss plus penalties) at the start and after each iteration, in
        the units of X (inf where it exceeds the float range, e.g. the squared
        Frobenius loss of data near 1e300). The last entry is the objective of the
        returned factors: after the W finish of :meth:`fit_transform` (which only lowers
        it; :meth:`fit` reports the fit's own last W), measured directly at the factors.
    time_history_ : ndarray of shape (n_iter_ + 1,)
        Seconds from the call to fit (validation and init included) to each entry of
        `loss_history_`.
    finish_time_ : float
        Seconds spent finishing W row by row after the last iteration (included in the
        last entry of `time_history_`): :meth:`fit_transform` pays it, so that its W is
        :meth:`transform`'s; :meth:`fit` skips it (0), since it returns no W.
    solver_ : str
        The solver used ("auto" resolved).
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when X has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt import NMF
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((30, 4)) @ rng.random((4, 20)) + 0.01 * rng.random((30, 20))
    >>> model = NMF(n_components=4, max_iter=500, random_state=0)
    >>> W = model.fit_transform(X)
    >>> W.shape, model.components_.shape
    ((30, 4), (4, 20))
    >>> bool(model.reconstruction_err_ < 0.01 * np.linalg.norm(X))
    True

    Missing entries are NaN (or a mask); only the observed ones are fitted:

    >>> X_missing = X.copy()
    >>> X_missing[0, 0] = np.nan
    >>> masked = NMF(n_components=4, max_iter=1000, random_state=0)
    >>> W = masked.fit_transform(X_missing)
    >>> bool(abs((W @ masked.components_)[0, 0] - X[0, 0]) < 0.05)
    True
    """

    def __init__(self, n_components: Union[int, str, None] = "auto", *, init: Optional[str] = None,
                 solver: str = "auto", power: float = 2, beta_loss: Union[str, float] = "frobenius",
                 tol: float = 1e-4, max_iter: int = 200, random_state: Seed = None,
                 alpha_W: float = 0.0, alpha_H: Union[float, str] = "same", l1_ratio: float = 0.0,
                 verbose: int = 0, W_constraint: Any = "nonnegative",
                 H_constraint: Any = "nonnegative", graph_weight: float = 1.0,
                 inner_steps: int = 10, progress: Union[bool, dict] = False,
                 fixed_components: Optional[ArrayLike] = None,
                 transform_max_iter: Optional[int] = None, shuffle: bool = False) -> None:
        self.n_components = n_components
        self.init = init
        self.solver = solver
        self.power = power
        self.beta_loss = beta_loss
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.verbose = verbose
        self.W_constraint = W_constraint
        self.H_constraint = H_constraint
        self.graph_weight = graph_weight
        self.inner_steps = inner_steps
        self.progress = progress
        self.fixed_components = fixed_components
        self.transform_max_iter = transform_max_iter
        self.shuffle = shuffle

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    # -- public API -----------------------------------------------------------------
    def fit(self, X: ArrayLike, y: Any = None, W: Optional[ArrayLike] = None,
            H: Optional[ArrayLike] = None, mask: Optional[ArrayLike] = None,
            graph: Any = None) -> NMF:
        """Learn the factors of X; see :meth:`fit_transform`. Returns self.

        Unlike :meth:`fit_transform` it does not finish W row by row against the final
        H (W is not returned, and :meth:`transform` solves it that way on demand), so
        `reconstruction_err_` is the error of the fit's own last W."""
        backend = backend_for(X)
        if backend is not None:
            # a backend's own fit skips the W finish, as _fit(finish=False) does
            getattr(backend, "fit_nmf", backend.fit_transform_nmf)(self, X, W=W, H=H, mask=mask,
                                                                    graph=graph)
        else:
            self._fit(X, W, H, mask, graph, finish=False)
        return self

    def fit_transform(self, X: ArrayLike, y: Any = None, W: Optional[ArrayLike] = None,
                      H: Optional[ArrayLike] = None, mask: Optional[ArrayLike] = None,
                      graph: Any = None) -> np.ndarray:
        """Learn the factors of X and return W.

        Parameters
        ----------
        X : array-like, masked array or sparse matrix of shape (n_samples, n_features)
            Non-negative data. NaN entries and the masked entries of a numpy masked
            array are missing (their values are never used). Sparse input is never
            densified with the Frobenius or Kullback-Leibler loss and no mask. float32
            stays float32 in the results.
        y : ignored
        W : array-like of shape (n_samples, n_components), optional
            Starting W for ``init="custom"`` (or init=None), of the dtype of X (float64
            for integer X), as in scikit-learn: another dtype is a TypeError.
        H : array-like of shape (n_components, n_features), optional
            Starting H for ``init="custom"`` (or init=None), of the dtype of X.
        mask : array-like of bool of shape (n_samples, n_features), optional
            True where X is observed; the loss only counts observed entries.
        graph : networkx.Graph, optional
            A graph over the samples (nodes ``0 .. n_samples - 1``, optional ``weight``
            edge attribute, default 1); adds ``graph_weight * tr(W^T L W)``.

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
            In the dtype of X (float32 or float64). A dask array when X is one (chunked
            by rows; see :mod:`reparamopt.dask`).
        """
        backend = backend_for(X)
        if backend is not None:
            return backend.fit_transform_nmf(self, X, W=W, H=H, mask=mask, graph=graph)
        return self._fit(X, W, H, mask, graph, finish=True)

    def _fit(self, X, W, H, mask, graph, *, finish):
        """The in-memory fit; `finish`: W finished row by row as the plan says."""
        began = time.perf_counter()
        settings = NMFSettings.from_estimator(self)
        data = observed_data(self, X, mask, settings.beta_loss, reset=True)
        k = settings.rank(data.X.shape[1], W, H)
        graph = graph_matrices(graph, data.X.shape[0])
        maps = factor_maps(settings, data.X.shape, k)
        # the fit runs on X / max(X) and scales the factors back, so that data near the
        # ends of the float range fit as well and c * X fits as X does for every c > 0
        scale = fit_scale(data, maps)
        objective = scaled_objective(data, settings, maps, scale, graph)
        plan = route(settings, traits_of(objective, k, W=W, H=H))
        fixed = settings.fixed_rows(k)
        W0, H0 = starting_factors(plan, objective, data, scale, n_components=k, factors=(W, H),
                                  random_state=settings.random_state, fixed=fixed)
        free = None if fixed is None else np.setdiff1d(np.arange(k), fixed)
        given_H = H
        W, H, outcome = fit_blocks(objective, W0, H0, plan, settings, began, free_H=free)
        finish_time = 0.0
        if finish and plan.finish:
            # W finished row by row against the final H, as transform solves it, so that
            # fit_transform(X) is fit(X).transform(X); this only lowers the objective
            finishing = time.perf_counter()
            W = solve_rows(objective, H, plan, settings.for_transform(), W0=W)
            finish_time = time.perf_counter() - finishing
        data_loss = objective.data_loss(W, H)
        # the last entry of the history is the objective of the factors returned
        outcome = at_returned_factors(outcome, data_loss + objective.regularization(W, H), began)
        store_fit(self, in_data_units(H, scale, data.dtype, fixed, given_H), outcome,
                  solver=plan.solver, data_loss=data_loss,
                  loss_exponent=scale.total * settings.beta_loss, scale_log2=scale.total,
                  finish_time=finish_time)
        return times_exp2(W, scale.W).astype(data.dtype, copy=False)

    def transform(self, X: ArrayLike, mask: Optional[ArrayLike] = None) -> np.ndarray:
        """W for new data with the learned components fixed (NaN, masked arrays or
        `mask` as in fit). Each row is solved on its own (see the class notes), so the
        W of a row does not depend on the other rows.

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
            In the dtype of X. Computed chunk by chunk when X is a dask array.
        """
        backend = backend_for(X)
        if backend is not None:
            return backend.transform_nmf(self, X, mask=mask)
        check_is_fitted(self)
        settings = NMFSettings.from_estimator(self)
        data = observed_data(self, X, mask, settings.beta_loss, reset=False)
        k = self.n_components_
        maps = factor_maps(settings, data.X.shape, k)
        # the scale of the fit (not of this batch, so that no row depends on the others)
        H = np.asarray(self.components_, dtype=np.float64)
        scale = transform_scale(H, maps, getattr(self, "_scale_log2", None))
        objective = scaled_objective(data, settings, maps, scale)
        plan = route_transform(settings, traits_of(objective, k))  # a mask may rule out "cd"
        W = solve_rows(objective, times_exp2(H, -scale.H), plan, settings.for_transform())
        return times_exp2(W, scale.W).astype(data.dtype, copy=False)

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Map W back to data space: ``X @ components_``."""
        check_is_fitted(self)
        backend = backend_for(X)
        if backend is not None and hasattr(backend, "inverse_transform_nmf"):
            return backend.inverse_transform_nmf(self, X)
        if sp.issparse(X):
            return np.asarray(X @ self.components_)
        W = np.asarray(X)
        if W.dtype not in (np.float32, np.float64):
            W = W.astype(np.float64)
        if W.ndim != 2 or W.shape[1] != self.n_components_:
            raise ShapeError(f"`X` must have shape (n_samples, {self.n_components_}); got {describe(X)}")
        return W @ self.components_
