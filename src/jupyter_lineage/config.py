"""Where the store lives, and which notebook a kernel belongs to."""

from __future__ import annotations

import os
from pathlib import Path

STORE_DIR_ENV = "JUPYTER_LINEAGE_DIR"
STORE_DIR_NAME = ".lineage"
DB_FILE_NAME = "lineage.duckdb"
JOURNAL_DIR_NAME = "journal"


def notebook_path_from_env() -> str | None:
    """The notebook a kernel was started for, as Jupyter Server tells it (``JPY_SESSION_NAME``)."""
    name = os.environ.get("JPY_SESSION_NAME")
    if not name:
        return None
    if not os.path.isabs(name):
        candidate = os.path.abspath(name)
        if os.path.exists(candidate):
            return candidate
        return name
    return os.path.normpath(name)


def resolve_store_dir(
    explicit: str | os.PathLike[str] | None = None,
    notebook_path: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Path:
    """The store directory: explicit > ``JUPYTER_LINEAGE_DIR`` > beside the notebook > cwd."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(STORE_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    if notebook_path and os.path.isabs(notebook_path):
        return Path(notebook_path).parent / STORE_DIR_NAME
    return Path(cwd or os.getcwd()).resolve() / STORE_DIR_NAME
