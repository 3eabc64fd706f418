"""The small-problem path of nnls: the general path's answer, certified, with its fields."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.optimize

import reparamopt as ro
from reparamopt.flagships.nnls import api, small


def _problems():
    rng = np.random.default_rng(11)
    scaled = rng.standard_normal((300, 25)) * 10.0 ** rng.uniform(-3, 3, 25)
    A = rng.standard_normal((60, 20))
    smooth = np.exp(-0.5 * ((np.linspace(0, 1, 64)[:, None] - np.linspace(0, 1, 900)) / 0.05) ** 2)
    return {
        "wide 40x150": (rng.standard_normal((40, 150)), rng.standard_normal(40)),
        "tall 300x25, column scales over 6 decades": (scaled, rng.standard_normal(300)),
        "tall 500x60 (reduced to its triangle)": (rng.standard_normal((500, 60)), rng.standard_normal(500)),
        "wide consistent": (A.T, A.T @ (np.abs(rng.standard_normal(60)) * (rng.random(60) < 0.2))),
        "x = 0 (A^T b <= 0)": (np.abs(A), -np.abs(rng.standard_normal(60))),
        "b = 0": (A, np.zeros(60)),
        "wide coherent 64x900": (smooth, smooth @ (rng.random(900) * (rng.random(900) < 0.02))),
        "one column": (A[:, :1], rng.standard_normal(60)),
        "scales 1e40": (1e40 * A, 1e-40 * rng.standard_normal(60)),
    }


def _general(A, b, **kwargs):
    """The same call on the general path (the small path switched off)."""
    saved = api.small_call
    api.small_call = lambda *a, **k: None
    try:
        return ro.nnls(A, b, **kwargs)
    finally:
        api.small_call = saved


@pytest.mark.parametrize("case", sorted(_problems()))
def test_small_path_gives_the_general_paths_answer_and_fields(case, monkeypatch):
    A, b = _problems()[case]
    # the small path is taken: the general path would fail here
    monkeypatch.setattr(api, "solve_scaled", lambda *a, **k: pytest.fail("general path taken"))
    fast = ro.nnls(A, b)
    monkeypatch.undo()
    slow = _general(A, b)
    assert set(fast) == set(slow)
    for key in ("status", "success", "message", "method", "nit", "nfev"):
        assert fast[key] == slow[key], key
    for key in ("rnorm", "fun", "optimality"):
        assert type(fast[key]) is type(slow[key]) is np.float64, key
    assert fast.x.shape == slow.x.shape == (A.shape[1],) and np.all(fast.x >= 0)
    assert fast.success and fast.optimality <= 1e-10
    ref = scipy.optimize.nnls(A, b, maxiter=50 * A.shape[1])[0]
    f_ref = 0.5 * np.sum((A @ ref - b) ** 2)
    assert fast.fun <= f_ref * (1 + 1e-9) + 1e-14 * (b @ b)
    assert abs(fast.fun - slow.fun) <= 1e-9 * slow.fun + 1e-14 * (b @ b)


@pytest.mark.parametrize("kwargs", [dict(method="nesterov"), dict(power=3), dict(x0=np.ones(30)),
                                    dict(polish=False), dict(gram=False), dict(history=True),
                                    dict(options={"max_solves": 5}), dict(maxiter=100),
                                    dict(init_scale=1e-3), dict(tol=1e-8)])
def test_options_other_than_tol_take_the_general_path(kwargs, monkeypatch):
    rng = np.random.default_rng(2)
    A, b = rng.standard_normal((50, 30)), rng.standard_normal(50)

    def general(*args, **kw):
        raise _General

    monkeypatch.setattr(api, "solve_scaled", general)
    if "tol" in kwargs:  # tol is the one option the small path honours
        assert ro.nnls(A, b, **kwargs).success
    else:
        with pytest.raises(_General):
            ro.nnls(A, b, **kwargs)


class _General(Exception):
    """Raised where the general path would start."""


@pytest.mark.parametrize("A,b", [
    (np.ones((5, 3), np.float32), np.ones(5)),  # float32
    (np.ones((5, 3)).tolist(), np.ones(5)),  # a list
    (np.ones((5, 3)), np.ones((5, 2))),  # two right-hand sides
    (1e-180 * np.ones((5, 3)), np.ones(5)),  # needs rescaling
    (np.ones((5, 3)), np.full(5, 1e60)),
    (np.ones((2000, 150)), np.ones(2000)),  # above SMALL_SIZE
])
def test_other_data_take_the_general_path(A, b):
    kw = dict(method="auto", power=2, polish=True, progress=False, history=False, unset=(None,) * 8)
    assert small.small_call(A, b, 1e-10, **kw) is None


def test_bad_data_get_the_general_paths_errors():
    A = np.ones((5, 3))
    A[1, 1] = np.nan
    with pytest.raises(ro.exceptions.NonFiniteError, match="A"):
        ro.nnls(A, np.ones(5))
    with pytest.raises(ro.exceptions.ShapeError, match="b"):
        ro.nnls(np.ones((5, 3)), np.ones(4))
    with pytest.raises(ro.exceptions.InvalidArgumentError, match="tol"):
        ro.nnls(np.ones((5, 3)), np.ones(5), tol=-1.0)


def test_tall_data_with_b_in_the_range_of_A_take_the_general_path():
    # its least-squares solution is exact to rounding: the residual is scipy's or lower
    A = np.array([[1.0, 0.5, -1.0], [1.0, 0.5, 0.0], [-1.0, 0.0, 1.0]])
    kw = dict(method="auto", power=2, polish=True, progress=False, history=False, unset=(None,) * 8)
    b = np.array([-1.0, 2.0, 2.0])
    assert small.small_call(A, b, 1e-10, **kw) is None
    res = ro.nnls(A, b)
    assert res.rnorm <= scipy.optimize.nnls(A, b)[1] + 1e-300
    np.testing.assert_allclose(res.x, [1.0, 2.0, 3.0])


def test_an_answer_the_check_refuses_goes_to_the_general_path(monkeypatch):
    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((30, 10)), rng.standard_normal(30)
    monkeypatch.setattr(small, "compiled_column", lambda A, b: np.zeros(A.shape[1]))  # a wrong x
    res = ro.nnls(A, b)
    assert res.success and res.optimality <= 1e-10 and np.any(res.x > 0)


def test_a_small_call_loads_neither_the_engines_nor_the_dynamics():
    # a fresh interpreter: this one has loaded everything already. The exact paths never
    # run the engines, so the first call in a process must not pay for importing them;
    # the dynamics (a wide 600 x 1200 call) do load them.
    code = ("import sys, numpy as np, reparamopt\n"
            "rng = np.random.default_rng(0)\n"
            "reparamopt.nnls(rng.standard_normal((40, 150)), rng.standard_normal(40))\n"
            "small = sorted(m for m in sys.modules if m.startswith('reparamopt.engines'))\n"
            "A = rng.standard_normal((600, 1200))\n"
            "reparamopt.nnls(A, A[:, :5] @ np.ones(5))\n"
            "print(small, 'reparamopt.engines' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]", "True"]


@pytest.mark.parametrize("scale_A,scale_b", [(1e-200, 1.0), (1e60, 1.0), (1.0, 1e-170), (1.0, 1e55)])
def test_data_that_need_rescaling_take_the_general_path(scale_A, scale_b):
    # squares that underflow (1e-200, 1e-170) or pass 1e100 must not pass the range test;
    # the general path rescales and solves the same problem as on unit data
    rng = np.random.default_rng(3)
    A, b = rng.standard_normal((30, 12)), rng.standard_normal(30)
    kw = dict(method="auto", power=2, polish=True, progress=False, history=False, unset=(None,) * 8)
    assert small.small_call(scale_A * A, scale_b * b, 1e-10, **kw) is None
    res = ro.nnls(scale_A * A, scale_b * b)
    # x scales by scale_b / scale_A: compared in unit-data terms, to 1e-9 relative
    x_ref = scipy.optimize.nnls(A, b)[0]
    np.testing.assert_allclose(res.x * (scale_A / scale_b), x_ref, rtol=1e-9, atol=1e-12)
    assert res.success
