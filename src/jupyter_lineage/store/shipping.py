"""Ship a kernel's journal to the team store from a background thread.

The cell never waits on the network: ``poke`` only sets a flag. The thread
ships whatever the journal holds (the store's ``sync``, idempotent by event id)
a moment later; when the server is slow or down it retries with backoff, says
so once, and says so again when shipping works again. Whatever it has not
shipped stays in the journal for the next attempt or `jupyter-lineage sync`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .postgres import PostgresStore

# Wait this long after a cell before shipping, so a burst of cells ships as one batch.
DEBOUNCE_S = 0.2
MAX_BACKOFF_S = 30.0


class Shipper:
    """One daemon thread per kernel, shipping ``store_dir``'s journals to ``url``."""

    def __init__(self, url: str, store_dir: Path, say: Callable[[str], None]) -> None:
        self.url = url
        self.store_dir = store_dir
        self._say = say
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._cancelled = False
        self._failing: str | None = None
        self.shipped_events = 0
        self._thread = threading.Thread(target=self._run, name="jupyter-lineage-ship", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """New events are in the journal: ship them soon."""
        self._idle.clear()
        self._wake.set()

    def wait_idle(self, timeout: float) -> bool:
        """Block until everything poked so far was shipped (or failed); True when idle."""
        return self._idle.wait(timeout)

    def cancel(self) -> None:
        """Stop the thread without shipping what is left (the kernel left the team store)."""
        self._cancelled = True
        self._stopping = True
        self._wake.set()

    def close(self, timeout: float = 5.0) -> None:
        """Ship what is left (within ``timeout``) and stop the thread."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        from .postgres import PostgresStore

        store = PostgresStore(self.url, self.store_dir, connect_timeout_s=5.0)
        backoff = 1.0
        while True:
            self._wake.wait()
            if not self._stopping:
                time.sleep(DEBOUNCE_S)  # a burst of cells ships as one batch
            self._wake.clear()
            if self._cancelled:
                break
            # Stop was asked before this sync began: it ships everything written before.
            final = self._stopping
            shipped = self._ship_once(store)
            if final:
                break
            if not shipped:
                self._idle.set()
                # Retry after the backoff, or at once when a new cell pokes.
                self._wake.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                self._wake.set()
                continue
            backoff = 1.0
            if not self._wake.is_set():
                self._idle.set()
        self._idle.set()

    def _ship_once(self, store: PostgresStore) -> bool:
        """One sync; says once when shipping starts failing and once when it works again."""
        from ..errors import LineageError

        try:
            self.shipped_events += store.sync().events
        except LineageError as exc:
            problem = str(exc)
        except Exception as exc:  # never let the thread die silently
            problem = f"shipping to the team store failed ({type(exc).__name__}: {exc})"
        else:
            if self._failing is not None:
                self._say(f"the team store {store.location} is reachable again; shipping resumed")
            self._failing = None
            return True
        if self._failing is None:
            self._say(problem)
        self._failing = problem
        return False
