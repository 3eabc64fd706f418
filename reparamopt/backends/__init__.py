"""Execution backends for data that does not fit a single process: Dask."""
