"""The tutorials that reproduce the paper's figures, shipped with the package.

The ``plot_*.py`` files are sphinx-gallery scripts, not modules to import: run one with
``python -m reparamopt.tutorials.plot_rates`` (or ``python path/to/plot_rates.py``), all of
them with ``reparamopt reproduce``. ``REPARAMOPT_QUICK=1`` selects small problems and
``REPARAMOPT_OUTPUT`` the folder of their tables and figures.
"""
