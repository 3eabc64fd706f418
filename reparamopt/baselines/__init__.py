"""Reference solvers, kept apart from the engines on purpose: they are the yardsticks.

* :mod:`~reparamopt.baselines.nnls`: Lawson-Hanson (through scipy), projected gradient
  and accelerated projected gradient for NNLS;
* :mod:`~reparamopt.baselines.lp`: the minimum-l1 points by linear programming (basis
  pursuit and the minimum-l1 NNLS solution).
"""

from .lp import basis_pursuit, min_l1_nnls
from .nnls import accelerated_projected_gradient, lawson_hanson, projected_gradient

__all__ = ["lawson_hanson", "projected_gradient", "accelerated_projected_gradient", "basis_pursuit",
           "min_l1_nnls"]
