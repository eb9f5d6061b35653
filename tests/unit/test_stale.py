"""The out-of-date check's pure parts, and the stale_executions view over a real DuckDB store."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_lineage.graph.staleness import (
    Decider,
    FileCheck,
    cell_label,
    cell_matching,
    read_notebook,
    recorded_form,
    shown_path,
)
from jupyter_lineage.journal import JournalWriter
from jupyter_lineage.store import DuckDBStore
from jupyter_lineage.store.stale import stale_rows


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_paths_are_shown_relative_to_the_notebook_or_from_home(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", "/home/ana")
    assert shown_path("/work/project/data/in.csv", "/work/project") == "data/in.csv"
    assert shown_path("/home/ana/shared/codes.txt", "/work/project") == "~/shared/codes.txt"
    assert shown_path("/home/anabel/x.csv", "/work/project") == "/home/anabel/x.csv"
    assert shown_path("/srv/data.csv", "/work/project") == "/srv/data.csv"


def test_a_cell_is_named_by_name_count_and_id() -> None:
    assert cell_label("load", 3, "1a2b3c4d5e6f") == "load (In [3], cell 1a2b3c4d)"
    assert cell_label(None, None, None, 4) == "code cell 4"
    assert cell_label(None, 7, None) == "In [7]"


def test_code_is_compared_as_the_capture_records_it() -> None:
    assert recorded_form("%%lineage --name load\ndf = 1\n") == "df = 1\n"
    assert recorded_form("%%time\n%%lineage --name x\ny = 2") == "%%time\ny = 2"
    secret = "token = 'ghp_" + "a" * 36 + "'"
    assert "ghp_" not in recorded_form(secret)  # redacted, as the record holds it


def test_cells_with_the_same_code_are_not_matched_by_it(tmp_path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_lineage"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("%%lineage --name y\ny = 2"),
        nbformat.v4.new_markdown_cell("# notes"),
        nbformat.v4.new_code_cell("   "),
    ]
    nb.cells[3].metadata["jupyter_lineage"] = {"executions": ["e1", "e2"]}
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)

    cells = read_notebook(path)
    assert [c.index for c in cells] == [2, 3, 4]  # not the %load_ext cell, nor the empty one
    links, by_code = cell_matching(cells)
    assert links == {"e1": cells[2].cell_id, "e2": cells[2].cell_id}
    assert by_code == {sha("y = 2"): cells[2].cell_id}


def test_files_are_hashed_only_when_their_stat_moved(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("a\n1\n")
    st = os.stat(path)
    recorded = (str(path), sha("a\n1\n"), st.st_size, st.st_mtime_ns, st.st_ino)
    check = FileCheck()

    assert check.change(*recorded) is None and check.hashed == 0
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched, same bytes
    assert check.change(*recorded) is None and check.hashed == 1
    assert check.change(*recorded) is None and check.hashed == 1  # that version is known now
    path.write_text("a\n2\n")
    assert check.change(*recorded) == "changed" and check.hashed == 2
    path.write_text("a\n22\n")
    assert check.change(*recorded) == "changed" and check.hashed == 2  # the size said it
    path.unlink()
    assert check.change(*recorded) == "gone"
    # A record from before stats were kept is judged by its bytes.
    path.write_text("a\n1\n")
    assert check.change(str(path), sha("a\n1\n"), None, None, None) is None


def run_row(execution_id: str, cell: str, status: str = "ok", at: int = 0) -> dict[str, Any]:
    return {
        "kind": "run",
        "execution_id": execution_id,
        "cell": cell,
        "name": cell,
        "execution_count": at,
        "started_at": at,
        "status": status,
        "source": "",
        "session_id": "s",
        "environment_id": None,
    }


def test_failed_and_unfinished_runs_are_not_stale_nor_fresh() -> None:
    rows = [run_row("e1", "a", "failed"), run_row("e2", "b", "incomplete", 1)]
    decider = Decider(rows, None, base_dir=None, packages_now={})
    states = {c.name: (c.state, c.reasons[0].text) for c in decider.cell_states(None)}
    assert states == {
        "a": ("failed", "its latest run failed"),
        "b": ("unknown", "its latest run never finished"),
    }


def test_packages_are_named_only_when_the_notebook_imports_them() -> None:
    rows = [
        {**run_row("e1", "a"), "environment_id": "env1", "source": "import pandas"},
        *(
            {"kind": "package", "environment_id": "env1", "a": n, "b": v, "execution_id": None}
            for n, v in (("pandas", "2.1"), ("rich", "13"))
        ),
    ]
    now = {"pandas": "2.2", "rich": "14"}
    decider = Decider(rows, None, base_dir=None, packages_now=now)
    (cell,) = decider.cell_states(None)
    assert cell.state == "environment"
    assert [r.text for r in cell.reasons] == ["packages changed since this run: pandas 2.1 → 2.2"]
    same = Decider(rows, None, base_dir=None, packages_now={"pandas": "2.1", "rich": "14"})
    assert same.cell_states(None)[0].state == "fresh"


# -- the view, and the check over the same record ------------------------------------------


def cell(
    writer: JournalWriter,
    execution_id: str,
    cell_id: str,
    at: str,
    *,
    values: list[tuple[str, str, str, str]] = (),  # type: ignore[assignment]
    files: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    environment_id: str | None = None,
) -> None:
    writer.append(
        "cell_start",
        {
            "execution_id": execution_id,
            "execution_count": 1,
            "notebook_path": "/nb/a.ipynb",
            "cell_id": cell_id,
            "source": f"# {cell_id}",
            "source_hash": sha(f"# {cell_id}"),
            "name": cell_id,
            "tags": [],
            "mode": "magic",
            "started_at": at,
        },
    )
    writer.append(
        "cell_end",
        {
            "execution_id": execution_id,
            "execution_count": 1,
            "status": "ok",
            "ended_at": at,
            "duration_ms": 1.0,
            "values": [
                {"name": n, "role": r, "action": a, "fingerprint": f, "fingerprint_kind": "content"}
                for n, r, a, f in values
            ],
            "files": [
                {"path": p, "access": a, "size": None, "sha256": h, "note": None}
                for p, a, h in files
            ],
            "capture_errors": [],
            "environment_id": environment_id,
        },
    )


def test_the_view_and_the_check_agree_on_what_the_record_shows(tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_text("v2")
    store = DuckDBStore(tmp_path / ".lineage", lock_timeout_s=2)
    first = JournalWriter(store.journal_dir, "sess1")
    cell(first, "a1", "a", "2026-01-01T00:00:01+00:00", values=[("x", "output", "assigned", "f1")])
    cell(first, "b1", "b", "2026-01-01T00:00:02+00:00", values=[("x", "input", "read", "f1")])
    cell(first, "c1", "c", "2026-01-01T00:00:03+00:00", files=[(str(data), "read", sha("v1"))])
    cell(first, "u1", "u", "2026-01-01T00:00:04+00:00", values=[("x", "input", "read", "f1")])
    first.close()
    later = JournalWriter(store.journal_dir, "sess2")
    # a runs again in a new kernel and binds x to other content; u runs again after it
    cell(later, "a2", "a", "2026-01-02T00:00:01+00:00", values=[("x", "output", "assigned", "f2")])
    cell(later, "u2", "u", "2026-01-02T00:00:02+00:00", values=[("x", "input", "read", "f2")])
    cell(later, "w2", "w", "2026-01-02T00:00:03+00:00", files=[(str(data), "write", sha("v2"))])
    later.close()

    view = store.query(
        "SELECT execution_id, reason, subject, detail, changed_by FROM stale_executions "
        "ORDER BY execution_id"
    )
    assert view.values.tolist() == [
        ["b1", "value", "x", "its cell ran again and bound it to other content", "a2"],
        ["c1", "file", str(data), "a later run wrote other bytes to it", "w2"],
    ]

    rows = stale_rows(store, ["/nb/a.ipynb"])
    decider = Decider(rows, None, base_dir=str(tmp_path), packages_now={})
    states = {c.name: c for c in decider.cell_states(None)}
    assert {n for n, c in states.items() if c.stale} == {"b", "c"}
    assert [r.text for r in states["b"].reasons] == [
        "a (In [1], cell a) re-ran and bound x to other content"
    ]
    assert [r.text for r in states["c"].reasons] == ["file in.csv changed since this run read it"]
    assert states["u"].state == states["a"].state == states["w"].state == "fresh"


def test_runs_whose_result_came_later_are_read_as_the_runs_view_shows_them(
    tmp_path: Path,
) -> None:
    store = DuckDBStore(tmp_path / ".lineage", lock_timeout_s=2)
    first = JournalWriter(store.journal_dir, "sess1")
    cell(first, "a1", "a", "2026-01-01T00:00:01+00:00", values=[("x", "output", "assigned", "f1")])
    first.append(
        "cell_start",
        {
            "execution_id": "b1",
            "execution_count": 2,
            "notebook_path": "/nb/a.ipynb",
            "cell_id": "b",
            "source": "# b",
            "source_hash": sha("# b"),
            "name": "b",
            "tags": [],
            "mode": "magic",
            "started_at": "2026-01-01T00:00:02+00:00",
        },
    )
    store.ingest()  # b's start alone: its result comes in the next ingest, not copied
    before = {
        r["execution_id"]: r["status"]
        for r in stale_rows(store, ["/nb/a.ipynb"])
        if r["kind"] == "run"
    }
    assert before == {"a1": "ok", "b1": "incomplete"}
    first.append(
        "cell_end",
        {
            "execution_id": "b1",
            "execution_count": 7,
            "status": "failed",
            "ended_at": "2026-01-01T00:00:03+00:00",
            "duration_ms": 1.0,
            "values": [],
            "files": [],
            "capture_errors": [],
        },
    )
    first.close()
    rows = [r for r in stale_rows(store, ["/nb/a.ipynb"]) if r["kind"] == "run"]
    view = store.query(
        "SELECT execution_id, cell_id AS cell, name, execution_count, started_at, status, "
        "source, session_id, environment_id FROM runs ORDER BY execution_id"
    )
    columns = list(view.columns)
    got = sorted(([r[c] for c in columns] for r in rows), key=lambda r: r[0])
    assert [str(v) for row in got for v in row] == [
        str(v) for row in view.astype(object).values.tolist() for v in row
    ]
    assert [(r[0], r[3], r[5]) for r in got] == [("a1", 1, "ok"), ("b1", 7, "failed")]


HOLD = (
    "import sys, time, duckdb\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "print('held', flush=True)\n"
    "sys.stdin.readline()\n"
)


def test_a_check_holds_the_database_only_while_it_reads(tmp_path: Path) -> None:
    import subprocess
    import sys

    from jupyter_lineage.errors import StoreLockedError

    store = DuckDBStore(tmp_path / ".lineage", lock_timeout_s=0.3)
    writer = JournalWriter(store.journal_dir, "sess1")
    cell(writer, "a1", "a", "2026-01-01T00:00:01+00:00")
    writer.close()
    store.ingest()
    with store.reading(), store.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    # Read, then let go: another process can write the file (a read-only reader would block it).
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store.db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        # While it writes, a check waits for it and then says who holds the file.
        with (
            pytest.raises(StoreLockedError, match=rf"locked by process {holder.pid} "),
            store.reading(),
            store.connect(read_only=True),
        ):
            pass
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    # And the store is still good for the next unit of work.
    rows = stale_rows(store, ["/nb/a.ipynb"], ingest=False)
    assert [r["execution_id"] for r in rows if r["kind"] == "run"] == ["a1"]


def test_the_answers_for_several_notebooks_are_kept_while_the_store_is_unchanged(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    from jupyter_lineage.errors import StoreLockedError

    store = DuckDBStore(tmp_path / ".lineage", lock_timeout_s=0.3)
    writer = JournalWriter(store.journal_dir, "sess1")
    cell(writer, "a1", "a", "2026-01-01T00:00:01+00:00")
    writer.close()
    store.ingest()
    first = stale_rows(store, ["/nb/a.ipynb"])
    other = stale_rows(store, ["/nb/other.ipynb"])  # a second notebook's sidebar
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store.db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        # The database is held: both answers come from what was kept, a new question cannot.
        assert stale_rows(store, ["/nb/a.ipynb"]) == first
        assert stale_rows(store, ["/nb/other.ipynb"]) == other == []
        with pytest.raises(StoreLockedError):
            stale_rows(store, ["/nb/a.ipynb"], links={"a1": "renamed"})
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


def test_a_new_process_takes_the_kept_answer_while_the_store_is_as_it_was(tmp_path: Path) -> None:
    """The first question of a process opens no database when the last answer, kept beside
    it, was read from these very journals and this very file; anything else asks again."""
    from jupyter_lineage.store import stale as stale_module

    root = tmp_path / ".lineage"
    writer = JournalWriter(root / "journal", "sess1")
    cell(writer, "a1", "a", "2026-01-01T00:00:01+00:00", values=[("x", "output", "assigned", "f1")])
    cell(writer, "b1", "b", "2026-01-01T00:00:02.5+00:00", values=[("x", "input", "read", "f1")])
    writer.close()

    def new_process() -> DuckDBStore:
        stale_module._answers.clear()  # what a process keeps in memory, gone with it
        return DuckDBStore(root, lock_timeout_s=2)

    def canon(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # The statement gives its rows in no set order.
        return sorted(rows, key=lambda r: (r["kind"], str(r["execution_id"]), str(r["a"])))

    asked = stale_rows(new_process(), ["/nb/a.ipynb"])
    assert {r["execution_id"] for r in asked if r["kind"] == "run"} == {"a1", "b1"}
    (kept_file,) = (root / "answers").glob("stale-*.json")

    store = new_process()
    assert canon(stale_rows(store, ["/nb/a.ipynb"])) == canon(asked)  # timestamps as timestamps
    assert store.connections_opened == 0
    assert store.ingest().events == 0 and store.connections_opened == 0  # known to be stored
    # Another question is another answer: asked of the database.
    store = new_process()
    assert stale_rows(store, ["/nb/other.ipynb"]) == [] and store.connections_opened > 0

    # A journal grew: the kept answer no longer holds, the new run is in the next one.
    later = JournalWriter(root / "journal", "sess2")
    cell(later, "a2", "a", "2026-01-02T00:00:01+00:00", values=[("x", "output", "assigned", "f2")])
    later.close()
    store = new_process()
    rows = stale_rows(store, ["/nb/a.ipynb"])
    assert {r["execution_id"] for r in rows if r["kind"] == "run"} == {"a2", "b1"}
    assert store.connections_opened > 0

    # Unreadable, from another version, or of another database: asked again, same answer.
    for damage in (
        lambda text: text[: len(text) // 2],
        lambda text: text.replace('"version":"', '"version":"0.0.0-other'),
        lambda text: text.replace('"state":[[', '"state":[[["journal-gone.jsonl",1],'),
    ):
        kept_file.write_text(damage(kept_file.read_text()))
        store = new_process()
        assert canon(stale_rows(store, ["/nb/a.ipynb"])) == canon(rows)
        assert store.connections_opened > 0


def test_the_kept_answers_are_bounded_the_least_recently_written_going_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_lineage.store import stale as stale_module

    monkeypatch.setattr(stale_module, "ANSWERS_KEPT", 2)
    root = tmp_path / ".lineage"
    writer = JournalWriter(root / "journal", "sess1")
    cell(writer, "a1", "a", "2026-01-01T00:00:01+00:00")
    writer.close()
    store = DuckDBStore(root)
    written = []
    for i, notebook in enumerate(("/nb/a.ipynb", "/nb/b.ipynb", "/nb/c.ipynb")):
        stale_rows(store, [notebook])
        new = set((root / "answers").glob("stale-*.json")) - {p for p, _ in written}
        (path,) = new
        os.utime(path, ns=(i * 10**9, i * 10**9))  # written in this order, a second apart
        written.append((path, notebook))
    left = set((root / "answers").glob("stale-*.json"))
    assert left == {written[1][0], written[2][0]}  # the first one written went


def test_runs_are_compared_with_the_packages_of_the_python_that_ran_them(tmp_path: Path) -> None:
    """A process that is not the Python of the notebook's latest run (a server, a command
    line in an environment of its own) compares with that run's recorded packages."""
    import sys

    from jupyter_lineage.graph.staleness import _packages_to_compare

    root = tmp_path / ".lineage"
    writer = JournalWriter(root / "journal", "sess1")
    for environment_id, python, pandas in (
        ("env-old", sys.executable, "2.1"),
        ("env-new", "/elsewhere/venv/bin/python", "2.2"),
    ):
        writer.append(
            "environment",
            {
                "environment_id": environment_id,
                "captured_at": "2026-01-01T00:00:00+00:00",
                "python_executable": python,
                "packages": {"pandas": pandas},
            },
        )
    # Each run in its environment: the later one in the other Python.
    cell(writer, "a1", "a", "2026-01-01T00:00:01+00:00", environment_id="env-old")
    cell(writer, "b1", "b", "2026-01-01T00:00:02+00:00", environment_id="env-new")
    writer.close()
    rows = stale_rows(DuckDBStore(root), ["/nb/a.ipynb"])
    pythons = {r["environment_id"]: r["a"] for r in rows if r["kind"] == "python"}
    assert pythons == {"env-old": sys.executable, "env-new": "/elsewhere/venv/bin/python"}

    packages, note = _packages_to_compare(rows)
    assert packages == {"pandas": "2.2"}
    assert note == (
        "packages compared with those of the latest run's Python (/elsewhere/venv/bin/python), "
        f"not this process's ({sys.executable})"
    )
    # When this process is the latest run's Python, its own installed packages.
    mine = [r for r in rows if r.get("execution_id") != "b1"]
    packages, note = _packages_to_compare(mine)
    assert note == "" and "pandas" in packages and packages != {"pandas": "2.1"}
