"""The journal and the DuckDB store, with real files and a real DuckDB database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from jupyter_lineage.errors import QueryError, SchemaVersionError, StoreError
from jupyter_lineage.journal import JournalWriter, iter_lines, verify_chain
from jupyter_lineage.store import DuckDBStore
from jupyter_lineage.store.ingest import FastReader, FastRows


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


# -- the parse step and the copied run results ------------------------------------

_REFERENCE_RUNS = """
SELECT e.execution_id, coalesce(r.execution_count, e.execution_count) AS execution_count,
       e.source, r.ended_at, r.duration_ms, coalesce(r.status, 'incomplete') AS status,
       r.error_type, r.error_message, r.traceback, r.seeds, r.capture_errors,
       list_concat(coalesce(e.redactions, []), coalesce(r.redactions, [])) AS redactions
FROM executions e LEFT JOIN execution_results r USING (execution_id)
ORDER BY e.execution_id
"""
_RUNS = """
SELECT execution_id, execution_count, source, ended_at, duration_ms, status, error_type,
       error_message, traceback, seeds, capture_errors, redactions
FROM runs ORDER BY execution_id
"""


_REFERENCE_FAILED = """
WITH runs AS (
    SELECT e.*, coalesce(r.execution_count, e.execution_count) AS count, r.duration_ms,
           coalesce(r.status, 'incomplete') AS status, r.error_type, r.error_message, r.traceback
    FROM executions e LEFT JOIN execution_results r USING (execution_id)
),
notes AS (SELECT * FROM annotations WHERE kind = 'failed_attempt')
SELECT r.execution_id, r.session_id, r.notebook_path, r.cell_id, r.count, r.name, r.tags,
       r.model, r.experiment_id, r.source, r.started_at, r.duration_ms, r.status, r.error_type,
       r.error_message, r.traceback,
       (SELECT string_agg(n.annotation_id, ',' ORDER BY n.created_at, n.annotation_id)
        FROM notes n JOIN annotation_targets t USING (annotation_id)
        WHERE t.target_type = 'execution' AND t.target = r.execution_id)
FROM runs r WHERE r.status IN ('failed', 'interrupted')
UNION ALL
SELECT NULL, n.session_id, NULL, NULL, NULL, NULL, NULL, NULL, n.experiment_id, NULL,
       n.created_at, NULL, 'failed', NULL, NULL, NULL, n.annotation_id
FROM notes n WHERE NOT EXISTS (
    SELECT 1 FROM annotation_targets t JOIN runs r ON t.target = r.execution_id
    WHERE t.annotation_id = n.annotation_id AND t.target_type = 'execution'
      AND r.status IN ('failed', 'interrupted'))
ORDER BY 1, 17
"""
_FAILED = """
SELECT execution_id, session_id, notebook_path, cell_id, execution_count, name, tags, model,
       experiment_id, source, started_at, duration_ms, status, error_type, error_message,
       traceback, annotation_ids
