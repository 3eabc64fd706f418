r"""The alternating solvers behind :class:`reparamopt.NMF`, one file per family.

Every solver alternates between the blocks W and H and keeps each factor in the image
of its constraint map (``W = U**L``, ``H = V**L`` for the default non-negative maps), so
no iterate ever leaves the feasible set.

- ``cd`` (:mod:`.coordinate_descent`): exact latent block-coordinate minimization, with
  the block's Gram products (or the masked residual).
- ``mirror`` (:mod:`.multiplicative`): the multiplicative step ``x <- x * (N / P)**gamma``
  with ``grad f = P - N`` split into non-negative parts; every beta-divergence. For the
  Kullback-Leibler loss (:mod:`.kullback_leibler`) the step is over-relaxed and forms
  ``W H`` only where X is positive.
- ``gd`` / ``nesterov`` (:mod:`.latent`): plain or accelerated gradient steps on the
  latent factors through the maps' pullbacks (any registered constraint), a few per block.

:mod:`.objective` holds the objective of a fit (:class:`NMFObjective`),
:mod:`.factor_sets` what the solvers ask of the factors' sets, :mod:`.rows` W for fixed H
row by row, :mod:`.initialization` the starting factors and :mod:`.blocks` the solvers
as blocks of :class:`reparamopt.engines.AlternatingBlocks`.
"""

from .blocks import SOLVERS, BlockUpdates, make_solver, stopping_measure
from .coordinate_descent import (
    CoordinateDescent,
    MaskedCoordinateDescent,
    kkt_violation,
    sweep_budget,
    sweeps,
)
from .factor_sets import (
    SetKind,
    column_projector,
    entry_bounds,
    feasible,
    is_columnwise,
    is_cone,
    is_entrywise,
    is_nonnegative,
    nonnegative_part,
    set_kind,
)
from .initialization import INITS, check_rank_for_init, initialize, mean_of
from .kullback_leibler import KLMultiplicative, Relaxation
from .latent import LatentFactors, LatentGradient
from .multiplicative import Multiplicative, mirror_step, multiplicative_step
from .objective import NMFObjective, beta_divergence
from .rows import exact_rows, rowwise_mirror

__all__ = ["SOLVERS", "BlockUpdates", "make_solver", "stopping_measure", "CoordinateDescent",
           "MaskedCoordinateDescent", "Multiplicative", "KLMultiplicative", "Relaxation",
           "LatentGradient", "LatentFactors",
           "NMFObjective", "beta_divergence", "sweeps", "sweep_budget", "kkt_violation",
           "mirror_step", "multiplicative_step", "exact_rows", "rowwise_mirror", "SetKind",
           "set_kind", "column_projector", "nonnegative_part", "entry_bounds", "feasible",
           "is_entrywise", "is_columnwise", "is_nonnegative", "is_cone", "INITS", "initialize",
           "mean_of", "check_rank_for_init"]
