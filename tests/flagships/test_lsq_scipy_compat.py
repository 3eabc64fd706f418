"""The scipy drop-in: scipy's own test_lsq_linear.py with only its import changed."""

import os

import numpy as np
import pytest
import scipy.optimize as so

from reparamopt.compat import lsq_linear
from reparamopt.datasets import make_unmixing
from reparamopt.exceptions import ConvergenceWarning

from .test_scipy_compat import SCIPY_TESTS, run_scipy_test_file


@pytest.mark.skipif(not os.path.exists(os.path.join(SCIPY_TESTS, "test_lsq_linear.py")),
                    reason="scipy installed without its tests")
def test_scipy_test_lsq_linear_passes_with_the_import_changed(tmp_path):
    code, output = run_scipy_test_file("test_lsq_linear.py", "lsq_linear", tmp_path)
    assert code == 0, output


@pytest.mark.parametrize("method", ["trf", "bvls"])
def test_compat_matches_scipy_on_random_bounded_problems(method):
    rng = np.random.default_rng(0)
    for m, n in [(30, 10), (10, 30), (25, 25)]:
        A, b = rng.standard_normal((m, n)), rng.standard_normal(m)
        lb, ub = -rng.random(n), rng.random(n)
        res = lsq_linear(A, b, (lb, ub), method=method)
        ref = so.lsq_linear(A, b, (lb, ub), method="bvls", tol=1e-14)
        assert res.success and res.status == 1
        assert res.cost <= ref.cost * (1 + 1e-10) + 1e-14
        np.testing.assert_array_equal(res.active_mask, (res.x >= ub).astype(int)
                                      - (res.x <= lb).astype(int))
        np.testing.assert_allclose(res.fun, A @ res.x - b)
        assert res.optimality < 1e-12 * max(1.0, np.abs(A.T @ b).max())


def test_compat_errors_as_scipy():
    A, b = np.eye(2), np.ones(2)
    with pytest.raises(ValueError, match="strictly less"):
        lsq_linear(A, b, (1, 0))
    with pytest.raises(ValueError, match="`method`"):
        lsq_linear(A, b, method="lm")


def test_compat_iteration_limit_is_status_zero_with_one_warning():
    A, B, _ = make_unmixing(60, 30, 1, active=8, random_state=3)  # cond ~1e17
    b = B[:, 0]
    with pytest.warns(ConvergenceWarning, match="max_iter") as record:
        res = lsq_linear(A, b, (0, 1), max_iter=1)
    assert len(record) == 1 and res.status == 0 and not res.success
    assert np.all((res.x >= 0) & (res.x <= 1))
