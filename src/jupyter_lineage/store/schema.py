"""The store's schema: its files, its version, the steps between versions, and its views.

Both stores create and upgrade their tables from these: the DuckDB store with
:func:`ensure_schema` on each ingest, the team store (PostgreSQL) with ``migrate``,
which runs the same statements translated.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SchemaVersionError

if TYPE_CHECKING:
    import duckdb

SCHEMA_VERSION = 8
# The documented query surface (docs/reference/views.md, generated from the schema).
VIEWS = (
    "runs",
    "cells",
    "failed_attempts",
    "cell_inputs",
    "cell_outputs",
    "files",
    "stale_executions",
    "shell_commands",
    "environments",
    "packages",
    "lineage_nodes",
    "lineage_edges",
    "annotations",
    "annotation_history",
    "annotation_links",
    "experiments",
    "metrics",
    "params",
    "datasets",
    "model_registry",
    "model_versions",
    "version_transitions",
    "gate_results",
    "gates",
    "waivers",
    "artifacts",
    "audit_trail",
    "forgotten",
)
# The execution_results columns ingest copies onto the run's executions row, as result_<name>.
RESULT_COLUMNS = (
    "event_id",
    "execution_count",
    "ended_at",
    "duration_ms",
    "status",
    "error_type",
    "error_message",
    "traceback",
    "environment_id",
    "seeds",
    "capture_errors",
    "redactions",
)
# The columns ingest fills beside an event's own: what it copies onto a table's rows
# from another table (a run's result and its session's facts, onto its start).
DERIVED_COLUMNS: dict[str, frozenset[str]] = {
    "executions": frozenset(
        [*(f"result_{column}" for column in RESULT_COLUMNS), "author", "notebook_key"]
    ),
    "execution_results": frozenset(["copied"]),
}
# Applied in this order; each file is idempotent (CREATE ... IF NOT EXISTS, CREATE OR REPLACE VIEW).
SCHEMA_FILES = ("schema.sql", "lineage.sql", "registry.sql")
# Statements that bring a store at version N-1 up to N, run before the schema files.
MIGRATIONS: dict[int, list[str]] = {
    2: [
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS redactions VARCHAR[]"
        for table in ("events", "executions", "execution_results")
    ],
    3: [],  # dataset_records and file_hash_records: new tables, which schema.sql creates
    4: [
        # Each run's result copied onto its executions row, as ingest now does (`runs`).
        *(
            f"ALTER TABLE executions ADD COLUMN IF NOT EXISTS result_{column} {type_}"
            for column, type_ in (
                ("event_id", "VARCHAR"),
                ("execution_count", "BIGINT"),
                ("ended_at", "TIMESTAMPTZ"),
                ("duration_ms", "DOUBLE"),
                ("status", "VARCHAR"),
                ("error_type", "VARCHAR"),
                ("error_message", "VARCHAR"),
                ("traceback", "VARCHAR"),
                ("environment_id", "VARCHAR"),
                ("seeds", "JSON"),
                ("capture_errors", "VARCHAR[]"),
                ("redactions", "VARCHAR[]"),
            )
        ),
        "ALTER TABLE execution_results ADD COLUMN IF NOT EXISTS copied BOOLEAN",
    ],
    5: [],  # command_records: a new table, which schema.sql creates
    6: [
        # Who ran a session and the notebook's name on every machine (`runs`).
        "ALTER TABLE sessions ADD COLUMN IF NOT EXISTS author VARCHAR",
        "ALTER TABLE sessions ADD COLUMN IF NOT EXISTS notebook_key VARCHAR",
    ],
    7: [
        # The session's author and notebook key copied onto each run with its result (`runs`).
        "ALTER TABLE executions ADD COLUMN IF NOT EXISTS author VARCHAR",
        "ALTER TABLE executions ADD COLUMN IF NOT EXISTS notebook_key VARCHAR",
    ],
    8: [
        # The version of a file that was hashed, so a look at it later needs no reading.
        "ALTER TABLE file_records ADD COLUMN IF NOT EXISTS mtime_ns BIGINT",
        "ALTER TABLE file_records ADD COLUMN IF NOT EXISTS inode BIGINT",
    ],
}
# A failed run's row in failed_run_copies, of its start ({e}) and its end ({r}).
FAILED_RUN_COLUMNS = (
    "{e}.execution_id, {e}.session_id, {e}.notebook_path, {e}.cell_id, "
    "coalesce({r}.execution_count, {e}.execution_count) AS execution_count, {e}.name, {e}.tags, "
    "{e}.model, {e}.experiment_id, {e}.source, {e}.started_at, {r}.duration_ms, {r}.status, "
    "{r}.error_type, {r}.error_message, {r}.traceback"
)
# What a DuckDB store brought up to version 7 does with the runs it holds: the copies
# its ingest now makes as it copies a result.
COPY_SESSION_FACTS = (
    "UPDATE executions SET author = s.author, notebook_key = s.notebook_key"
    " FROM _session_facts s WHERE executions.session_id = s.session_id"
)
# What a DuckDB store brought up to version 4 then does with the runs it holds.
COPY_STORED_RESULTS = (
    "UPDATE executions SET "
    + ", ".join(f"result_{column} = r.{column}" for column in RESULT_COLUMNS)
    + " FROM execution_results r WHERE executions.execution_id = r.execution_id"
    " AND r.execution_id IN (SELECT execution_id FROM execution_results"
    " GROUP BY execution_id HAVING count(*) = 1)",
    "UPDATE execution_results SET copied = true"
    " WHERE event_id IN (SELECT result_event_id FROM executions)",
    "INSERT INTO failed_run_copies BY NAME SELECT "
    + FAILED_RUN_COLUMNS.format(e="e", r="r")
    + " FROM executions e JOIN execution_results r ON r.event_id = e.result_event_id"
    " WHERE r.status IN ('failed', 'interrupted')",
)


def ensure_schema(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Create the schema of the DuckDB file at ``db_path``, or bring it up to ``SCHEMA_VERSION``."""
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_info'"
    ).fetchone()
    exists = row[0] if row else None
    if exists:
        row = con.execute("SELECT value FROM schema_info WHERE key = 'schema_version'").fetchone()
        version = int((row[0] if row else None) or 0)
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{db_path} has schema version {version}, newer than this jupyter-lineage "
                f"understands ({SCHEMA_VERSION}); upgrade with `pip install -U jupyter-lineage`"
            )
        if version == SCHEMA_VERSION:
            return
    from ..version import __version__

    package = resources.files("jupyter_lineage.store")
    con.execute("BEGIN")
    if exists:
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS.get(step, []):
                con.execute(statement)
    for name in SCHEMA_FILES:
        con.execute(package.joinpath(name).read_text(encoding="utf-8"))
    if exists and version < 4:
        # Copied here, not in a migration step: the team store runs those too, and
        # it neither copies results on shipping nor blanks copies when forgetting.
        for statement in COPY_STORED_RESULTS:
            con.execute(statement)
    if exists and version < 7:
        con.execute(COPY_SESSION_FACTS)
    con.execute(
        "INSERT OR REPLACE INTO schema_info VALUES ('schema_version', ?), ('written_by', ?)",
        [str(SCHEMA_VERSION), __version__],
    )
    con.execute("COMMIT")
