"""A store written by the previous schema is migrated forward; a newer one is refused clearly."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from jupyter_lineage.errors import SchemaVersionError
from jupyter_lineage.journal import JournalWriter
from jupyter_lineage.store import DuckDBStore
from jupyter_lineage.store.duckdb import SCHEMA_VERSION, STORAGE_COMPATIBILITY_VERSION

from .conftest import cli


def _store_with_one_cell(root: Path) -> DuckDBStore:
    writer = JournalWriter(root / "journal", "s1")
    writer.append("cell_start", {"execution_id": "a" * 32, "source": "x = 1", "name": "one"})
    writer.append("cell_end", {"execution_id": "a" * 32, "status": "ok"})
    writer.close()
    store = DuckDBStore(root)
    store.ingest()
    return store


def test_a_version_1_store_is_migrated(tmp_path: Path) -> None:
    store = _store_with_one_cell(tmp_path / ".lineage")
    # Take the store back to schema 1: no redactions columns, no forget table.
    con = duckdb.connect(str(store.db_path))
    con.execute("DROP VIEW IF EXISTS forgotten")
    con.execute("DROP TABLE forget_records")
    for table in ("events", "executions", "execution_results"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN redactions")
    con.execute("UPDATE schema_info SET value = '1' WHERE key = 'schema_version'")
    con.close()

    writer = JournalWriter(store.journal_dir, "s2")
    writer.append("cell_start", {"execution_id": "b" * 32, "source": 'password = "hunter2"'})
    writer.append("forget", {"execution_id": "a" * 32, "reason": "test"})
    writer.close()
    store = DuckDBStore(store.root)
    runs = store.query("SELECT execution_id, source, redactions FROM runs ORDER BY execution_id")
    assert runs["source"].tolist() == ["[forgotten]", 'password = "[REDACTED:password]"']
    assert list(runs["redactions"][1]) == ["source:password"]
    version = store.query("SELECT value FROM schema_info WHERE key = 'schema_version'")
    assert version.iloc[0, 0] == str(SCHEMA_VERSION)


def test_a_newer_store_is_refused_in_one_line(tmp_path: Path) -> None:
    store = _store_with_one_cell(tmp_path / ".lineage")
    con = duckdb.connect(
        str(store.db_path), config={"storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION}
    )
    con.execute("UPDATE schema_info SET value = '99' WHERE key = 'schema_version'")
    con.close()
    writer = JournalWriter(store.journal_dir, "s3")
    writer.append("note", {"text": "new"})
    writer.close()
    with pytest.raises(SchemaVersionError, match="newer than this jupyter-lineage"):
        DuckDBStore(store.root).ingest()
    doctor = cli("--store", str(store.root), "doctor")
    assert doctor.returncode == 1 and "schema version" in doctor.stdout
    proc = cli("--store", str(store.root), "sql", "SELECT 1")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "upgrade" in proc.stderr
