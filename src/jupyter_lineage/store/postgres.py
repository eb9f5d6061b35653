"""The team store: the local journals shipped to PostgreSQL, and queried there.

Kernels write their journals locally as always; shipping reads them from the
byte offset last shipped and inserts their rows on the server, idempotently by
event id, so a laptop that was offline syncs later and nothing is lost or
duplicated. The views are the DuckDB store's own, translated by ``dialect``.
A unit of work (``reading``) reads over one read-only connection and syncs once,
as the DuckDB store does; a PostgreSQL connection blocks no writer, but each one
costs a round trip and a backend process. Nothing on the kernel's capture path
imports this module.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import JOURNAL_DIR_NAME
from ..errors import QueryError, SchemaVersionError, StoreError
from ..journal import iter_lines, journal_files
from ..urls import strip_credentials
from . import dialect
from .base import StoreQueries, UnitOfWork, result_rows
from .ingest import BATCH_EVENTS, Batch, IngestReport, apply_forgets, complete_file_hashes
from .schema import MIGRATIONS, SCHEMA_FILES, SCHEMA_VERSION, VIEWS

if TYPE_CHECKING:
    import pandas as pd
    import psycopg

# Tables the team store adds: who shipped what, and the registry roles of its users.
_TEAM_TABLES = """
CREATE UNIQUE INDEX IF NOT EXISTS events_event_id ON events (event_id);
CREATE INDEX IF NOT EXISTS executions_execution_id ON executions (execution_id);
CREATE INDEX IF NOT EXISTS execution_results_execution_id ON execution_results (execution_id);
CREATE INDEX IF NOT EXISTS value_records_execution_id ON value_records (execution_id);
CREATE INDEX IF NOT EXISTS file_records_execution_id ON file_records (execution_id);
CREATE INDEX IF NOT EXISTS command_records_execution_id ON command_records (execution_id);
ALTER TABLE events ADD COLUMN IF NOT EXISTS user_name VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS hostname VARCHAR;
CREATE TABLE IF NOT EXISTS shipped_journals (
    origin      VARCHAR NOT NULL,
    journal     VARCHAR NOT NULL,
    byte_offset BIGINT NOT NULL,
    last_hash   VARCHAR,
    last_seq    BIGINT,
    user_name   VARCHAR,
    hostname    VARCHAR,
    updated_at  TIMESTAMPTZ,
    PRIMARY KEY (origin, journal)
);
-- Bumped by every shipping transaction that brought new events: the walks' table
-- below is current when it was made at the present count.
CREATE TABLE IF NOT EXISTS store_changes (id INTEGER PRIMARY KEY, changes BIGINT NOT NULL);
INSERT INTO store_changes VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
-- The distinct edges of lineage_edges with both ends indexed, for the graph walks.
CREATE TABLE IF NOT EXISTS lineage_walk_edges (src VARCHAR NOT NULL, dst VARCHAR NOT NULL, kind VARCHAR NOT NULL);
CREATE INDEX IF NOT EXISTS lineage_walk_edges_src ON lineage_walk_edges (src);
CREATE INDEX IF NOT EXISTS lineage_walk_edges_dst ON lineage_walk_edges (dst);
CREATE TABLE IF NOT EXISTS lineage_walk_state (id INTEGER PRIMARY KEY, made_at_changes BIGINT NOT NULL);
DELETE FROM lineage_walk_state;
CREATE TABLE IF NOT EXISTS role_bindings (
    user_name  VARCHAR NOT NULL,
    role       VARCHAR NOT NULL,
    granted_by VARCHAR,
    granted_at TIMESTAMPTZ,
    PRIMARY KEY (user_name, role)
);
"""
# Every shipping transaction holds this lock: shippers take turns, so deduplication
# by id (events, environments, packages) never races.
_SHIP_LOCK = 0x6A6C_5348  # "jlSH"
_MIGRATE_LOCK = 0x6A6C_4D47  # "jlMG"
_WALK_LOCK = 0x6A6C_574B  # "jlWK"


class PostgresStore(StoreQueries):
    """A team store: ``journal/*.jsonl`` in ``root`` shipped to the PostgreSQL database at ``url``."""

    backend = "postgresql"

    def __init__(
        self, url: str, root: str | os.PathLike[str], *, connect_timeout_s: float = 5.0
    ) -> None:
        self.url = url
        self.root = Path(root)
        self.journal_dir = self.root / JOURNAL_DIR_NAME
        self.connect_timeout_s = connect_timeout_s
        self.origin = f"{_who()}@{_host()}:{self.root.resolve()}"
        self.unit = UnitOfWork()
        self.connections_opened = 0
        self._synced_sizes: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"PostgresStore({strip_credentials(self.url, mark=True)!r}, {str(self.root)!r})"

    @property
    def location(self) -> str:
        """Where queries go, for messages (the password left out)."""
        return strip_credentials(self.url, mark=True)

    # -- connections ---------------------------------------------------------

    def _open(self) -> psycopg.Connection[Any]:
        psycopg = team_extra()
        try:
            con = psycopg.connect(self.url, connect_timeout=max(1, int(self.connect_timeout_s)))
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot reach the team store {self.location}: {_first_line(exc)}; "
                "check JUPYTER_LINEAGE_STORE and that the server is up"
            ) from None
        self.connections_opened += 1
        # Transactions are explicit (``with con.transaction()``), as the shipping needs.
        con.autocommit = True
        # JSON columns come back as their text, as DuckDB returns them.
        from psycopg.types.string import TextLoader

        con.adapters.register_loader("json", TextLoader)
        return con

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[PostgresConnection]:
        """A connection speaking the store's (DuckDB) dialect; read-only ones cannot write.

        Within a unit of work (``reading``) a read-only connection is the unit's own.
        """
        if read_only and self.unit.depth:
            with self._unit_reader(self._open_reader) as reader:
                yield reader
            return
        con = self._open()
        try:
            if read_only:
                con.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            yield PostgresConnection(con)
        finally:
            con.close()

    def _open_reader(self) -> PostgresConnection:
        con = self._open()
        try:
            con.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        except BaseException:
            con.close()
            raise
        return PostgresConnection(con)

    # -- schema --------------------------------------------------------------

    def schema_version(self) -> int | None:
        """The server's schema version, or None when ``migrate`` never ran there."""
        with self.connect(read_only=True) as con:
            return _server_version(con.raw)

    def migrate(self) -> int:
        """Create or upgrade the schema on the server; safe to run again. Returns the version."""
        from ..version import __version__

        package = resources.files("jupyter_lineage.store")
        con = self._open()
        try:
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATE_LOCK])
                version = _server_version(con)
                if version is not None and version > SCHEMA_VERSION:
                    raise SchemaVersionError(_newer(self.location, version))
                con.execute(package.joinpath("postgres_compat.sql").read_text("utf-8"))
                if version is not None:
                    # The same steps that bring a DuckDB store up, then the schema files.
                    for step in range(version + 1, SCHEMA_VERSION + 1):
                        for statement in MIGRATIONS.get(step, []):
                            con.execute(dialect.to_postgres(statement))
                for name in SCHEMA_FILES:
                    text = package.joinpath(name).read_text("utf-8")
                    con.execute(dialect.to_postgres(text))
                con.execute(_TEAM_TABLES)
                con.execute(
                    "INSERT INTO schema_info VALUES ('schema_version', %s), ('written_by', %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [str(SCHEMA_VERSION), __version__],
                )
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot migrate {self.location}: {_first_line(exc)}") from None
        finally:
            con.close()
        return SCHEMA_VERSION

    def _check_schema(self, con: psycopg.Connection[Any]) -> None:
        version = _server_version(con)
        if version is None or version < SCHEMA_VERSION:
            found = "no jupyter-lineage schema" if version is None else f"schema version {version}"
            raise SchemaVersionError(
                f"the team store {self.location} has {found}; this jupyter-lineage needs "
                f"version {SCHEMA_VERSION}: run `jupyter-lineage migrate`"
            )
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(_newer(self.location, version))

    # -- shipping ------------------------------------------------------------

    def ingest(self, progress: Callable[[int], None] | None = None) -> IngestReport:
        """Ship new journal lines to the server (what ``sync`` does)."""
        return self.sync(progress)

    def sync(self, progress: Callable[[int], None] | None = None) -> IngestReport:
        """Ship every journal line not yet on the server: by byte offset, idempotent by event id."""
        psycopg = team_extra()
        report = IngestReport()
        journals = journal_files(self.journal_dir)
        sizes = {p.name: _size(p) for p in journals}
        if self.unit.depth and sizes == self._synced_sizes:
            return report  # within a unit of work, shipped already and nothing new since
        con = self._open()
        try:
            self._check_schema(con)
            offsets = dict(
                con.execute(
                    "SELECT journal, byte_offset FROM shipped_journals WHERE origin = %s",
                    [self.origin],
                ).fetchall()
            )
            for path in journals:
                start = offsets.get(path.name, 0)
                size = _size(path)
                if size < start:
                    report.problems.append(
                        f"{path.name}: shorter than its shipped offset {start}; read again"
                    )
                    start = 0
                if size <= start:
                    continue
                report.journals += 1
                batch, clean = Batch(path.name), False
                for line in iter_lines(path, start):
                    batch.add(line)
                    clean = clean or b"\\u0000" in line.raw
                    if batch.count >= BATCH_EVENTS:
                        report.events += self._ship(con, batch, clean)
                        report.problems.extend(f"{path.name}@{o}: {p}" for o, p in batch.problems)
                        if progress:
                            progress(report.events)
                        batch, clean = Batch(path.name, batch.end), False
                report.events += self._ship(con, batch, clean)
                report.problems.extend(f"{path.name}@{o}: {p}" for o, p in batch.problems)
                if progress:
                    progress(report.events)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot ship to the team store {self.location}: {_first_line(exc)}; "
                "nothing is lost: the journals keep every event, run `jupyter-lineage sync` later"
            ) from None
        finally:
            con.close()
        self._synced_sizes = sizes
        return report

    def _ship(self, con: psycopg.Connection[Any], batch: Batch, clean: bool) -> int:
        """One batch in one transaction; ``clean``: some text holds NUL, which PostgreSQL refuses."""
        if batch.end is None:
            return 0
        user, host = _who(), _host()
        with con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", [_SHIP_LOCK])
            tables = batch.rows  # converted once: a store that holds none of them yet
            events = tables["events"]
            if events:
                for row in events:
                    row["user_name"], row["hostname"] = user, host
                con.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS staged_events "
                    "(LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                )
                _copy(con, "staged_events", events, clean)
                new = {
                    row[0]
                    for row in con.execute(
                        "INSERT INTO events SELECT * FROM staged_events "
                        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
                    ).fetchall()
                }
                old = {row["event_id"] for row in events} - new
                if old:
                    batch.drop(old)
                    tables = batch.rows
                if new:
                    con.execute("UPDATE store_changes SET changes = changes + 1 WHERE id = 1")
            for table, rows in tables.items():
                if not rows or table == "events":
                    continue
                if table == "environment_records":
                    rows = _new_rows(con, table, "environment_id", rows, first_only=True)
                elif table == "package_records":
                    rows = _new_rows(con, table, "environment_id", rows, first_only=False)
                _copy(con, table, rows, clean)
            same_dialect = PostgresConnection(con)  # the DuckDB store's statements, translated
            if tables["file_hash_records"]:
                complete_file_hashes(same_dialect)
            apply_forgets(same_dialect, {name: [t] for name, t in batch.tables().items()})
            for offset, problem in batch.problems:
                con.execute(
                    "INSERT INTO ingest_problems VALUES (%s, %s, %s, now())",
                    [batch.journal, offset, problem],
                )
            con.execute(
                "INSERT INTO shipped_journals VALUES (%s, %s, %s, %s, %s, %s, %s, now()) "
                "ON CONFLICT (origin, journal) DO UPDATE SET byte_offset = excluded.byte_offset, "
                "last_hash = excluded.last_hash, last_seq = excluded.last_seq, "
                "updated_at = excluded.updated_at",
                [
                    self.origin,
                    batch.journal,
                    batch.end,
                    batch.last_hash,
                    batch.last_seq,
                    user,
                    host,
                ],
            )
        return len(batch.rows["events"])

    # -- the graph walks' table ------------------------------------------------

    def refresh_walk_edges(self) -> bool:
        """Bring ``lineage_walk_edges`` up to date with ``lineage_edges``; False when it was.

        One transaction, serialised between processes: edges that are gone are
        deleted, new ones inserted, so after a sync of a few cells few rows change.
        """
        con = self._open()
        try:
            current = con.execute(
                "SELECT (SELECT changes FROM store_changes WHERE id = 1), "
                "(SELECT made_at_changes FROM lineage_walk_state WHERE id = 1)"
            ).fetchone()
            if current is not None and current[0] == current[1]:
                return False
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(%s)", [_WALK_LOCK])
                changes = con.execute("SELECT changes FROM store_changes WHERE id = 1").fetchone()
                made = con.execute(
                    "SELECT made_at_changes FROM lineage_walk_state WHERE id = 1"
                ).fetchone()
                if changes and made and changes[0] == made[0]:
                    return False  # another process refreshed it meanwhile
                con.execute(_FRESH_WALK_EDGES)
                con.execute(
                    "DELETE FROM lineage_walk_edges w WHERE NOT EXISTS (SELECT 1 FROM "
                    "fresh_walk_edges f WHERE f.src = w.src AND f.dst = w.dst AND f.kind = w.kind)"
                )
                con.execute(
                    "INSERT INTO lineage_walk_edges SELECT f.src, f.dst, f.kind FROM "
                    "fresh_walk_edges f WHERE NOT EXISTS (SELECT 1 FROM lineage_walk_edges w "
                    "WHERE f.src = w.src AND f.dst = w.dst AND f.kind = w.kind)"
                )
                con.execute(
                    "INSERT INTO lineage_walk_state VALUES (1, %s) ON CONFLICT (id) "
                    "DO UPDATE SET made_at_changes = excluded.made_at_changes",
                    [changes[0] if changes else 0],
                )
                con.execute("ANALYZE lineage_walk_edges")
        except Exception as exc:
            if isinstance(exc, StoreError):
                raise
            raise StoreError(
                f"cannot update the lineage walks' table on {self.location}: {_first_line(exc)}"
            ) from None
        finally:
            con.close()
        return True

    # -- queries -------------------------------------------------------------

    def query(
        self, sql: str, params: list[Any] | dict[str, Any] | None = None, *, ingest: bool = True
    ) -> pd.DataFrame:
        """Run read-only SQL (DuckDB dialect, translated) over the team store's views."""
        if ingest:
            self.ingest()
        with self.connect(read_only=True) as con:
            return con.execute(sql, params).df()

    def rows(
        self, sql: str, params: list[Any] | dict[str, Any] | None = None, *, ingest: bool = True
    ) -> list[dict[str, Any]]:
        """Run read-only SQL (DuckDB dialect, translated); the rows as dicts of plain Python."""
        if ingest:
            self.ingest()
        with self.connect(read_only=True) as con:
            return result_rows(con.execute(sql, params))

    def info(self) -> dict[str, Any]:
        """Where the team store is, its schema version and row counts (as ``DuckDBStore.info``)."""
        self.sync()
        with self.connect(read_only=True) as con:
            raw = con.raw

            def scalar(sql: str) -> Any:
                row = raw.execute(sql).fetchone()
                return row[0] if row else None

            counts = {view: scalar(f"SELECT count(*) FROM {view}") for view in VIEWS}
            info = {
                "store_dir": str(self.root),
                "database": self.location,
                "database_bytes": scalar("SELECT pg_database_size(current_database())"),
                "journals": len(journal_files(self.journal_dir)),
                "journal_bytes": sum(_size(p) for p in journal_files(self.journal_dir)),
                "schema_version": _server_version(raw),
                "sessions": scalar("SELECT count(*) FROM sessions"),
                "events": scalar("SELECT count(*) FROM events"),
                "ingest_problems": scalar("SELECT count(*) FROM ingest_problems"),
                "counts": counts,
            }
        return info

    # -- roles ---------------------------------------------------------------

    def bound_roles(self, user: str) -> set[str] | None:
        """The registry roles bound to ``user``, or None when the store binds no roles at all."""
        with self.connect(read_only=True) as con:
            rows = con.raw.execute(
                "SELECT user_name, role FROM role_bindings WHERE user_name = %s "
                "OR NOT EXISTS (SELECT 1 FROM role_bindings WHERE user_name = %s) LIMIT 1000",
                [user, user],
            ).fetchall()
            any_binding = con.raw.execute("SELECT count(*) FROM role_bindings").fetchone()
        if not any_binding or not any_binding[0]:
            return None
        return {role for name, role in rows if name == user}

    def bind_role(self, user: str, role: str, *, granted_by: str) -> None:
        con = self._open()
        try:
            self._check_schema(con)
            with con.transaction():
                con.execute(
                    "INSERT INTO role_bindings VALUES (%s, %s, %s, now()) ON CONFLICT DO NOTHING",
                    [user, role, granted_by],
                )
        finally:
            con.close()

    def role_bindings(self) -> pd.DataFrame:
        """Who holds which registry role, by user then role."""
        return self.query(
            "SELECT user_name, role, granted_by, granted_at FROM role_bindings "
            "ORDER BY user_name, role",
            ingest=False,
        )

    def unbind_role(self, user: str, role: str) -> bool:
        con = self._open()
        try:
            with con.transaction():
                cur = con.execute(
                    "DELETE FROM role_bindings WHERE user_name = %s AND role = %s", [user, role]
                )
                return bool(cur.rowcount)
        finally:
            con.close()

    def current_user(self) -> str:
        """The database user this store connects as."""
        with self.connect(read_only=True) as con:
            row = con.raw.execute("SELECT current_user").fetchone()
        return str(row[0]) if row else ""


class PostgresConnection:
    """A psycopg connection that takes the store's SQL (DuckDB dialect, ``?``/``$name`` placeholders)."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Any = None) -> _Result:
        import psycopg

        text, values = dialect.bind(sql, params)
        try:
            cur = psycopg.RawCursor(self.raw)
            cur.execute(text, values or None)
        except psycopg.Error as exc:
            raise QueryError(f"{_first_line(exc)} (the views are {', '.join(VIEWS)})") from None
        return _Result(cur)

    def close(self) -> None:
        self.raw.close()


class _Result:
    """What ``execute`` returns: rows as tuples, or the whole result as a DataFrame."""

    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self.cur = cur

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.cur.fetchall() if self.cur.description else []

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.cur.fetchone() if self.cur.description else None

    @property
    def description(self) -> Any:
        return self.cur.description

    def df(self) -> pd.DataFrame:
        import pandas as pd

        names = [c.name for c in self.cur.description or ()]
        frame = pd.DataFrame.from_records(self.fetchall(), columns=names)
        for column, info in zip(names, self.cur.description or (), strict=True):
            # The dtypes DuckDB's ``df()`` gives the same SQL types.
            # (plain numpy dtypes unless the column holds NULLs).
            values = frame[column]
            if info.type_code in _TIMESTAMP_OIDS:
                frame[column] = pd.to_datetime(values, utc=True).astype("datetime64[us, UTC]")
            elif info.type_code in _DTYPES:
                plain, nullable = _DTYPES[info.type_code]
                frame[column] = values.astype(nullable if values.isna().any() else plain)
        return frame


_TIMESTAMP_OIDS = {1184, 1114}  # timestamptz, timestamp
_DTYPES = {
    20: ("int64", "Int64"),
    21: ("int64", "Int64"),
    23: ("int64", "Int64"),
    16: ("bool", "boolean"),
    700: ("float64", "float64"),
    701: ("float64", "float64"),
}

_FRESH_WALK_EDGES = """
CREATE TEMP TABLE fresh_walk_edges ON COMMIT DROP AS
SELECT DISTINCT src, dst, kind FROM lineage_edges
WHERE src IS NOT NULL AND dst IS NOT NULL AND kind IS NOT NULL
"""


def _copy(
    con: psycopg.Connection[Any], table: str, rows: list[dict[str, Any]], clean: bool = False
) -> None:
    """COPY ``rows`` (dicts with the same keys) into ``table``."""
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(columns)
    with con.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        if clean:
            for row in rows:
                copy.write_row([_without_nul(row.get(c)) for c in columns])
        else:
            for row in rows:
                copy.write_row([row.get(c) for c in columns])


def _without_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\\u0000")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _new_rows(
    con: psycopg.Connection[Any],
    table: str,
    key: str,
    rows: list[dict[str, Any]],
    *,
    first_only: bool,
) -> list[dict[str, Any]]:
    """Rows whose ``key`` the table does not hold yet (the first of each when ``first_only``)."""
    keys = sorted({r[key] for r in rows})
    present = {
        row[0]
        for row in con.execute(
            f"SELECT DISTINCT {key} FROM {table} WHERE {key} = ANY(%s)", [keys]
        ).fetchall()
    }
    out, seen = [], set()
    for row in rows:
        k = row[key]
        if k in present or (first_only and k in seen):
            continue
        if not first_only:
            marker = (k, row.get("name"), row.get("version"))
            if marker in seen:
                continue
            seen.add(marker)
        else:
            seen.add(k)
        out.append(row)
    return out


def team_extra() -> Any:
    """The psycopg module, once the ``team`` extra is known to be installed (sqlglot too).

    Raises:
        StoreError: in one line naming what is missing and the command that installs it.
    """
    missing = []
    for name in ("psycopg", "sqlglot"):
        try:
            __import__(name)
        except ImportError:  # not installed, or libpq missing under psycopg
            missing.append(name)
    if missing:
        raise StoreError(
            f"a team store needs {' and '.join(missing)}, which this Python cannot import: "
            f'pip install "jupyter-lineage[team]"'
        )
    import psycopg

    return psycopg


def _server_version(con: psycopg.Connection[Any]) -> int | None:
    exists = con.execute("SELECT to_regclass('schema_info') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = con.execute("SELECT value FROM schema_info WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def _newer(location: str, version: int) -> str:
    return (
        f"the team store {location} has schema version {version}, newer than this jupyter-lineage "
        f"understands ({SCHEMA_VERSION}); upgrade with `pip install -U jupyter-lineage`"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "unknown"


def _host() -> str:
    try:
        return socket.gethostname()
    except OSError:
        return "localhost"


def wait_for(store: PostgresStore, timeout_s: float = 10.0) -> None:
    """Block until the server answers (for scripts starting one)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            store.schema_version()
            return
        except StoreError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
