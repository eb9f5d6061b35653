"""The jupyter_server extension: authenticated REST handlers under ``/lineage/api/``.

Enabled by ``jupyter-config/server-config/jupyter_lineage.json`` on install, or
by hand with ``jupyter server extension enable jupyter_lineage``.
"""

from __future__ import annotations

from typing import Any

from .handlers import setup_handlers

__all__ = ["setup_handlers"]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the lineage API handlers and the notebook save hook with a running Jupyter server."""
    setup_handlers(serverapp.web_app)
    serverapp.log.info("jupyter_lineage: serving /lineage/api/")
    from .save_hook import register

    if register(serverapp.contents_manager):
        serverapp.log.info("jupyter_lineage: saved notebooks carry their cells' execution ids")
