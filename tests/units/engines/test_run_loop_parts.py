"""The parts of the run loop (limits, the pure stopping test, the batch ledger), the
backend dispatch table and the one rescaling helper, each on its own."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import reparamopt as ro
from reparamopt._utils.dispatch import backend_for, backends, register_backend
from reparamopt.engines import GradientDescent, run
from reparamopt.engines.base import State
from reparamopt.engines.run import Limits, _BatchLedger, check_termination
from reparamopt.exceptions import InvalidArgumentError
from reparamopt.models.scaling import NARROW, WIDE, divided, largest_entry, rescaling
from reparamopt.result import STATUS_MESSAGES, Status


def test_status_values_and_messages_are_the_documented_ones():
    assert [int(s) for s in Status] == [-1, 0, 1, 2, 3, 4]
    assert {s for s in Status if s.success} == {Status.CONVERGED, Status.STALLED}
    assert all(STATUS_MESSAGES[int(s)] == s.message for s in Status)


@pytest.mark.parametrize("converged, k, elapsed, expected", [
    (True, 100, 100.0, Status.CONVERGED),   # convergence wins over every limit
    (False, 10, 0.0, Status.MAX_ITER),
    (False, 3, 5.0, Status.TIME_LIMIT),
    (False, 3, 4.9, None),
])
def test_check_termination(converged, k, elapsed, expected):
    assert check_termination(converged, k, elapsed, Limits(max_iter=10, time_limit=5.0)) is expected


def test_limits_name_the_bad_value():
    with pytest.raises(InvalidArgumentError, match="`check_every`.*0"):
        Limits.checked(tol=1e-8, ftol=0.0, max_iter=10, time_limit=None, check_every=0)
    with pytest.raises(InvalidArgumentError, match="`max_iter`"):
        Limits.checked(tol=1e-8, ftol=0.0, max_iter=-1, time_limit=None, check_every=1)


def test_ledger_freezes_columns_and_closes_the_batch():
    u = np.arange(12.0).reshape(3, 4)
    ledger = _BatchLedger(u)
    state = State(u=u, fun=np.array([1.0, 2.0, 3.0, 4.0]), grad=np.zeros_like(u))
    keep = ledger.freeze(state, np.array([0.0, 5.0, 0.0, 5.0]), np.array([True, False, True, False]))
    np.testing.assert_array_equal(keep, [1, 3])
    np.testing.assert_array_equal(ledger.active, [1, 3])
    later = State(u=u[:, keep] + 100, fun=np.array([20.0, 40.0]), grad=np.zeros((3, 2)))
    U, opt, fun = ledger.close(later, np.array([1e-9, 1.0]), tol=1e-8)
    np.testing.assert_array_equal(U[:, [0, 2]], u[:, [0, 2]])
    np.testing.assert_array_equal(U[:, [1, 3]], u[:, [1, 3]] + 100)
    np.testing.assert_array_equal(fun, [1.0, 20.0, 3.0, 40.0])
    np.testing.assert_array_equal(ledger.converged, [True, True, True, False])
    np.testing.assert_array_equal(opt, [0.0, 1e-9, 0.0, 1.0])


class _Columns:
    """Independent quadratics ``|u_j - c_j|^2`` per column, as a batch."""

    batch = True

    def __init__(self, c, columns=None):
        self.c = c
        self.columns = np.arange(c.shape[1]) if columns is None else columns

    def value_and_grad(self, u):
        return np.sum((u - self.c) ** 2, axis=0), 2 * (u - self.c)

    def optimality(self, u):
        return np.max(np.abs(u - self.c), axis=0)

    def take(self, keep):
        return _Columns(self.c[:, keep], self.columns[keep])


def test_a_checkpoint_ending_some_columns_freezes_them():
    """A checkpoint that jumps the first column to its answer ends it there; the run
    goes on with the others and the result holds every column."""
    c = np.array([[1.0, 2.0, 3.0]])

    def checkpoint(u, k, problem):
        done = problem.columns == 0
        return np.where(done, problem.c, u), done

    res = run(GradientDescent(step_size=0.25), _Columns(c), np.zeros((1, 3)), tol=1e-10,
              max_iter=200, checkpoint=checkpoint, checkpoint_every=1)
    assert res.status == 1 and res.success and res.converged.all()
    np.testing.assert_allclose(res.x, c, atol=1e-10)


def test_the_dask_backend_is_registered_from_the_top_layer():
    assert "dask" in backends()
    assert backend_for(np.ones(2), sp.eye(2)) is None

    class Tagged(float):
        pass

    register_backend("tagged", lambda v: isinstance(v, Tagged), lambda: "served")
    try:
        assert backend_for(1.0, Tagged(2.0)) == "served"
    finally:
        backends().pop("tagged")
    assert ro.nnls(np.eye(2), np.ones(2)).success  # in memory again


@pytest.mark.parametrize("kind", ["dense", "sparse", "operator"])
def test_rescaling_and_divided_for_every_matrix_kind(rng, kind):
    dense = rng.standard_normal((6, 4)) * 1e70
    A = {"dense": dense, "sparse": sp.csr_array(dense),
         "operator": aslinearoperator(dense)}[kind]
    c = rescaling(A)
    if kind == "operator":  # estimated from one product: within the norm's bounds
        assert np.abs(dense).max() / 10 <= c <= np.linalg.norm(dense, 2)
    else:
        assert c == np.abs(dense).max()
    scaled = divided(A, c)
    x = rng.standard_normal(4)
    np.testing.assert_allclose(scaled @ x, dense @ x / c, rtol=1e-12)
    assert rescaling(dense / c) == 1.0 and divided(dense, 1.0) is dense


def test_rescaling_ranges():
    assert rescaling(np.array([1e-7]), NARROW) == 1e-7 and rescaling(np.array([1e-7]), WIDE) == 1.0
    assert rescaling(np.zeros(3), None) == 1.0 and rescaling(np.array([np.inf]), None) == 1.0
    assert largest_entry(np.zeros((0, 3))) == 0.0
