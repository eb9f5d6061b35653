"""Where the store lives, and which notebook a kernel belongs to."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

STORE_DIR_ENV = "JUPYTER_LINEAGE_DIR"
STORE_DIR_NAME = ".lineage"
DB_FILE_NAME = "lineage.duckdb"
JOURNAL_DIR_NAME = "journal"
# Derived data kept beside the database so a new process need not open it (what the last
# ingest stored, the last out-of-date answers): rewritten at will, safe to delete.
ANSWERS_DIR_NAME = "answers"


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


# What a notebook key says its path is relative to.
KEY_IN_REPOSITORY = "git:"
KEY_IN_SERVER_ROOT = "root:"


def git_work_tree(start: str | os.PathLike[str]) -> tuple[str, str] | None:
    """The work tree containing the directory ``start`` and its git directory, or None.

    The work tree is the nearest directory at or above ``start`` with a ``.git`` entry:
    a directory, or a file saying ``gitdir: <path>`` (a linked work tree or a submodule).
    Found on disk; git is not run.
    """
    current = os.fspath(start)
    while True:
        dot_git = os.path.join(current, ".git")
        if os.path.isdir(dot_git):
            return current, dot_git
        if os.path.isfile(dot_git):
            try:
                with open(dot_git, encoding="utf-8", errors="replace") as f:
                    content = f.read().strip()
            except OSError:
                return None
            if not content.startswith("gitdir:"):
                return None
            git_dir = os.path.normpath(os.path.join(current, content[len("gitdir:") :].strip()))
            return current, git_dir
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def notebook_key(
    notebook: str, *, repository_root: str | None, server_root: str | None = None
) -> str | None:
    """The name a notebook has on every machine, from its absolute path (pure).

    ``git:<path>`` when the notebook is inside ``repository_root`` (its git work tree),
    else ``root:<path>`` when it is inside ``server_root`` (the Jupyter server's root),
    else None. The path is relative, "/"-separated and in Unicode NFC (macOS file
    systems hand out names decomposed), so two checkouts of a repository give their
    copies of a notebook one key wherever they are. All three arguments are absolute
    paths with symbolic links resolved.
    """
    for prefix, root in ((KEY_IN_REPOSITORY, repository_root), (KEY_IN_SERVER_ROOT, server_root)):
        if root:
            relative = _relative_inside(notebook, root)
            if relative is not None:
                return prefix + relative
    return None


def notebook_key_of(notebook: str, server_root: str | None = None) -> str | None:
    """The key of the notebook at ``notebook`` (``notebook_key``), its repository found on
    disk; ``server_root`` is used outside a repository."""
    path = os.path.realpath(notebook)
    found = git_work_tree(os.path.dirname(path))
    return notebook_key(
        path,
        repository_root=found[0] if found else None,
        server_root=os.path.realpath(server_root) if server_root else None,
    )


def notebook_key_from_env(cwd: str | None = None) -> str | None:
    """The key of the notebook a kernel was started for (``notebook_key``), or None.

    Jupyter gives a kernel the notebook's path in ``JPY_SESSION_NAME``: absolute when the
    session was made with a name (JupyterLab's way), then the key is repository-relative
    or, outside a repository, None, since the kernel is not told the server's root. A
    relative one is the path below the server's root; the kernel runs in the notebook's
    directory (``cwd``), so the root is that directory less the path's own directories.
    """
    name = os.environ.get("JPY_SESSION_NAME")
    if not name:
        return None
    if os.path.isabs(name):
        return notebook_key_of(name)
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    root = os.path.abspath(cwd or os.getcwd())
    for part in reversed(parts[:-1]):
        if os.path.basename(root) != part:
            return None  # not started in the notebook's directory: the file cannot be found
        root = os.path.dirname(root)
    return notebook_key_of(os.path.join(root, *parts), server_root=root)


def _relative_inside(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` as a key spells it, or None when it is not inside."""
    import unicodedata

    try:
        relative = os.path.relpath(path, root)
    except ValueError:  # another drive
        return None
    if relative == os.curdir or relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return unicodedata.normalize("NFC", relative.replace(os.sep, "/"))


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


# How far below the current directory the CLI looks for stores when it finds none here or
# above, and how many directories it reads at most doing so: enough for a project's
# notebooks/ and their subfolders, quick even when started in a home directory.
STORE_SEARCH_DEPTH = 3
STORE_SEARCH_MAX_DIRS = 5000
# Directories that hold no one's notebooks: looking inside them costs time and finds nothing.
_NOT_SEARCHED = frozenset({"node_modules", "__pycache__", "site-packages", "dist-packages"})
# What a virtual environment (pyvenv.cfg) or a conda one has at its top.
_ENVIRONMENT_MARKS = frozenset({"pyvenv.cfg", "conda-meta"})


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """A store directory the CLI found, and by which rule (for the note it prints)."""

    path: Path
    found_by: str  # "--store", "$JUPYTER_LINEAGE_DIR", "here", "parent" or "below"


def is_store_dir(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a store: a directory holding journals, a database or a config."""
    p = Path(path)
    return p.is_dir() and any(
        (p / name).exists() for name in (JOURNAL_DIR_NAME, DB_FILE_NAME, CONFIG_FILE_NAME)
    )


def find_store_dir(
    explicit: str | os.PathLike[str] | None = None, cwd: str | os.PathLike[str] | None = None
) -> StoreLocation | None:
    """The store the CLI works on, found as git finds its directory, or None.

    In order: ``explicit`` (``--store``), ``$JUPYTER_LINEAGE_DIR`` (both taken as given,
    existing or not), ``./.lineage``, then each parent's ``.lineage``. The walk up stops at
    the user's home directory when it starts inside it (a store above a home belongs to no
    one in it), at a file system boundary (another mount is another disk, as git's own
    discovery stops there), and before the file system's root, whose ``.lineage`` is used
    only from ``/`` itself or with ``--store``. A ``.lineage`` counts when it holds
    journals, a database or a ``config.toml``; an empty one is passed over.
    """
    if explicit:
        return StoreLocation(Path(explicit).expanduser().resolve(), "--store")
    env = os.environ.get(STORE_DIR_ENV)
    if env:
        return StoreLocation(Path(env).expanduser().resolve(), "$" + STORE_DIR_ENV)
    current = Path(cwd or os.getcwd()).resolve()
    if is_store_dir(current / STORE_DIR_NAME):
        return StoreLocation(current / STORE_DIR_NAME, "here")
    home = _home()
    inside_home = home is not None and (current == home or home in current.parents)
    while True:
        parent = current.parent
        if parent == current or parent == Path(parent.anchor):
            return None  # at the root, or its .lineage is next: not silently
        if inside_home and current == home:
            return None
        if not _same_device(current, parent):
            return None
        current = parent
        if is_store_dir(current / STORE_DIR_NAME):
            return StoreLocation(current / STORE_DIR_NAME, "parent")


def stores_below(
    cwd: str | os.PathLike[str] | None = None,
    *,
    depth: int = STORE_SEARCH_DEPTH,
    max_dirs: int = STORE_SEARCH_MAX_DIRS,
) -> list[Path]:
    """The stores in the directories below ``cwd``, nearest first, ``depth`` levels down.

    Not searched: hidden directories (``.git``, ``.venv``...; a ``.lineage`` is looked at,
    not into), virtual environments and conda environments, ``node_modules`` and the like,
    and symbolic links (a loop would never end). At most ``max_dirs`` directories are read.
    """
    root = Path(cwd or os.getcwd()).resolve()
    found: list[Path] = []
    level = [root]
    read = 0
    for _ in range(depth + 1):
        below: list[Path] = []
        for directory in level:
            if read >= max_dirs:
                return found
            read += 1
            try:
                with os.scandir(directory) as scan:
                    entries = sorted(scan, key=lambda e: e.name)
            except OSError:
                continue  # unreadable: not ours to search
            if directory != root and any(e.name in _ENVIRONMENT_MARKS for e in entries):
                continue  # a virtual or conda environment: packages, not notebooks
            for entry in entries:
                if not entry.is_dir(follow_symlinks=False):
                    continue
                if entry.name == STORE_DIR_NAME:
                    if directory != root and is_store_dir(entry.path):
                        found.append(Path(entry.path))
                elif not entry.name.startswith(".") and entry.name not in _NOT_SEARCHED:
                    below.append(Path(entry.path))
        level = below
    return found


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError, OSError):
        return None  # no home directory known (a service account): no limit from it


def _same_device(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev == b.stat().st_dev
    except OSError:
        return False


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


def write_atomically(path: Path, text: str) -> bool:
    """Replace ``path`` with ``text`` in one step (its directory made if need be), so a reader
    sees the old file or the new one, never half of one; False if it cannot be written."""
    try:
        path.parent.mkdir(exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        return False  # a store this process may read but not write: kept in memory only
    return True
