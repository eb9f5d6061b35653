"""What each endpoint of the lineage API does: one function per endpoint, JSON-ready answers.

Handlers validate the request, then call one of these through ``on_store_thread``.
Everything here blocks on the store (DuckDB connections that may wait for a lock,
journal writes), so it runs on one worker thread instead of the server's event
loop; one thread also keeps the process session that ``session_for_store``
swaps in private to one call at a time. Every endpoint reads its store through the
session of the notebook's store directory, so a configured team store is what the
sidebar shows, as every other face of the tool does.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from ..annotations.model import check_kind, check_text
from ..errors import RegistryError, StoreError, UsageError
from ..ids import EXECUTION_ID_LENGTH, is_execution_id
from ..session import Session, session_for_store, session_in
from ..store import Store
from ..store import notebook as queries
from .locate import NotebookLocation

T = TypeVar("T")

# A request waits at most this long for another process's hold on the DuckDB file.
STORE_LOCK_TIMEOUT_S = 10.0
MAX_PAGE_SIZE = 500
MAX_TEXT_CHARS = 100_000
MAX_AUTHOR_CHARS = 1_000
MAX_GRAPH_DEPTH = 100
GRAPH_DIRECTIONS = ("upstream", "downstream", "both")
CARDS_UNAVAILABLE = "model cards are not available in this installation"
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+\-]*$")

_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lineage-store")


class NotFoundError(UsageError):
    """The request names something the store does not have: an execution, an annotation, a model."""


async def on_store_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function`` on the store's worker thread and wait for it without blocking the loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        _worker, functools.partial(in_unit_of_work, function, *args, **kwargs)
    )


def in_unit_of_work(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call an endpoint's function as one unit of work on its notebook's store: all its reads
    share one connection, closed before the answer goes out, so a kernel's ingest of its
    next cell never waits on the server for longer than a request."""
    location = args[0] if args and isinstance(args[0], NotebookLocation) else None
    if location is None or not _recorded(location):
        return function(*args, **kwargs)
    with _store(location).reading(ingest=False):
        return function(*args, **kwargs)


def _session(location: NotebookLocation) -> Session:
    return session_in(location.store_dir, lock_timeout_s=STORE_LOCK_TIMEOUT_S)


def _recorded(location: NotebookLocation) -> bool:
    """Whether the store could hold anything: a local journal, or a team store configured."""
    return _session(location).has_journals


def _store(location: NotebookLocation) -> Store:
    """The store the session of the notebook's store directory reads (kept for the server's
    life, so ingests stay incremental): the team store when one is configured."""
    return _session(location).store()


def _existing_store(location: NotebookLocation, what: str) -> Store:
    if not _recorded(location):
        raise NotFoundError(
            f"no {what}: nothing was captured into {location.store_dir} yet "
            "(run %load_ext jupyter_lineage and a %%lineage cell in the notebook)"
        )
    return _store(location)


# -- validation (pure) --------------------------------------------------------


def check_execution_id(value: str, what: str = "execution id") -> str:
    """An execution (or annotation) id: hexadecimal, as the store writes them."""
    if not is_execution_id(value):
        raise UsageError(
            f"{what} {value!r} is not one: ids are {EXECUTION_ID_LENGTH} hexadecimal digits"
        )
    return value


def check_status(value: str | None) -> str | None:
    """A run status to filter on, or ``None`` for all."""
    if value is None or value == "":
        return None
    if value not in queries.RUN_STATUSES:
        raise UsageError(f"unknown status {value!r}; use one of: {', '.join(queries.RUN_STATUSES)}")
    return value


def check_whole_number(
    name: str, value: str | None, *, default: int | None, most: int
) -> int | None:
    """A positive whole number from a query argument, at most ``most``."""
    if value is None or value == "":
        return default
    if not re.fullmatch(r"[0-9]{1,9}", value) or not 1 <= int(value) <= most:
        raise UsageError(f"{name} must be a whole number from 1 to {most}, not {value!r}")
    return int(value)


