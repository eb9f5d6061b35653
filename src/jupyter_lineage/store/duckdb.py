"""The DuckDB store: connections, ingest into the file, queries.

DuckDB admits one read-write process per file, and even a read-only reader
blocks a writer in another process. So no connection outlives one unit of work:
an ingest, a query, or a ``reading()`` block, which a command, a server request
or an export opens so that all its queries share one read-only connection (a
connection costs more than most of the queries a card makes). A unit must end
with its command or request: a connection held longer would keep every kernel's
ingest of its own cells waiting. Lock conflicts are retried with backoff: a
query waits for an ingest in another process rather than failing. Nothing on
the kernel's capture path imports this module. What journal lines become is the
parse step's (``ingest.py``, with ``fastpath.py``); the tables and their
versions are ``schema.py``'s.
"""

from __future__ import annotations

import gc
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..config import ANSWERS_DIR_NAME, DB_FILE_NAME, JOURNAL_DIR_NAME, write_atomically
from ..errors import QueryError, SchemaVersionError, StoreError, StoreLockedError
from ..journal import iter_raw_lines, journal_files
from .base import StoreQueries, UnitOfWork, result_rows
from .fastpath import read_fast
from .ingest import (
    BATCH_EVENTS,
    Batch,
    IngestReport,
    apply_forgets,
    complete_file_hashes,
    without_events,
)
from .schema import (
    FAILED_RUN_COLUMNS,
    RESULT_COLUMNS,
    SCHEMA_VERSION,
    VIEWS,
    ensure_schema,
)

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

# Names other modules and tests import from here.
__all__ = [
    "DEFAULT_LOCK_TIMEOUT_S",
    "SCHEMA_VERSION",
    "STORAGE_COMPATIBILITY_VERSION",
    "VIEWS",
    "DuckDBStore",
    "IngestReport",
    "lock_holder",
]

# Files stay readable by DuckDB releases from 1.1 on, whichever release writes them.
STORAGE_COMPATIBILITY_VERSION = "v1.1.0"
DEFAULT_LOCK_TIMEOUT_S = 30.0
# Events written per transaction. DuckDB writes large appends straight to the file,
# and each commit costs a WAL write: a few large transactions ingest a million events
# in a fraction of the time a transaction per journal does.
_WRITE_EVENTS = 200_000
# While ingesting, the WAL is folded into the file when the connection closes, not at
# the commit that takes it past DuckDB's 16 MB default (a checkpoint per transaction).
_INGEST_CHECKPOINT_THRESHOLD = "1GB"
_PID_RE = re.compile(r"(?:held in (.+?) )?\(PID (\d+)\)")


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
        self.unit = UnitOfWork()
        self.connections_opened = 0

    # -- connections ---------------------------------------------------------

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection, retried while another process holds the file.

        Within a unit of work (``reading``) a read-only connection is the unit's own, left
        open for its next query; a read-write one closes it first, since DuckDB refuses a
        read-write connection to a file this process holds read-only.
        """
        unit = self.unit
        if unit.depth:
            if read_only:
                with self._unit_reader(lambda: self._open(read_only=True)) as con:
                    yield con
                return
            if unit.reader is not None:
                if unit.borrowed:
                    raise StoreError(
                        f"cannot write {self.db_path} while this process reads it; "
                        "finish the read before ingesting"
                    )
                reader, unit.reader = unit.reader, None
                reader.close()
        # What this process writes itself (the graph's index, say) brings no journal line
        # in: the next ingest need not open the file again to find that out.
        in_step = not read_only and self._in_step()
        con = self._open(read_only=read_only)
        try:
            yield con
        finally:
            con.close()
            if in_step:
                self._ingested_stamp = self._db_stamp()

    def _open(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
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
        self.connections_opened += 1
        return con

    # -- schema --------------------------------------------------------------

    def _ensure_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        ensure_schema(con, self.db_path)

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
        ) or self.unit.borrowed:
            # (A read of this unit of work is under way: it goes on with what is stored.)
            return report
        if not self._ingested_sizes and self._kept_state_is(sizes, stamp := self._db_stamp()):
            # A process that has not ingested yet: the last ingest (of any process) left the
            # journals' sizes and the database's stamp beside it, and both are still so.
            self._ingested_sizes, self._ingested_stamp = sizes, stamp
            return report
        if self.unit.depth and not self._ingested_sizes and self._all_stored(sizes):
            # A unit of work reads with one connection: when its read-only connection
            # finds every journal stored, no read-write one is opened just to see that
            # (once per process: later, the sizes this process ingested tell).
            self._mark_ingested(sizes)
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
        self._mark_ingested(sizes)
        return report

    # The journals' sizes and the database file's stamp after the last ingest, kept beside
    # the database (with this package's version, whose schema the file then has), so that a
    # new process knows nothing is new without opening it: creating a DuckDB instance takes
    # some 12 ms. Derived data, rewritten by every ingest; a stale or missing one costs a
    # connection, never a wrong answer, as both must still hold to be taken.
    def _state_path(self) -> Path:
        return self.root / ANSWERS_DIR_NAME / "ingested.json"

    def _mark_ingested(self, sizes: dict[str, int]) -> None:
        self._ingested_sizes, self._ingested_stamp = sizes, self._db_stamp()
        if self._ingested_stamp is None or any(size < 0 for size in sizes.values()):
            return
        state = _kept_state(sizes, self._ingested_stamp)
        write_atomically(self._state_path(), json.dumps(state, separators=(",", ":")))

    def _kept_state_is(self, sizes: dict[str, int], stamp: tuple[int, int] | None) -> bool:
        try:
            kept = json.loads(self._state_path().read_bytes())
        except (OSError, ValueError):
            return False  # none kept, or unreadable
        return stamp is not None and kept == _kept_state(sizes, stamp)

    def _all_stored(self, sizes: dict[str, int]) -> bool:
        """Whether the file holds every journal to its end, in this package's schema."""
        if not self.db_path.exists():
            return False
        import duckdb

        with self.connect(read_only=True) as con:
            try:
                version = _scalar(con, "SELECT value FROM schema_info WHERE key = 'schema_version'")
                offsets = dict(
                    con.execute("SELECT journal, byte_offset FROM journal_offsets").fetchall()
                )
            except duckdb.Error:
                return False  # no schema yet, or an older one: the ingest sees to it
        return str(version) == str(SCHEMA_VERSION) and offsets == sizes

    def _in_step(self) -> bool:
        """Whether the file is as this process's last ingest left it."""
        return bool(self._ingested_sizes) and self._db_stamp() == self._ingested_stamp

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
                    tables = without_events(tables, [row[0] for row in stored])
            starts, ends = tables.get("executions", []), tables.get("execution_results", [])
            # Sessions first: a run copies its session's author and notebook key.
            for part in tables.get("sessions", ()):
                _append(con, "sessions", part)
            if len(starts) == len(ends) == 1:
                _append_runs(con, starts[0], ends[0])
            for table, parts in tables.items():
                if table == "sessions" or (
                    len(starts) == len(ends) == 1 and table in ("executions", "execution_results")
                ):
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
        return self._read(sql, params, ingest, lambda cursor: cursor.df())

    def rows(
        self, sql: str, params: list[Any] | dict[str, Any] | None = None, *, ingest: bool = True
    ) -> list[dict[str, Any]]:
        """Run read-only SQL; the rows as dicts of plain Python values (no pandas)."""
        return self._read(sql, params, ingest, result_rows)

    def _read(
        self,
        sql: str,
        params: list[Any] | dict[str, Any] | None,
        ingest: bool,
        fetch: Callable[[duckdb.DuckDBPyConnection], Any],
    ) -> Any:
        import duckdb

        if ingest:
            self.ingest()
        with self.connect(read_only=True) as con:
            try:
                cursor = con.execute(sql, params) if params is not None else con.execute(sql)
                return fetch(cursor)
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


