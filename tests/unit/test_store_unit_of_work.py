"""A unit of work on the DuckDB store: one read connection for all its queries, counted by the
store itself, with real journals and a real DuckDB file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_lineage.errors import QueryError, StoreError
from jupyter_lineage.journal import JournalWriter
from jupyter_lineage.store import DuckDBStore

from .test_journal_store import _cell


@pytest.fixture
def store(tmp_path: Path) -> tuple[DuckDBStore, JournalWriter]:
    store = DuckDBStore(tmp_path / ".lineage", lock_timeout_s=2)
    writer = JournalWriter(store.journal_dir, "sess1")
    for n in range(3):
        _cell(writer, n)
    store.ingest()
    return store, writer


def _other_process_writes(db: Path) -> str:
    """Open the file read-write from another process, without waiting for a lock."""
    code = (
        "import duckdb, sys\n"
        "try:\n"
        "    duckdb.connect(sys.argv[1]).close()\n"
        "    print('opened')\n"
        "except duckdb.IOException as exc:\n"
        "    print('locked', exc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(db)], capture_output=True, text=True, timeout=60
    )
    return proc.stdout.strip() or proc.stderr


def test_every_query_of_a_unit_shares_one_connection(store) -> None:
    s, _ = store
    before = s.connections_opened
    with s.reading():
        assert len(s.rows("SELECT * FROM runs")) == 3
        assert len(s.query("SELECT * FROM runs WHERE status = 'ok'")) == 3
        with s.reading():  # nested: joins the outer unit
            assert s.executions_by_prefix("exec0001") == ["exec0001"]
            assert s.info()["counts"]["runs"] == 3
    assert s.connections_opened - before == 1
    # Without a unit, each query has its own connection.
    before = s.connections_opened
    s.rows("SELECT 1 AS one")
    s.rows("SELECT 2 AS two")
    assert s.connections_opened - before == 2


def test_a_unit_that_reads_nothing_opens_nothing(store) -> None:
    s, _ = store
    before = s.connections_opened
    with s.reading():
        pass
    assert s.connections_opened == before


def test_the_connection_closes_with_the_unit(store) -> None:
    s, _ = store
    with s.reading():
        s.rows("SELECT count(*) AS n FROM runs")
        # While the unit reads, another process cannot write the file ...
        assert _other_process_writes(s.db_path).startswith("locked")
    # ... and as soon as it ends, it can.
    assert s.unit.reader is None
    assert _other_process_writes(s.db_path) == "opened"


def test_a_fresh_process_reads_an_ingested_store_with_one_connection(store) -> None:
    s, _ = store
    fresh = DuckDBStore(s.root, lock_timeout_s=2)
    with fresh.reading():
        assert [r["n"] for r in fresh.rows("SELECT count(*) AS n FROM runs")] == [3]
        assert len(fresh.query("SELECT * FROM runs")) == 3
    assert fresh.connections_opened == 1


def test_lines_written_during_a_unit_are_ingested_by_its_next_query(store) -> None:
    s, writer = store
    with s.reading():
        assert len(s.rows("SELECT * FROM runs")) == 3
        _cell(writer, 3)
        # The unit's reader is closed for the ingest and opened again after it.
        assert len(s.rows("SELECT * FROM runs")) == 4
        assert len(s.rows("SELECT * FROM runs", ingest=False)) == 4
    assert s.unit.reader is None


def test_no_ingest_while_a_read_of_the_unit_holds_the_connection(store) -> None:
    s, writer = store
    with s.reading(), s.connect(read_only=True) as con:
        _cell(writer, 3)
        assert s.ingest().events == 0  # the read goes on with what is stored
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (3,)
        with pytest.raises(StoreError, match="while this process reads it"), s.connect():
            pass
    assert len(s.rows("SELECT * FROM runs")) == 4


def test_a_unit_stays_read_only(store) -> None:
    s, _ = store
    with s.reading():
        with pytest.raises(QueryError):
            s.query("CREATE TABLE mine AS SELECT 1 AS x")
        with pytest.raises(QueryError):
            s.rows("DELETE FROM executions")
        assert len(s.rows("SELECT * FROM runs")) == 3


def test_rows_are_plain_python(store) -> None:
    s, _ = store
    row = s.rows(
        "SELECT 'a' AS s, 1 AS i, CAST('NaN' AS DOUBLE) AS nan, NULL AS nothing, [1, 2] AS l, "
        "{'k': 1} AS st"
    )[0]
    assert row == {"s": "a", "i": 1, "nan": None, "nothing": None, "l": [1, 2], "st": {"k": 1}}
    runs = s.rows("SELECT execution_id, execution_count FROM runs ORDER BY execution_count")
    assert [r["execution_count"] for r in runs] == [0, 1, 2]
    assert all(type(r["execution_count"]) is int for r in runs)


def test_units_are_per_thread(store) -> None:
    import threading

    s, _ = store
    seen: list[int] = []
    with s.reading():
        s.rows("SELECT 1 AS one")

        def other() -> None:
            seen.append(s.unit.depth)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen == [0]


def test_what_this_process_writes_itself_needs_no_ingest_after_it(store) -> None:
    s, writer = store
    with s.connect() as con:  # as the graph's index is refreshed
        con.execute("CREATE TABLE IF NOT EXISTS _written_here AS SELECT 1 AS x")
        con.execute("CHECKPOINT")
    before = s.connections_opened
    assert s.ingest().events == 0
    assert s.connections_opened == before
    # A line written since is still ingested.
    _cell(writer, 3)
    assert s.ingest().events == 2
    assert s.connections_opened == before + 1
