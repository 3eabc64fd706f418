"""scikit-learn's estimator checks on reparamopt.NMF.

Every solver passes every check (none is skipped here). (scikit-learn itself skips
check_array_api_input unless the SCIPY_ARRAY_API environment variable is set.)
"""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from reparamopt.flagships.nmf import NMF

# transform() solves every row of W on its own (exactly for the Frobenius loss), and
# fit_transform() finishes its W the same way, so no solver has expected failures.
EXPECTED_FAILURES = {}

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


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: e.solver + "-" + str(e.beta_loss))
def test_no_expected_failures(estimator):
    assert _expected_failures(estimator) == {}
