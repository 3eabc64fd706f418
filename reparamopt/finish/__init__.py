"""The exact finish of NNLS: KKT measure, least squares on a support, active set."""

from .active_set import active_set
from .exact import dual_tolerance, exact_finish
from .kkt import check, excess_residual, gradient_floor, kkt_residual, residual
from .least_squares import SupportLeastSquares

__all__ = ["active_set", "exact_finish", "dual_tolerance", "SupportLeastSquares", "check",
           "excess_residual", "gradient_floor", "kkt_residual", "residual"]
