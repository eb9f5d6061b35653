"""REST handlers of the lineage API: validate the request, call one function, answer JSON.

Every route lives below ``<base_url>/lineage/api/`` and is built in
``setup_handlers``. Errors are JSON ``{"message": ...}`` with a status code:
400 for a bad request, 403 without authentication.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httputil import responses

from .. import __version__
from ..config import STORE_DIR_ENV, resolve_store_dir
from ..errors import UsageError

API_NAMESPACE = "lineage/api"
AUTH_RESOURCE = "lineage"


def notebook_file(root_dir: str | os.PathLike[str], notebook_path: str) -> Path:
    """Return the absolute path of a notebook given relative to the server root.

    Args:
        root_dir: The server's root directory.
        notebook_path: "/"-separated and relative to ``root_dir``, as in the contents API.

    Raises:
        UsageError: ``notebook_path`` contains a NUL byte, is absolute, or does not
            name a file inside ``root_dir`` once resolved.
    """
    if "\0" in notebook_path:
        raise UsageError(f"path {notebook_path!r} contains a NUL byte")
    if PurePosixPath(notebook_path).is_absolute() or Path(notebook_path).is_absolute():
        raise UsageError(f"path {notebook_path!r} is absolute; give it relative to the server root")
    root = Path(root_dir).expanduser().resolve()
    notebook = (root / notebook_path).resolve()
    if notebook == root or not notebook.is_relative_to(root):
        raise UsageError(
            f"path {notebook_path!r} leaves the server root; give a notebook path inside it"
        )
    return notebook


def store_dir_for(root_dir: str | os.PathLike[str], notebook_path: str | None = None) -> Path:
    """Return the store a kernel of this notebook writes to (the root's store without one).

    The rule is the kernel's (``config.resolve_store_dir``), applied from the
    notebook's directory, where Jupyter starts its kernel: a relative
    ``JUPYTER_LINEAGE_DIR`` is taken from there too.
    """
    root = Path(root_dir).expanduser().resolve()
    notebook = notebook_file(root, notebook_path) if notebook_path else None
    working_dir = notebook.parent if notebook else root
    override = os.environ.get(STORE_DIR_ENV)
    explicit = working_dir / Path(override).expanduser() if override else None
    return resolve_store_dir(
        explicit, notebook_path=str(notebook) if notebook else None, cwd=working_dir
    )


class LineageAPIHandler(APIHandler):
    """Base of the lineage handlers: authorization resource and JSON helpers."""

    auth_resource = AUTH_RESOURCE

    @property
    def root_dir(self) -> str:
        return str(self.settings["server_root_dir"])

    def raw_query_argument(self, name: str) -> str | None:
        """Return the last value of a query argument exactly as sent, or ``None``.

        ``get_query_argument`` strips whitespace and turns control characters such
        as NUL into spaces, which would hide a malformed path instead of refusing it.
        """
        values = self.request.query_arguments.get(name)
        if not values:
            return None
        try:
            return values[-1].decode("utf-8")
        except UnicodeDecodeError as error:
            raise UsageError(f"query argument {name!r} is not valid UTF-8") from error

    def write_json(self, data: dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def write_json_error(self, status: int, message: str) -> None:
        """Answer an error in the shape of ``APIHandler.write_error``.

        Raising ``web.HTTPError`` would %-format the message when logging it,
        and a message quoting user input may contain ``%``.
        """
        self.log.warning("wrote error: %r", message)
        self.write_json({"message": message, "reason": responses.get(status)}, status=status)


class StatusHandler(LineageAPIHandler):
    """``GET /lineage/api/status[?path=<notebook>]``: version and store location."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        try:
            path = self.raw_query_argument("path")
            store_dir = store_dir_for(self.root_dir, path)
        except UsageError as error:
            self.write_json_error(400, str(error))
            return
        self.write_json(
            {
                "version": __version__,
                "store_dir": str(store_dir),
                "store_exists": store_dir.is_dir(),
            }
        )


ROUTES: list[tuple[str, type[LineageAPIHandler]]] = [
    ("status", StatusHandler),
]


def api_url(base_url: str, endpoint: str) -> str:
    """Return the URL path of a lineage API endpoint below ``base_url``."""
    return url_path_join(base_url, API_NAMESPACE, endpoint)


def setup_handlers(web_app: web.Application) -> None:
    """Add every lineage route to the server's Tornado application."""
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [(api_url(base_url, name), handler) for name, handler in ROUTES])
