"""The background fsync never makes a cell's append wait, and ingest leaves the collector as it was."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

from jupyter_lineage import journal
from jupyter_lineage.journal import JournalWriter, iter_lines
from jupyter_lineage.store import DuckDBStore


def test_append_proceeds_while_an_fsync_is_in_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = JournalWriter(tmp_path / "journal", "s")
    writer.append("cell_start", {"n": 0})
    in_fsync, release = threading.Event(), threading.Event()
    real_fsync = journal.os.fsync

    def slow_fsync(fd: int) -> None:
        in_fsync.set()
        release.wait(30)
        real_fsync(fd)

    monkeypatch.setattr(journal.os, "fsync", slow_fsync)
    syncer = threading.Thread(target=writer.sync)
    syncer.start()
    assert in_fsync.wait(30)
    appended = threading.Thread(target=writer.append, args=("cell_start", {"n": 1}))
    appended.start()
    appended.join(30)
    still_waiting = appended.is_alive()
    release.set()
    syncer.join(30)
    appended.join(30)
    writer.close()
    assert not still_waiting, "append waited for an fsync to finish"
    assert [line.event["data"]["n"] for line in iter_lines(writer.path)] == [0, 1]


@pytest.mark.parametrize("enabled", [True, False])
def test_ingest_restores_the_garbage_collector(tmp_path: Path, enabled: bool) -> None:
    writer = JournalWriter(tmp_path / "journal", "s")
    writer.append("metric", {"name": "m", "value": 1.0})
    writer.close()
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        DuckDBStore(tmp_path).ingest()
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