def check_author(value: str | None) -> str | None:
    """An author to filter runs on (``runs.author``, exactly), or ``None`` for all."""
    if value is None or value == "":
        return None
    if "\0" in value or len(value) > MAX_AUTHOR_CHARS:
        raise UsageError(
            f"author {value[:80]!r} is not one: give a name as the author list shows it "
            f"(at most {MAX_AUTHOR_CHARS} characters, no NUL)"
        )
    return value


def check_direction(value: str | None) -> str:
    if value is None or value == "":
        return "both"
    if value not in GRAPH_DIRECTIONS:
        raise UsageError(f"direction must be upstream, downstream or both, not {value!r}")
    return value


def check_node(value: str | None) -> str:
    """A lineage target: a node id, an execution id, ``var:NAME``, ``file:PATH``, ``model:NAME``."""
    if value is None or not value.strip():
        raise UsageError(
            "give the node to draw: node=<execution id, node id, var:NAME, file:PATH or model:NAME>"
        )
    if "\0" in value or len(value) > 2000:
        raise UsageError(f"node {value[:80]!r} is not a lineage target")
    return value.strip()


def check_model_spec(name: str, version: str | None) -> str:
    """``NAME`` or ``NAME@VERSION`` for a model card."""
    if not _MODEL_NAME.match(name):
        raise UsageError(f"bad model name {name!r}; use letters, digits, '-', '_' and '.'")
    if version is None or version == "":
        return name
    if not _VERSION.match(version):
        raise UsageError(f"bad model version {version!r}; give a version such as 1.0.0")
    return f"{name}@{version}"


@dataclass(frozen=True, slots=True)
class AnnotationRequest:
    """The body of ``POST /lineage/api/annotations``, validated."""

    kind: str
    text: str
    executions: tuple[str, ...]
    revises: str | None = None


ANNOTATION_FIELDS = ("kind", "text", "targets", "revises")


def parse_annotation_request(body: Any) -> AnnotationRequest:
    """Validate ``{kind, text, targets: [{type: "execution", ref}], revises?}``.

    Raises:
        UsageError: naming the field that is wrong and what it should be.
    """
    if not isinstance(body, Mapping):
        raise UsageError(
            'the request body must be a JSON object: {"kind": ..., "text": ..., "targets": [...]}'
        )
    unknown = sorted(set(body) - set(ANNOTATION_FIELDS))
    if unknown:
        raise UsageError(
            f"unknown field {unknown[0]!r} in the annotation; fields are {', '.join(ANNOTATION_FIELDS)}"
        )
    kind = body.get("kind", "note")
    if not isinstance(kind, str):
        raise UsageError(f"kind must be a string, not {kind!r}")
    text = body.get("text")
    if not isinstance(text, str):
        raise UsageError("text must be a string of Markdown")
    if len(text) > MAX_TEXT_CHARS:
        raise UsageError(
            f"text is {len(text)} characters long; an annotation holds at most {MAX_TEXT_CHARS}"
        )
    targets = body.get("targets", [])
    if not isinstance(targets, list):
        raise UsageError('targets must be a list of {"type": "execution", "ref": ID}')
    executions: list[str] = []
    for target in targets:
        if not isinstance(target, Mapping) or set(target) - {"type", "ref"}:
            raise UsageError(f'each target is {{"type": "execution", "ref": ID}}, not {target!r}')
        if target.get("type") != "execution":
            raise UsageError(
                f"target type {target.get('type')!r} cannot be annotated from here; "
                "use execution (annotate values, files, models and experiments with "
                "%lineage_note in the notebook)"
            )
        ref = target.get("ref")
        if not isinstance(ref, str):
            raise UsageError(f"target ref must be an execution id, not {ref!r}")
        executions.append(check_execution_id(ref))
    revises = body.get("revises")
    if revises is not None:
        if not isinstance(revises, str):
            raise UsageError(f"revises must be an annotation id, not {revises!r}")
        check_execution_id(revises, "annotation id")
    return AnnotationRequest(
        kind=check_kind(kind),
        text=check_text(text),
        executions=tuple(dict.fromkeys(executions)),
        revises=revises,
    )


