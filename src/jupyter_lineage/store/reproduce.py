"""Reads for reproducing, comparing and verifying runs, in SQL.

The upstream walk here is deliberately narrower than the lineage graph's
(``store/lineage.sql``): a reproduction replays one kernel's history, so an
execution depends only on the latest *earlier* execution *in the same kernel
session* that bound a value it read (same name, same fingerprint when there is
one) or wrote the exact file content (SHA-256) it read. Content-addressed file
nodes in the graph also connect runs of other sessions (a reproduction that
wrote the same bytes, for instance), which a replay must not pull in.

Every statement is a constant with parameters; nothing a user types is
formatted into SQL. Rows come back as plain dicts (no pandas), over one
read-only connection per operation (``open_queries``): the local DuckDB file's,
or the team store's, which takes the same SQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import QueryError, StoreError
from .base import EXECUTIONS_BY_PREFIX_SQL
from .rows import json_column

if TYPE_CHECKING:
    import duckdb

    from . import Store
    from .postgres import PostgresConnection

REGISTRY_VERSIONS_SQL = """
SELECT model, group_name, version, execution_id, experiment_id, hyperparameters, created_at
FROM model_versions
WHERE model = $name AND ($group IS NULL OR group_name = $group)
ORDER BY created_at
"""

# The successful --model NAME runs of the latest session that has one.
MODEL_RUNS_SQL = """
SELECT execution_id FROM runs
WHERE model = $name AND status = 'ok'
  AND session_id = (SELECT arg_max(session_id, started_at) FROM runs
                    WHERE model = $name AND status = 'ok')
ORDER BY started_at
"""

# The successful runs of the latest experiment called NAME.
EXPERIMENT_RUNS_SQL = """
WITH x AS (
    SELECT arg_max(experiment_id, started_at) AS experiment_id FROM experiments WHERE name = $name
)
SELECT x.experiment_id, r.execution_id
FROM x LEFT JOIN runs r ON r.experiment_id = x.experiment_id AND r.status = 'ok'
WHERE x.experiment_id IS NOT NULL
ORDER BY r.started_at
"""

# The executions ``$ids`` depend on, themselves included, oldest first.
UPSTREAM_SQL = """
WITH RECURSIVE
x AS MATERIALIZED (
    SELECT execution_id, session_id, started_at FROM executions
    WHERE session_id IN (SELECT session_id FROM executions
                         WHERE execution_id IN (SELECT unnest($ids::VARCHAR[])))
),
produced AS MATERIALIZED (
    SELECT v.execution_id, 'value' AS kind, v.name AS name, nullif(v.fingerprint, '') AS content
    FROM value_records v JOIN x USING (execution_id)
    WHERE v.role = 'output' AND v.action IN ('assigned', 'mutated')
    UNION ALL
    SELECT f.execution_id, 'file', NULL, f.sha256
    FROM file_records f JOIN x USING (execution_id)
    WHERE f.access IN ('write', 'readwrite') AND f.sha256 IS NOT NULL
),
consumed AS MATERIALIZED (
    SELECT v.execution_id, 'value' AS kind, v.name AS name, nullif(v.fingerprint, '') AS content
    FROM value_records v JOIN x USING (execution_id)
    WHERE v.role = 'input'
    UNION ALL
    SELECT f.execution_id, 'file', NULL, f.sha256
    FROM file_records f JOIN x USING (execution_id)
    WHERE f.access = 'read' AND f.sha256 IS NOT NULL
),
-- each read's producer: the latest earlier binding with the same content, else
-- (values only) the latest earlier binding of the same name
deps AS MATERIALIZED (
    SELECT c.execution_id AS reader, p.execution_id AS producer
    FROM consumed c
    JOIN x cx ON cx.execution_id = c.execution_id
    JOIN produced p
        ON p.kind = c.kind
        AND (CASE WHEN c.kind = 'file' THEN p.content = c.content ELSE p.name = c.name END)
    JOIN x px
        ON px.execution_id = p.execution_id
        AND px.session_id = cx.session_id
        AND px.started_at < cx.started_at
    QUALIFY row_number() OVER (
        PARTITION BY c.execution_id, c.kind, c.name, c.content
        ORDER BY (p.content IS NOT DISTINCT FROM c.content) DESC, px.started_at DESC
    ) = 1
),
up(execution_id) AS (
    SELECT unnest($ids::VARCHAR[])
    UNION
    SELECT d.producer FROM deps d JOIN up ON d.reader = up.execution_id
)
SELECT e.execution_id FROM executions e
WHERE e.execution_id IN (SELECT execution_id FROM up)
ORDER BY e.started_at, e.execution_id
"""

SESSION_SOURCES_SQL = """
SELECT execution_id, session_id, started_at, source, status FROM runs
WHERE session_id IN (SELECT unnest($sessions::VARCHAR[]))
ORDER BY started_at
"""

RUN_DETAILS_SQL = """
SELECT r.execution_id, r.session_id, r.notebook_path, r.cell_id, r.execution_count, r.name,
       r.tags, r.model, r.base_model, r.mode, r.experiment_id, r.source, r.source_hash,
       r.started_at, r.status, r.error_type, r.error_message, r.environment_id, r.seeds,
       s.working_dir
