"""Write captured execution ids into a notebook's cell metadata when Jupyter saves it.

A ``ContentsManager`` pre-save hook: for each code cell with an ``id``, the
latest executions captured for that cell of this notebook (``runs``:
``notebook_path``, ``cell_id``) go into ``metadata.jupyter_lineage`` as
``{"executions": [...], "last_status": ...}``, so the record's ids travel with
the notebook when it is shared. Other keys under ``jupyter_lineage`` are kept.

The hook never fails a save: every step is guarded, and a notebook without a
store beside it costs two ``stat`` calls.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# A save must not wait long for a DuckDB file another process holds.
LOCK_TIMEOUT_S = 2.0
_log = logging.getLogger(__name__)


def link_notebook(
    content: Mapping[str, Any], notebook_paths: Sequence[str], store_dir: Path
) -> int:
    """Write execution links into ``content`` (an nbformat v4 dict) in place; returns cells changed.

    ``notebook_paths`` are the spellings kernels may have recorded the notebook under.
    """
    from ..reproduce.cells import set_cell_links
    from ..store import DuckDBStore
    from ..store.reproduce import open_queries

    cells = [
        c
        for c in content.get("cells") or []
        if isinstance(c, dict) and c.get("cell_type") == "code" and isinstance(c.get("id"), str)
    ]
    if not cells:
        return 0
    store = DuckDBStore(store_dir, lock_timeout_s=LOCK_TIMEOUT_S)
    with open_queries(store) as q:
        links = q.cell_links(list(notebook_paths), [c["id"] for c in cells])
    changed = 0
    for cell in cells:
        link = links.get(cell["id"])
        if not link:
            continue
        metadata = cell.setdefault("metadata", {})
        if set_cell_links(metadata, link["executions"], link["last_status"]):
            changed += 1
    return changed


def locate_notebook(root_dir: str, api_path: str) -> tuple[list[str], Path]:
    """The paths a kernel records for a notebook, and the store it captures into.

    Jupyter starts a notebook's kernel in the notebook's directory and tells it the
    root joined with the API path; the store is ``.lineage`` there unless
    ``JUPYTER_LINEAGE_DIR`` says otherwise (a relative value from that directory).
    """
    from ..config import STORE_DIR_ENV, resolve_store_dir

    joined = os.path.normpath(os.path.join(os.path.abspath(os.path.expanduser(root_dir)), api_path))
    resolved = str(Path(joined).resolve())
    working_dir = Path(resolved).parent
    override = os.environ.get(STORE_DIR_ENV)
    explicit = working_dir / Path(override).expanduser() if override else None
    store_dir = resolve_store_dir(explicit, notebook_path=resolved, cwd=working_dir)
    return list(dict.fromkeys([resolved, joined])), store_dir


def _has_store(store_dir: Path) -> bool:
    from ..config import DB_FILE_NAME, JOURNAL_DIR_NAME

    return (store_dir / JOURNAL_DIR_NAME).is_dir() or (store_dir / DB_FILE_NAME).is_file()


def pre_save_hook(model: dict[str, Any], path: str, contents_manager: Any, **kwargs: Any) -> None:
    """Jupyter Server pre-save hook: link the notebook's cells to their captured executions."""
    try:
        if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
            return
        root = getattr(contents_manager, "root_dir", None)
        if not root:
            return
        paths, store_dir = locate_notebook(str(root), path.strip("/"))
        if not _has_store(store_dir):
            return
        changed = link_notebook(model["content"], paths, store_dir)
        if changed:
            _log.debug(
                "jupyter_lineage: linked %d cell(s) of %s to their executions", changed, path
            )
    except Exception as exc:  # never fail a save
        log = getattr(contents_manager, "log", _log)
        log.debug("jupyter_lineage: could not link %s to its executions (%s)", path, exc)


def register(contents_manager: Any) -> bool:
    """Add the hook to a contents manager, after any hook already there; returns whether added.

    ``register_pre_save_hook`` runs the configured ``pre_save_hook`` first, then
    the registered ones in order, so an existing hook keeps working.
    """
    if pre_save_hook in getattr(contents_manager, "_pre_save_hooks", ()):
        return False
    contents_manager.register_pre_save_hook(pre_save_hook)
    return True
