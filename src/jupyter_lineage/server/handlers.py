"""REST handlers of the lineage API: validate the request, call one function, answer JSON.

Every route lives below ``<base_url>/lineage/api/`` and is built in
``setup_handlers``; what each one does is in ``service``. Errors are JSON
``{"message": ..., "reason": ...}`` with a status code: 400 for a bad request,
404 for an execution, annotation, model or node the store does not have, 403
without authentication (or when the authorizer denies the ``lineage``
resource, or a cookie-authenticated POST lacks its XSRF token), 503 while
another process holds the store's database too long.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.identity import (
    IdentityProvider,
    LegacyIdentityProvider,
    PasswordIdentityProvider,
)
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httputil import responses

from ..errors import LineageError, StoreLockedError, UsageError
from ..version import __version__
from . import service
from .locate import NotebookLocation, locate, store_dir_for
from .service import NotFoundError, on_store_thread

API_NAMESPACE = "lineage/api"
AUTH_RESOURCE = "lineage"
DEFAULT_PAGE_SIZE = 50
# Jupyter Server's own identity providers: they know no names, only anonymous users.
ANONYMOUS_IDENTITY_PROVIDERS = (IdentityProvider, PasswordIdentityProvider, LegacyIdentityProvider)


class LineageAPIHandler(APIHandler):
    """Base of the lineage handlers: authorization resource, arguments and JSON answers."""

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

    def notebook_location(self, *, required: bool = False) -> NotebookLocation:
        """The notebook named by ``?path=`` (relative to the server root) and its store."""
        path = self.raw_query_argument("path")
        if required and not path:
            raise UsageError("give the notebook: path=<notebook path relative to the server root>")
        return locate(self.root_dir, path or None)

    def json_body(self) -> Any:
        try:
            return json.loads(self.request.body or b"null")
        except (UnicodeDecodeError, ValueError) as error:
            raise UsageError(f"the request body is not valid JSON: {error}") from None

    @property
    def author(self) -> str | None:
        """The signed-in Jupyter user's name, as annotations record their author.

        ``None`` when one of Jupyter Server's own identity providers is in use: behind
        their shared token or password every browser is a made-up "Anonymous <moon>", so the
        annotation takes the server session's author instead (``JUPYTER_LINEAGE_AUTHOR``,
        git's user.email, user@host), who is the person running the server.
        """
        if type(self.identity_provider) in ANONYMOUS_IDENTITY_PROVIDERS:
            return None
        user = self.current_user
        for attribute in ("name", "display_name", "username"):
            value = getattr(user, attribute, None)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data))

    def write_json_error(self, status: int, message: str) -> None:
        """Answer an error in the shape of ``APIHandler.write_error``.

        Raising ``web.HTTPError`` would %-format the message when logging it,
        and a message quoting user input may contain ``%``.
        """
        self.log.warning("wrote error: %r", message)
        self.write_json({"message": message, "reason": responses.get(status)}, status=status)

    @contextmanager
    def json_errors(self) -> Iterator[None]:
        """Answer the package's errors as JSON with the status code each deserves."""
        try:
            yield
        except NotFoundError as error:
            self.write_json_error(404, str(error))
        except UsageError as error:
            self.write_json_error(400, str(error))
        except StoreLockedError as error:
            self.write_json_error(503, str(error))
        except LineageError as error:
            self.write_json_error(500, str(error))


class StatusHandler(LineageAPIHandler):
    """``GET /lineage/api/status[?path=<notebook>]``: version and store location."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        with self.json_errors():
            store_dir = store_dir_for(self.root_dir, self.raw_query_argument("path"))
            self.write_json(
                {
                    "version": __version__,
                    "store_dir": str(store_dir),
                    "store_exists": store_dir.is_dir(),
                }
            )


class ExecutionsHandler(LineageAPIHandler):
    """``GET /lineage/api/executions?path=NB[&status=S][&tag=T][&author=A][&limit=N][&before=ID]``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        with self.json_errors():
            location = self.notebook_location(required=True)
            status = service.check_status(self.raw_query_argument("status"))
            tag = self.raw_query_argument("tag") or None
            author = service.check_author(self.raw_query_argument("author"))
            limit = service.check_whole_number(
                "limit",
                self.raw_query_argument("limit"),
                default=DEFAULT_PAGE_SIZE,
                most=service.MAX_PAGE_SIZE,
            )
            before = self.raw_query_argument("before") or None
            if before is not None:
                service.check_execution_id(before, "before")
            self.write_json(
                await on_store_thread(
                    service.list_executions,
                    location,
                    status=status,
                    tag=tag,
                    author=author,
                    limit=limit,
                    before=before,
                )
            )