FROM runs r
LEFT JOIN (SELECT session_id, any_value(working_dir) AS working_dir FROM sessions
           GROUP BY session_id) s USING (session_id)
WHERE r.execution_id IN (SELECT unnest($ids::VARCHAR[]))
ORDER BY r.started_at, r.execution_id
"""

VALUES_SQL = """
SELECT execution_id, ordinal, name, role, action, fingerprint, fingerprint_kind, type_name, shape
FROM value_records
WHERE execution_id IN (SELECT unnest($ids::VARCHAR[]))
ORDER BY execution_id, ordinal
"""

FILES_SQL = """
SELECT execution_id, ordinal, path, access, size, sha256, note
FROM file_records
WHERE execution_id IN (SELECT unnest($ids::VARCHAR[]))
ORDER BY execution_id, ordinal
"""

PARAMS_SQL = """
SELECT execution_id, experiment_id, name, value, logged_at FROM params
WHERE execution_id IN (SELECT unnest($ids::VARCHAR[]))
   OR (execution_id IS NULL AND experiment_id IN (SELECT unnest($experiments::VARCHAR[])))
ORDER BY logged_at
"""

ENVIRONMENTS_SQL = """
SELECT * FROM environments WHERE environment_id IN (SELECT unnest($ids::VARCHAR[]))
"""

PACKAGES_SQL = """
SELECT environment_id, name, version FROM packages
WHERE environment_id IN (SELECT unnest($ids::VARCHAR[]))
ORDER BY name
"""

# The executions of the latest kernel session of a notebook that started at or after $since.
RUN_SESSION_SQL = """
SELECT execution_id, execution_count, status FROM runs
WHERE session_id = (SELECT arg_max(session_id, started_at) FROM executions
                    WHERE notebook_path = $notebook AND started_at >= $since)
ORDER BY started_at
"""

CELL_LINKS_SQL = """
SELECT cell_id,
       list(execution_id ORDER BY started_at, execution_id) AS executions,
       arg_max(status, started_at) AS last_status
FROM runs
WHERE notebook_path IN (SELECT unnest($notebooks::VARCHAR[]))
  AND cell_id IN (SELECT unnest($cells::VARCHAR[]))
GROUP BY cell_id
"""

INGESTED_EVENTS_SQL = """
SELECT journal, byte_offset, line_hash, event_id FROM events ORDER BY journal, byte_offset
"""

STORED_ARTIFACTS_SQL = """
SELECT model, version, name, stored_path, sha256 FROM artifacts
WHERE stored_path IS NOT NULL
ORDER BY model, version, name
"""

# The latest record of each file path that was hashed, with the execution that saw it.
RECORDED_FILES_SQL = """
SELECT path, arg_max(sha256, (started_at, execution_id)) AS sha256,
       arg_max(execution_id, (started_at, execution_id)) AS execution_id
