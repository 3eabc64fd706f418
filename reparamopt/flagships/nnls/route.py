"""The routing plan of one :func:`~reparamopt.nnls` call: a pure function of the
settings and of measured properties of the data.

:func:`route` says which path solves the problem (a closed form, the compiled
Lawson-Hanson method, the finish from a least-squares start, or the reparametrized
dynamics with the finish at their checkpoints), with which engine and which start. It
reads the data only through :class:`Facts` and changes nothing.
"""

from functools import cached_property
from typing import NamedTuple, Optional

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

__all__ = ["NNLSPlan", "Facts", "route", "default_gram", "densifiable", "compiled_pays", "PATHS"]

# Largest n for which the automatic Gram mode stores A^T A (n^2 doubles): dense A with
# m >= n, and sparse A of any shape (its Gram matrix is formed dense, on first use: the
# sparse path of "auto" forms it only when its conjugate gradients stall).
GRAM_MAX_N = 6000
SPARSE_GRAM_MAX_N = 2000

# Dense problems go to the compiled Lawson-Hanson method of scipy when they have at most
# COMPILED_SMALL_N columns, or fewer than LAWSON_HANSON_FROM and a matrix too
# ill-conditioned for the sign pattern of the least-squares solution to guide the
# exchanges (measured: below those sizes it beats exchanges driven from Python). Small
# sparse matrices are densified for it.
COMPILED_SMALL_N = 150
# Wide dense problems (m < n) go there too while m^2 n is at most this: the method needs
# about one sweep of A per index of the support (at most m of them), and measured on
# Gaussian, uniform and smooth-bump dictionaries from 20 x 200 to 1000 x 4000 it beats
# the dynamics up to 200 x 2000 (2-30x at m <= 100), and loses beyond.
COMPILED_WIDE_WORK = 1e8
# From this many columns ill-conditioned dense data go to Lawson and Hanson's method with
# block entries on an updated QR instead (it prices once per block, not once per index).
LAWSON_HANSON_FROM = 500
DENSIFY_MAX = 4_000_000

# Dense matrices whose neighbouring columns have a median cosine above this are taken
# for smoothing kernels (measured: 0.98-1.0 for blur, cumulative sums, Hilbert and
# Vandermonde matrices, 0.94 for peak libraries; 0.75 for uniform random entries, 0.02
# for Gaussian ones).
SMOOTH_COSINE = 0.9

# Iterations between finish attempts: the paper's methods, and "auto"'s dynamics
CHECK_EVERY, AUTO_CHECK_EVERY = 25, 20

PATHS = ("zero", "warm", "warm-finish", "compiled", "ill-conditioned", "least-squares",
         "sparse", "dynamics")
"""The paths of a plan."""


class NNLSPlan(NamedTuple):
    """How one call is solved.

    Attributes
    ----------
    path : str
        One of :data:`PATHS`: "zero" (``x = 0`` satisfies the KKT conditions), "warm"
        (the warm start does), "warm-finish" (the finish from the warm start's support),
        "compiled" (scipy's Lawson-Hanson on the dense matrix), "ill-conditioned" (a
        smoothing kernel or a wide dictionary of smooth atoms: Lawson-Hanson from
        scratch), "least-squares" (the finish from
        the sign pattern of the unconstrained solution), "sparse" (projected Newton
        steps by conjugate gradients, :mod:`.sparse`), "dynamics" (the engine).
    engine : str or None
        The engine of the dynamics (a name of :data:`reparamopt.engines.ENGINES`).
    start : str or None
        The dynamics' start: "warm" (`x0`), "scale" (`init_scale`), "moderate" (a tenth
        of the best constant x) or "small" (a millionth of the gradient's scale).
    check_every : int or None
        Iterations between finish attempts of the dynamics.
    """

    path: str
    engine: Optional[str] = None
    start: Optional[str] = None
    check_every: Optional[int] = None


def default_gram(A):
    """Whether the automatic Gram mode stores ``A^T A`` for `A`."""
    m, n = A.shape
    if sp.issparse(A):
        return 0 < n <= SPARSE_GRAM_MAX_N
    return not isinstance(A, LinearOperator) and m >= n and 0 < n <= GRAM_MAX_N


def compiled_pays(m, n, kind):
    """Whether scipy's compiled Lawson-Hanson method is the fastest exact path for an
    ``m x n`` matrix of `kind`: few columns, or a wide dense matrix with few rows.

    Examples
    --------
    >>> from reparamopt.flagships.nnls.route import compiled_pays
    >>> compiled_pays(64, 1700, "dense"), compiled_pays(500, 2000, "dense")
    (True, False)
    """
    return n <= COMPILED_SMALL_N or (kind == "dense" and m < n and m * m * n <= COMPILED_WIDE_WORK)


