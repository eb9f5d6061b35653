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


STORE_URL_ENV = "JUPYTER_LINEAGE_STORE"
CONFIG_FILE_NAME = "config.toml"
TEAM_STORE_SCHEMES = ("postgresql://", "postgres://")


def is_team_store_url(value: str) -> bool:
    return value.startswith(TEAM_STORE_SCHEMES)


def team_store_url(store_dir: str | os.PathLike[str]) -> str | None:
    """The team store events are shipped to: ``JUPYTER_LINEAGE_STORE``, else the ``store``
    key of ``<store dir>/config.toml``, else None (the local DuckDB store only)."""
    from .errors import StoreError

    url = os.environ.get(STORE_URL_ENV, "").strip()
    source = STORE_URL_ENV
    if not url:
        path = Path(store_dir) / CONFIG_FILE_NAME
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None  # no configuration (a store that is no directory is reported on write)
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
        import tomllib

        try:
            url = str(tomllib.loads(text).get("store") or "").strip()
        except tomllib.TOMLDecodeError as exc:
            raise StoreError(f"{path} is not valid TOML ({exc}); fix or delete it") from None
        source = str(path)
        if not url:
            return None
    if not is_team_store_url(url):
        raise StoreError(
            f"{source} names {url!r}; a team store is a PostgreSQL URL such as "
            "postgresql://user@host/dbname"
        )
    return url


def write_team_store_url(store_dir: str | os.PathLike[str], url: str | None) -> Path:
    """Record (or, with None, remove) the team store in ``<store dir>/config.toml``."""
    import json

    path = Path(store_dir) / CONFIG_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    if url is None:
        path.unlink(missing_ok=True)
    else:
        # A JSON string is a valid TOML basic string.
        path.write_text(f"store = {json.dumps(url)}\n", encoding="utf-8")
    return path