FROM files
WHERE sha256 IS NOT NULL
GROUP BY path
ORDER BY path
"""


class ReproduceQueries:
    """The reads of reproduce, diff and verify over one read-only connection."""

    def __init__(self, con: Any) -> None:
        self.con: duckdb.DuckDBPyConnection | PostgresConnection = con

    def _rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        import duckdb

        try:
            cursor = self.con.execute(sql, params or {})
            columns = [d[0] for d in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        except QueryError:
            raise
        except duckdb.Error as exc:
            raise StoreError(
                f"query failed: {str(exc).splitlines()[0]}; "
                "`jupyter-lineage rebuild` recreates the store if it is damaged"
            ) from None

    def _column(self, sql: str, params: dict[str, Any]) -> list[str]:
        return [str(next(iter(r.values()))) for r in self._rows(sql, params)]

    def executions_by_prefix(self, prefix: str) -> list[str]:
        """Execution ids starting with ``prefix`` (at most five, newest first)."""
        return self._column(EXECUTIONS_BY_PREFIX_SQL, {"prefix": prefix})

    def registry_versions(self, name: str, group: str | None) -> list[dict[str, Any]]:
        """The registered versions of a model, oldest first."""
        rows = self._rows(REGISTRY_VERSIONS_SQL, {"name": name, "group": group})
        for row in rows:
            row["hyperparameters"] = json_column(row.get("hyperparameters")) or {}
        return rows

    def model_runs(self, name: str) -> list[str]:
        """The successful ``%%lineage --model NAME`` runs of the latest session that has one."""
        return self._column(MODEL_RUNS_SQL, {"name": name})

    def experiment_runs(self, name: str) -> tuple[str | None, list[str]]:
        """The latest experiment called ``name`` and its successful runs, oldest first."""
        rows = self._rows(EXPERIMENT_RUNS_SQL, {"name": name})
        if not rows:
            return None, []
        return rows[0]["experiment_id"], [r["execution_id"] for r in rows if r["execution_id"]]

    def upstream_executions(self, execution_ids: Sequence[str]) -> list[str]:
        """``execution_ids`` and every execution they depend on in their sessions, oldest first."""
        return self._column(UPSTREAM_SQL, {"ids": list(execution_ids)})

    def session_sources(self, session_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Every captured execution of these sessions with its source and status, oldest first."""
        return self._rows(SESSION_SOURCES_SQL, {"sessions": list(session_ids)})

    def run_details(self, execution_ids: Sequence[str]) -> list[dict[str, Any]]:
        """``runs`` rows of these executions and their session's working directory, oldest first."""
        rows = self._rows(RUN_DETAILS_SQL, {"ids": list(execution_ids)})
        for row in rows:
            row["seeds"] = json_column(row.get("seeds")) or []
            row["tags"] = list(row.get("tags") or [])
        return rows

    def value_records(self, execution_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Values read and written by these executions."""
        return self._rows(VALUES_SQL, {"ids": list(execution_ids)})

    def file_records(self, execution_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Files read and written by these executions."""
        return self._rows(FILES_SQL, {"ids": list(execution_ids)})

    def params(
        self, execution_ids: Sequence[str], experiment_ids: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Parameters logged by these executions (and to these experiments directly), oldest first."""
        rows = self._rows(
            PARAMS_SQL, {"ids": list(execution_ids), "experiments": list(experiment_ids)}
        )
        for row in rows:
            row["value"] = json_column(row.get("value"))
        return rows

    def environments(self, environment_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Environment rows by id, each with ``packages``: name → version."""
        ids = sorted({i for i in environment_ids if i})
        if not ids:
            return {}
        envs = {r["environment_id"]: r for r in self._rows(ENVIRONMENTS_SQL, {"ids": ids})}
        for env in envs.values():
            for key in ("gpus", "container", "env_vars"):
                env[key] = json_column(env.get(key))
            env["packages"] = {}
        for row in self._rows(PACKAGES_SQL, {"ids": ids}):
            if row["environment_id"] in envs:
                envs[row["environment_id"]]["packages"][row["name"]] = row["version"]
        return envs

    def run_session_executions(self, notebook_path: str, since: datetime) -> list[dict[str, Any]]:
        """The runs of the latest kernel session of ``notebook_path`` started at or after ``since``."""
        return self._rows(RUN_SESSION_SQL, {"notebook": notebook_path, "since": since})

    def cell_links(
        self, notebook_paths: Sequence[str], cell_ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """For each cell id: its executions in these notebooks (oldest first) and the last status."""
        rows = self._rows(
            CELL_LINKS_SQL, {"notebooks": list(notebook_paths), "cells": list(cell_ids)}
        )
        return {r["cell_id"]: r for r in rows}

    def ingested_events(self) -> list[dict[str, Any]]:
        """Where each ingested event came from: journal, byte offset, the line's SHA-256."""
        return self._rows(INGESTED_EVENTS_SQL)

    def stored_artifacts(self) -> list[dict[str, Any]]:
        """Registry artifacts copied into the store: where, and their SHA-256."""
        return self._rows(STORED_ARTIFACTS_SQL)

    def recorded_files(self) -> list[dict[str, Any]]:
        """Each file path cells read or wrote, with the SHA-256 it had when last seen."""
        return self._rows(RECORDED_FILES_SQL)


@contextmanager
def open_queries(store: Store, *, ingest: bool = True) -> Iterator[ReproduceQueries]:
    """Ingest new journal lines (unless ``ingest`` is false), then hold one read-only connection.

    Close it before anything in this process ingests again: DuckDB refuses a
    read-write connection to a file this process holds read-only.
    """
    if ingest:
        store.ingest()
    with store.connect(read_only=True) as con:
        yield ReproduceQueries(con)