class ExecutionHandler(LineageAPIHandler):
    """``GET /lineage/api/executions/<id>[?path=NB]``: one execution in full."""

    @web.authenticated
    @authorized
    async def get(self, execution_id: str) -> None:
        with self.json_errors():
            location = self.notebook_location()
            service.check_execution_id(execution_id)
            self.write_json(await on_store_thread(service.execution_detail, location, execution_id))


class AnnotationsHandler(LineageAPIHandler):
    """``GET /lineage/api/annotations?path=NB[&execution=ID]`` and ``POST`` a new one."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        with self.json_errors():
            location = self.notebook_location()
            execution_id = self.raw_query_argument("execution") or None
            if execution_id is not None:
                service.check_execution_id(execution_id)
            self.write_json(
                await on_store_thread(service.list_annotations, location, execution_id=execution_id)
            )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        with self.json_errors():
            location = self.notebook_location()
            request = service.parse_annotation_request(self.json_body())
            self.write_json(
                await on_store_thread(service.add_annotation, location, request, self.author),
                status=201,
            )


class GraphHandler(LineageAPIHandler):
    """``GET /lineage/api/graph?node=N[&path=NB][&direction=D][&depth=K][&transient=1]``: the
    lineage figure."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        with self.json_errors():
            location = self.notebook_location()
            node = service.check_node(self.raw_query_argument("node"))
            direction = service.check_direction(self.raw_query_argument("direction"))
            depth = service.check_whole_number(
                "depth",
                self.raw_query_argument("depth"),
                default=None,
                most=service.MAX_GRAPH_DEPTH,
            )
            transient = service.check_flag("transient", self.raw_query_argument("transient"))
            self.write_json(
                await on_store_thread(
                    service.lineage_graph,
                    location,
                    node,
                    direction=direction,
                    depth=depth,
                    transient=transient,
                )
            )


class ModelsHandler(LineageAPIHandler):
    """``GET /lineage/api/models[?path=NB]``: the models a card can be made for."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        with self.json_errors():
            location = self.notebook_location()
            self.write_json(await on_store_thread(service.list_models, location))


class ModelCardHandler(LineageAPIHandler):
    """``GET /lineage/api/models/<name>/card[?version=V][&path=NB]``: the card as HTML."""

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        with self.json_errors():
            location = self.notebook_location()
            spec = service.check_model_spec(name, self.raw_query_argument("version"))
            html = await on_store_thread(service.model_card_html, location, spec)
            self.finish(html, set_content_type="text/html; charset=utf-8")


class StaleHandler(LineageAPIHandler):
    """``GET /lineage/api/stale?path=NB``: the notebook's cells and model versions that are out
    of date, and why."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        with self.json_errors():
            location = self.notebook_location(required=True)
            self.write_json(await on_store_thread(service.notebook_staleness, location))


_ID = r"([^/]+)"

ROUTES: list[tuple[str, type[LineageAPIHandler]]] = [
    ("status", StatusHandler),
    ("executions", ExecutionsHandler),
    (f"executions/{_ID}", ExecutionHandler),
    ("annotations", AnnotationsHandler),
    ("graph", GraphHandler),
    ("stale", StaleHandler),
    ("models", ModelsHandler),
    (f"models/{_ID}/card", ModelCardHandler),
]


def api_url(base_url: str, endpoint: str) -> str:
    """Return the URL path of a lineage API endpoint below ``base_url``."""
    return url_path_join(base_url, API_NAMESPACE, endpoint)


def setup_handlers(web_app: web.Application) -> None:
    """Add every lineage route to the server's Tornado application."""
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [(api_url(base_url, name), handler) for name, handler in ROUTES])
