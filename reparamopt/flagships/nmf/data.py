"""The data of an NMF fit as the solvers see them: validated X with its mask of observed
entries, the graph's matrices, the factors' maps, and the scale the fit runs at."""

from typing import Any, NamedTuple, Optional

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from ..._utils.validation import describe
from ...exceptions import InvalidArgumentError, InvalidTypeError, ShapeError
from ...maps.registry import resolve
from ...models.scaling import rescaling
from ...solvers.nmf import NMFObjective, is_cone

__all__ = ["ObservedData", "FactorMaps", "FitScale", "observed_data", "graph_matrices",
           "factor_map", "factor_maps", "fit_scale", "transform_scale", "times_exp2",
           "scaled_objective", "row_means"]

# penalties of a fit rescaled far from 1 are capped here (such a penalty zeroes its factor)
_PENALTY_CAP = 1e300


class ObservedData(NamedTuple):
    """X as the solvers take it: float64, missing entries 0 (dense where a mask or the
    loss needs it), `observed` the float mask of observed entries (None: all), `dtype`
    the dtype of the results (float32 for float32 X, else float64)."""

    X: Any
    observed: Optional[np.ndarray]
    dtype: np.dtype


class FactorMaps(NamedTuple):
    """The maps of the factors' sets: W's on W (n_samples, k), H's on ``H.T``."""

    W: Any
    H: Any


class FitScale(NamedTuple):
    """The fit runs on ``X / 2**(W + H)`` with ``W / 2**W`` and ``H / 2**H`` (log2 units)."""

    W: float
    H: float

    @property
    def total(self):
        return self.W + self.H


def observed_data(estimator, X, mask, beta, *, reset):
    """:class:`ObservedData` of X (array, masked array or sparse) and `mask`, validated
    for `estimator` (`reset`: a fit, which records the number of features)."""
    X, mask = _unmask(X, mask)
    X = _validated(estimator, X, reset)
    values = X.data if sp.issparse(X) else X
    # fmin skips NaN (missing) entries, and unlike nanmin does not warn when all are
    low = np.fmin.reduce(values, axis=None) if values.size else 0.0
    if low < 0:
        raise InvalidArgumentError(
            f"Negative values in data passed to NMF: `X` must be non-negative; got a "
            f"minimum of {low:g}")
    dtype = X.dtype
    X = X.astype(np.float64, copy=False)  # the solvers compute in float64
    X, observed = _observed(X, _check_mask(mask, X.shape), beta)
    if reset and observed is not None and not observed.any():
        raise InvalidArgumentError(
            f"`X` must have an observed entry to fit; got an array of shape {X.shape} whose "
            "every entry is missing (NaN, masked, or False in `mask`)")
    return ObservedData(X=X, observed=observed, dtype=dtype)


def _validated(estimator, X, reset):
    """X through scikit-learn's validation (float32 stays float32, as in scikit-learn,
    every other dtype becomes float64); its errors name `X` and what was received, and
    keep scikit-learn's message and kind (ValueError or TypeError)."""
    try:
        return validate_data(estimator, X, accept_sparse=("csr", "csc"), dtype=(np.float64, np.float32),
                             ensure_all_finite="allow-nan", reset=reset)
    except (TypeError, ValueError) as exc:
        kind = InvalidTypeError if isinstance(exc, TypeError) else InvalidArgumentError
        raise kind(f"`X` must be a 2-d array-like of non-negative numbers (NaN for missing "
                   f"entries); got {describe(X)}: {exc}") from exc


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


def _check_mask(mask, shape):
    """`mask` as a boolean array of `shape` (None stays None)."""
    if mask is None:
        return None
    observed = np.asarray(mask)
    if observed.shape != shape:
        raise ShapeError(f"`mask` must have the shape of X {shape}; got {describe(mask)}")
    if observed.dtype != bool:
        if not np.all(np.isin(observed, (0, 1))):
            raise InvalidArgumentError(f"`mask` must be boolean (True = observed); got {describe(mask)}")
        observed = observed.astype(bool)
    return observed