FROM failed_attempts ORDER BY 1, 17
"""


def _assert_runs_are_the_join(store: DuckDBStore) -> None:
    with store.connect(read_only=True) as con:
        assert con.execute(_RUNS).fetchall() == con.execute(_REFERENCE_RUNS).fetchall()
        assert con.execute(_FAILED).fetchall() == con.execute(_REFERENCE_FAILED).fetchall()


def test_runs_are_the_same_whether_a_result_came_with_its_start_or_later(tmp_path: Path) -> None:
    store, w = _store(tmp_path)
    _cell(w, 1)
    _cell(w, 2, status="failed")
    w.append("cell_start", {"execution_id": "running", "source": "sleep()"})
    w.flush()
    store.ingest()
    # the running cell ends in a later ingest; another cell's end is ingested before its start
    w.append("cell_end", {"execution_id": "running", "status": "interrupted", "seeds": [1]})
    w.close()
    early = JournalWriter(store.journal_dir, "sess0")
    early.append("cell_end", {"execution_id": "late-start", "status": "ok"})
    early.close()
    store.ingest()
    late = JournalWriter(store.journal_dir, "sess2")
    late.append("cell_start", {"execution_id": "late-start", "source": "y = 2"})
    for n, target in enumerate(("exec0002", "running", "exec0001", None)):
        late.append(
            "annotation",
            {
                "annotation_id": f"note{n}",
                "kind": "failed_attempt",
                "text": f"why {n}",
                "targets": [{"type": "execution", "ref": target}] if target else [],
            },
        )
    late.close()
    store.ingest()
    _assert_runs_are_the_join(store)
    with store.connect(read_only=True) as con:
        failed = con.execute(
            "SELECT origin, execution_id, annotation_ids FROM failed_attempts ORDER BY 3"
        ).fetchall()
    assert failed == [
        ("captured", "exec0002", "note0"),
        ("captured", "running", "note1"),
        ("note", None, "note2"),
        ("note", None, "note3"),
    ]
    copied = store.query(
        "SELECT execution_id FROM executions WHERE result_event_id IS NOT NULL ORDER BY 1",
        ingest=False,
    )
    assert list(copied["execution_id"]) == ["exec0001", "exec0002"]


def test_forgetting_a_run_blanks_its_copied_result(tmp_path: Path) -> None:
    store, w = _store(tmp_path)
    exec_id = _cell(w, 1, status="failed")
    w.append(
        "cell_end",
        {"execution_id": "other", "status": "failed", "error_message": "kept"},
    )
    w.close()
    with open(w.path, "rb+") as f:  # give the failed cell an error text to forget
        data = f.read().replace(b'"status":"failed"', b'"status":"failed","traceback":"secret"', 1)
        f.seek(0)
        f.write(data)
    store.ingest()
    forget = JournalWriter(store.journal_dir, "sess2")
    forget.append("forget", {"execution_id": exec_id, "reason": "test"})
    forget.close()
    store.ingest()
    _assert_runs_are_the_join(store)
    row = store.query(
        "SELECT source, traceback FROM runs WHERE execution_id = ?", [exec_id], ingest=False
    )
    assert row.iloc[0].tolist() == ["[forgotten]", "[forgotten]"]


def test_a_version_3_store_is_migrated_and_its_runs_copied(tmp_path: Path) -> None:
    store, w = _store(tmp_path)
    _cell(w, 1)
    _cell(w, 2, status="failed")
    w.flush()
    store.ingest()
    con = duckdb.connect(str(store.db_path))
    for column in [c for c in _columns(con, "executions") if c.startswith("result_")]:
        con.execute(f"ALTER TABLE executions DROP COLUMN {column}")
    con.execute("ALTER TABLE execution_results DROP COLUMN copied")
    con.execute("DROP VIEW failed_attempts")
    con.execute("DROP TABLE failed_run_copies")
    con.execute("UPDATE schema_info SET value = '3' WHERE key = 'schema_version'")
    con.close()
    _cell(w, 3)
    w.close()
    store = DuckDBStore(store.root, lock_timeout_s=2)
    store.ingest()
    _assert_runs_are_the_join(store)
    copied = store.query(
        "SELECT count(*) FROM executions WHERE result_event_id IS NOT NULL", ingest=False
    )
    assert copied.iloc[0, 0] == 3


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]


def test_the_parse_step_gives_every_column_of_each_table(tmp_path: Path) -> None:
    from jupyter_lineage.store.ingest import TABLES
    from jupyter_lineage.store.schema import DERIVED_COLUMNS

    store, w = _store(tmp_path)
    _cell(w, 1)
    w.close()
    store.ingest()
    with store.connect(read_only=True) as con:
        for table, (copied, given) in TABLES.items():
            stored = set(_columns(con, table)) - DERIVED_COLUMNS.get(table, frozenset())
            assert set(copied) | set(given) == stored, table
            assert not set(copied) & set(given), table


def test_the_parse_step_keeps_json_values_exact_and_reports_bad_entries(tmp_path: Path) -> None:
    from jupyter_lineage.store.ingest import Batch

    w = JournalWriter(tmp_path / "journal", "s")
    w.append("param", {"name": "seed", "value": 2**70})
    w.append("metric", {"name": "loss", "value": float("nan"), "step": 2.5})
    w.append("cell_end", {"execution_id": "x", "values": [{"name": "a"}, "not an object"]})
    first = w.append("note", {"text": "once"})
    w.close()
    lines = list(iter_lines(w.path))
    batch = Batch(w.path.name)
    for line in [*lines, lines[-1]]:  # the last line twice: its rows once
        batch.add(line)
    rows = batch.rows
    assert rows["param_records"][0]["value"] == str(2**70)
    assert rows["metric_records"][0]["step"] == 2.5
    assert [r["name"] for r in rows["value_records"]] == ["a"]
    assert [r["event_id"] for r in rows["events"]].count(first) == 1
    assert len(batch.problems) == 1 and "entry 1" in batch.problems[0][1]
    tables = batch.tables()
    assert tables["events"].num_rows == 4 and "execution_results" in tables
    batch.drop({first})
    assert first not in batch.tables()["events"]["event_id"].to_pylist()
    assert first not in [r["event_id"] for r in batch.rows["events"]]


def test_an_event_in_two_journals_is_stored_once_and_progress_is_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_lineage.store import duckdb as store_module

    # Several small writes: each is a transaction of its own, written while the next is read.
    monkeypatch.setattr(store_module, "_WRITE_EVENTS", 4)
    store, w = _store(tmp_path)
    ids = [_cell(w, n) for n in range(6)]
    w.close()
    copy = store.journal_dir / "copy.jsonl"
    copy.write_bytes(w.path.read_bytes())
    seen: list[int] = []
    report = store.ingest(seen.append)
    assert report.events == 12 and seen and seen[-1] == 12
    events = store.query("SELECT count(DISTINCT event_id), count(*) FROM events", ingest=False)
    assert events.iloc[0].tolist() == [12, 12]
    assert sorted(store.query("SELECT execution_id FROM runs", ingest=False)["execution_id"]) == ids
    _assert_runs_are_the_join(store)


def _edge_lines() -> list[str]:
    """Journal lines the fast path reads, and lines it must leave to the Python path."""

    def event(n: int, type_: str, data: object, **extra: object) -> str:
        line = {"v": 1, "id": f"id{n:03d}", "seq": n, "ts": f"2026-01-01T00:00:{n % 60:02d}+00:00"}
        line |= {"type": type_, "session": "s", "prev": "p", "data": data, **extra}
        return json.dumps(line, separators=(",", ":"))

    value = {"name": "x", "role": "output", "fingerprint": "f", "length": 3, "summary": "\u00d7"}
    cases: list[tuple[str, object, dict[str, object]]] = [
        ("cell_start", {"execution_id": "a", "execution_count": 1, "tags": ["t"]}, {}),
        ("cell_start", {"execution_id": "b", "tags": None, "more": {"deep": [1, {}]}}, {}),
        ("cell_end", {"execution_id": "a", "duration_ms": 3, "values": [value, value]}, {}),
        ("cell_end", {"execution_id": "b", "files": [{"path": "/p", "size": 4}], "seeds": []}, {}),
        ("cell_end", {"execution_id": "c", "status": "ok"}, {"redactions": ["source:x"]}),
        ("cell_end", {"execution_id": "d", "status": "ok"}, {"redactions": []}),
        ("metric", {"name": "auc", "value": 1, "logged_at": ""}, {}),
        ("metric", {"name": "auc", "value": float("nan"), "step": 2}, {}),
        ("session_start", {"pid": 1, "user": "u"}, {}),
        # each of these the Python path reads otherwise than Arrow would, or not at all
        ("cell_start", {"execution_id": "e", "execution_count": 2.5}, {}),
        ("cell_start", {"execution_id": "f", "tags": "abc", "source": "caf\u00e9"}, {}),
        ("cell_start", {"source": "no id"}, {}),
        ("cell_end", {"execution_id": "g", "seeds": [{"numpy": 1}]}, {}),
        ("cell_end", {"execution_id": "h", "values": [value, "not an object"]}, {}),
        ("cell_end", {"execution_id": "i", "capture_errors": ["x", 3]}, {}),
        ("cell_end", {"execution_id": "j", "values": [None]}, {}),
        ("metric", {"name": "auc", "value": "0.7"}, {}),
        ("metric", {"value": 1.0}, {}),
        ("metric", {"name": "m", "value": 1.0}, {"redactions": [1]}),
        ("cell_start", {"execution_id": "k", "source": "\udc80"}, {}),
        ("cell_start", None, {}),
    ]
    lines = [event(n, type_, data, **extra) for n, (type_, data, extra) in enumerate(cases)]
    return [*lines, "not json", lines[0] + lines[1], lines[2]]


def _same_in_sql(item: tuple[str, object]) -> tuple[str, object]:
    """A column's value as the store keeps it: numbers as numbers (3 and 3.0 alike), NaN equal."""
    name, value = item
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = "nan" if value != value else float(value)
    return name, value


