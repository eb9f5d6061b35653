"""The IPython magics of each feature, registered by ``%load_ext jupyter_lineage`` (``extension``).

Importing a module here imports IPython and nothing heavy: a magic imports its feature
(pandas, DuckDB, plotly...) when it first runs, so loading the extension stays fast.
"""
