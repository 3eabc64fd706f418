"""The scipy drop-in: scipy's own test_nnls.py with only its import changed."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy
import scipy.optimize

import reparamopt as ro
from reparamopt.compat import nnls

SCIPY_TESTS = os.path.join(os.path.dirname(scipy.__file__), "optimize", "tests")


def run_scipy_test_file(name, function, tmp_path):
    """Run scipy's own ``optimize/tests/<name>`` with only the import of `function`
    changed to reparamopt.compat's; the pytest return code and output."""
    with open(os.path.join(SCIPY_TESTS, name)) as source:
        text = source.read()
    original = f"from scipy.optimize import {function}"
    assert original in text
    path = tmp_path / f"test_scipy_{name[5:]}"
    path.write_text(text.replace(original, f"from reparamopt.compat import {function}"))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(path)], capture_output=True, text=True, cwd=tmp_path)
    return done.returncode, done.stdout[-3000:]


@pytest.mark.skipif(not os.path.exists(os.path.join(SCIPY_TESTS, "test_nnls.py")),
                    reason="scipy installed without its tests")
def test_scipy_test_nnls_passes_with_the_import_changed(tmp_path):
    code, output = run_scipy_test_file("test_nnls.py", "nnls", tmp_path)
    assert code == 0, output


def test_compat_matches_scipy_on_random_problems():
    rng = np.random.default_rng(0)
    for m, n in [(30, 10), (10, 30), (25, 25)]:
        A, b = rng.standard_normal((m, n)), rng.standard_normal(m)
        x, rnorm = nnls(A, b)
        x_ref, r_ref = scipy.optimize.nnls(A, b)
        assert rnorm == pytest.approx(r_ref, rel=1e-10, abs=1e-12)
        assert x.shape == (n,) and np.all(x >= 0)


def test_nnls_takes_scipy_names():
    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((20, 8)), rng.standard_normal(20)
    assert ro.nnls(A, b, maxiter=50).success
    with pytest.raises(ro.exceptions.InvalidArgumentError, match="maxiter"):
        ro.nnls(A, b, maxiter=5, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        with pytest.raises(DeprecationWarning, match="atol"):
            ro.nnls(A, b, atol=1e-8)


def test_positional_maxiter_and_zero_maxiter_as_scipy():
    """scipy 1.17 takes ``nnls(A, b, 300)`` with a DeprecationWarning and reads
    ``maxiter=0`` as its default; so does the drop-in."""
    rng = np.random.default_rng(4)
    A, b = rng.random((20, 10)), rng.random(20)
    r_ref = scipy.optimize.nnls(A, b)[1]
    with pytest.warns(DeprecationWarning, match="positional"):
        _, rnorm = nnls(A, b, 300)
    assert rnorm == pytest.approx(r_ref, rel=1e-10)
    assert nnls(A, b, maxiter=0)[1] == pytest.approx(r_ref, rel=1e-10)
    with pytest.raises(TypeError, match="maxiter"):
        nnls(A, b, 300, maxiter=300)
    with pytest.raises(TypeError, match="positional"):
        nnls(A, b, 300, None, 1)
