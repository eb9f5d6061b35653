"""What the out-of-date check of a notebook reads, in one SQL statement.

A notebook's runs are those kernels recorded under one of its absolute paths. Each is
given the notebook cell it ran (``cell``): the cell id it recorded (JupyterLab sends
one), else the cell whose metadata links it (written after a headless run and on
save), else the one cell whose code is exactly the run's. The latest run of each cell,
and the run that trained each registered version of a model, are the *targets*; the
statement returns, as rows of one shape told apart by ``kind``:

- ``run``: each target;
- ``input``: a value a target read, with the cell whose run bound it before, in the
  same kernel session (``producer_cell``);
- ``output``: a value a target bound or changed;
- ``file``: a file a target opened, with the SHA-256 and the version (size, mtime,
  inode) recorded after its cell;
- ``package``: the packages of the targets' environments;
- ``version``: a model version and its training run.

Deciding what is out of date is ``graph/staleness.py``'s, from these rows and the disk.
The ``stale_executions`` view (``schema.sql``) is the part of that answer the record
alone can give, for any notebook.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..config import ANSWERS_DIR_NAME, write_atomically

if TYPE_CHECKING:
    from . import Store

STALE_ROWS_SQL = """
WITH
links AS (
    SELECT unnest($link_runs::VARCHAR[]) AS execution_id, unnest($link_cells::VARCHAR[]) AS cell
),
by_source AS (
    SELECT unnest($source_hashes::VARCHAR[]) AS source_hash,
           unnest($source_cells::VARCHAR[]) AS cell
),
-- The notebook's runs, read from the tables rather than the `runs` view (what that view
-- shows of them, with far less to plan): a run whose result ingest copied onto its row
-- reads that row alone; the others are joined with their result.
nb AS MATERIALIZED (
    SELECT e.execution_id, e.session_id, e.started_at,
           coalesce(CASE WHEN e.result_event_id IS NOT NULL THEN e.result_status
                         ELSE r.status END, 'incomplete') AS status,
           e.name,
           coalesce(CASE WHEN e.result_event_id IS NOT NULL THEN e.result_execution_count
                         ELSE r.execution_count END, e.execution_count) AS execution_count,
           e.source,
           CASE WHEN e.result_event_id IS NOT NULL THEN e.result_environment_id
                ELSE r.environment_id END AS environment_id,
           coalesce(e.cell_id, l.cell, s.cell) AS cell
    FROM executions e
    LEFT JOIN (SELECT * FROM execution_results WHERE copied IS NULL) r
        ON r.execution_id = e.execution_id AND e.result_event_id IS NULL
    LEFT JOIN links l ON l.execution_id = e.execution_id
    LEFT JOIN by_source s ON s.source_hash = e.source_hash AND e.cell_id IS NULL
    WHERE list_contains($paths::VARCHAR[], e.notebook_path)
),
latest AS (
    SELECT * FROM nb WHERE cell IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY cell ORDER BY started_at DESC, execution_id DESC) = 1
),
trained AS (
    SELECT m.name AS model, v.version, v.execution_id
    FROM version_records v JOIN model_records m ON m.model_id = v.model_id
    WHERE v.execution_id IN (SELECT execution_id FROM nb)
),
-- (columns named: on PostgreSQL, QUALIFY becomes a subquery with a column of its own)
targets AS MATERIALIZED (
    SELECT execution_id, session_id, started_at, status, name, execution_count, source,
           environment_id, cell
    FROM latest
    UNION
    SELECT execution_id, session_id, started_at, status, name, execution_count, source,
           environment_id, cell
    FROM nb WHERE execution_id IN (SELECT execution_id FROM trained)
),
-- the values of the notebook's runs, read from the big table once
vals AS MATERIALIZED (
    SELECT v.execution_id, v.name, v.role, v.action, v.fingerprint, v.fingerprint_kind
    FROM value_records v
    WHERE v.execution_id IN (SELECT execution_id FROM nb)
),
inputs AS (
    SELECT v.execution_id, v.name, v.fingerprint, v.fingerprint_kind, t.session_id, t.started_at
    FROM vals v JOIN targets t ON t.execution_id = v.execution_id
    WHERE v.role = 'input'
),
bound AS (
    SELECT o.name, n.execution_id, n.session_id, n.started_at, n.cell
    FROM vals o JOIN nb n ON n.execution_id = o.execution_id
    WHERE o.role = 'output' AND o.action IN ('assigned', 'mutated')
      AND o.name IN (SELECT name FROM inputs)
),
producers AS (
    SELECT i.execution_id, i.name, i.fingerprint, i.fingerprint_kind, b.cell AS producer_cell
    FROM inputs i
    LEFT JOIN bound b
        ON b.name = i.name AND b.session_id = i.session_id AND b.started_at < i.started_at
    QUALIFY row_number() OVER (
        PARTITION BY i.execution_id, i.name ORDER BY b.started_at DESC NULLS LAST) = 1
)
SELECT 'run' AS kind, execution_id, cell, name, execution_count, started_at, status, source,
       session_id, environment_id,
       NULL AS a, NULL AS b, NULL AS c, NULL AS d,
       CAST(NULL AS BIGINT) AS n1, CAST(NULL AS BIGINT) AS n2, CAST(NULL AS BIGINT) AS n3
