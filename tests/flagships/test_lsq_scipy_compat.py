"""The scipy drop-in: scipy's own test_lsq_linear.py with only its import changed."""

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy
import scipy.optimize as so

from reparamopt.compat import lsq_linear

SCIPY_TESTS = os.path.join(os.path.dirname(scipy.__file__), "optimize", "tests",
                           "test_lsq_linear.py")


@pytest.mark.skipif(not os.path.exists(SCIPY_TESTS), reason="scipy installed without its tests")
def test_scipy_test_lsq_linear_passes_with_the_import_changed(tmp_path):
    with open(SCIPY_TESTS) as source:
        text = source.read()
    assert "from scipy.optimize import lsq_linear" in text
    path = tmp_path / "test_scipy_lsq_linear.py"
    path.write_text(text.replace("from scipy.optimize import lsq_linear",
                                 "from reparamopt.compat import lsq_linear"))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(path)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]


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
