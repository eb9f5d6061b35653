"""Bad arguments get one line naming what is wrong; a held lock names its holder; capture
never waits for the database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_lineage.errors import StoreLockedError
from jupyter_lineage.store import DuckDBStore

from .conftest import Kernel, cli

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
print("holding", flush=True)
time.sleep(120)
"""


def _hold(db: Path, mode: str = "rw") -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db), mode], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


def _one_line(res) -> str:
    assert res.status == "error", res
    assert res.stderr.startswith("UsageError: ") and res.stderr.count("\n") == 1, res.stderr
    return res.stderr


def test_magics_answer_bad_arguments_in_one_line(kernel_factory, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    k: Kernel = kernel_factory(tmp_path, {"JUPYTER_LINEAGE_DIR": str(tmp_path / ".lineage")})
    assert k.run("%load_ext jupyter_lineage").status == "ok"
    assert k.run("%%lineage --name ok\nv = 1").status == "ok"
    cases = {
        "%lineage sometimes": "on, off or status",
        "%lineage_config value_budget=nan": "value_budget",
        "%lineage_config value_budget=-1": "value_budget",
        "%lineage_config value_budget=inf": "value_budget",
        "%lineage_config store=a-file": "is a file",
        "%lineage_config colour=blue": "unknown setting",
        "%lineage_sql": "needs a query",
        "%lineage_sql DROP TABLE events": "read-only",
        "%lineage_sql SELECT * FROM no_such_view": "no_such_view",
        "%lineage_forget": "one execution id",
        "%lineage_forget zzz": "not an execution id",
        "%lineage_forget \"0' OR '1'='1\"": "not an execution id",
        "%lineage_forget 0123456789abcdef": "no captured execution",
        "%lineage_forget LAST --reason": "--reason needs a text",
    }
    for cell, expected in cases.items():
        message = _one_line(k.run(cell))
        assert expected in message, (cell, message)
    res = k.run("%%lineage --bogus\nnot_run = 1")
    assert res.status == "error" and "UsageError" in res.stderr
    assert k.run("'not_run' in dir()").result == "False"  # the body of a bad %%lineage does not run
    res = k.run("%lineage_forget LAST --reason 'pasted a key'")
    assert res.status == "ok" and "forgotten" in res.stdout


def test_cli_answers_bad_arguments_in_one_line(tmp_path: Path) -> None:
    store = tmp_path / ".lineage"
    store.mkdir()
    (tmp_path / "a-file").write_text("x")
    for args, expected in [
        (("--store", str(tmp_path / "typo"), "sql", "SELECT 1"), "no store at"),
        (("--store", str(store), "sql", ""), "needs a query"),
        (("--store", str(store), "sql", "DELETE FROM events"), ""),
        (("--store", str(store), "forget", "' OR 1=1 --"), "no captured execution"),
        (("run", str(tmp_path / "missing.ipynb")), "no notebook"),
        (("--store", str(tmp_path / "a-file"), "info"), ""),
    ]:
        proc = cli(*args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert proc.stderr.startswith("jupyter-lineage: ") and proc.stderr.count("\n") == 1, (
            args,
            proc.stderr,
        )
        assert expected in proc.stderr
    doctor = cli("--store", str(tmp_path / "a-file"), "doctor")
    assert doctor.returncode == 1 and "not a directory" in doctor.stdout
    doctor = cli("--store", str(tmp_path / "nowhere"), "doctor")
    assert doctor.returncode == 0 and "does not exist" in doctor.stdout


@pytest.mark.parametrize("mode", ["rw", "ro"])
def test_a_held_lock_is_waited_for_then_named(tmp_path: Path, mode: str) -> None:
    store = DuckDBStore(tmp_path / ".lineage", lock_timeout_s=1)
    from jupyter_lineage.journal import JournalWriter

    writer = JournalWriter(store.journal_dir, "s")
    store.ingest()
    holder = _hold(store.db_path, mode)
    writer.append("note", {"text": "new, so the next ingest must write"})
    writer.close()
    try:
        with pytest.raises(StoreLockedError) as info:
            store.ingest()  # a writer: blocked by any holder, even a read-only one
        message = str(info.value)
        assert f"process {holder.pid}" in message and "python" in message
        assert "\n" not in message and "retry" in message
        doctor = cli("--store", str(store.root), "doctor")
        assert f"process {holder.pid}" in doctor.stdout
    finally:
        holder.kill()
        holder.wait()
    assert store.ingest().problems == []


def test_capture_never_waits_for_the_database(kernel_factory, tmp_path: Path) -> None:
    store = tmp_path / ".lineage"
    k: Kernel = kernel_factory(tmp_path, {"JUPYTER_LINEAGE_DIR": str(store)})
    assert k.run("%load_ext jupyter_lineage").status == "ok"
    assert k.run("%lineage_sql SELECT 1").status == "ok"  # the database exists
    holder = _hold(store / "lineage.duckdb")
    try:
        for i in range(20):
            res = k.run(f"%%lineage --name held{i}\nv{i} = {i}\nv{i}")
            assert res.status == "ok" and res.result == str(i) and res.stderr == ""
        assert k.run("import sys\n'duckdb' in sys.modules").status == "ok"
    finally:
        holder.kill()
        holder.wait()
    res = k.run("%lineage_sql SELECT count(*) AS n FROM runs WHERE name LIKE 'held%'")
    assert res.status == "ok" and "20" in res.result
