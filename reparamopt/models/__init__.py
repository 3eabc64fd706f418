"""Data models with closed-form oracles: the linear model of least squares (dense,
sparse, matrix-free) and its operators."""
