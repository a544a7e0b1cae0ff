"""Parameter sweeps: many instances, one row each, written durably, resumable, run in parallel.

* :mod:`cosamt.sweep.spec` expands a sweep (instance x seq lens x models x presets x phases x
  objectives) into explicit points.
* :mod:`cosamt.sweep.rows` flattens one solve report into one row.
* :mod:`cosamt.sweep.store` appends rows to CSV (or a JSON-lines journal behind a Parquet file).
* :mod:`cosamt.sweep.cache` caches solved groups by content.
* :mod:`cosamt.sweep.run` runs the points locally or on a Dask cluster.
"""
