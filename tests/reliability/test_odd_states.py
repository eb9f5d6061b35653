"""Odd notebook states: interrupts, nested cell magics, exit and restart, a changed working
directory, %run, redefinitions, odd paths, and text no encoding likes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from jupyter_lineage.journal import iter_lines, journal_files, verify_chain
from jupyter_lineage.store import DuckDBStore

from .conftest import Kernel, cli


def _start(kernel_factory, cwd: Path, store: Path) -> Kernel:
    k = kernel_factory(cwd, {"JUPYTER_LINEAGE_DIR": str(store)})
    assert k.run("%load_ext jupyter_lineage").status == "ok"
    return k


def _interrupt(k: Kernel, code: str) -> dict:
    """Send ``code``, interrupt the kernel once it is running it, return the reply."""
    # stop_on_error=False: the kernel would otherwise abort the requests that follow an error.
    msg_id = k.kc.execute(code, stop_on_error=False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until the cell has started
        msg = k.kc.get_iopub_msg(timeout=30)
        if msg["msg_type"] == "stream" and "started" in msg["content"]["text"]:
            break
    k.km.interrupt_kernel()
    while True:
        reply = k.kc.get_shell_msg(timeout=30)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def test_kernel_interrupt_is_recorded_as_interrupted(kernel_factory, tmp_path: Path) -> None:
    store = tmp_path / ".lineage"
    k = _start(kernel_factory, tmp_path, store)
    loop = "import time\nprint('started', flush=True)\nfor _ in range(600):\n    time.sleep(0.05)"
    reply = _interrupt(k, f"%%lineage --name stopped\n{loop}")
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert k.run("%lineage on").status == "ok"
    reply = _interrupt(k, loop)
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert k.run("after = 1").status == "ok"  # the kernel goes on capturing

    runs = DuckDBStore(store).query("SELECT name, status, error_type FROM runs ORDER BY started_at")
    assert runs["status"].tolist()[:2] == ["interrupted", "interrupted"]
    assert runs["error_type"].tolist()[:2] == ["KeyboardInterrupt"] * 2
    assert runs["status"].tolist()[-1] == "ok"


def test_nested_cell_magics_exit_restart_chdir_and_run(kernel_factory, tmp_path: Path) -> None:
    store = tmp_path / ".lineage"
    (tmp_path / "helper.py").write_text("helper_value = 40 + 2\nprint('helper ran')\n")
    (tmp_path / "elsewhere").mkdir()
    k = _start(kernel_factory, tmp_path, store)

    res = k.run("%%time\n%%lineage --name inside-time\nx = sum(range(10))\nx")
    assert res.status == "ok" and res.result == "45" and "Wall time" in res.stdout
    res = k.run("%%lineage --name outside-time\n%%time\ny = 2\ny")
    assert res.status == "ok" and res.result == "2" and "Wall time" in res.stdout
    res = k.run("%%lineage --name runs-file\n%run helper.py\nhelper_value")
    assert res.status == "ok" and res.stdout == "helper ran\n" and res.result == "42"
    res = k.run(
        "%%lineage --name moves\nimport os\nos.chdir('elsewhere')\nopen('out.txt', 'w').write('x')"
    )
    assert res.status == "ok"
    assert k.run("%%lineage --name after-move\nz = 3").status == "ok"
    # Definitions, redefinitions and deletions, every cell captured.
    assert k.run("%lineage on").status == "ok"
    for cell in ("a = 1", "a = 2", "def f():\n    return 1", "def f():\n    return 2", "del a"):
        assert k.run(cell).status == "ok"
    assert k.run("%%lineage --name bye\nexit()").status == "ok"
    time.sleep(1)
    assert not k.km.is_alive()

    k2 = _start(kernel_factory, tmp_path, store)
    assert k2.run("%%lineage --name second-kernel\nw = 1").status == "ok"
    k2.km.restart_kernel(now=True)
    k2.kc.wait_for_ready(timeout=60)
    assert k2.run("%load_ext jupyter_lineage").status == "ok"
    assert k2.run("%%lineage --name after-restart\nw = 2").status == "ok"

    db = DuckDBStore(store)
    runs = db.query("SELECT name, status, session_id FROM runs ORDER BY started_at")
    named = dict(zip(runs["name"], runs["status"], strict=False))
    for name in ("inside-time", "outside-time", "runs-file", "moves", "after-move", "bye"):
        assert named[name] == "ok", (name, runs)
    assert named["second-kernel"] == named["after-restart"] == "ok"
    assert runs["session_id"].nunique() == 3
    assert not (tmp_path / "elsewhere" / ".lineage").exists()  # the store did not move
    files = db.query("SELECT path, access FROM files", ingest=False)
    assert str(tmp_path / "elsewhere" / "out.txt") in set(files["path"])
    outs = db.query(
        "SELECT name, action, fingerprint FROM cell_outputs WHERE name IN ('a', 'f') "
        "ORDER BY started_at",
        ingest=False,
    )
    assert outs["action"].tolist() == ["assigned", "assigned", "assigned", "assigned", "deleted"]
    a1, a2, f1, f2 = outs["fingerprint"].tolist()[:4]
    assert a1 != a2 and f1 != f2
    for path in journal_files(store / "journal"):
        assert verify_chain(path) == []


def test_odd_paths_and_text(tmp_path: Path) -> None:
    folder = tmp_path / "my notebooks" / "ñoño ünïcode"
    folder.mkdir(parents=True)
    nb_path = folder / "análisis de datos (v2).ipynb"
    nb = nbformat.v4.new_notebook()
    nul_source = "%%lineage --name nul\nbad = 1\x00"
    nb.cells = [
        nbformat.v4.new_code_cell(c)
        for c in (
            "%load_ext jupyter_lineage",
            "%%lineage --name rtl\ntext = 'שלום עולם مرحبا'  # ‏כיוון‏\nprint(text)\ntext",
            nul_source,
            "%%lineage --name escaped\nz = 'a\\x00b\\udc80c'\nlen(z)",
        )
    ]
    nb.cells[2].metadata["tags"] = ["raises-exception"]
    nbformat.write(nb, nb_path)
    proc = cli("run", str(nb_path), "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr

    db = DuckDBStore(folder / ".lineage")
    runs = db.query("SELECT name, notebook_path, source, status FROM runs ORDER BY started_at")
    assert set(runs["notebook_path"]) == {str(nb_path)}
    by_name = {r["name"]: r for r in runs.to_dict("records")}
    assert by_name["rtl"]["source"] == "text = 'שלום עולם مرحبا'  # ‏כיוון‏\nprint(text)\ntext"
    assert by_name["nul"]["source"] == "bad = 1\x00" and by_name["nul"]["status"] == "failed"
    assert by_name["escaped"]["status"] == "ok"
    summary = db.query("SELECT summary FROM cell_outputs WHERE name = 'z'", ingest=False)
    assert summary["summary"][0] == repr("a\x00b\udc80c")


SURROGATE_SCRIPT = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_cell("%load_ext jupyter_lineage")
source = "%%lineage --name lone\ns = 'x\udc80y\ud800'\nlen(s)"
result = shell.run_cell(source, store_history=True)
print(json.dumps({"ok": result.success}))
"""