def _observed(X, observed, beta):
    """X with missing entries set to 0, and the float mask of observed entries (None: all)."""
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
            raise InvalidArgumentError("`beta_loss` <= 0 needs positive observed entries in X; got zeros")
    return X, None if observed is None else observed.astype(float)


def graph_matrices(graph, n_samples):
    """``(adjacency, degree)`` of a networkx graph over the samples (``(None, None)``
    without one); a directed graph counts each edge half each way."""
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


def factor_maps(settings, shape, n_components):
    """The :class:`FactorMaps` of a rank-`n_components` fit of data of `shape`."""
    n_samples, n_features = shape
    return FactorMaps(
        W=factor_map(settings.W_constraint, (n_samples, n_components), "W_constraint", settings.power),
        H=factor_map(settings.H_constraint, (n_features, n_components), "H_constraint", settings.power))


def _split_exponent(exponent, maps):
    """:class:`FitScale` summing to `exponent`: half each, all on one factor if the
    other's set is not a cone (a simplex does not scale), none if neither is."""
    W_cone, H_cone = is_cone(maps.W), is_cone(maps.H)
    if W_cone and H_cone:
        return FitScale(W=exponent / 2, H=exponent / 2)
    if W_cone or H_cone:
        return FitScale(W=exponent, H=0.0) if W_cone else FitScale(W=0.0, H=exponent)
    return FitScale(W=0.0, H=0.0)


def fit_scale(data, maps):
    """The scale of a fit: X divided by its largest observed entry, the exponent split
    between the factors, so that data near the ends of the float range fit as well and
    ``c * X`` fits as X does for every ``c > 0``."""
    values = data.X if data.observed is None else data.X[data.observed > 0]
    return _split_exponent(float(np.log2(rescaling(values, safe=None))), maps)


def transform_scale(H, maps, fit_total=None):
    """The scale of a transform against the components `H`: the fit's (`fit_total`, the
    total exponent of the fit; None: twice H's), not this batch's, so that no row depends
    on the others."""
    e_H = float(np.log2(rescaling(H, safe=None)))
    total = 2 * e_H if fit_total is None else fit_total
    return FitScale(W=total - e_H if is_cone(maps.W) else 0.0, H=e_H)


def times_exp2(X, exponent):
    """``X * 2**exponent`` (dense or sparse)."""
    if exponent == 0:
        return X
    if sp.issparse(X):
        X = X.copy()
        X.data = X.data * np.exp2(exponent)
        return X
    return X * np.exp2(exponent)


def scaled_objective(data, settings, maps, scale, graph=(None, None)):
    """The :class:`~reparamopt.solvers.nmf.NMFObjective` in the units of `scale`: the
    objective divided by ``2**(beta * scale.total)``, the penalties with it."""
    n_samples, n_features = data.X.shape
    drop = settings.beta_loss * scale.total

    def scaled(value, exponent):
        with np.errstate(over="ignore"):  # a penalty beyond the float range: cap it
            return float(min(value * np.exp2(exponent - drop), _PENALTY_CAP)) if value else 0.0

    weights = settings.penalties(n_samples, n_features)
    adjacency, degree = graph
    return NMFObjective(
        X=times_exp2(data.X, -scale.total), mask=data.observed, beta=settings.beta_loss,
        l1_W=scaled(weights.l1_W, scale.W), l2_W=scaled(weights.l2_W, 2 * scale.W),
        l1_H=scaled(weights.l1_H, scale.H), l2_H=scaled(weights.l2_H, 2 * scale.H),
        W_map=maps.W, H_map=maps.H, graph_weight=scaled(settings.graph_weight, 2 * scale.W),
        adjacency=adjacency, degree=degree)


def row_means(X, observed):
    """The mean entry of each row (over its observed entries)."""
    if observed is None:
        return np.asarray(X.mean(axis=1)).ravel()
    return (X * observed).sum(axis=1) / np.maximum(observed.sum(axis=1), 1)