@pytest.mark.parametrize("case", range(-1, 24))
def test_the_fast_path_reads_lines_as_the_python_path_does(tmp_path: Path, case: int) -> None:
    from jupyter_lineage.journal import iter_raw_lines
    from jupyter_lineage.store.fastpath import read_fast
    from jupyter_lineage.store.ingest import Batch

    lines = _edge_lines()
    # all the lines together, or one of them between two that the fast path reads
    around = [line for line in (lines[0], lines[6], lines[7]) if line != lines[case]]
    chosen = lines if case < 0 else [around[0], lines[case], around[1]]
    path = tmp_path / "j.jsonl"
    path.write_text("\n".join(chosen) + "\n")

    def parse(reader: FastReader | None) -> tuple[list[object], dict[str, list[dict[str, object]]]]:
        batch = Batch(path.name, read_fast=reader)
        for line in iter_raw_lines(path):
            batch.add_raw(*line)
        batch.parse()
        rows = {
            t: sorted(repr(sorted(map(_same_in_sql, row.items()))) for row in r)
            for t, r in batch.rows.items()
        }
        return [batch.problems, batch.end, batch.last_hash, batch.last_seq, batch.count], rows

    fast_reads: list[FastRows | None] = []

    def reader(*args: Any) -> FastRows | None:
        fast_reads.append(read_fast(*args))
        return fast_reads[-1]

    fast = parse(reader)
    assert fast == parse(None)
    if 0 <= case < 9:  # lines it reads as the Python path does
        assert fast_reads[0] is not None