def _kept_state(sizes: dict[str, int], stamp: tuple[int, int]) -> dict[str, Any]:
    """What ``answers/ingested.json`` holds, as JSON reads it back."""
    return {"version": __version__, "sizes": sizes, "stamp": list(stamp)}


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """The first column of the first row, or None."""
    row = con.execute(sql).fetchone()
    return row[0] if row else None


# -- the DuckDB side ------------------------------------------------------------


def _new_batches(
    journals: list[Path], offsets: dict[str, int], report: IngestReport
) -> Iterator[Batch]:
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
        batch = Batch(path.name, read_fast=read_fast)
        for offset, raw, line_hash in iter_raw_lines(path, start):
            batch.add_raw(offset, raw, line_hash)
            if batch.count >= BATCH_EVENTS:
                yield batch
                batch = Batch(path.name, batch.end, read_fast=read_fast)
        yield batch


class _Staged:
    """Batches parsed for one write: their rows as Arrow tables, and where each stops."""

    def __init__(self) -> None:
        self.parts: dict[str, list[pa.Table]] = {}
        self.positions: list[tuple[str, int, str | None, int | None]] = []
        self.problems: list[tuple[str, int, str]] = []
        self.event_ids: set[str] = set()
        self.events = 0

    def add(self, batch: Batch) -> None:
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


def _append_runs(con: duckdb.DuckDBPyConnection, starts: pa.Table, ends: pa.Table) -> None:
    """Append cells' starts and ends, each end also copied onto its start's row when both
    are here (and the end is the only one for its execution)."""
    con.register("staged_starts", starts)
    con.register("staged_ends", ends)
    try:
        copied = ", ".join(f"r.{column} AS result_{column}" for column in RESULT_COLUMNS)
        con.execute(
            f"INSERT INTO executions BY NAME SELECT e.*, {copied}, "
            "s.author, s.notebook_key "
            "FROM staged_starts e "
            "LEFT JOIN (SELECT * FROM staged_ends "
            "QUALIFY count(*) OVER (PARTITION BY execution_id) = 1) r "
            "ON r.execution_id = e.execution_id "
            "LEFT JOIN (SELECT * FROM _session_facts "
            "WHERE session_id IN (SELECT session_id FROM staged_starts)) s "
            "ON s.session_id = e.session_id"
        )
        con.execute(
            "INSERT INTO execution_results BY NAME SELECT r.*, "
            "CASE WHEN count(*) OVER (PARTITION BY r.execution_id) = 1 "
            "AND r.execution_id IN (SELECT execution_id FROM staged_starts) THEN true END AS copied "
            "FROM staged_ends r"
        )
        con.execute(
            "INSERT INTO failed_run_copies BY NAME SELECT "
            f"{FAILED_RUN_COLUMNS.format(e='e', r='r')} FROM staged_starts e "
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
