"""Where a request's notebook and store are, from a path relative to the server root.

The rules are the kernel's: Jupyter starts a notebook's kernel in the notebook's
directory, so its store is ``.lineage/`` there unless ``JUPYTER_LINEAGE_DIR``
says otherwise (a relative value is taken from that directory too), and it
records the notebook under the absolute path Jupyter gives it and under its key
(``config.notebook_key``: its path in its git repository, else below the server's
root), which names it on every machine.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..config import (
    JOURNAL_DIR_NAME,
    STORE_DIR_ENV,
    git_work_tree,
    notebook_key,
    resolve_store_dir,
)
from ..errors import UsageError

# How long the repository found above a directory is trusted: every request names its
# notebook, and a `git init` or a clone made while the server runs is seen this soon.
WORK_TREE_CACHE_S = 30.0
_WORK_TREE_CACHE_SIZE = 4096
_work_trees: dict[str, tuple[float, str | None]] = {}
_work_trees_lock = threading.Lock()


def notebook_file(root_dir: str | os.PathLike[str], notebook_path: str) -> Path:
    """Return the absolute path of a notebook given relative to the server root.

    Args:
        root_dir: The server's root directory.
        notebook_path: "/"-separated and relative to ``root_dir``, as in the contents API.

    Raises:
        UsageError: ``notebook_path`` contains a NUL byte, is absolute, or does not
            name a file inside ``root_dir`` once resolved.
    """
    if "\0" in notebook_path:
        raise UsageError(f"path {notebook_path!r} contains a NUL byte")
    if PurePosixPath(notebook_path).is_absolute() or Path(notebook_path).is_absolute():
        raise UsageError(f"path {notebook_path!r} is absolute; give it relative to the server root")
    root = Path(root_dir).expanduser().resolve()
    notebook = (root / notebook_path).resolve()
    if notebook == root or not notebook.is_relative_to(root):
        raise UsageError(
            f"path {notebook_path!r} leaves the server root; give a notebook path inside it"
        )
    return notebook


def store_dir_for(root_dir: str | os.PathLike[str], notebook_path: str | None = None) -> Path:
    """Return the store a kernel of this notebook writes to (the root's store without one).

    The rule is the kernel's (``config.resolve_store_dir``), applied from the
    notebook's directory, where Jupyter starts its kernel: a relative
    ``JUPYTER_LINEAGE_DIR`` is taken from there too.
    """
    root = Path(root_dir).expanduser().resolve()
    notebook = notebook_file(root, notebook_path) if notebook_path else None
    working_dir = notebook.parent if notebook else root
    override = os.environ.get(STORE_DIR_ENV)
    explicit = working_dir / Path(override).expanduser() if override else None
    return resolve_store_dir(
        explicit, notebook_path=str(notebook) if notebook else None, cwd=working_dir
    )


@dataclass(frozen=True, slots=True)
class NotebookLocation:
    """A notebook named in a request, and the store its kernels capture into."""

    path: str | None
    """As the request gave it, relative to the server root; ``None`` for the root's store."""
    recorded_paths: tuple[str, ...]
    """The absolute paths kernels record for it in ``runs.notebook_path``."""
    store_dir: Path
    key: str | None = None
    """Its name on every machine, as kernels record it in ``runs.notebook_key``."""

    @property
    def has_journal(self) -> bool:
        """Whether anything was ever captured into the store (its journal directory exists)."""
        return (self.store_dir / JOURNAL_DIR_NAME).is_dir()


def locate(root_dir: str | os.PathLike[str], notebook_path: str | None) -> NotebookLocation:
    """The notebook at ``notebook_path`` (relative to the root) and its store.

    Jupyter gives a kernel the notebook's path joined to the root as configured,
    without resolving symbolic links; both spellings are kept so that a root
    reached through a link still finds its runs.

    Raises:
        UsageError: the path is absolute, contains NUL, or leaves the root.
    """
    store_dir = store_dir_for(root_dir, notebook_path)
    if not notebook_path:
        return NotebookLocation(None, (), store_dir)
    resolved = str(notebook_file(root_dir, notebook_path))
    joined = os.path.normpath(os.path.join(os.path.abspath(root_dir), notebook_path))
    key = notebook_key(
        resolved,
        repository_root=repository_root_above(os.path.dirname(resolved)),
        server_root=str(Path(root_dir).expanduser().resolve()),
    )
    return NotebookLocation(notebook_path, tuple(dict.fromkeys([resolved, joined])), store_dir, key)


def repository_root_above(directory: str) -> str | None:
    """The root of the git work tree holding ``directory`` (``config.git_work_tree``),
    remembered for ``WORK_TREE_CACHE_S``."""
    now = time.monotonic()
    with _work_trees_lock:
        cached = _work_trees.get(directory)
    if cached is not None and now - cached[0] < WORK_TREE_CACHE_S:
        return cached[1]
    try:
        found = git_work_tree(directory)
    except (OSError, ValueError):
        found = None
    root = found[0] if found else None
    with _work_trees_lock:
        if len(_work_trees) >= _WORK_TREE_CACHE_SIZE:
            _work_trees.clear()
        _work_trees[directory] = (now, root)
    return root