def test_lone_surrogates_survive_the_journal_and_are_escaped_in_duckdb(tmp_path: Path) -> None:
    # No Jupyter message can carry a lone surrogate, so the shell runs in-process here.
    store = tmp_path / ".lineage"
    proc = subprocess.run(
        [sys.executable, "-c", SURROGATE_SCRIPT],
        capture_output=True,
        text=True,
        env={"JUPYTER_LINEAGE_DIR": str(store), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )
    # Python itself cannot compile it (it is not UTF-8); the failure is recorded.
    assert json.loads(proc.stdout.splitlines()[-1]) == {"ok": False}, proc.stderr
    journal = journal_files(store / "journal")[0]
    starts = [line.event for line in iter_lines(journal) if line.event["type"] == "cell_start"]
    # Exact in the journal (ASCII JSON escapes them).
    assert starts[-1]["data"]["source"] == "s = 'x\udc80y\ud800'\nlen(s)"
    db = DuckDBStore(store)
    run = db.query("SELECT source, status, error_type FROM runs WHERE name = 'lone'").iloc[0]
    # In DuckDB (UTF-8 only), written the way JSON writes them.
    assert run["source"] == "s = 'x\\udc80y\\ud800'\nlen(s)"
    assert (run["status"], run["error_type"]) == ("failed", "UnicodeEncodeError")
    assert verify_chain(journal) == []
