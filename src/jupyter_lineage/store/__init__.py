"""Everything that speaks SQL. The rest of the package asks the store for data in Python terms."""

from __future__ import annotations

import os
from pathlib import Path

from .duckdb import DuckDBStore, IngestReport

__all__ = ["DuckDBStore", "IngestReport", "open_store"]


def open_store(store_dir: str | os.PathLike[str] | None = None) -> DuckDBStore:
    """The store in ``store_dir`` (default: ``JUPYTER_LINEAGE_DIR`` or ``./.lineage``)."""
    from ..config import resolve_store_dir

    return DuckDBStore(resolve_store_dir(store_dir) if store_dir is None else Path(store_dir))
