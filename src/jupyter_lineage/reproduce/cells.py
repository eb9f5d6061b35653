"""Execution ids in a notebook's cell metadata: written after a headless run, and on save."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping, Sequence
from datetime import datetime
from typing import Any

METADATA_KEY = "jupyter_lineage"
# How many execution ids a cell's metadata keeps (the latest, oldest first).
LINKS_KEPT = 5


def set_cell_links(
    metadata: MutableMapping[str, Any],
    executions: Sequence[str],
    last_status: str | None,
    keep: int = LINKS_KEPT,
) -> bool:
    """Record execution ids in a cell's metadata (``jupyter_lineage.executions``, latest last).

    Ids already there are kept in front of the new ones, the latest ``keep`` in
    all; other keys under ``jupyter_lineage`` (``reproduces``...) are left alone.
    Returns whether the metadata changed.
    """
    current = metadata.get(METADATA_KEY)
    entry = dict(current) if isinstance(current, Mapping) else {}
    before = entry.get("executions")
    old = [str(e) for e in before] if isinstance(before, list) else []
    merged = [e for e in old if e not in executions] + [str(e) for e in executions]
    entry["executions"] = merged[-keep:]
    entry["last_status"] = last_status
    if entry == current:
        return False
    metadata[METADATA_KEY] = entry
    return True


def link_executed_cells(
    nb: Any, store_dir: str | os.PathLike[str], notebook_path: str, since: datetime
) -> dict[int, str]:
    """After a headless run, write each code cell's execution id into its metadata.

    The run's kernel session is the latest one of ``notebook_path`` started at or
    after ``since``; its executions are matched to cells by execution count.
    Returns cell index → execution id.

    It reads the local store: the run's journal was just written there, and a team
    store that is down meanwhile must not fail a run whose capture succeeded.
    """
    from ..store import store_for
    from ..store.reproduce import open_queries

    store = store_for(store_dir, url="")
    if not store.journal_dir.is_dir():
        return {}
    with open_queries(store) as q:
        rows = q.run_session_executions(notebook_path, since)
    by_count = {int(r["execution_count"]): r for r in rows if r["execution_count"] is not None}
    found = {}
    for index, cell in enumerate(nb.cells):
        count = cell.get("execution_count") if cell.get("cell_type") == "code" else None
        row = by_count.get(count) if isinstance(count, int) else None
        if row is not None:
            set_cell_links(cell.metadata, [row["execution_id"]], row["status"])
            found[index] = str(row["execution_id"])
    return found
