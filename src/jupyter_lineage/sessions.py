"""The session events are written to: the running kernel's, or one for this process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .capture.recorder import Recorder
from .errors import UsageError

if TYPE_CHECKING:
    from .store import DuckDBStore

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


_stores: dict[str, DuckDBStore] = {}


def current_store() -> DuckDBStore:
    """The store of the current session (one object per directory, so ingests stay incremental)."""
    from .store import DuckDBStore

    root = str(current_recorder().store_dir)
    if root not in _stores:
        _stores[root] = DuckDBStore(root)
    return _stores[root]