# -- JSON ------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Plain JSON values: ISO 8601 times, ``None`` for NaN, lists for arrays."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return jsonable(value.tolist())
    if hasattr(value, "item"):
        return jsonable(value.item())
    return str(value)


# -- endpoints ---------------------------------------------------------------------


def list_executions(
    location: NotebookLocation,
    *,
    status: str | None = None,
    tag: str | None = None,
    author: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> dict[str, Any]:
    """``GET executions``: a page of the notebook's executions, newest first, with counts, and
    the kernel sessions they ran in (with their own counts and environment changes)."""
    answer: dict[str, Any] = {
        "notebook_path": location.path,
        "recorded_paths": list(location.recorded_paths),
        "notebook_key": location.key,
        "store_dir": str(location.store_dir),
        "store_exists": location.store_dir.is_dir(),
        "executions": [],
        "next_before": None,
        "total": 0,
        "failed": 0,
        "last_started_at": None,
        "tags": [],
        "authors": [],
        "sessions": [],
    }
    if not _recorded(location):
        if before is not None:
            raise NotFoundError(f"no captured execution {before!r} to page from")
        return answer
    store = _store(location)
    if before is not None and not queries.execution_exists(store, before):
        raise NotFoundError(f"no captured execution {before!r} to page from")
    rows = queries.notebook_executions(
        store,
        location.recorded_paths,
        notebook_key=location.key,
        status=status,
        tag=tag,
        author=author,
        limit=limit + 1,
        before=before,
    )
    answer["executions"] = rows[:limit]
    if len(rows) > limit:
        answer["next_before"] = rows[limit - 1]["execution_id"]
    answer.update(
        queries.notebook_counts(store, location.recorded_paths, notebook_key=location.key)
    )
    answer["sessions"] = queries.notebook_sessions(
        store,
        location.recorded_paths,
        list(dict.fromkeys(row["session_id"] for row in answer["executions"])),
        notebook_key=location.key,
    )
    return jsonable(answer)


def execution_detail(location: NotebookLocation, execution_id: str) -> dict[str, Any]:
    """``GET executions/<id>``: everything recorded about one execution."""
    store = _existing_store(location, f"captured execution {execution_id!r}")
    run = queries.execution(store, execution_id)
    if run is None:
        raise NotFoundError(f"no captured execution {execution_id!r} in {location.store_dir}")
    environment = None
    if run.get("environment_id"):
        environment = queries.environment_summary(store, run["environment_id"])
    return jsonable(
        {
            "execution": run,
            **queries.execution_values(store, execution_id),
            "files": queries.execution_files(store, execution_id),
            "environment": environment,
            **queries.execution_measurements(store, execution_id),
            "annotations": queries.execution_annotations(store, execution_id),
        }
    )


def list_annotations(
    location: NotebookLocation, *, execution_id: str | None = None, limit: int = 200
) -> dict[str, Any]:
    """``GET annotations``: those of one execution, or of the whole notebook."""
    if not _recorded(location):
        if execution_id is not None:
            raise NotFoundError(f"no captured execution {execution_id!r} in {location.store_dir}")
        return {"annotations": []}
    store = _store(location)
    if execution_id is not None:
        if not queries.execution_exists(store, execution_id):
            raise NotFoundError(f"no captured execution {execution_id!r} in {location.store_dir}")
        rows = queries.execution_annotations(store, execution_id)
    elif location.recorded_paths:
        rows = queries.notebook_annotations(
            store, location.recorded_paths, notebook_key=location.key, limit=limit
        )
    else:
        raise UsageError("give the notebook (path=...) or the execution (execution=...)")
    return jsonable({"annotations": rows})


def add_annotation(
    location: NotebookLocation, request: AnnotationRequest, author: str | None
) -> dict[str, Any]:
    """``POST annotations``: append an ``annotation`` event to the server's session in the store.

    Targets and the revised annotation must exist in the store. ``author`` ``None``
    is the session's author. Returns the annotation as the store has it once ingested.
    """
    from ..annotations.api import note

    store = _existing_store(location, "executions to annotate")
    for execution_id in request.executions:
        if not queries.execution_exists(store, execution_id):
            raise NotFoundError(f"no captured execution {execution_id!r} to annotate")
    if request.revises is not None and queries.annotation(store, request.revises) is None:
        raise NotFoundError(f"no annotation {request.revises!r} to revise")
    with session_for_store(location.store_dir):
        annotation_id = note(
            request.text,
            kind=request.kind,
            on=[f"execution:{e}" for e in request.executions],
            revises=request.revises,
            author=author,
        )
    written = queries.annotation(store, annotation_id)
    if written is None:
        # The same note on the same executions, written again: the views show the one it
        # repeats, and so does the answer.
        written = queries.repeated_annotation(store, annotation_id)
    if written is None:
        raise StoreError(
            f"the annotation could not be written to {location.store_dir / 'journal'}; "
            "check that the directory is writable"
        )
    return jsonable({"annotation": written})


def check_flag(name: str, value: str | None) -> bool:
    """A yes/no query argument: ``1``/``true`` or ``0``/``false`` (absent is no)."""
    if value is None or value == "":
        return False
    if value.lower() in ("1", "true"):
        return True
    if value.lower() in ("0", "false"):
        return False
    raise UsageError(f"{name} must be 1 or 0 (true or false), not {value[:40]!r}")


def lineage_graph(
    location: NotebookLocation,
    node: str,
    *,
    direction: str = "both",
    depth: int | None = None,
    transient: bool = False,
) -> dict[str, Any]:
    """``GET graph``: the lineage around ``node`` as the figure draws it: its nodes (identical
    re-runs merged, transient values left out unless ``transient``) placed in layers, its
    edges with their bend points, and the plotly figure of the same."""
    from .. import graph

    store = _existing_store(location, f"lineage node {node!r}")
    try:
        drawn = graph.drawing_of(
            node, direction=direction, depth=depth, transient=transient, store=store
        )
    except graph.UnknownTargetError as error:
        raise NotFoundError(str(error)) from None
    figure = graph.build_figure(drawn.view, drawn.layout)
    # The nodes and edges the figure draws, as %lineage_graph displays them inline.
    answer = drawn.json(node=node, direction=direction, depth=depth, transient=transient)
    return jsonable({**answer, "figure": json.loads(figure.to_json())})


def list_models(location: NotebookLocation) -> dict[str, Any]:
    """``GET models``: registered models with their versions, and captured ``--model`` names."""
    if not _recorded(location):
        return {"models": [], "cards": cards_available()}
    return jsonable(
        {"models": queries.model_overview(_store(location)), "cards": cards_available()}
    )


def notebook_staleness(location: NotebookLocation) -> dict[str, Any]:
    """``GET stale``: which of the notebook's cells and model versions are out of date, and why.

    Files and the notebook are read on the server's disk; packages are compared with the
    server's own when it runs the Python of the notebook's latest run, else with those
    recorded at that run (kernels often run in environments of their own).
    """
    from ..graph.staleness import stale

    store = _existing_store(location, "runs")
    return jsonable(stale(location.recorded_paths[0], store=store).to_dict())


def cards_available() -> bool:
    """Whether this installation can render model cards."""
    try:
        from .. import cards
    except ImportError:
        return False
    return callable(getattr(cards, "render_html", None))


def model_card_html(location: NotebookLocation, spec: str) -> str:
    """``GET models/<name>/card``: the model card as one self-contained HTML document."""
    if not cards_available():
        raise NotFoundError(CARDS_UNAVAILABLE)
    from .. import cards

    _existing_store(location, f"model {spec!r}")
    with session_for_store(location.store_dir):
        try:
            return str(cards.render_html(spec))
        except RegistryError as error:
            raise NotFoundError(str(error)) from None
