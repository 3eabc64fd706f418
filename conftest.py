def pytest_collection_modifyitems(items):
    # Doctests run in an empty namespace, as for a reader who copies an example: each
    # example imports what it uses, neither the module's globals nor an injected np.
    for item in items:
        test = getattr(item, "dtest", None)
        if test is not None:
            test.globs.clear()
