"""jupyter-lineage: reproducible, auditable ML work in Jupyter.

``%load_ext jupyter_lineage`` registers the magics. Importing this package is
cheap: pandas, plotly, networkx and DuckDB are imported only when used.
"""

from typing import Any

from .version import __version__

_ANNOTATE_API = (
    "annotate",
    "completeness",
    "end_experiment",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "note",
    "start_experiment",
)

_DATASET_API = ("log_dataset",)

__all__ = [
    "__version__",
    "load_ipython_extension",
    "unload_ipython_extension",
    *_ANNOTATE_API,
    *_DATASET_API,
]


def __getattr__(name: str) -> Any:
    # The public API is imported on first use, so importing the package stays cheap.
    if name in _ANNOTATE_API:
        from . import annotations

        return getattr(annotations, name)
    if name in _DATASET_API:
        from . import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module 'jupyter_lineage' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """Register the lineage magics and capture hooks in an IPython shell (``extension``)."""
    from .extension import load_ipython_extension

    load_ipython_extension(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the capture hooks (the magics stay registered, as IPython allows)."""
    from .extension import unload_ipython_extension

    unload_ipython_extension(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-lineage"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_lineage.server"}]
