"""The DuckDB store: ingest journals, migrate the schema, answer queries.

DuckDB admits one read-write process per file, and even a read-only reader
blocks a writer, so every connection here lives for one ingest or one query
and lock conflicts are retried with backoff: a query waits for an ingest in
another process rather than failing. Nothing on the kernel's capture path
imports this module.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import random
import re
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import DB_FILE_NAME, JOURNAL_DIR_NAME
from ..errors import QueryError, SchemaVersionError, StoreError, StoreLockedError
from ..journal import JournalLine, iter_raw_lines, journal_files, line_decoder
from .base import StoreQueries

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

SCHEMA_VERSION = 6
# The documented query surface (docs/reference/views.md, generated from the schema).
VIEWS = (
    "runs",
    "cells",
    "failed_attempts",
    "cell_inputs",
    "cell_outputs",
    "files",
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
}
# A failed run's row in failed_run_copies, of its start ({e}) and its end ({r}).
_FAILED_RUN_COLUMNS = (
    "{e}.execution_id, {e}.session_id, {e}.notebook_path, {e}.cell_id, "
    "coalesce({r}.execution_count, {e}.execution_count) AS execution_count, {e}.name, {e}.tags, "
    "{e}.model, {e}.experiment_id, {e}.source, {e}.started_at, {r}.duration_ms, {r}.status, "
    "{r}.error_type, {r}.error_message, {r}.traceback"
)
# What a DuckDB store brought up to version 4 then does with the runs it holds.
_COPY_STORED_RESULTS = (
    "UPDATE executions SET "
    + ", ".join(f"result_{column} = r.{column}" for column in RESULT_COLUMNS)
    + " FROM execution_results r WHERE executions.execution_id = r.execution_id"
    " AND r.execution_id IN (SELECT execution_id FROM execution_results"
    " GROUP BY execution_id HAVING count(*) = 1)",
    "UPDATE execution_results SET copied = true"
    " WHERE event_id IN (SELECT result_event_id FROM executions)",
    "INSERT INTO failed_run_copies BY NAME SELECT "
    + _FAILED_RUN_COLUMNS.format(e="e", r="r")
    + " FROM executions e JOIN execution_results r ON r.event_id = e.result_event_id"
    " WHERE r.status IN ('failed', 'interrupted')",
)
# Files stay readable by DuckDB releases from 1.1 on, whichever release writes them.
STORAGE_COMPATIBILITY_VERSION = "v1.1.0"
DEFAULT_LOCK_TIMEOUT_S = 30.0
# Lines a batch takes (from one journal) before it is parsed and staged for writing.
_BATCH_EVENTS = 50_000
# Events written per transaction. DuckDB writes large appends straight to the file,
# and each commit costs a WAL write: a few large transactions ingest a million events
# in a fraction of the time a transaction per journal does.
_WRITE_EVENTS = 200_000
# While ingesting, the WAL is folded into the file when the connection closes, not at
# the commit that takes it past DuckDB's 16 MB default (a checkpoint per transaction).
_INGEST_CHECKPOINT_THRESHOLD = "1GB"
_PID_RE = re.compile(r"(?:held in (.+?) )?\(PID (\d+)\)")
# How a file record whose hash is computed after its cell starts its note (capture/file_hashing.py).
NOTE_PENDING_PREFIX = "SHA-256 computed after the cell"
# What a forgotten execution's texts read as in every view.
FORGOTTEN = "[forgotten]"


@dataclass(slots=True)
class IngestReport:
    """What one ingest pass did."""

    events: int = 0
    journals: int = 0
    problems: list[str] = field(default_factory=list)


class DuckDBStore(StoreQueries):
    """A store directory: ``journal/*.jsonl`` (the source of truth) and ``lineage.duckdb``."""

    def __init__(
        self, root: str | os.PathLike[str], *, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
    ) -> None:
        self.root = Path(root)
        self.db_path = self.root / DB_FILE_NAME
        self.journal_dir = self.root / JOURNAL_DIR_NAME
        self.lock_timeout_s = lock_timeout_s
        self._ingested_sizes: dict[str, int] = {}
        self._ingested_stamp: tuple[int, int] | None = None

    # -- connections ---------------------------------------------------------

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection, retried while another process holds the file."""
        import duckdb

        if read_only and not self.db_path.exists():
            raise StoreError(
                f"no store database at {self.db_path}; capture a cell or run `jupyter-lineage ingest` first"
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot use {self.root} as a store directory ({exc.strerror or exc}); "
                "give a directory you can write, with --store DIR or JUPYTER_LINEAGE_DIR"
            ) from None
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.01
        while True:
            try:
                con = duckdb.connect(
                    str(self.db_path),
                    read_only=read_only,
                    config={"storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION},
                )
                break
            except duckdb.IOException as exc:
                message = str(exc)
                if "lock" not in message.lower():
                    raise StoreError(
                        f"cannot open {self.db_path}: {message.splitlines()[0]}; "
                        "if the file is damaged, `jupyter-lineage rebuild` recreates it from the journals"
                    ) from None
                if time.monotonic() >= deadline:
                    raise StoreLockedError(
                        f"{self.db_path} is locked by {lock_holder(message)} for more than "
                        f"{self.lock_timeout_s:g} s; close that process's connection (or wait) and retry"
                    ) from None
                # Jittered, so processes that collided do not retry in step.
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.25)
            except duckdb.Error as exc:
                raise StoreError(
                    f"cannot open {self.db_path}: {str(exc).splitlines()[0]}; "
                    "if the file is damaged, `jupyter-lineage rebuild` recreates it from the journals"
                ) from None
        try:
            yield con
        finally:
            con.close()

    # -- schema --------------------------------------------------------------

    def _ensure_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        exists = _scalar(
            con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_info'"
        )
        if exists:
            version = int(
                _scalar(con, "SELECT value FROM schema_info WHERE key = 'schema_version'") or 0
            )
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"{self.db_path} has schema version {version}, newer than this jupyter-lineage "
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
            for statement in _COPY_STORED_RESULTS:
                con.execute(statement)
        con.execute(
            "INSERT OR REPLACE INTO schema_info VALUES ('schema_version', ?), ('written_by', ?)",
            [str(SCHEMA_VERSION), __version__],
        )
        con.execute("COMMIT")

    # -- ingest --------------------------------------------------------------

    def ingest(self, progress: Callable[[int], None] | None = None) -> IngestReport:
        """Bring new journal lines into DuckDB: incremental by byte offset, idempotent by event id."""
        import duckdb

        # A batch is tens of thousands of short-lived, acyclic row dicts: the cyclic
        # collector would rescan them again and again (a third of a large ingest).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._ingest(progress)
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot update {self.db_path}: {str(exc).splitlines()[0]}; if the file is damaged, "
                "`jupyter-lineage rebuild` recreates it from the journals"
            ) from None
        finally:
            if collecting:
                gc.enable()

    def _ingest(self, progress: Callable[[int], None] | None) -> IngestReport:
        report = IngestReport()
        journals = journal_files(self.journal_dir)
        # Nothing new in the journals and the database untouched since this process
        # last ingested: no connection needed (a connect alone costs ~12 ms).
        sizes = {p.name: _size(p) for p in journals}
        if (
            self._ingested_sizes
            and sizes == self._ingested_sizes
            and self._db_stamp() == self._ingested_stamp
        ):
            return report
        with self.connect() as con:
            self._ensure_schema(con)
            offsets = dict(
                con.execute("SELECT journal, byte_offset FROM journal_offsets").fetchall()
            )
            con.execute(f"SET checkpoint_threshold = '{_INGEST_CHECKPOINT_THRESHOLD}'")
            # DuckDB appends one group of batches (without the GIL) while the next is parsed.
            with ThreadPoolExecutor(1, thread_name_prefix="lineage-ingest") as writer:
                writing: Future[int] | None = None
                staged = _Staged()
                for batch in _new_batches(journals, offsets, report):
                    staged.add(batch)
                    if staged.events >= _WRITE_EVENTS:
                        if writing is not None:
                            report.events += writing.result()
                            if progress:
                                progress(report.events)
                        writing = writer.submit(self._flush, con, staged, report)
                        staged = _Staged()
                if writing is not None:
                    report.events += writing.result()
                if staged.positions:
                    report.events += self._flush(con, staged, report)
                if progress and (writing is not None or staged.positions):
                    progress(report.events)
        self._ingested_sizes = sizes
        self._ingested_stamp = self._db_stamp()
        return report

    def _db_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.db_path.stat()
        except OSError:
            return None
        wal = _size(self.db_path.with_name(self.db_path.name + ".wal"))
        return (st.st_mtime_ns, st.st_size + wal)

    def _flush(self, con: duckdb.DuckDBPyConnection, staged: _Staged, report: IngestReport) -> int:
        """Append the staged rows and the journals' new offsets in one transaction."""
        con.execute("BEGIN")
        try:
            tables = staged.tables()
            if "events" in tables:
                con.register("staged_events", _column_table(tables["events"], "event_id"))
                stored = con.execute(
                    "SELECT event_id FROM events WHERE event_id IN (SELECT event_id FROM staged_events)"
                ).fetchall()
                con.unregister("staged_events")
                if stored:
                    tables = _without_events(tables, [row[0] for row in stored])
            starts, ends = tables.get("executions", []), tables.get("execution_results", [])
            if len(starts) == len(ends) == 1:
                _append_runs(con, starts[0], ends[0])
            for table, parts in tables.items():
                if len(starts) == len(ends) == 1 and table in ("executions", "execution_results"):
                    continue
                for part in parts:
                    _append(con, table, part)
            if "file_hash_records" in tables:
                complete_file_hashes(con)
            apply_forgets(con, tables)
            for journal, offset, problem in staged.problems:
                con.execute(
                    "INSERT INTO ingest_problems VALUES (?, ?, ?, now())",
                    [journal, offset, problem],
                )
            # One statement for every journal (a statement each costs milliseconds here).
            positions = {position[0]: position for position in staged.positions}
            con.execute(
                "INSERT OR REPLACE INTO journal_offsets VALUES "
                + ", ".join(["(?, ?, ?, ?, now())"] * len(positions)),
                [value for position in positions.values() for value in position],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        report.problems.extend(f"{journal}@{o}: {p}" for journal, o, p in staged.problems)
        return sum(part.num_rows for part in tables.get("events", ()))

    # -- queries -------------------------------------------------------------

    def query(
        self, sql: str, params: list[Any] | dict[str, Any] | None = None, *, ingest: bool = True
    ) -> pd.DataFrame:
        """Run read-only SQL over the store's views and tables; returns a DataFrame."""
        import duckdb

        if ingest:
            self.ingest()
        with self.connect(read_only=True) as con:
            try:
                return (
                    con.execute(sql, params).df() if params is not None else con.execute(sql).df()
                )
            except duckdb.Error as exc:
                first = str(exc).splitlines()[0]
                if _is_damage(exc):
                    raise StoreError(
                        f"cannot read {self.db_path}: {first}; "
                        "`jupyter-lineage rebuild` recreates it from the journals"
                    ) from None
                raise QueryError(f"{first} (the views are {', '.join(VIEWS)})") from None

    def info(self) -> dict[str, Any]:
        """Store location, schema version and row counts."""
        self.ingest()
        with self.connect(read_only=True) as con:
            counts = {}
            for view in VIEWS:
                counts[view] = _scalar(con, f"SELECT count(*) FROM {view}")
            sessions = _scalar(con, "SELECT count(*) FROM sessions")
            events = _scalar(con, "SELECT count(*) FROM events")
            version = _scalar(con, "SELECT value FROM schema_info WHERE key = 'schema_version'")
            problems = _scalar(con, "SELECT count(*) FROM ingest_problems")
        return {
            "store_dir": str(self.root),
            "database": str(self.db_path),
            "database_bytes": self.db_path.stat().st_size if self.db_path.exists() else 0,
            "journals": len(journal_files(self.journal_dir)),
            "journal_bytes": sum(p.stat().st_size for p in journal_files(self.journal_dir)),
            "schema_version": int(version),
            "sessions": sessions,
            "events": events,
            "ingest_problems": problems,
            "counts": counts,
        }

    def health(self, *, lock_timeout_s: float = 2.0) -> dict[str, Any]:
        """Open the database read-only, without ingesting, and report its state.

        Raises StoreError (damaged or unreadable), StoreLockedError (held by a
        process for longer than ``lock_timeout_s``) or SchemaVersionError.
        """
        import duckdb

        saved, self.lock_timeout_s = self.lock_timeout_s, lock_timeout_s
        try:
            with self.connect(read_only=True) as con:
                try:
                    info = dict(con.execute("SELECT key, value FROM schema_info").fetchall())
                    offsets = dict(
                        con.execute("SELECT journal, byte_offset FROM journal_offsets").fetchall()
                    )
                    events = _scalar(con, "SELECT count(*) FROM events")
                    problems = con.execute(
                        "SELECT journal, byte_offset, problem FROM ingest_problems "
                        "ORDER BY seen_at DESC LIMIT 5"
                    ).fetchall()
                    problem_count = _scalar(con, "SELECT count(*) FROM ingest_problems")
                except duckdb.Error as exc:
                    raise StoreError(
                        f"cannot read {self.db_path}: {str(exc).splitlines()[0]}; "
                        "`jupyter-lineage rebuild` recreates it from the journals"
                    ) from None
        finally:
            self.lock_timeout_s = saved
        version = int(info.get("schema_version") or 0)
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.db_path} has schema version {version}, newer than this jupyter-lineage "
                f"understands ({SCHEMA_VERSION}); upgrade with `pip install -U jupyter-lineage`"
            )
        return {
            "schema_version": version,
            "current_schema_version": SCHEMA_VERSION,
            "written_by": info.get("written_by"),
            "events": int(events or 0),
            "offsets": {str(k): int(v) for k, v in offsets.items()},
            "ingest_problems": int(problem_count or 0),
            "recent_problems": [f"{j}@{o}: {p}" for j, o, p in problems],
        }

    def current_lock_holder(self, *, wait_s: float = 0.5) -> str | None:
        """The process holding the database (even read-only), or None when it is free.

        Opens it read-write for an instant, which any holder prevents.
        """
        if not self.db_path.exists():
            return None
        saved, self.lock_timeout_s = self.lock_timeout_s, wait_s
        try:
            with self.connect():
                return None
        except StoreLockedError as exc:
            m = re.search(r"locked by (.+) for more than", str(exc))
            return m.group(1) if m else "another process"
        finally:
            self.lock_timeout_s = saved

    def rebuild(self) -> IngestReport:
        """Recreate the DuckDB file from the journals (they are the source of truth)."""
        self._ingested_sizes = {}
        if self.db_path.exists():
            backup = self.db_path.with_suffix(f".broken-{int(time.time())}")
            os.replace(self.db_path, backup)
        wal = self.db_path.with_name(self.db_path.name + ".wal")
        if wal.exists():
            os.replace(wal, wal.with_suffix(f".broken-{int(time.time())}"))
        return self.ingest()


def lock_holder(message: str) -> str:
    """The process named in DuckDB's lock-conflict message, with its command line when known."""
    m = _PID_RE.search(message)
    if m is None:
        return "another process"
    pid = m.group(2)
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        command = " ".join(" ".join(argv).split())  # one line, whatever the arguments hold
    except OSError:
        command = m.group(1) or ""
    if len(command) > 120:
        command = command[:119] + "…"
    return f"process {pid} ({command})" if command else f"process {pid}"


def _is_damage(exc: Exception) -> bool:
    """Whether a DuckDB error says the file is damaged rather than the query wrong."""
    import duckdb

    if isinstance(exc, (duckdb.IOException, duckdb.InternalException, duckdb.FatalException)):
        return True
    return "corrupt" in str(exc).lower()


def apply_forgets(con: Any, tables: dict[str, list[pa.Table]]) -> None:
    """Blank the texts of forgotten executions: ones forgotten in these rows, everywhere;
    ones forgotten earlier, in the rows these brought (journals ingest in any order)."""
    ids = _distinct(tables.get("forget_records", ()), "execution_id")
    forgotten = {
        row[0] for row in con.execute("SELECT DISTINCT execution_id FROM forget_records").fetchall()
    }
    if forgotten:
        arrived: set[Any] = set()
        for table in ("executions", "execution_results", "value_records"):
            arrived |= _distinct(tables.get(table, ()), "execution_id")
        for part in tables.get("annotation_targets", ()):
            kinds, targets = part["target_type"].to_pylist(), part["target"].to_pylist()
            arrived.update(t for k, t in zip(kinds, targets, strict=True) if k == "execution")
        ids |= arrived & forgotten
    if not ids:
        return
    params = [FORGOTTEN, sorted(ids)]
    con.execute(
        "UPDATE executions SET source = $1, note = CASE WHEN note IS NULL THEN NULL ELSE $1 END, "
        "result_error_message = CASE WHEN result_error_message IS NULL THEN NULL ELSE $1 END, "
        "result_traceback = CASE WHEN result_traceback IS NULL THEN NULL ELSE $1 END, "
        "result_capture_errors = CASE WHEN result_event_id IS NULL THEN NULL ELSE CAST([] AS VARCHAR[]) END "
        "WHERE list_contains($2, execution_id)",
        params,
    )
    con.execute(
        "UPDATE failed_run_copies SET source = $1, "
        "error_message = CASE WHEN error_message IS NULL THEN NULL ELSE $1 END, "
        "traceback = CASE WHEN traceback IS NULL THEN NULL ELSE $1 END "
        "WHERE list_contains($2, execution_id)",
        params,
    )
    con.execute(
        "UPDATE execution_results SET "
        "error_message = CASE WHEN error_message IS NULL THEN NULL ELSE $1 END, "
        "traceback = CASE WHEN traceback IS NULL THEN NULL ELSE $1 END, capture_errors = CAST([] AS VARCHAR[]) "
        "WHERE list_contains($2, execution_id)",
        params,
    )
    con.execute(
        "UPDATE value_records SET summary = CASE WHEN summary IS NULL THEN NULL ELSE $1 END, "
        "note = CASE WHEN note IS NULL THEN NULL ELSE $1 END "
        "WHERE list_contains($2, execution_id)",
        params,
    )
    con.execute(
        "UPDATE command_records SET command = $1 WHERE list_contains($2, execution_id)", params
    )
    con.execute(
        "UPDATE annotation_records SET text = $1 WHERE annotation_id IN ("
        "SELECT annotation_id FROM annotation_targets "
        "WHERE target_type = 'execution' AND list_contains($2, target))",
        params,
    )


def complete_file_hashes(con: Any) -> None:
    """Fill in file records whose SHA-256 was computed after their cell, saying when."""
    con.execute(
        """
        UPDATE file_records SET
            sha256 = h.sha256,
            note = CASE WHEN h.sha256 IS NULL THEN h.note
                        ELSE 'SHA-256 computed after the cell, at '
                             || strftime(timezone('UTC', h.hashed_at), '%Y-%m-%d %H:%M:%S UTC') END
        FROM file_hash_records h
        WHERE file_records.execution_id = h.execution_id AND file_records.path = h.path
          AND file_records.sha256 IS NULL AND starts_with(file_records.note, ?)
        """,
        [NOTE_PENDING_PREFIX],
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """The first column of the first row, or None."""
    row = con.execute(sql).fetchone()
    return row[0] if row else None


# -- the parse step: journal lines to rows, touching no database ----------------


def _new_batches(
    journals: list[Path], offsets: dict[str, int], report: IngestReport
) -> Iterator[_Batch]:
    """The lines of each journal past its ingested offset, in batches."""
    for path in journals:
        start = offsets.get(path.name, 0)
        try:
            size = path.stat().st_size
        except OSError:
            continue
        if size < start:
            # Shorter than what was ingested: the journal was deleted and started
            # again. Read it all; events already stored are dropped by id.
            report.problems.append(
                f"{path.name}: shorter than its ingested offset {start}; read again"
            )
            start = 0
        if size <= start:
            continue
        report.journals += 1
        batch = _Batch(path.name)
        for offset, raw, line_hash in iter_raw_lines(path, start):
            batch.add_raw(offset, raw, line_hash)
            if batch.count >= _BATCH_EVENTS:
                yield batch
                batch = _Batch(path.name, batch.end)
        yield batch


class _Batch:
    """The rows a run of one journal's lines gives each table: the parse step.

    It touches no database; the DuckDB and PostgreSQL stores both write what it
    gives. ``add`` (a parsed line) or ``add_raw`` (its bytes) takes the lines in
    journal order; then ``tables()`` gives each table's rows as an Arrow table,
    ``rows`` the same rows as dicts (every row of a table with the same keys), and
    ``drop`` forgets the rows of events a store already holds. ``end``,
    ``last_hash`` and ``last_seq`` say where the run stops in its journal,
    ``problems`` which lines gave no rows, as (offset, message): read them after
    ``parse()`` (which ``tables()``, ``rows`` and ``drop`` call).
    """

    def __init__(self, journal: str, end: int | None = None) -> None:
        self.journal = journal
        self.problems: list[tuple[int, str]] = []
        self.end = end
        self.last_hash: str | None = None
        self.last_seq: int | None = None
        self.count = 0
        # The events this batch has rows for: a line repeating one adds none.
        self.event_ids: set[str] = set()
        # The time and redactions of the event being added, for its handler.
        self.ts: Any = None
        self.redactions: list[str] | None = None
        self._rows = {table: _Rows(*columns) for table, columns in _TABLES.items()}
        # Lines taken by add_raw, not parsed yet, and the rows the fast path made of some.
        self._raw: list[tuple[int, bytes, str]] = []
        self._fast: dict[str, list[pa.Table]] = {}
        self._dropped: set[str] = set()
        self._tables: dict[str, pa.Table] | None = None
        self._dicts: dict[str, list[dict[str, Any]]] | None = None

    def add(self, line: JournalLine) -> None:
        """Turn the journal's next line into rows."""
        if self._raw:
            self.parse()
        self.end = line.offset + len(line.raw) + 1
        self.count += 1
        self._take(line)

    def add_raw(self, offset: int, raw: bytes, line_hash: str) -> None:
        """Take the journal's next line as bytes, to be parsed with those around it."""
        self.end = offset + len(raw) + 1
        self.count += 1
        self._raw.append((offset, raw, line_hash))
        self._tables = self._dicts = None

    def parse(self) -> None:
        """Turn the lines taken by ``add_raw`` into rows."""
        lines, self._raw = self._raw, []
        if not lines:
            return
        fast = _read_fast(lines, self.journal, self.event_ids)
        if fast is not None:
            for table, data in fast.tables.items():
                self._fast.setdefault(table, []).append(data)
            self.event_ids |= fast.event_ids
        decode = line_decoder()
        last_read = -1
        for i, line in enumerate(lines):
            if fast is None or i not in fast.lines:
                parsed = decode(*line)
                self._take(parsed)
                if parsed.event is not None:
                    last_read = i
        if fast is not None and fast.last > last_read:
            self.last_hash, self.last_seq = fast.last_hash, fast.last_seq

    def _take(self, line: JournalLine) -> None:
        self._tables = self._dicts = None
        event = line.event
        if event is None:
            self.problems.append((line.offset, line.error or "unreadable line"))
            return
        if b"\\ud" in line.raw:
            # Lone surrogates (valid in the ASCII journal, not in DuckDB's UTF-8).
            event = _escape_surrogates(event)
        event_id, type_ = event["id"], event["type"]
        self.last_hash = line.line_hash
        self.last_seq = event.get("seq")
        if not isinstance(event_id, str) or not isinstance(type_, str):
            self.problems.append((line.offset, "an event whose id or type is not a string"))
            return
        if event_id in self.event_ids:
            return
        self.event_ids.add(event_id)
        session = event.get("session")
        redactions = event.get("redactions")
        self.ts = event.get("ts")
        self.redactions = [str(r) for r in redactions] if redactions else None
        self._rows["events"].add(
            event, (event_id, self.journal, line.offset, session, line.line_hash, self.redactions)
        )
        handler = _HANDLERS.get(type_)
        if handler is not None:
            try:
                handler(self, event_id, session, event.get("data") or {})
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                self.problems.append(
                    (line.offset, f"event {event_id} of type {type_} is malformed: {exc}")
                )

    def add_row(self, table: str, source: dict[str, Any], given: tuple[Any, ...]) -> None:
        """One row: the columns ``_TABLES`` copies from ``source``, and the ``given`` ones."""
        self._rows[table].add(source, given)

    def tables(self) -> dict[str, pa.Table]:
        """Each table's rows as an Arrow table (tables without rows left out)."""
        self.parse()
        if self._tables is None:
            tables = {name: rows.table() for name, rows in self._rows.items() if rows.sources}
            for name, parts in self._fast.items():
                tables[name] = _concat([tables[name], *parts] if name in tables else parts)
            if self._dropped:
                tables = {
                    name: parts[0]
                    for name, parts in _without_events(
                        {name: [table] for name, table in tables.items()}, self._dropped
                    ).items()
                }
            self._tables = tables
        return self._tables

    @property
    def rows(self) -> dict[str, list[dict[str, Any]]]:
        """Each table's rows as dicts, for a store that writes row by row."""
        if self._dicts is None:
            tables = self.tables()
            self._dicts = {
                name: tables[name].to_pylist() if name in tables else [] for name in self._rows
            }
        return self._dicts

    def drop(self, event_ids: set[str]) -> None:
        """Forget the rows of events that are already in the store."""
        self.parse()
        self._dropped |= event_ids
        self.event_ids -= event_ids
        self._tables = self._dicts = None


class _Rows:
    """One table's rows as they arrive, made an Arrow table at the end.

    Each row copies the ``copied`` columns from a dict of its event, under their
    own names, and is given the others as a tuple in the order of ``given``.
    """

    __slots__ = ("copied", "given", "sources", "values")

    def __init__(self, copied: dict[str, str | None], given: tuple[str, ...]) -> None:
        self.copied = copied
        self.given = given
        self.sources: list[dict[str, Any]] = []
        self.values: list[tuple[Any, ...]] = []

    def add(self, source: dict[str, Any], given: tuple[Any, ...]) -> None:
        self.sources.append(source)
        self.values.append(given)

    def table(self) -> pa.Table:
        import pyarrow as pa

        columns: dict[str, pa.Array] = {}
        # The columns of a known type are read from the dicts in one pass over them.
        typed = {name: alias for name, alias in self.copied.items() if alias}
        if typed:
            fields = [(name, pa.type_for_alias(alias)) for name, alias in typed.items()]
            try:
                struct = pa.array(self.sources, pa.struct(fields))
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                pass  # a value of another type: every column as Arrow infers it, below
            else:
                columns.update(zip(typed, struct.flatten(), strict=True))
        for name in self.copied:
            if name not in columns:
                columns[name] = _arrow_array([source.get(name) for source in self.sources])
        for name, values in zip(self.given, zip(*self.values, strict=True), strict=True):
            columns[name] = _arrow_array(values)
        return pa.table(columns)


def _arrow_array(values: Sequence[Any]) -> pa.Array:
    """``pa.array(values)``, typed by the first value that is not None when that fits.

    Arrow's type inference looks at every value, at five times the cost of a typed
    conversion for text. Integers are left to it: a typed conversion would cut a
    float that follows them down to an integer without a word.
    """
    import pyarrow as pa

    first = next((v for v in values if v is not None), None)
    type_ = (
        pa.list_(pa.string())
        if isinstance(first, list)
        else {str: pa.string(), float: pa.float64(), bool: pa.bool_()}.get(type(first))
    )
    if type_ is not None:
        try:
            return pa.array(values, type_)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    return pa.array(values)


# What each table's rows are made of: the columns copied from a dict of the event,
# with the Arrow type each is read as (None: as Arrow infers it; integers always, see
# ``_arrow_array``), and the columns its handler gives, in the order it gives them.
# Together they are the table's columns in schema.sql.
_TABLES: dict[str, tuple[dict[str, str | None], tuple[str, ...]]] = {
    "events": (
        {"seq": None, "ts": "string", "type": "string"},
        ("event_id", "journal", "byte_offset", "session_id", "line_hash", "redactions"),
    ),
    "sessions": (
        {
            "pid": None,
            "hostname": "string",
            "notebook_path": "string",
            "working_dir": "string",
            "lineage_version": "string",
            "ipython_version": "string",
            "author": "string",
            "notebook_key": "string",
        },
        ("session_id", "event_id", "started_at", "user_name"),
    ),
    "executions": (
        {
            "execution_count": None,
            "notebook_path": "string",
            "cell_id": "string",
            "source": "string",
            "source_hash": "string",
            "name": "string",
            "model": "string",
            "base_model": "string",
            "note": "string",
            "mode": "string",
            "capture_values": "bool",
            "experiment_id": "string",
            "started_at": "string",
        },
        ("execution_id", "event_id", "session_id", "tags", "redactions"),
    ),
    "execution_results": (
        {
            "execution_count": None,
            "ended_at": "string",
            "duration_ms": "double",
            "status": "string",
            "error_type": "string",
            "error_message": "string",
            "traceback": "string",
            "environment_id": "string",
        },
        ("execution_id", "event_id", "seeds", "capture_errors", "redactions"),
    ),
    "value_records": (
        {
            "name": "string",
            "role": "string",
            "action": "string",
            "fingerprint": "string",
            "fingerprint_kind": "string",
            "type_name": "string",
            "shape": "string",
            "length": None,
            "summary": "string",
            "note": "string",
        },
        ("execution_id", "event_id", "ordinal"),
    ),
    "file_records": (
        {"path": "string", "access": "string", "size": None, "sha256": "string", "note": "string"},
        ("execution_id", "event_id", "ordinal"),
    ),
    "command_records": (
        {"kind": "string", "command": "string"},
        ("execution_id", "event_id", "ordinal"),
    ),
    "environment_records": (
        {
            "captured_at": "string",
            "python_version": "string",
            "python_implementation": "string",
            "python_executable": "string",
            "platform": "string",
            "os_name": "string",
            "os_release": "string",
            "machine": "string",
            "hostname": "string",
            "cpu_model": "string",
            "cpu_count": None,
            "ram_bytes": None,
        },
        (
            "environment_id",
            "event_id",
            "gpus",
            "git_commit",
            "git_branch",
            "git_dirty",
            "git_diff_sha256",
            "git_remote",
            "container",
            "env_vars",
            "package_count",
        ),
    ),
    "package_records": ({}, ("environment_id", "name", "version")),
    "annotation_records": (
        {
            "revises": "string",
            "kind": "string",
            "text": "string",
            "author": "string",
            "experiment_id": "string",
            "question": "string",
            "template": "string",
        },
        ("annotation_id", "event_id", "session_id", "thread_id", "created_at"),
    ),
    "annotation_targets": (
        {"fingerprint": "string", "sha256": "string"},
        ("annotation_id", "event_id", "ordinal", "target_type", "target"),
    ),
    "experiment_records": (
        {"name": "string", "hypothesis": "string", "notebook_path": "string"},
        ("experiment_id", "event_id", "session_id", "success_criterion", "started_at"),
    ),
    "experiment_ends": (
        {
            "outcome": "string",
            "declared_outcome": "string",
            "evaluated_outcome": "string",
            "criterion_met": "bool",
            "evaluation": "string",
        },
        ("experiment_id", "event_id", "ended_at", "final_metrics"),
    ),
    "metric_records": (
        {"execution_id": "string", "experiment_id": "string", "step": None},
        ("event_id", "session_id", "name", "value", "logged_at"),
    ),
    "param_records": (
        {"execution_id": "string", "experiment_id": "string"},
        ("event_id", "session_id", "name", "value", "logged_at"),
    ),
    "forget_records": (
        {"reason": "string"},
        ("execution_id", "event_id", "session_id", "forgotten_at"),
    ),
}
# The lists of a cell_end event, each a table of rows numbered by their place in it.
_CELL_END_LISTS = (
    ("value_records", "values"),
    ("file_records", "files"),
    ("command_records", "commands"),
)
# A row that copies nothing.
_NOTHING: dict[str, Any] = {}


def _on_session(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    batch.add_row("sessions", d, (session, event_id, batch.ts, d.get("user")))


def _on_cell_start(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    tags = list(d.get("tags") or [])
    batch.add_row("executions", d, (d["execution_id"], event_id, session, tags, batch.redactions))


def _on_cell_end(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    execution_id = d["execution_id"]
    seeds = d.get("seeds")
    seeds = json.dumps(seeds) if seeds else "[]"  # json.dumps costs microseconds even for []
    capture_errors = [str(e) for e in d.get("capture_errors") or []]
    batch.add_row(
        "execution_results", d, (execution_id, event_id, seeds, capture_errors, batch.redactions)
    )
    for table, key in _CELL_END_LISTS:
        for i, item in enumerate(d.get(key) or []):
            if not isinstance(item, dict):
                raise TypeError(f"{table} entry {i} is {type(item).__name__}, not an object")
            batch.add_row(table, item, (execution_id, event_id, i))


def _on_environment(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    git = d.get("git") or {}
    packages = d.get("packages") or {}
    env_id = d["environment_id"]
    batch.add_row(
        "environment_records",
        d,
        (
            env_id,
            event_id,
            json.dumps(d.get("gpus") or []),
            git.get("commit"),
            git.get("branch"),
            git.get("dirty"),
            git.get("diff_sha256"),
            git.get("remote_url"),
            json.dumps(d.get("container")) if d.get("container") else None,
            json.dumps(d.get("env_vars") or {}),
            len(packages),
        ),
    )
    for name, version in packages.items():
        batch.add_row("package_records", _NOTHING, (env_id, name, version))


def _on_annotation(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    annotation_id = d["annotation_id"]
    thread_id = d.get("thread_id") or annotation_id
    created_at = d.get("created_at") or batch.ts
    batch.add_row(
        "annotation_records", d, (annotation_id, event_id, session, thread_id, created_at)
    )
    for i, t in enumerate(d.get("targets") or []):
        if not isinstance(t, dict):
            raise TypeError(f"target {i} is {type(t).__name__}, not an object")
        batch.add_row(
            "annotation_targets", t, (annotation_id, event_id, i, t.get("type"), t.get("ref"))
        )


def _on_experiment_start(
    batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]
) -> None:
    started_at = d.get("started_at") or batch.ts
    batch.add_row(
        "experiment_records",
        d,
        (d["experiment_id"], event_id, session, d.get("success"), started_at),
    )


def _on_experiment_end(
    batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]
) -> None:
    ended_at = d.get("ended_at") or batch.ts
    final_metrics = json.dumps(d.get("metrics") or {})
    batch.add_row("experiment_ends", d, (d["experiment_id"], event_id, ended_at, final_metrics))


def _on_metric(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    logged_at = d.get("logged_at") or batch.ts
    batch.add_row("metric_records", d, (event_id, session, d["name"], float(d["value"]), logged_at))


def _on_param(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    logged_at = d.get("logged_at") or batch.ts
    batch.add_row(
        "param_records", d, (event_id, session, d["name"], json.dumps(d.get("value")), logged_at)
    )


def _on_forget(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    forgotten_at = d.get("forgotten_at") or batch.ts
    batch.add_row("forget_records", d, (str(d["execution_id"]), event_id, session, forgotten_at))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogates(value: Any) -> Any:
    """Strings with lone surrogates, written as JSON writes them (``\\udc80``), for DuckDB."""
    if isinstance(value, str):
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    if isinstance(value, list):
        return [_escape_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {k: _escape_surrogates(v) for k, v in value.items()}
    return value


# Events whose data maps one-to-one onto a table's columns: type → (table, columns, JSON columns).
_COPIED: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "file_hashed": (
        "file_hash_records",
        ("execution_id", "path", "size", "sha256", "note", "hashed_at"),
        (),
    ),
    "dataset": (
        "dataset_records",
        (
            "dataset_id",
            "execution_id",
            "experiment_id",
            "name",
            "context",
            "digest",
            "digest_kind",
            "type_name",
            "shape",
            "row_count",
            "column_count",
            "schema",
            "source",
            "note",
            "hashed_ms",
            "logged_at",
        ),
        ("schema",),
    ),
    "model_registered": (
        "model_records",
        (
            "model_id",
            "name",
            "group_name",
            "description",
            "owners",
            "risk_tier",
            "tags",
            "documentation_url",
            "repository_url",
            "created_by",
            "created_at",
        ),
        (),
    ),
    "model_updated": (
        "model_updates",
        (
            "model_id",
            "description",
            "owners",
            "risk_tier",
            "tags",
            "documentation_url",
            "repository_url",
            "retired",
            "updated_by",
            "justification",
            "updated_at",
        ),
        (),
    ),
    "version_created": (
        "version_records",
        (
            "version_id",
            "model_id",
            "version",
            "commit_sha",
            "execution_id",
            "experiment_id",
            "framework",
            "framework_version",
            "model_type",
            "input_schema",
            "output_schema",
            "hyperparameters",
            "datasets",
            "base_model_version",
            "intended_use",
            "limitations",
            "ethical_considerations",
            "metrics",
            "created_by",
            "created_at",
        ),
        ("input_schema", "output_schema", "hyperparameters", "datasets", "metrics"),
    ),
    "version_transition": (
        "transition_records",
        (
            "version_id",
            "from_state",
            "to_state",
            "actor",
            "role",
            "justification",
            "allow_multiple_production",
            "occurred_at",
        ),
        (),
    ),
    "gate_defined": (
        "gate_records",
        ("gate_id", "scope_type", "scope", "metric", "op", "threshold", "created_by", "created_at"),
        (),
    ),
    "gate_evaluated": (
        "gate_evaluations",
        (
            "version_id",
            "target_state",
            "gate_id",
            "metric",
            "op",
            "threshold",
            "value",
            "passed",
            "waiver_id",
            "outcome",
            "actor",
            "occurred_at",
        ),
        (),
    ),
    "waiver_recorded": (
        "waiver_records",
        ("waiver_id", "version_id", "metric", "actor", "reason", "expires_at", "created_at"),
        (),
    ),
    "artifact_registered": (
        "artifact_records",
        (
            "artifact_id",
            "version_id",
            "name",
            "kind",
            "uri",
            "stored_path",
            "sha256",
            "size",
            "created_by",
            "created_at",
        ),
        (),
    ),
}


def _copier(
    table: str, columns: tuple[str, ...], json_columns: tuple[str, ...]
) -> Callable[[_Batch, str, str | None, dict[str, Any]], None]:
    def handle(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
        encoded = tuple(json.dumps(d[c]) if d.get(c) is not None else None for c in json_columns)
        batch.add_row(table, d, (event_id, *encoded))

    return handle


# The copied tables' rows: their columns as they are (as Arrow infers them), the JSON
# ones given, encoded.
_TABLES.update(
    {
        table: (
            {c: None for c in columns if c not in json_columns},
            ("event_id", *json_columns),
        )
        for table, columns, json_columns in _COPIED.values()
    }
)

_HANDLERS: dict[str, Callable[[_Batch, str, str | None, dict[str, Any]], None]] = {
    **{type_: _copier(*spec) for type_, spec in _COPIED.items()},
    "session_start": _on_session,
    "cell_start": _on_cell_start,
    "cell_end": _on_cell_end,
    "environment": _on_environment,
    "annotation": _on_annotation,
    "experiment_start": _on_experiment_start,
    "experiment_end": _on_experiment_end,
    "metric": _on_metric,
    "param": _on_param,
    "forget": _on_forget,
}


# -- the fast path of the parse step ---------------------------------------------
#
# Most lines are cells' starts and ends, and metrics, as the recorder writes them.
# Arrow's JSON reader makes columns of a run of those in C++, several times faster
# than decoding each into Python objects and converting those. It is as strict as
# the Python path and checks every value against the column's type (lone surrogates,
# which the Python path escapes, it refuses); lines with bytes beyond ASCII never
# reach it, and when anything in a run fails a check below, the whole run goes the
# Python way.

_FAST_TYPES = {b"cell_start": "cell_start", b"cell_end": "cell_end", b"metric": "metric"}


@dataclass(slots=True)
class _FastRows:
    """What the fast path made of a run of lines."""

    tables: dict[str, pa.Table]
    event_ids: set[str]
    lines: set[int]  # the indexes of the lines it read
    last: int  # the index of the last of them
    last_hash: str
    last_seq: int | None


def _fast_type(raw: bytes) -> str | None:
    """The type of a line as the recorder writes it, when the fast path reads that type."""
    start = raw.find(b',"type":"') + 9
    return _FAST_TYPES.get(raw[start : raw.find(b'"', start)]) if start > 8 else None


def _read_fast(
    lines: list[tuple[int, bytes, str]], journal: str, known: set[str]
) -> _FastRows | None:
    """Rows of the lines the fast path reads, or None when it cannot read all of them
    exactly as the Python path would (which then reads them all)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    runs: dict[str, list[int]] = {}
    for i, (_, raw, _) in enumerate(lines):
        type_ = _fast_type(raw)
        if type_ is not None:
            runs.setdefault(type_, []).append(i)
    if not runs:
        return None
    parts: dict[str, list[pa.Table]] = {}
    event_ids: list[str] = []
    last, last_seq = -1, None
    for type_, indexes in list(runs.items()):
        data = b"\n".join([lines[i][1] for i in indexes])
        if not data.isascii():
            # Bytes beyond ASCII (the recorder writes none): the Python path says what they are.
            runs[type_] = indexes = [i for i in indexes if lines[i][1].isascii()]
            if not indexes:
                continue
            data = b"\n".join([lines[i][1] for i in indexes])
        try:
            read = pj.read_json(
                pa.BufferReader(data),
                parse_options=pj.ParseOptions(
                    explicit_schema=_fast_schemas()[type_], unexpected_field_behavior="ignore"
                ),
            )
            if read.num_rows != len(indexes) or read["id"].null_count:
                return None
            if read["type"].unique().to_pylist() != [type_]:
                return None
            redactions = read["redactions"]
            unset = pc.fill_null(pc.equal(pc.list_value_length(redactions), 0), True)
            read = read.set_column(
                read.schema.get_field_index("redactions"),
                "redactions",
                pc.if_else(unset, pa.scalar(None, redactions.type), redactions),
            )
            rows = _FAST_ROWS[type_](read)
        except pa.ArrowException:
            return None
        if rows is None:
            return None
        n = len(indexes)
        rows["events"] = pa.table(
            {
                "event_id": read["id"],
                "journal": pa.array([journal] * n, pa.string()),
                "byte_offset": pa.array([lines[i][0] for i in indexes], pa.int64()),
                "seq": read["seq"],
                "ts": read["ts"],
                "type": read["type"],
                "session_id": read["session"],
                "line_hash": pa.array([lines[i][2] for i in indexes], pa.string()),
                "redactions": read["redactions"],
            }
        )
        for table, table_rows in rows.items():
            parts.setdefault(table, []).append(table_rows)
        event_ids += read["id"].to_pylist()
        if indexes[-1] > last:
            last, last_seq = indexes[-1], read["seq"][n - 1].as_py()
    unique = set(event_ids)
    if not parts or len(unique) != len(event_ids) or unique & known:
        return None  # an event twice: the Python path keeps its first line
    return _FastRows(
        {table: _concat(tables) for table, tables in parts.items()},
        unique,
        {i for indexes in runs.values() for i in indexes},
        last,
        lines[last][2],
        last_seq,
    )


@functools.cache
def _fast_schemas() -> dict[str, pa.Schema]:
    """The shape the fast path reads each type of line as."""
    import pyarrow as pa

    text = pa.string()

    def fields(table: str, *more: tuple[str, pa.DataType]) -> list[tuple[str, pa.DataType]]:
        copied = _TABLES[table][0]
        return [(c, pa.type_for_alias(alias or "int64")) for c, alias in copied.items()] + [*more]

    data = {
        "cell_start": fields("executions", ("execution_id", text), ("tags", pa.list_(text))),
        "cell_end": fields(
            "execution_results",
            ("execution_id", text),
            ("seeds", pa.list_(pa.null())),
            ("capture_errors", pa.list_(text)),
            ("values", pa.list_(pa.struct(fields("value_records")))),
            ("files", pa.list_(pa.struct(fields("file_records")))),
            ("commands", pa.list_(pa.struct(fields("command_records")))),
        ),
        "metric": fields(
            "metric_records", ("name", text), ("value", pa.float64()), ("logged_at", text)
        ),
    }
    return {
        type_: pa.schema(
            [
                ("id", text),
                ("seq", pa.int64()),
                ("ts", text),
                ("type", text),
                ("session", text),
                ("redactions", pa.list_(text)),
                ("data", pa.struct(shape)),
            ]
        )
        for type_, shape in data.items()
    }


def _data(read: pa.Table) -> dict[str, pa.Array]:
    """The fields of the events' data, each a column (null where the data is)."""
    data = read["data"].combine_chunks()
    return dict(zip([f.name for f in data.type], data.flatten(), strict=True))


def _fast_cell_starts(read: pa.Table) -> dict[str, pa.Table] | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    fields = _data(read)
    if fields["execution_id"].null_count:
        return None
    columns = {name: fields[name] for name in _TABLES["executions"][0]}
    tags = fields["tags"]
    columns |= {
        "execution_id": fields["execution_id"],
        "event_id": read["id"],
        "session_id": read["session"],
        "tags": pc.fill_null(tags, pa.scalar([], tags.type)),
        "redactions": read["redactions"],
    }
    return {"executions": pa.table(columns)}


def _fast_cell_ends(read: pa.Table) -> dict[str, pa.Table] | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    fields = _data(read)
    seeds = pc.max(pc.list_value_length(fields["seeds"])).as_py()
    if fields["execution_id"].null_count or seeds:
        return None  # seeds are kept as the JSON the Python path writes of them
    errors = fields["capture_errors"]
    columns = {name: fields[name] for name in _TABLES["execution_results"][0]}
    columns |= {
        "execution_id": fields["execution_id"],
        "event_id": read["id"],
        "seeds": pa.array(["[]"] * read.num_rows, pa.string()),
        "capture_errors": pc.fill_null(errors, pa.scalar([], errors.type)),
        "redactions": read["redactions"],
    }
    tables = {"execution_results": pa.table(columns)}
    for table, key in _CELL_END_LISTS:
        items = fields[key]
        flat = pc.list_flatten(items)
        if flat.null_count:
            return None  # an entry that is not an object
        parents = pc.list_parent_indices(items)
        starts = pc.take(items.offsets, parents)
        first = items.offsets[0].as_py()
        position = pa.array(range(first, first + len(flat)), pa.int64())
        entries = dict(zip([f.name for f in flat.type], flat.flatten(), strict=True))
        tables[table] = pa.table(
            {
                **{name: entries[name] for name in _TABLES[table][0]},
                "execution_id": pc.take(fields["execution_id"], parents),
                "event_id": pc.take(read["id"], parents),
                "ordinal": pc.subtract(position, pc.cast(starts, pa.int64())),
            }
        )
    return tables


def _fast_metrics(read: pa.Table) -> dict[str, pa.Table] | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    fields = _data(read)
    if fields["name"].null_count or fields["value"].null_count:
        return None
    logged_at = fields["logged_at"]
    unset = pc.fill_null(pc.equal(logged_at, ""), True)  # `or`: an empty string is unset too
    columns = {name: fields[name] for name in _TABLES["metric_records"][0]}
    columns |= {
        "event_id": read["id"],
        "session_id": read["session"],
        "name": fields["name"],
        "value": fields["value"],
        "logged_at": pc.if_else(unset, read["ts"], logged_at),
    }
    return {"metric_records": pa.table(columns)}


_FAST_ROWS: dict[str, Callable[[pa.Table], dict[str, pa.Table] | None]] = {
    "cell_start": _fast_cell_starts,
    "cell_end": _fast_cell_ends,
    "metric": _fast_metrics,
}


def _concat(tables: list[pa.Table]) -> pa.Table:
    """One table of several with the same columns, as if Arrow had inferred them all at once."""
    import pyarrow as pa

    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        names = list(dict.fromkeys(name for t in tables for name in t.column_names))
        return pa.table(
            {
                name: _arrow_array(
                    [
                        v
                        for t in tables
                        for v in (
                            t[name].to_pylist() if name in t.column_names else [None] * t.num_rows
                        )
                    ]
                )
                for name in names
            }
        )


# -- the DuckDB side ------------------------------------------------------------


class _Staged:
    """Batches parsed for one write: their rows as Arrow tables, and where each stops."""

    def __init__(self) -> None:
        self.parts: dict[str, list[pa.Table]] = {}
        self.positions: list[tuple[str, int, str | None, int | None]] = []
        self.problems: list[tuple[str, int, str]] = []
        self.event_ids: set[str] = set()
        self.events = 0

    def add(self, batch: _Batch) -> None:
        if batch.end is None:
            return
        batch.parse()
        repeated = batch.event_ids & self.event_ids
        if repeated:
            batch.drop(repeated)
        self.event_ids |= batch.event_ids
        for table, data in batch.tables().items():
            self.parts.setdefault(table, []).append(data)
        self.positions.append((batch.journal, batch.end, batch.last_hash, batch.last_seq))
        self.problems.extend((batch.journal, offset, problem) for offset, problem in batch.problems)
        self.events += batch.count

    def tables(self) -> dict[str, list[pa.Table]]:
        """Each table's rows: one Arrow table, or several when their types cannot be unified."""
        import pyarrow as pa

        tables = {}
        for table, parts in self.parts.items():
            try:
                tables[table] = [pa.concat_tables(parts, promote_options="permissive")]
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                tables[table] = parts
        return tables


def _column_table(parts: list[pa.Table], column: str) -> pa.Table:
    import pyarrow as pa

    return pa.concat_tables([part.select([column]) for part in parts], promote_options="permissive")


def _without_events(
    tables: dict[str, list[pa.Table]], event_ids: Collection[str]
) -> dict[str, list[pa.Table]]:
    """The tables without the rows of these events (packages have none: they are deduplicated on insert)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    drop = pa.array(list(event_ids), pa.string())
    kept: dict[str, list[pa.Table]] = {}
    for table, parts in tables.items():
        if table != "package_records":
            parts = [p.filter(pc.invert(pc.is_in(p["event_id"], value_set=drop))) for p in parts]
        parts = [p for p in parts if p.num_rows]
        if parts:
            kept[table] = parts
    return kept


def _distinct(parts: Sequence[pa.Table], column: str) -> set[Any]:
    return {value for part in parts for value in part[column].unique().to_pylist()}


def _append_runs(con: duckdb.DuckDBPyConnection, starts: pa.Table, ends: pa.Table) -> None:
    """Append cells' starts and ends, each end also copied onto its start's row when both
    are here (and the end is the only one for its execution)."""
    con.register("staged_starts", starts)
    con.register("staged_ends", ends)
    try:
        copied = ", ".join(f"r.{column} AS result_{column}" for column in RESULT_COLUMNS)
        con.execute(
            f"INSERT INTO executions BY NAME SELECT e.*, {copied} FROM staged_starts e "
            "LEFT JOIN (SELECT * FROM staged_ends "
            "QUALIFY count(*) OVER (PARTITION BY execution_id) = 1) r "
            "ON r.execution_id = e.execution_id"
        )
        con.execute(
            "INSERT INTO execution_results BY NAME SELECT r.*, "
            "CASE WHEN count(*) OVER (PARTITION BY r.execution_id) = 1 "
            "AND r.execution_id IN (SELECT execution_id FROM staged_starts) THEN true END AS copied "
            "FROM staged_ends r"
        )
        con.execute(
            "INSERT INTO failed_run_copies BY NAME SELECT "
            f"{_FAILED_RUN_COLUMNS.format(e='e', r='r')} FROM staged_starts e "
            "JOIN (SELECT * FROM staged_ends "
            "QUALIFY count(*) OVER (PARTITION BY execution_id) = 1) r "
            "ON r.execution_id = e.execution_id WHERE r.status IN ('failed', 'interrupted')"
        )
    finally:
        con.unregister("staged_starts")
        con.unregister("staged_ends")


def _append(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    con.register("staged", data)
    try:
        if table == "environment_records":
            con.execute(
                "INSERT INTO environment_records BY NAME SELECT * FROM staged s "
                "WHERE s.environment_id NOT IN (SELECT environment_id FROM environment_records) "
                "QUALIFY row_number() OVER (PARTITION BY s.environment_id ORDER BY s.captured_at) = 1"
            )
        elif table == "package_records":
            con.execute(
                "INSERT INTO package_records BY NAME SELECT DISTINCT * FROM staged s "
                "WHERE s.environment_id NOT IN (SELECT environment_id FROM package_records)"
            )
        else:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM staged")
    finally:
        con.unregister("staged")
