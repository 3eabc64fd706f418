"""Fixtures of the command-line tests: the input files they run on."""

import textwrap

import numpy as np
import pytest
import scipy.optimize


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(7)
    A = rng.random((40, 25))
    x_true = np.where(rng.random(25) < 0.4, rng.random(25), 0.0)
    b = A @ x_true + 0.05 * rng.standard_normal(40)
    x_ref, rnorm_ref = scipy.optimize.nnls(A, b)
    return {"folder": folder, "A": A, "b": b, "x_ref": x_ref, "rnorm_ref": rnorm_ref}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    np.save(folder / "A.npy", rng.random((6, 4)))
    np.save(folder / "b.npy", rng.random(6))
    np.save(folder / "b5.npy", rng.random(5))
    np.save(folder / "B.npy", rng.random((6, 2)))
    np.save(folder / "v.npy", rng.random(6))
    np.save(folder / "cube.npy", rng.random((2, 2, 2)))
    A_nan = rng.random((6, 4))
    A_nan[1, 2] = np.nan
    np.save(folder / "A_nan.npy", A_nan)
    np.save(folder / "A_complex.npy", rng.random((6, 4)) + 1j)
    np.save(folder / "A_text.npy", np.array([["a", "b"], ["c", "d"]]))
    (folder / "garbage.npy").write_bytes(b"this is not a numpy file")
    (folder / "garbage.npz").write_bytes(b"PK\x03\x04 broken zip")
    (folder / "garbage.mtx").write_text("%%MatrixMarket nonsense\n1 2\n")
    (folder / "text.csv").write_text("1,2,3\n4,five,6\n")
    (folder / "ragged.csv").write_text("1,2,3\n4,5\n")
    (folder / "A.dat").write_text("1 2\n3 4\n")
    np.savez(folder / "two.npz", a=np.ones(3), b=np.ones(3))
    (folder / "folder.npy").mkdir()
    return folder


FAKE_TUTORIAL = '''
"""A figure."""
import os
import matplotlib.pyplot as plt
quick = os.environ.get("REPARAMOPT_QUICK") == "1"
with open(os.path.join(os.environ["REPARAMOPT_OUTPUT"], "{name}.txt"), "w") as handle:
    handle.write("quick" if quick else "full")
plt.figure()
plt.plot([1, 2, 3])
'''


@pytest.fixture
def tutorials(tmp_path):
    folder = tmp_path / "tutorials"
    folder.mkdir()
    for name in ("rates", "implicit_bias"):
        (folder / f"plot_{name}.py").write_text(textwrap.dedent(FAKE_TUTORIAL.replace("{name}", name)))
    (folder / "plot_broken.py").write_text("raise RuntimeError('boom')\n")
    return {"REPARAMOPT_TUTORIALS": str(folder)}
