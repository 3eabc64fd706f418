r"""Non-negative matrix factorization by reparametrized factors (scikit-learn estimator)."""

from __future__ import annotations

import numbers
import time
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._utils.dispatch import backend_for
from .._utils.validation import check_choice, check_scalar, describe
from ..engines.alternating import AlternatingBlocks
from ..engines.run import run
from ..exceptions import (
    InfeasibleError,
    InvalidArgumentError,
    InvalidTypeError,
    NonFiniteError,
    ShapeError,
    warn_not_converged,
    warn_user,
)
from ..maps.registry import resolve
from ..solvers import nmf as solvers
from ..solvers.nmf import INITS, initialize

if TYPE_CHECKING:
    from .._utils.typing import Any, ArrayLike, Optional, Seed, Union

__all__ = ["NMF"]

_BETA_NAMES = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}
# "mu": scikit-learn's name of the multiplicative update, which is "mirror" here
_SOLVER_CHOICES = ("auto",) + solvers.SOLVERS + ("mu",)


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
    solver : {"auto", "cd", "mirror", "mu", "gd", "nesterov"}, default "auto"
        How the latent factors are updated, alternating between W and H ("mu",
        scikit-learn's name of the multiplicative update, is "mirror"):

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
          For ``1 <= beta <= 2`` without a graph the objective never increases.
        - "gd", "nesterov": `inner_steps` plain (Armijo) or accelerated (backtracking,
          restart) gradient steps on each latent block per iteration, through the maps'
          pullbacks; any registered constraint; Frobenius loss only.

        "auto" picks "cd" for the Frobenius loss when the constraints allow it (each
        component constrained on its own; entrywise sets with a mask or a graph), else
        "nesterov", and "mirror" for the other losses.
    power : float, default 2
        Exponent L >= 2 of the Hadamard maps ``W = U**L``. It shapes the latent
        trajectory of "gd" and "nesterov"; "cd" and "mirror" land on the same factors for
        every L (exact block minimizers and multiplicative steps are map-independent).
    beta_loss : {"frobenius", "kullback-leibler", "itakura-saito"} or float, default "frobenius"
        The beta-divergence (2, 1 and 0). For ``beta <= 0`` the observed entries of X
        must be positive.
    tol : float, default 1e-4
        Stop when an iteration lowers the objective by less than ``tol`` times its value.
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
        Latent steps per block and iteration for "gd" and "nesterov".
    progress : bool or dict, default False
        Show a tqdm progress bar (a dict is passed to tqdm).
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
        Frobenius loss of data near 1e300). The W finish of :meth:`fit_transform` comes
        after the last entry and only lowers the objective.
    time_history_ : ndarray of shape (n_iter_ + 1,)
        Seconds from the call to fit (validation and init included) to each entry of
        `loss_history_`.
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
                 shuffle: bool = False) -> None:
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
        """Learn the factors of X; see :meth:`fit_transform`. Returns self."""
        self.fit_transform(X, W=W, H=H, mask=mask, graph=graph)
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
        start = time.perf_counter()
        X, mask = _unmask(X, mask)
        X = self._validate_X(X, reset=True)
        dtype = X.dtype
        X = X.astype(np.float64, copy=False)  # the solvers compute in float64
        settings = fit_settings(self)
        X, observed = self._observed(X, mask, settings["beta"])
        n_samples, n_features = X.shape
        k = fit_rank(self, X, W, H)
        adjacency, degree = self._graph(graph, n_samples)
        W_map, H_map = self._maps(n_samples, n_features, k, settings["power"])
        # the fit runs on X / max(X) and scales the factors back, so that data near the
        # ends of the float range fit as well and c * X fits as X does for every c > 0
        exponent = _log2_scale(X if observed is None else X[observed > 0])
        e_W, e_H = _split_exponent(exponent, W_map, H_map)
        problem = self._problem(X, observed, settings, W_map, H_map, e_W, e_H, adjacency, degree)
        W0, H0 = self._start(problem.X, observed, W, H, k, problem, e_W, e_H, dtype)
        solver = self._pick_solver(settings["solver"], problem)
        W, H, n_iter, history, times = self._run(problem, W0, H0, solver, settings, True, start)
        if not problem.has_graph and _rows_apart(problem, solver):
            # W finished row by row against the final H, as transform solves it, so that
            # fit_transform(X) is fit(X).transform(X); this only lowers the objective
            W = self._solve_rows(problem, H, solver, settings, W0=W)
        self._log2_scale = e_W + e_H
        store_fit(self, _times_exp2(H, e_H).astype(dtype, copy=False), n_iter, history, times,
                  solver, problem.data_loss(W, H), loss_exponent=(e_W + e_H) * settings["beta"])
        return _times_exp2(W, e_W).astype(dtype, copy=False)

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
        X, mask = _unmask(X, mask)
        X = self._validate_X(X, reset=False)
        dtype = X.dtype
        X = X.astype(np.float64, copy=False)  # the solvers compute in float64
        settings = fit_settings(self)
        X, observed = self._observed(X, mask, settings["beta"])
        n_samples, n_features = X.shape
        k = self.n_components_
        W_map, H_map = self._maps(n_samples, n_features, k, settings["power"])
        # the scale of the fit (not of this batch, so that no row depends on the others)
        H = np.asarray(self.components_, dtype=np.float64)
        e_H = _log2_scale(H)
        e_W = getattr(self, "_log2_scale", 2 * e_H) - e_H if solvers.is_cone(W_map) else 0.0
        problem = self._problem(X, observed, settings, W_map, H_map, e_W, e_H, None, None)
        solver = self._pick_solver(settings["solver"], problem)  # a mask may rule out "cd"
        W = self._solve_rows(problem, _times_exp2(H, -e_H), solver, settings)
        return _times_exp2(W, e_W).astype(dtype, copy=False)

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Map W back to data space: ``X @ components_``."""
        check_is_fitted(self)
        if sp.issparse(X):
            return np.asarray(X @ self.components_)
        W = np.asarray(X)
        if W.dtype not in (np.float32, np.float64):
            W = W.astype(np.float64)
        if W.ndim != 2 or W.shape[1] != self.n_components_:
            raise ShapeError(f"`X` must have shape (n_samples, {self.n_components_}); got {describe(X)}")
        return W @ self.components_

    # -- helpers --------------------------------------------------------------------
    def _validate_X(self, X, reset):
        # float32 data stay float32 (as in scikit-learn), every other dtype becomes float64
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=(np.float64, np.float32),
                          ensure_all_finite="allow-nan", reset=reset)
        values = X.data if sp.issparse(X) else X
        if values.size and np.nanmin(values) < 0:
            raise InvalidArgumentError(
                f"Negative values in data passed to NMF: `X` must be non-negative; got a "
                f"minimum of {np.nanmin(values):g}")
        return X

    def _observed(self, X, mask, beta):
        """X with missing entries set to 0, and the mask of observed entries (None: all)."""
        observed = None
        if mask is not None:
            observed = np.asarray(mask)
            if observed.shape != X.shape:
                raise ShapeError(f"`mask` must have the shape of X {X.shape}; got {describe(mask)}")
            if observed.dtype != bool:
                if not np.all(np.isin(observed, (0, 1))):
                    raise InvalidArgumentError(
                        f"`mask` must be boolean (True = observed); got {describe(mask)}")
                observed = observed.astype(bool)
        if not sp.issparse(X):
            missing = np.isnan(X)
            if missing.any():
                observed = ~missing if observed is None else observed & ~missing
                X = np.where(missing, 0.0, X)
        if observed is not None and observed.all():
            observed = None
        if sp.issparse(X) and (observed is not None or beta not in (1, 2)):
            X = X.toarray()  # only the Frobenius and KL fully observed paths work on sparse data
        if observed is not None:  # values at unobserved entries never enter a computation
            X = np.where(observed, X, 0.0)
        if beta <= 0:
            values = X if observed is None else X[observed]
            if values.size and values.min() == 0:
                raise InvalidArgumentError(
                    "`beta_loss` <= 0 needs positive observed entries in X; got zeros")
        return X, None if observed is None else observed.astype(float)

    def _graph(self, graph, n_samples):
        if graph is None:
            return None, None
        import networkx as nx

        if not isinstance(graph, nx.Graph):
            raise InvalidTypeError(f"`graph` must be a networkx graph; got {describe(graph)}")
        nodes = set(graph.nodes)
        if nodes != set(range(n_samples)):
            extra = sorted(map(repr, nodes - set(range(n_samples))))[:5]
            raise InvalidArgumentError(
                f"`graph` nodes must be the sample indices 0 .. {n_samples - 1}; got "
                f"{graph.number_of_nodes()} nodes" + (f", e.g. {', '.join(extra)}" if extra else ""))
        adjacency = nx.to_scipy_sparse_array(graph, nodelist=range(n_samples), weight="weight",
                                             format="csr", dtype=float)
        if adjacency.nnz and adjacency.data.min() < 0:
            raise InvalidArgumentError("`graph` edge weights must be non-negative")
        if graph.is_directed():
            adjacency = (adjacency + adjacency.T) / 2
        adjacency = sp.csr_matrix(adjacency)
        return adjacency, np.asarray(adjacency.sum(axis=1)).ravel()

    def _maps(self, n_samples, n_features, k, power):
        return (factor_map(self.W_constraint, (n_samples, k), "W_constraint", power),
                factor_map(self.H_constraint, (n_features, k), "H_constraint", power))

    def _problem(self, X, observed, settings, W_map, H_map, e_W, e_H, adjacency, degree):
        """The problem in the units ``X / 2**(e_W + e_H)``, ``W / 2**e_W``, ``H / 2**e_H``:
        the objective is divided by ``2**(beta (e_W + e_H))``, and the penalties with it."""
        n_samples, n_features = X.shape
        l1, l2 = settings["l1_ratio"], 1.0 - settings["l1_ratio"]
        drop = settings["beta"] * (e_W + e_H)

        def scaled(value, exponent):
            with np.errstate(over="ignore"):  # a penalty beyond the float range: cap it
                return float(min(value * np.exp2(exponent - drop), _PENALTY_CAP)) if value else 0.0

        aW, aH = settings["alpha_W"], settings["alpha_H"]
        return solvers.NMFObjective(
            X=_times_exp2(X, -(e_W + e_H)), mask=observed, beta=settings["beta"],
            l1_W=scaled(aW * l1 * n_features, e_W), l2_W=scaled(aW * l2 * n_features, 2 * e_W),
            l1_H=scaled(aH * l1 * n_samples, e_H), l2_H=scaled(aH * l2 * n_samples, 2 * e_H),
            W_map=W_map, H_map=H_map, graph_weight=scaled(settings["graph_weight"], 2 * e_W),
            adjacency=adjacency, degree=degree)

    def _start(self, X, observed, W, H, k, problem, e_W, e_H, dtype):
        """The starting factors in the units of `problem` (X is its scaled data)."""
        init = self.init
        if init is None:
            init = "custom" if W is not None and H is not None else \
                ("nndsvda" if k <= min(X.shape) else "random")
        if init == "custom":
            if W is None or H is None:
                raise InvalidArgumentError("`init`='custom' needs both `W` and `H`")
            W, H = np.asarray(W), np.asarray(H)
            if W.dtype != dtype or H.dtype != dtype:  # as scikit-learn's _check_w_h
                raise InvalidTypeError(
                    f"`W` and `H` should have the same dtype as X ({np.dtype(dtype)}); got "
                    f"W.dtype = {W.dtype} and H.dtype = {H.dtype} (pass them as .astype(X.dtype))")
            W = _factor(W, "W", (X.shape[0], k), problem.W_map)
            H = _factor(H, "H", (k, X.shape[1]), problem.H_map, transposed=True)
            return _times_exp2(W, -e_W), _times_exp2(H, -e_H)
        else:
            if W is not None or H is not None:
                warn_user(f"`W` and `H` are ignored with init={init!r}; use init='custom'")
            filled = X
            if observed is not None:  # SVD-based inits see column means where X is missing
                counts = np.maximum(observed.sum(axis=0), 1)
                means = (X * observed).sum(axis=0) / counts
                filled = np.where(observed > 0, X, means)
            W, H = initialize(filled, k, init, check_random_state(self.random_state))
            # the inits put the square root of the scale 2**(e_W + e_H) of X on each factor:
            # move it to where the fit's units have it
            half = (e_W + e_H) / 2
            W, H = _times_exp2(W, half - e_W), _times_exp2(H, half - e_H)
        return _feasible(problem.W_map, W), _feasible(problem.H_map, H.T).T

    def _pick_solver(self, solver, problem):
        solver = "mirror" if solver == "mu" else solver
        frobenius = problem.beta == 2
        weighted = problem.mask is not None or problem.has_graph
        check = solvers.is_entrywise if weighted else solvers.is_columnwise
        cd_ok = frobenius and check(problem.W_map) and check(problem.H_map)
        mirror_ok = solvers.is_nonnegative(problem.W_map) and solvers.is_nonnegative(problem.H_map)
        if solver == "auto":
            if frobenius:
                return "cd" if cd_ok else "nesterov"
            solver = "mirror"
        if solver == "cd" and not cd_ok:
            raise InvalidArgumentError(
                "`solver`='cd' needs the Frobenius loss and constraints that act on each "
                "component alone (entrywise with a mask or a graph); use 'nesterov' or 'mirror'")
        if solver in ("gd", "nesterov") and not frobenius:
            raise InvalidArgumentError(f"`solver`={solver!r} supports the Frobenius loss only; use 'mirror'")
        if solver == "mirror" and not mirror_ok:
            raise InvalidArgumentError(
                "`solver`='mirror' needs 'nonnegative' W and H constraints; use 'nesterov'")
        return solver

    def _solve_rows(self, problem, H, solver, settings, W0=None):
        """W for fixed H (transform; W0: the fit's W, to finish). Every row is solved on
        its own where the W set allows it (see :func:`_rows_apart`): exactly for the
        Frobenius loss and an entrywise set, by multiplicative steps with a stopping rule
        per row for the other losses; else by the solver on the whole block."""
        if problem.beta == 2 and solvers.is_entrywise(problem.W_map):  # _rows_apart's first case
            W, failed = solvers.exact_rows(problem, H)
            if failed:
                warn_not_converged(f"The exact solve of {failed} row(s) of W reached its "
                                   "iteration limit; those rows may not be optimal.")
            return W
        if W0 is None:  # a start from each row's own mean, so that no row depends on the others
            W0 = np.sqrt(np.maximum(_row_means(problem.X, problem.mask), 0.0) / H.shape[0])
            W0 = _feasible(problem.W_map, np.repeat(W0[:, None], H.shape[0], axis=1))
            finishing = False
        else:
            finishing = True  # the fit has warned already if it ran out of iterations
        if solver == "mirror":
            W, unconverged = solvers.rowwise_mirror(problem, W0, H, settings["tol"], settings["max_iter"])
            if unconverged and settings["tol"] > 0 and not finishing:
                warn_not_converged(f"Maximum number of iterations {settings['max_iter']} reached "
                                   f"for {unconverged} row(s). Increase it to improve convergence.")
            return W
        # a W set that ties the rows together (a simplex or sphere per component, ...)
        return self._run(problem, W0, H, solver, settings, False, None)[0]

    def _run(self, problem, W0, H0, solver, settings, update_H, start):
        """The alternating block engine in the shared loop, until the relative decrease
        of the objective is below `tol`; returns ``W, H, n_iter, history, times``."""
        blocks = solvers.BlockUpdates(solvers.make_solver(solver, problem, update_H=update_H,
                                                          inner_steps=settings["inner_steps"]), W0, H0)
        began = time.perf_counter() if start is None else start
        offset = time.perf_counter() - began

        def report(info):
            if info.nit % 10 == 0:
                print(f"NMF iteration {info.nit}: objective {info.fun:.6g}, "
                      f"{time.perf_counter() - began:.2f} s")

        progress = {"desc": "NMF"} if self.progress is True else self.progress
        res = run(AlternatingBlocks(), blocks, blocks.pack(blocks.start), optimality="decrease",
                  tol=settings["tol"], max_iter=settings["max_iter"], history=True,
                  progress=progress, callback=report if self.verbose else None)
        W, H = blocks.factors(res.u)
        history = res.history["fun"]
        times = [offset + t for t in res.history["time"]]
        if res.status == 0 and settings["tol"] > 0:
            warn_not_converged(f"Maximum number of iterations {res.nit} reached. Increase it "
                               "to improve convergence.")
        return W, H, res.nit, history, times

def store_fit(model, H, n_iter, history, times, solver, data_loss, loss_exponent=0.0):
    """Set the fitted attributes (shared by the in-memory and the dask fits).

    `history` and `data_loss` are in units of ``2**loss_exponent`` (a fit of scaled
    data); the stored values are in the units of X.
    """
    model.components_ = H
    model.n_components_ = H.shape[0]
    model.n_iter_ = n_iter
    with np.errstate(over="ignore"):  # a loss beyond the float range is stored as inf
        model.loss_history_ = np.asarray(history, dtype=float) * np.exp2(loss_exponent)
        # an expanded Frobenius loss can round to a tiny negative number at an exact fit
        error = np.sqrt(2 * max(float(data_loss), 0.0)) * np.exp2(loss_exponent / 2)
    model.time_history_ = np.asarray(times)
    model.solver_ = solver
    model.reconstruction_err_ = float(error)


def fit_settings(model):
    """The validated settings of the estimator `model` (shared by the in-memory and the
    Dask fits)."""
    beta = model.beta_loss
    if isinstance(beta, str):
        beta = _BETA_NAMES[check_choice(beta, "beta_loss", tuple(_BETA_NAMES))]
    else:
        beta = check_scalar(beta, "beta_loss")
    alpha_W = check_scalar(model.alpha_W, "alpha_W", lower=0)
    alpha_H = alpha_W if isinstance(model.alpha_H, str) and model.alpha_H == "same" else \
        check_scalar(model.alpha_H, "alpha_H", lower=0)
    if model.init is not None:
        check_choice(model.init, "init", INITS)
    return {
        "beta": beta,
        "alpha_W": alpha_W,
        "alpha_H": alpha_H,
        "l1_ratio": check_scalar(model.l1_ratio, "l1_ratio", lower=0, upper=1),
        "solver": check_choice(model.solver, "solver", _SOLVER_CHOICES),
        "tol": check_scalar(model.tol, "tol", lower=0),
        "max_iter": int(check_scalar(model.max_iter, "max_iter", lower=1, integer=True)),
        "graph_weight": check_scalar(model.graph_weight, "graph_weight", lower=0),
        "inner_steps": int(check_scalar(model.inner_steps, "inner_steps", lower=1, integer=True)),
        "power": check_scalar(model.power, "power", lower=2),
    }


def fit_rank(model, X, W, H):
    """The number of components of the fit of `model` to X (from W or H with "auto")."""
    k = model.n_components
    if k is None or (isinstance(k, str) and k == "auto"):
        if isinstance(k, str) and H is not None:
            return np.asarray(H).shape[0]
        if isinstance(k, str) and W is not None:
            return np.asarray(W).shape[1]
        return X.shape[1]
    if isinstance(k, str) or isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise InvalidTypeError(f"`n_components` must be an int >= 1, None or 'auto'; got {k!r}")
    if k < 1:
        raise InvalidArgumentError(f"`n_components` must be an int >= 1; got {k}")
    return int(k)


def factor_map(spec, shape, name, power):
    """The map of a factor constraint `spec` (a name gets the Hadamard `power`)."""
    if isinstance(spec, str):
        base = resolve(spec, shape)
        if any(hasattr(m, "power") for m in base.maps):
            return resolve(spec, shape, power=power)
        return base
    try:
        return resolve(spec, shape)
    except ShapeError as exc:
        raise ShapeError(f"`{name}` does not fit a factor of shape {shape}: {exc}") from None


def _factor(value, name, shape, cmap, transposed=False):
    """A custom starting factor, checked as scikit-learn's ``_check_init`` does (shape,
    non-negativity, here membership of its set) and made float64. `transposed`: `cmap`
    acts on the transpose (H)."""
    arr = np.array(value, dtype=np.float64)
    if arr.shape != shape:
        raise ShapeError(f"`{name}` must have shape {shape}; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise NonFiniteError(f"`{name}` must be finite; got NaN or inf")
    if not cmap.contains(arr.T if transposed else arr):
        raise InfeasibleError(f"`{name}` must lie in its constraint set ({cmap.target}); got "
                              f"an infeasible starting factor (e.g. negative entries)")
    if not np.any(arr):
        # W = 0 (or H = 0) is a stationary point of every solver: it would never move
        raise InvalidArgumentError(f"`{name}` must not be all zero (a stationary point the "
                                   "solvers cannot leave); give a non-zero starting factor")
    return arr


def _rows_apart(problem, solver):
    """Whether W's rows are solved one by one for fixed H (see ``NMF._solve_rows``)."""
    return (problem.beta == 2 and solvers.is_entrywise(problem.W_map)) or solver == "mirror"


