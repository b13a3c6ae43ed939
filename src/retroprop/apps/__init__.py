"""Applications built from the library: ``compare`` (solvers side by side on one budget; its
table and plot in ``compare_view``), ``search`` (cross-validated architecture search, locally or
on a Dask cluster) and ``demo`` (the lecture's digits network).

May import: any package of retroprop except :mod:`retroprop.cli`.
"""
