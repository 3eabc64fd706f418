"""Step-size schedules: plain callables of the iteration counter k."""

from .._utils.validation import check_scalar

__all__ = ["constant", "polynomial_decay"]


def constant(step):
    """``eta_k = step``.

    Examples
    --------
    >>> from reparamopt.engines import constant
    >>> constant(0.1)(5)
    0.1
    """
    step = check_scalar(step, "step", lower=0, lower_inclusive=False)
    return lambda k: step


def polynomial_decay(step, gamma):
    r"""``eta_k = step / (k + 2)^gamma``, the paper's decaying step.

    .. math:: \eta_k = \frac{\eta}{(k+2)^\gamma}

    Examples
    --------
    >>> from reparamopt.engines import polynomial_decay
    >>> round(polynomial_decay(1.0, 0.5)(2), 6)
    0.5
    """
    step = check_scalar(step, "step", lower=0, lower_inclusive=False)
    gamma = check_scalar(gamma, "gamma", lower=0)
    return lambda k: step / (k + 2) ** gamma
