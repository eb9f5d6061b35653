"""The DuckDB store: ingest journals, migrate the schema, answer queries.

DuckDB admits one read-write process per file, and even a read-only reader
blocks a writer, so every connection here lives for one ingest or one query
and lock conflicts are retried with backoff (DESIGN §2, §8). Nothing on the
kernel's capture path imports this module.
"""

from __future__ import annotations

import gc
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import DB_FILE_NAME, JOURNAL_DIR_NAME
from ..errors import QueryError, SchemaVersionError, StoreError, StoreLockedError
from ..journal import JournalLine, iter_lines, journal_files
from .base import StoreQueries

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

SCHEMA_VERSION = 3
# The documented query surface (README, "SQL views").
VIEWS = (
    "runs",
    "cells",
    "failed_attempts",
    "cell_inputs",
    "cell_outputs",
    "files",
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
# Applied in this order; each file is idempotent (CREATE ... IF NOT EXISTS, CREATE OR REPLACE VIEW).
SCHEMA_FILES = ("schema.sql", "lineage.sql", "registry.sql")
# Statements that bring a store at version N-1 up to N, run before the schema files.
MIGRATIONS: dict[int, list[str]] = {
    2: [
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS redactions VARCHAR[]"
        for table in ("events", "executions", "execution_results")
    ],
    3: [],  # dataset_records and file_hash_records: new tables, which schema.sql creates
}
# Files stay readable by DuckDB releases from 1.1 on, whichever release writes them.
STORAGE_COMPATIBILITY_VERSION = "v1.1.0"
DEFAULT_LOCK_TIMEOUT_S = 30.0
_BATCH_EVENTS = 50_000
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
        from .. import __version__

        package = resources.files("jupyter_lineage.store")
        con.execute("BEGIN")
        if exists:
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS.get(step, []):
                    con.execute(statement)
        for name in SCHEMA_FILES:
            con.execute(package.joinpath(name).read_text(encoding="utf-8"))
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
                for line in iter_lines(path, start):
                    batch.add(line)
                    if batch.count >= _BATCH_EVENTS:
                        report.events += self._flush(con, batch)
                        report.problems.extend(f"{path.name}@{o}: {p}" for o, p in batch.problems)
                        if progress:
                            progress(report.events)
                        batch = _Batch(path.name, batch.end)
                report.events += self._flush(con, batch)
                report.problems.extend(f"{path.name}@{o}: {p}" for o, p in batch.problems)
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

    def _flush(self, con: duckdb.DuckDBPyConnection, batch: _Batch) -> int:
        if batch.end is None:
            return 0
        import pyarrow as pa

        con.execute("BEGIN")
        try:
            new = batch.rows["events"]
            if new:
                # Only the ids: the rows themselves are converted once, below.
                staged = pa.table({"event_id": [row["event_id"] for row in new]})
                con.register("staged_events", staged)
                dup_rows = con.execute(
                    "SELECT event_id FROM events WHERE event_id IN (SELECT event_id FROM staged_events)"
                ).fetchall()
                con.unregister("staged_events")
                if dup_rows:
                    batch.drop({r[0] for r in dup_rows})
            for table, rows in batch.rows.items():
                if not rows:
                    continue
                staged = pa.Table.from_pylist(rows)
                con.register("staged", staged)
                if table == "environment_records":
                    con.execute(
                        "INSERT INTO environment_records BY NAME SELECT * FROM staged s "
                        "WHERE s.environment_id NOT IN (SELECT environment_id FROM environment_records) "
                        "QUALIFY row_number() OVER (PARTITION BY s.environment_id) = 1"
                    )
                elif table == "package_records":
                    con.execute(
                        "INSERT INTO package_records BY NAME SELECT DISTINCT * FROM staged s "
                        "WHERE s.environment_id NOT IN (SELECT environment_id FROM package_records)"
                    )
                else:
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM staged")
                con.unregister("staged")
            if batch.rows["file_hash_records"]:
                _complete_file_hashes(con)
            self._apply_forgets(con, batch)
            for problem in batch.problems:
                con.execute(
                    "INSERT INTO ingest_problems VALUES (?, ?, ?, now())",
                    [batch.journal, problem[0], problem[1]],
                )
            con.execute(
                "INSERT OR REPLACE INTO journal_offsets VALUES (?, ?, ?, ?, now())",
                [batch.journal, batch.end, batch.last_hash, batch.last_seq],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return len(batch.rows["events"])

    def _apply_forgets(self, con: duckdb.DuckDBPyConnection, batch: _Batch) -> None:
        """Blank the texts of forgotten executions: ones forgotten in this batch, everywhere;
        ones forgotten earlier, in the rows this batch brought (journals ingest in any order)."""
        ids = {r["execution_id"] for r in batch.rows["forget_records"]}
        forgotten = {
            row[0]
            for row in con.execute("SELECT DISTINCT execution_id FROM forget_records").fetchall()
        }
        if forgotten:
            arrived = {
                r["execution_id"]
                for table in ("executions", "execution_results", "value_records")
                for r in batch.rows[table]
            }
            arrived |= {
                r["target"]
                for r in batch.rows["annotation_targets"]
                if r["target_type"] == "execution"
            }
            ids |= arrived & forgotten
        if not ids:
            return
        params = [FORGOTTEN, sorted(ids)]
        con.execute(
            "UPDATE executions SET source = $1, note = CASE WHEN note IS NULL THEN NULL ELSE $1 END "
            "WHERE list_contains($2, execution_id)",
            params,
        )
        con.execute(
            "UPDATE execution_results SET "
            "error_message = CASE WHEN error_message IS NULL THEN NULL ELSE $1 END, "
            "traceback = CASE WHEN traceback IS NULL THEN NULL ELSE $1 END, capture_errors = [] "
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
            "UPDATE annotation_records SET text = $1 WHERE annotation_id IN ("
            "SELECT annotation_id FROM annotation_targets "
            "WHERE target_type = 'execution' AND list_contains($2, target))",
            params,
        )

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


def _complete_file_hashes(con: duckdb.DuckDBPyConnection) -> None:
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


class _Batch:
    """Rows for every table from a run of journal lines, ready to append."""

    def __init__(self, journal: str, end: int | None = None) -> None:
        self.journal = journal
        self.rows: dict[str, list[dict[str, Any]]] = {
            "events": [],
            "sessions": [],
            "executions": [],
            "execution_results": [],
            "value_records": [],
            "file_records": [],
            "environment_records": [],
            "package_records": [],
            "annotation_records": [],
            "annotation_targets": [],
            "experiment_records": [],
            "experiment_ends": [],
            "metric_records": [],
            "param_records": [],
            "forget_records": [],
            **{table: [] for table, _, _ in _COPIED.values()},
        }
        self.problems: list[tuple[int, str]] = []
        self.end = end
        self.last_hash: str | None = None
        self.last_seq: int | None = None
        self.count = 0

    def add(self, line: JournalLine) -> None:
        raw_end = line.offset + len(line.raw) + 1
        self.end = raw_end
        self.count += 1
        event = line.event
        if event is None:
            self.problems.append((line.offset, line.error or "unreadable line"))
            return
        if b"\\ud" in line.raw:
            # Lone surrogates (valid in the ASCII journal, not in DuckDB's UTF-8).
            event = _escape_surrogates(event)
        event_id = event["id"]
        self.last_hash = line.line_hash
        self.last_seq = event.get("seq")
        redactions = event.get("redactions")
        self.rows["events"].append(
            {
                "event_id": event_id,
                "journal": self.journal,
                "byte_offset": line.offset,
                "seq": event.get("seq"),
                "ts": event.get("ts"),
                "type": event.get("type"),
                "session_id": event.get("session"),
                "line_hash": line.line_hash,
                "redactions": [str(r) for r in redactions] if redactions else None,
            }
        )
        handler = _HANDLERS.get(event.get("type", ""))
        if handler is not None:
            try:
                handler(self, event_id, event.get("session"), event.get("data") or {})
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                self.problems.append(
                    (
                        line.offset,
                        f"event {event_id} of type {event.get('type')} is malformed: {exc}",
                    )
                )

    def drop(self, event_ids: set[str]) -> None:
        """Forget rows from events that are already in the store."""
        for table, rows in self.rows.items():
            self.rows[table] = (
                [r for r in rows if r.get("event_id") not in event_ids]
                if table != "package_records"
                else rows
            )


def _on_session(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    batch.rows["sessions"].append(
        {
            "session_id": session,
            "event_id": event_id,
            "started_at": batch.rows["events"][-1]["ts"],
            "pid": d.get("pid"),
            "user_name": d.get("user"),
            "hostname": d.get("hostname"),
            "notebook_path": d.get("notebook_path"),
            "working_dir": d.get("working_dir"),
            "lineage_version": d.get("lineage_version"),
            "ipython_version": d.get("ipython_version"),
        }
    )


def _on_cell_start(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    batch.rows["executions"].append(
        {
            "execution_id": d["execution_id"],
            "event_id": event_id,
            "session_id": session,
            "execution_count": d.get("execution_count"),
            "notebook_path": d.get("notebook_path"),
            "cell_id": d.get("cell_id"),
            "source": d.get("source"),
            "source_hash": d.get("source_hash"),
            "name": d.get("name"),
            "tags": list(d.get("tags") or []),
            "model": d.get("model"),
            "base_model": d.get("base_model"),
            "note": d.get("note"),
            "mode": d.get("mode"),
            "capture_values": d.get("capture_values"),
            "experiment_id": d.get("experiment_id"),
            "started_at": d.get("started_at"),
            "redactions": batch.rows["events"][-1]["redactions"],
        }
    )


def _on_cell_end(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    execution_id = d["execution_id"]
    batch.rows["execution_results"].append(
        {
            "execution_id": execution_id,
            "event_id": event_id,
            "execution_count": d.get("execution_count"),
            "ended_at": d.get("ended_at"),
            "duration_ms": d.get("duration_ms"),
            "status": d.get("status"),
            "error_type": d.get("error_type"),
            "error_message": d.get("error_message"),
            "traceback": d.get("traceback"),
            "environment_id": d.get("environment_id"),
            "seeds": json.dumps(d.get("seeds") or []),
            "capture_errors": [str(e) for e in d.get("capture_errors") or []],
            "redactions": batch.rows["events"][-1]["redactions"],
        }
    )
    for i, v in enumerate(d.get("values") or []):
        batch.rows["value_records"].append(
            {
                "execution_id": execution_id,
                "event_id": event_id,
                "ordinal": i,
                "name": v.get("name"),
                "role": v.get("role"),
                "action": v.get("action"),
                "fingerprint": v.get("fingerprint"),
                "fingerprint_kind": v.get("fingerprint_kind"),
                "type_name": v.get("type_name"),
                "shape": v.get("shape"),
                "length": v.get("length"),
                "summary": v.get("summary"),
                "note": v.get("note"),
            }
        )
    for i, f in enumerate(d.get("files") or []):
        batch.rows["file_records"].append(
            {
                "execution_id": execution_id,
                "event_id": event_id,
                "ordinal": i,
                "path": f.get("path"),
                "access": f.get("access"),
                "size": f.get("size"),
                "sha256": f.get("sha256"),
                "note": f.get("note"),
            }
        )


def _on_environment(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    git = d.get("git") or {}
    packages = d.get("packages") or {}
    env_id = d["environment_id"]
    batch.rows["environment_records"].append(
        {
            "environment_id": env_id,
            "event_id": event_id,
            "captured_at": d.get("captured_at"),
            "python_version": d.get("python_version"),
            "python_implementation": d.get("python_implementation"),
            "python_executable": d.get("python_executable"),
            "platform": d.get("platform"),
            "os_name": d.get("os_name"),
            "os_release": d.get("os_release"),
            "machine": d.get("machine"),
            "hostname": d.get("hostname"),
            "cpu_model": d.get("cpu_model"),
            "cpu_count": d.get("cpu_count"),
            "ram_bytes": d.get("ram_bytes"),
            "gpus": json.dumps(d.get("gpus") or []),
            "git_commit": git.get("commit"),
            "git_branch": git.get("branch"),
            "git_dirty": git.get("dirty"),
            "git_diff_sha256": git.get("diff_sha256"),
            "git_remote": git.get("remote_url"),
            "container": json.dumps(d.get("container")) if d.get("container") else None,
            "env_vars": json.dumps(d.get("env_vars") or {}),
            "package_count": len(packages),
        }
    )
    for name, version in packages.items():
        batch.rows["package_records"].append(
            {"environment_id": env_id, "name": name, "version": version}
        )


def _event_time(batch: _Batch) -> Any:
    return batch.rows["events"][-1]["ts"]


def _on_annotation(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    annotation_id = d["annotation_id"]
    batch.rows["annotation_records"].append(
        {
            "annotation_id": annotation_id,
            "event_id": event_id,
            "session_id": session,
            "thread_id": d.get("thread_id") or annotation_id,
            "revises": d.get("revises"),
            "kind": d.get("kind"),
            "text": d.get("text"),
            "author": d.get("author"),
            "created_at": d.get("created_at") or _event_time(batch),
            "experiment_id": d.get("experiment_id"),
            "question": d.get("question"),
            "template": d.get("template"),
        }
    )
    for i, t in enumerate(d.get("targets") or []):
        batch.rows["annotation_targets"].append(
            {
                "annotation_id": annotation_id,
                "event_id": event_id,
                "ordinal": i,
                "target_type": t.get("type"),
                "target": t.get("ref"),
                "fingerprint": t.get("fingerprint"),
                "sha256": t.get("sha256"),
            }
        )


def _on_experiment_start(
    batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]
) -> None:
    batch.rows["experiment_records"].append(
        {
            "experiment_id": d["experiment_id"],
            "event_id": event_id,
            "session_id": session,
            "name": d.get("name"),
            "hypothesis": d.get("hypothesis"),
            "success_criterion": d.get("success"),
            "notebook_path": d.get("notebook_path"),
            "started_at": d.get("started_at") or _event_time(batch),
        }
    )


def _on_experiment_end(
    batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]
) -> None:
    batch.rows["experiment_ends"].append(
        {
            "experiment_id": d["experiment_id"],
            "event_id": event_id,
            "ended_at": d.get("ended_at") or _event_time(batch),
            "outcome": d.get("outcome"),
            "declared_outcome": d.get("declared_outcome"),
            "evaluated_outcome": d.get("evaluated_outcome"),
            "criterion_met": d.get("criterion_met"),
            "evaluation": d.get("evaluation"),
            "final_metrics": json.dumps(d.get("metrics") or {}),
        }
    )


def _on_metric(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    batch.rows["metric_records"].append(
        {
            "event_id": event_id,
            "session_id": session,
            "execution_id": d.get("execution_id"),
            "experiment_id": d.get("experiment_id"),
            "name": d["name"],
            "value": float(d["value"]),
            "step": d.get("step"),
            "logged_at": d.get("logged_at") or _event_time(batch),
        }
    )


def _on_param(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    batch.rows["param_records"].append(
        {
            "event_id": event_id,
            "session_id": session,
            "execution_id": d.get("execution_id"),
            "experiment_id": d.get("experiment_id"),
            "name": d["name"],
            "value": json.dumps(d.get("value")),
            "logged_at": d.get("logged_at") or _event_time(batch),
        }
    )


def _on_forget(batch: _Batch, event_id: str, session: str | None, d: dict[str, Any]) -> None:
    batch.rows["forget_records"].append(
        {
            "execution_id": str(d["execution_id"]),
            "event_id": event_id,
            "session_id": session,
            "reason": d.get("reason"),
            "forgotten_at": d.get("forgotten_at") or _event_time(batch),
        }
    )


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
        row: dict[str, Any] = {"event_id": event_id}
        for column in columns:
            value = d.get(column)
            row[column] = (
                json.dumps(value) if column in json_columns and value is not None else value
            )
        batch.rows[table].append(row)

    return handle


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
