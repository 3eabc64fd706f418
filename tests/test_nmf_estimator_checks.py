"""scikit-learn's estimator checks on reparamopt.NMF.

The default solver ("cd") and the Kullback-Leibler fit pass every check. The checks
that the slower solvers cannot pass are listed below with the reason; they run as
expected failures, none is skipped here. (scikit-learn itself skips
check_array_api_input unless the SCIPY_ARRAY_API environment variable is set.)
"""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from reparamopt.flagships.nmf import NMF

# transform() re-solves for W with the components fixed and the checks compare it with the
# W of fit_transform() at atol=1e-2. Multiplicative (mirror) and latent-gradient steps move
# an entry toward 0 only geometrically (under x = u**2 an entry at 0 is reached in the
# limit, never in finitely many steps), so an entry that is ~1e-16 in one solve can still
# be ~2e-2 in the other within the iteration budget.
_SLOW_ZEROS = "entries converge to 0 only geometrically, so transform and fit_transform differ by > 1e-2"
_TRANSFORM_CHECKS = ("check_transformer_general", "check_transformer_data_not_an_array")

EXPECTED_FAILURES = {
    "mirror": {name: _SLOW_ZEROS for name in _TRANSFORM_CHECKS},
    "nesterov": {name: _SLOW_ZEROS for name in _TRANSFORM_CHECKS},
    "gd": {
        **{name: _SLOW_ZEROS for name in _TRANSFORM_CHECKS},
        # the Armijo step is searched for the whole block, so the step taken for one row
        # depends on the other rows and transform(X[subset]) != transform(X)[subset]
        "check_methods_subset_invariance": "one line-searched step size is shared by all rows of W",
    },
}

ESTIMATORS = [
    NMF(),
    NMF(beta_loss="kullback-leibler", max_iter=1000, tol=1e-10),
    NMF(H_constraint="column-simplex-matrix", max_iter=100),
    NMF(solver="mirror", max_iter=500),
    NMF(solver="nesterov", max_iter=50),
    NMF(solver="gd", max_iter=50),
]


def _expected_failures(estimator):
    return EXPECTED_FAILURES.get(estimator.solver, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS[:2], ids=["cd", "kullback-leibler"])
def test_default_and_kl_fits_have_no_expected_failures(estimator):
    assert _expected_failures(estimator) == {}
