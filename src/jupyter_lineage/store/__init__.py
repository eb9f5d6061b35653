"""Everything that speaks SQL. The rest of the package asks the store for data in Python terms.

A store is a directory of journals plus the database they are ingested into:
the local DuckDB file (``DuckDBStore``) or, when a team store is configured,
a PostgreSQL server (``PostgresStore``). Both answer the same SQL.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Union

from .duckdb import DuckDBStore, IngestReport

if TYPE_CHECKING:
    from .postgres import PostgresStore

Store = Union[DuckDBStore, "PostgresStore"]

__all__ = ["DuckDBStore", "IngestReport", "Store", "open_store", "store_for"]


def store_for(
    root: str | os.PathLike[str], *, url: str | None = None, **duckdb_options: float
) -> Store:
    """The store whose journals are in ``root``: the team store at ``url``, else the one
    configured for ``root``, else the local DuckDB file (``url=""``: the local file only)."""
    from ..config import team_store_url

    url = team_store_url(root) if url is None else url
    if not url:
        return DuckDBStore(root, **duckdb_options)
    from .postgres import PostgresStore

    return PostgresStore(url, root)


def open_store(store_dir: str | os.PathLike[str] | None = None) -> Store:
    """The store in ``store_dir`` (default: ``JUPYTER_LINEAGE_DIR`` or ``./.lineage``)."""
    from ..config import resolve_store_dir

    return store_for(resolve_store_dir(store_dir) if store_dir is None else Path(store_dir))