def _feasible(cmap, x):
    return x if cmap.contains(x) else cmap.project(x)


# penalties of a fit rescaled far from 1 are capped here (such a penalty zeroes its factor)
_PENALTY_CAP = 1e300


def _unmask(X, mask):
    """A numpy masked array as its data (masked entries filled with 0, never looked at)
    and the mask of its observed entries, combined with `mask`."""
    if not np.ma.isMaskedArray(X):
        return X, mask
    observed = ~np.ma.getmaskarray(X)
    if mask is not None:
        if np.shape(mask) != observed.shape:
            raise ShapeError(f"`mask` must have the shape of X {observed.shape}; got {describe(mask)}")
        observed &= np.asarray(mask).astype(bool)
    return X.filled(0), observed


def _log2_scale(values):
    """``log2(max |values|)``, 0 for all-zero (or no) values."""
    data = values.data if sp.issparse(values) else values
    largest = float(np.max(np.abs(data), initial=0.0))
    return float(np.log2(largest)) if largest > 0 else 0.0


def _split_exponent(exponent, W_map, H_map):
    """``(e_W, e_H)`` summing to `exponent`: half each, all on one factor if the other's
    set is not a cone (a simplex does not scale), none if neither is."""
    W_cone, H_cone = solvers.is_cone(W_map), solvers.is_cone(H_map)
    if W_cone and H_cone:
        return exponent / 2, exponent / 2
    if W_cone or H_cone:
        return (exponent, 0.0) if W_cone else (0.0, exponent)
    return 0.0, 0.0


def _times_exp2(X, exponent):
    """``X * 2**exponent`` (dense or sparse)."""
    if exponent == 0:
        return X
    if sp.issparse(X):
        X = X.copy()
        X.data = X.data * np.exp2(exponent)
        return X
    return X * np.exp2(exponent)


def _row_means(X, observed):
    """The mean entry of each row (over its observed entries)."""
    if observed is None:
        return np.asarray(X.mean(axis=1)).ravel()
    return (X * observed).sum(axis=1) / np.maximum(observed.sum(axis=1), 1)
