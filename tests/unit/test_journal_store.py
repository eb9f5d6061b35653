"""The journal and the DuckDB store, with real files and a real DuckDB database."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from jupyter_lineage.errors import QueryError, SchemaVersionError, StoreError
from jupyter_lineage.journal import JournalWriter, iter_lines, verify_chain
from jupyter_lineage.store import DuckDBStore


def _cell(writer: JournalWriter, n: int, status: str = "ok") -> str:
    exec_id = f"exec{n:04d}"
    writer.append(
        "cell_start",
        {
            "execution_id": exec_id,
            "execution_count": n,
            "source": f"x = {n}",
            "source_hash": str(n),
            "tags": ["t"],
            "mode": "magic",
            "started_at": "2026-01-01T00:00:00+00:00",
        },
    )
    writer.append(
        "cell_end",
        {
            "execution_id": exec_id,
            "execution_count": n,
            "status": status,
            "ended_at": "2026-01-01T00:00:01+00:00",
            "duration_ms": 1.5,
            "values": [
                {
                    "name": "x",
                    "role": "output",
                    "action": "assigned",
                    "fingerprint": f"xxh3:{n}",
                    "fingerprint_kind": "content",
                }
            ],
            "files": [],
            "capture_errors": [],
        },
    )
    return exec_id


def _store(tmp_path: Path) -> tuple[DuckDBStore, JournalWriter]:
    store = DuckDBStore(tmp_path / ".lineage", lock_timeout_s=2)
    return store, JournalWriter(store.journal_dir, "sess1")


def test_chain_verifies_and_detects_edits(tmp_path: Path) -> None:
    _, w = _store(tmp_path)
    for n in range(5):
        _cell(w, n)
    w.close()
    assert verify_chain(w.path) == []
    lines = w.path.read_bytes().splitlines(keepends=True)
    # edit one byte of a line's content
    edited = lines[3].replace(b"xxh3:1", b"xxh3:9")
    assert edited != lines[3]
    w.path.write_bytes(b"".join([*lines[:3], edited, *lines[4:]]))
    assert [p.offset for p in verify_chain(w.path)] == [sum(map(len, lines[:4]))]
    # delete a line
    w.path.write_bytes(b"".join([*lines[:2], *lines[3:]]))
    assert verify_chain(w.path)
    # reorder two lines
    w.path.write_bytes(b"".join([lines[0], lines[2], lines[1], *lines[3:]]))
    assert verify_chain(w.path)
    # drop the first line
    w.path.write_bytes(b"".join(lines[1:]))
    assert verify_chain(w.path)


def test_reopening_a_journal_continues_its_chain(tmp_path: Path) -> None:
    _, w = _store(tmp_path)
    _cell(w, 1)
    w.close()
    w2 = JournalWriter(w.path.parent, "sess1")
    _cell(w2, 2)
    w2.close()
    assert verify_chain(w.path) == []
    assert [line.event["seq"] for line in iter_lines(w.path)] == [0, 1, 2, 3]


def test_torn_last_line_waits_until_complete(tmp_path: Path) -> None:
    store, w = _store(tmp_path)
    _cell(w, 1)
    w.close()
    full = w.path.read_bytes()
    extra = b'{"v":1,"id":"torn"'
    w.path.write_bytes(full + extra)
    report = store.ingest()
    assert report.events == 2 and not report.problems
    assert store.query("SELECT count(*) FROM events", ingest=False).iloc[0, 0] == 2
    # the line is completed later: it is ingested then, once
    w.path.write_bytes(
        full
        + json.dumps(
            {
                "v": 1,
                "id": "late",
                "seq": 2,
                "type": "note",
                "session": "sess1",
                "prev": "x",
                "data": {},
            }
        ).encode()
        + b"\n"
    )
    assert store.ingest().events == 1
    assert store.ingest().events == 0
    assert store.query("SELECT count(*) FROM events", ingest=False).iloc[0, 0] == 3


def test_ingest_is_idempotent_by_event_id(tmp_path: Path) -> None:
    store, w = _store(tmp_path)
    ids = [_cell(w, n) for n in range(10)]
    w.close()
    store.ingest()
    # forget the offsets: everything is read again and nothing is duplicated
    with store.connect() as con:
        con.execute("DELETE FROM journal_offsets")
    store.ingest()
    df = store.query("SELECT execution_id, count(*) AS n FROM runs GROUP BY 1", ingest=False)
    assert sorted(df["execution_id"]) == sorted(ids)
    assert set(df["n"]) == {1}
    assert store.query("SELECT count(*) FROM value_records", ingest=False).iloc[0, 0] == 10


def test_corrupt_line_is_reported_and_skipped(tmp_path: Path) -> None:
    store, w = _store(tmp_path)
    _cell(w, 1)
    with open(w.path, "ab") as f:
        f.write(b"this is not json\n")
    _cell(w, 2)
    w.close()
    report = store.ingest()
    assert len(report.problems) == 1 and "unreadable" in report.problems[0]
    assert store.query("SELECT count(*) FROM runs", ingest=False).iloc[0, 0] == 2
    assert store.query("SELECT count(*) FROM ingest_problems", ingest=False).iloc[0, 0] == 1


def test_newer_schema_gives_clear_error(tmp_path: Path) -> None:
    store, w = _store(tmp_path)
    _cell(w, 1)
    store.ingest()
    con = duckdb.connect(str(store.db_path))
    con.execute("UPDATE schema_info SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(
        SchemaVersionError, match=r"schema version 99.*pip install -U jupyter-lineage"
    ):
        store.ingest()


def test_corrupt_database_names_the_fix_and_rebuild_recovers(tmp_path: Path) -> None:
    store, w = _store(tmp_path)
    _cell(w, 1)
    _cell(w, 2, status="failed")
    w.close()
    store.ingest()
    store.db_path.write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError, match="jupyter-lineage rebuild"):
        store.query("SELECT 1")
    report = store.rebuild()
    assert report.events == 4
    assert list(store.query("SELECT status FROM runs ORDER BY execution_count")["status"]) == [
        "ok",
        "failed",
    ]


def test_user_sql_is_read_only_and_errors_are_one_line(tmp_path: Path) -> None:
    store, w = _store(tmp_path)
    _cell(w, 1)
    w.close()
    with pytest.raises(QueryError) as info:
        store.query("DROP TABLE executions")
    assert "\n" not in str(info.value)
    with pytest.raises(QueryError, match="no_such"):
        store.query("SELECT * FROM no_such")
    assert store.query("SELECT count(*) FROM runs").iloc[0, 0] == 1


def test_parameters_are_bound_not_interpolated(tmp_path: Path) -> None:
    store, w = _store(tmp_path)
    _cell(w, 1)
    w.close()
    hostile = "x' OR '1'='1"
    assert store.query("SELECT * FROM runs WHERE source = ?", [hostile]).empty
    assert len(store.query("SELECT * FROM runs WHERE source = ?", ["x = 1"])) == 1


def test_store_file_uses_the_pinned_storage_format(tmp_path: Path) -> None:
    store, w = _store(tmp_path)
    _cell(w, 1)
    w.close()
    store.ingest()
    con = duckdb.connect(str(store.db_path), read_only=True)
    try:
        tags = con.execute(
            "SELECT tags FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()[0]
    finally:
        con.close()
    # readable by DuckDB 1.x releases, not only by the release that wrote it
    assert tags["storage_version"].startswith("v1.")