FROM targets
UNION ALL
SELECT 'input', execution_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       name, fingerprint, fingerprint_kind, producer_cell, NULL, NULL, NULL
FROM producers
UNION ALL
SELECT 'output', v.execution_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       v.name, v.fingerprint, v.action, NULL, NULL, NULL, NULL
FROM vals v JOIN targets t ON t.execution_id = v.execution_id
WHERE v.role = 'output'
UNION ALL
SELECT 'file', f.execution_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       f.path, f.sha256, f.access, f.note, f.size, f.mtime_ns, f.inode
FROM file_records f
WHERE f.execution_id IN (SELECT execution_id FROM targets)
UNION ALL
SELECT 'package', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, p.environment_id,
       p.name, p.version, NULL, NULL, NULL, NULL, NULL
FROM package_records p
WHERE p.environment_id IN (SELECT environment_id FROM targets)
UNION ALL
SELECT 'python', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, x.environment_id,
       x.python_executable, NULL, NULL, NULL, NULL, NULL, NULL
FROM (SELECT DISTINCT environment_id, python_executable FROM environment_records
      WHERE environment_id IN (SELECT environment_id FROM targets)) x
UNION ALL
SELECT 'version', execution_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       model, version, NULL, NULL, NULL, NULL, NULL
FROM trained
"""


def stale_rows(
    store: Store,
    notebook_paths: Sequence[str],
    *,
    links: Mapping[str, str] | None = None,
    sources: Mapping[str, str] | None = None,
    ingest: bool = True,
) -> list[dict[str, Any]]:
    """The rows the out-of-date check of a notebook decides from (see the module's docstring).

    Args:
        notebook_paths: the notebook's absolute paths as its kernels record them.
        links: execution id → notebook cell id, from the cells' metadata.
        sources: SHA-256 of a cell's code as the record would hold it → cell id, for
            runs that recorded no cell id and that no metadata links.
        ingest: read new journal lines first.
    """
    links = links or {}
    sources = sources or {}
    params = {
        "paths": list(notebook_paths),
        "link_runs": list(links),
        "link_cells": list(links.values()),
        "source_hashes": list(sources),
        "source_cells": list(sources.values()),
    }
    question = repr(sorted(params.items()))
    key = (id(store), question)
    if ingest:
        store.ingest()
    # The rows are a function of the database and the parameters: while the journals and
    # the database file are as this store object last ingested them, asking again (the
    # sidebar after a cell, a user after a save) reads no database. The team store's
    # database changes without this process knowing: it is always asked.
    state = _ingested_state(store)
    cached = _answers.get(key)
    if state is not None and cached is not None and cached[0] == state and cached[2] is store:
        _answers.move_to_end(key)
        return [dict(r) for r in cached[1]]
    # Not asked in this process yet: the answer kept beside the database, if it was read
    # from the database as it is now.
    kept = _kept_answer(store, question, state) if state is not None else None
    if kept is not None:
        _remember(key, state, kept, store)
        return [dict(r) for r in kept]
    # (Within a unit of work, the unit's one read-only connection.)
    with store.connect(read_only=True) as con:
        cursor = con.execute(STALE_ROWS_SQL, params)
        columns = [d[0] for d in cursor.description or ()]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    if state is not None:
        _remember(key, state, rows, store)
        _keep_answer(store, question, state, rows)
    return [dict(r) for r in rows]


def _remember(key: tuple[int, str], state: Any, rows: list[dict[str, Any]], store: Any) -> None:
    _answers[key] = (state, rows, store)
    _answers.move_to_end(key)
    while len(_answers) > _ANSWERS_KEPT:
        _answers.popitem(last=False)


# The last answers, per store object and question (a server asks for each notebook whose
# sidebar is open), with the object itself (kept alive, so that its id is not reused while
# the entry is here); the least recently asked go first.
_ANSWERS_KEPT = 16
_answers: OrderedDict[tuple[int, str], tuple[Any, list[dict[str, Any]], Any]] = OrderedDict()


def _ingested_state(store: Any) -> Any:
    """The journals' sizes and the database file's stamp as the store last ingested them, when
    they are still so; None when unknown (the team store) or moved on."""
    sizes = getattr(store, "_ingested_sizes", None)
    stamp_of = getattr(store, "_db_stamp", None)
    if not sizes or stamp_of is None or stamp_of() != getattr(store, "_ingested_stamp", None):
        return None
    return (tuple(sorted(sizes.items())), stamp_of())


# -- the last answers, kept beside the database ---------------------------------------------
#
# A process's first question (the command line, a server just started) would open the
# database, and creating a DuckDB instance alone takes some 12 ms before the statement runs.
# So each answer is also written to ``answers/stale-<digest of the statement and the
# question>.json`` in the store directory, with the journals' sizes and the database's stamp
# it was read at, and the version of this package. A process whose store is in that state
# (which the store itself knows without a connection: ``DuckDBStore.ingest``) takes it: the
# statement would give the same rows. It is derived data, rewritten at will and never read
# as the record; deleting the directory costs only the next question's time.


def _answer_path(store: Any, question: str) -> Path | None:
    root = getattr(store, "root", None)
    if root is None or getattr(store, "_db_stamp", None) is None:
        return None  # the team store: its database changes without this process knowing
    digest = hashlib.sha256(f"{STALE_ROWS_SQL}\0{question}".encode()).hexdigest()[:32]
    return Path(root) / ANSWERS_DIR_NAME / f"stale-{digest}.json"


def _kept_answer(store: Any, question: str, state: Any) -> list[dict[str, Any]] | None:
    """The kept answer to ``question``, if it was read when the store was in ``state``."""
    path = _answer_path(store, question)
    if path is None:
        return None
    try:
        kept = json.loads(path.read_bytes())
        # (the state as JSON reads it back: its tuples as lists)
        if kept.get("version") != __version__ or kept["state"] != json.loads(json.dumps(state)):
            return None
        rows: list[dict[str, Any]] = kept["rows"]
        for row in rows:
            if row.get("started_at") is not None:
                row["started_at"] = datetime.datetime.fromisoformat(row["started_at"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # none kept, another version's, or unreadable: ask the database
    return rows


def _keep_answer(store: Any, question: str, state: Any, rows: list[dict[str, Any]]) -> None:
    path = _answer_path(store, question)
    if path is None:
        return
    body = json.dumps(
        {"version": __version__, "state": state, "rows": rows},
        default=lambda value: value.isoformat(),  # started_at, a timestamp
        separators=(",", ":"),
    )
    if write_atomically(path, body):
        _prune_answers(path.parent)


# Answers kept at most: one per notebook (and set of links) asked about lately. Beyond,
# the least recently written go, so a store asked about thousands of notebooks keeps a
# directory of bounded size.
ANSWERS_KEPT = 256


def _prune_answers(directory: Path) -> None:
    try:
        with os.scandir(directory) as entries:
            kept = [e for e in entries if e.name.startswith("stale-") and e.name.endswith(".json")]
        if len(kept) <= ANSWERS_KEPT:
            return
        kept.sort(key=lambda e: e.stat().st_mtime_ns)
        for entry in kept[: len(kept) - ANSWERS_KEPT]:
            os.unlink(entry.path)
    except OSError:
        pass  # another process pruned first, or the directory is read-only: next time


RECORDED_NOTEBOOKS_SQL = """
SELECT DISTINCT notebook_path FROM executions WHERE notebook_path IS NOT NULL ORDER BY notebook_path
"""


def recorded_notebooks(store: Store) -> list[str]:
    """The notebook paths the store's runs were recorded under."""
    store.ingest()
    with store.connect(read_only=True) as con:
        return [str(r[0]) for r in con.execute(RECORDED_NOTEBOOKS_SQL).fetchall()]