def densifiable(model):
    """Whether the matrix of `model` is dense or small enough to become dense."""
    return model.kind == "dense" or (model.kind == "sparse" and model.m * model.n <= DENSIFY_MAX)


class Facts:
    """Measured properties of the (scaled) data that the route reads; the costly ones
    (a pass over ``A``) are measured on first read only, so that a plan decided early
    pays for nothing else.

    Attributes
    ----------
    model : LinearModel
    x0 : ndarray or None
        The warm start, ``(n, k)``.
    trivial : bool
        No column, or ``A^T b <= 0``: ``x = 0`` satisfies the KKT conditions.
    """

    def __init__(self, model, x0=None):
        self.model, self.x0 = model, x0
        self.trivial = model.n == 0 or not (model.atb > 0).any()

    @property
    def densifiable(self):
        """Whether ``A`` is dense or small enough to become dense."""
        return densifiable(self.model)

    @cached_property
    def smooth_kernel(self):
        """Whether dense ``A`` looks like a smoothing kernel (blur, spectra, cumulative
        sums, polynomial bases): neighbouring columns nearly parallel, so that ``A`` is
        ill-conditioned and its least squares noise."""
        model = self.model
        if model.kind != "dense" or model.n < 3:
            return False
        A = model.A
        norms = np.maximum(model.norms, np.finfo(float).tiny)
        cosine = np.abs(np.einsum("ij,ij->j", A[:, :-1], A[:, 1:])) / (norms[:-1] * norms[1:])
        return bool(np.median(cosine) > SMOOTH_COSINE)


def route(settings, facts, warm_certified=False):
    """The plan for `settings` on data with `facts` (`warm_certified`: the warm start
    already meets the KKT test).

    Examples
    --------
    >>> import numpy as np
    >>> from reparamopt.flagships.nnls.route import Facts, route
    >>> from reparamopt.flagships.nnls.settings import NNLSSettings
    >>> from reparamopt.models.linear import LinearModel
    >>> A = np.random.default_rng(0).standard_normal((600, 1200))  # wide, m^2 n > 1e8
    >>> facts = Facts(LinearModel(A, A[:, :1] @ np.ones((1, 1))))
    >>> route(NNLSSettings(), facts)
    NNLSPlan(path='dynamics', engine='accelerated', start='small', check_every=20)
    >>> route(NNLSSettings(method="bb"), facts).engine
    'bb'
    """
    if facts.trivial:
        return NNLSPlan("zero")
    if warm_certified:
        return NNLSPlan("warm")
    if settings.method != "auto" or not settings.polish:
        # the paper's dynamics ("auto" without the finish: accelerated latent steps)
        engine = "accelerated" if settings.method == "auto" else settings.method
        return NNLSPlan("dynamics", engine, _start(settings, facts, "moderate"),
                    settings.check_every(CHECK_EVERY))
    return _route_auto(settings, facts)


def _route_auto(settings, facts):
    """The exact solution by the fastest path for the data (see :func:`nnls`)."""
    model = facts.model
    if facts.x0 is not None:
        return NNLSPlan("warm-finish")
    if model.kind == "sparse" and model.m >= model.n > COMPILED_SMALL_N and \
            settings.gram is not True:
        # tall sparse data: products with A only; A^T A (n^3 / 3 to factor, against
        # 2 nnz per product) only where the conjugate gradients measure it is needed.
        # Wide data keep the dynamics, whose small start finds a sparse support.
        return NNLSPlan("sparse")
    if not model.use_gram:
        if compiled_pays(model.m, model.n, model.kind) and facts.densifiable:
            return NNLSPlan("compiled")
        if model.kind == "dense" and facts.smooth_kernel:
            # a wide dictionary of smooth atoms: the dynamics' support after a few steps
            # holds most of the nearly parallel atoms, which the finish must drop one
            # factorization at a time; block entries from scratch reach the few true
            # ones directly (measured on 500 x 2000 and 1000 x 4000 Gaussian bumps:
            # 1.8-2.1x faster than from the dynamics)
            return NNLSPlan("ill-conditioned")
        return NNLSPlan("dynamics", "accelerated", _start(settings, facts, "small"),
                    settings.check_every(AUTO_CHECK_EVERY))
    if facts.smooth_kernel:
        # the least-squares solution of a smoothing kernel oscillates: skip it
        return NNLSPlan("ill-conditioned")
    return NNLSPlan("least-squares")


def _start(settings, facts, default):
    if facts.x0 is not None:
        return "warm"
    if settings.init_scale is not None:
        return "scale"
    return default
