# The tutorials are sphinx-gallery scripts, not modules: importing one (as
# --doctest-modules would) runs the whole experiment. tests/integration/test_tutorials.py runs them.
collect_ignore_glob = ["tutorials/plot_*.py"]


def pytest_collection_modifyitems(items):
    # Doctests run in an empty namespace, as for a reader who copies an example: each
    # example imports what it uses, neither the module's globals nor an injected np.
    for item in items:
        test = getattr(item, "dtest", None)
        if test is not None:
            test.globs.clear()
