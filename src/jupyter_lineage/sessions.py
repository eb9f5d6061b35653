"""The session events are written to: the running kernel's, or one for this process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .capture.recorder import Recorder
from .errors import UsageError

if TYPE_CHECKING:
    from .store import Store

_process_recorder: Recorder | None = None


def current_recorder() -> Recorder:
    """The recorder of the running IPython kernel, or a session of this process outside IPython.

    Outside IPython (scripts, the CLI), events go to a journal of their own in the
    store named by ``JUPYTER_LINEAGE_DIR`` (or ``./.lineage``).
    """
    global _process_recorder
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        from .capture.magics import get_recorder

        recorder = get_recorder(shell)
        if recorder is None:
            raise UsageError(
                "jupyter-lineage is not loaded in this kernel; run %load_ext jupyter_lineage first"
            )
        return recorder
    if _process_recorder is None:
        _process_recorder = Recorder(None)
    return _process_recorder


def use_store(store_dir: str | None) -> Recorder:
    """A process session writing to ``store_dir`` (the CLI's ``--store``)."""
    global _process_recorder
    if _process_recorder is not None:
        _process_recorder.close()
    _process_recorder = Recorder(None, store_dir=store_dir)
    return _process_recorder


_store_sessions: dict[str, Recorder] = {}


@contextmanager
def session_for_store(store_dir: str | os.PathLike[str]) -> Iterator[Recorder]:
    """Within the block, this process's session writes to and reads from ``store_dir``.

    For a long-lived process serving several stores (the Jupyter server): each store
    keeps one session, so its journal stays one file however many requests write to
    it, and the process's own session is back in place after the block. Not for
    concurrent use: callers run these blocks one at a time.
    """
    global _process_recorder
    key = str(Path(store_dir).expanduser().resolve())
    recorder = _store_sessions.get(key)
    if recorder is None:
        recorder = _store_sessions[key] = Recorder(None, store_dir=key)
    previous, _process_recorder = _process_recorder, recorder
    try:
        yield recorder
    finally:
        _process_recorder = previous


_stores: dict[tuple[str, str | None], Store] = {}


def current_store() -> Store:
    """The store of the current session: the team store when one is configured, else the
    local DuckDB file (one object per directory, so ingests stay incremental)."""
    from .config import team_store_url
    from .store import store_for

    recorder = current_recorder()
    root = str(recorder.store_dir)
    key = (root, recorder.team_store_url if recorder.shell is not None else team_store_url(root))
    if key not in _stores:
        _stores[key] = store_for(root, url=key[1])
    return _stores[key]
