"""jupyter-lineage: reproducible, auditable ML work in Jupyter.

``%load_ext jupyter_lineage`` registers the magics. Importing this package is
cheap: pandas, plotly, networkx and DuckDB are imported only when used.
"""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    """Register the lineage magics and capture hooks in an IPython shell."""
    from .capture.magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the capture hooks (the magics stay registered, as IPython allows)."""
    from .capture.magics import unload

    unload(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-lineage"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_lineage.server"}]
