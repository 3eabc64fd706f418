"""``import reparamopt`` stays light: heavy modules load on first use, not with the package.

Each check runs in a fresh interpreter (this one has loaded everything already) and
looks at ``sys.modules``, not at a clock.
"""

import json
import subprocess
import sys

import pytest

# Loaded only by the features that need them (flows, L-BFGS, the LP baselines, the
# registry's paths, plotting, NMF, Dask, progress bars), never by the import itself.
HEAVY = (
    "scipy.integrate", "scipy.optimize", "scipy.spatial", "scipy.special", "scipy.fft",
    "networkx", "matplotlib", "sklearn", "dask", "distributed", "tqdm", "hypothesis",
)


def loaded_after(code):
    """Top-level names of HEAVY that are in ``sys.modules`` after running `code` afresh."""
    script = (f"import sys, json\n{code}\n"
              f"print(json.dumps(sorted(h for h in {HEAVY!r} if h in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_import_loads_no_heavy_module():
    # what numpy and autograd pull in themselves is not reparamopt's doing
    pulled_by_dependencies = loaded_after("import numpy, autograd")
    assert loaded_after("import reparamopt") - pulled_by_dependencies == set()


@pytest.mark.parametrize("code,module", [
    ("import reparamopt as ro; ro.registry.path('simplex')", "networkx"),
    ("import reparamopt as ro; repr(ro.OptimizeResult(x=1))", "scipy.optimize"),
    ("from reparamopt.engines import ODE_METHODS; ODE_METHODS['RK45']", "scipy.integrate"),
])
def test_heavy_modules_load_on_first_use(code, module):
    assert module in loaded_after(code)


def test_every_public_name_imports():
    code = ("import reparamopt\n"
            "for name in reparamopt.__all__:\n"
            "    exec(f'from reparamopt import {name}')\n"
            "reparamopt.nnls, reparamopt.baselines.nnls, reparamopt.operators\n"
            "from reparamopt.engines import ODE_METHODS, LBFGS, GradientFlow\n"
            "from reparamopt.models.operators import SubsampledFFT")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_optimize_result_behaves_like_scipys():
    import numpy as np
    import scipy.optimize

    from reparamopt import OptimizeResult

    fields = dict(x=np.arange(3.0), fun=0.5, success=True, status=1, message="done", nit=4)
    ours, scipys = OptimizeResult(**fields), scipy.optimize.OptimizeResult(**fields)
    assert repr(ours) == repr(scipys) and repr(OptimizeResult()) == "OptimizeResult()"
    assert dir(ours) == dir(scipys)
    ours.extra = 1
    assert ours["extra"] == 1
    del ours.extra
    with pytest.raises(AttributeError):
        _ = ours.extra


def test_dir_shows_the_public_names_and_each_imports():
    # (a name whose extra is not installed says so: MissingDependencyError)
    code = ("import reparamopt, json\n"
            "names, missing = dir(reparamopt), []\n"
            "for name in names:\n"
            "    try:\n"
            "        getattr(reparamopt, name)\n"
            "    except reparamopt.exceptions.MissingDependencyError:\n"
            "        pass\n"
            "    except AttributeError:\n"
            "        missing.append(name)\n"
            "print(json.dumps([names, missing]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names, missing = json.loads(done.stdout.splitlines()[-1])
    assert missing == []
    assert {"NMF", "compat", "plotting", "nnls", "solve", "Problem", "__version__"} <= set(names)
    private = [n for n in names if n.startswith("_") and not n.startswith("__")]
    helpers = {"sys", "import_module", "Loader", "MetaPathFinder", "spec_from_loader",
               "annotations", "flagships", "declare", "result", "models"}
    assert private == [] and helpers.isdisjoint(names)
    assert names == sorted(names)
