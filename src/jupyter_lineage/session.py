"""A session: the journal events are written to, who writes them, and the one way to the store.

Every process that records anything has a session: a kernel (the capture layer attaches its
session to the shell), a script, the CLI, or the Jupyter server (one session per store it
writes to). A session owns its journal writer, its author, its store directory and team-store
URL, the shipping of its events to that team store, and :meth:`Session.store`, the store every
reader in that process uses, so what one face of the tool shows, every other face shows too.

This module sits below the features (annotations, registry, graph, cards, reproduce) and above
the journal and the store; it never imports the capture layer. What only a kernel knows (the
executions of this kernel session, the cell running now, the user's variables) reaches it
through the :class:`KernelContext` the capture layer installs.
"""

from __future__ import annotations

import atexit
import getpass
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .config import (
    JOURNAL_DIR_NAME,
    notebook_key_from_env,
    notebook_path_from_env,
    resolve_store_dir,
    team_store_url,
)
from .errors import LineageError, UsageError, describe, or_none
from .events import Event, Forget, SessionStart
from .ids import is_execution_id
from .journal import JournalWriter, utc_now
from .records import OpenExperiment, RecentExecution
from .version import __version__

if TYPE_CHECKING:
    from .store import Store
    from .store.shipping import Shipper

# The attribute of an IPython shell that holds its session (set by ``%load_ext``).
SHELL_ATTR = "_jupyter_lineage_session"


class KernelContext(Protocol):
    """What a kernel's capture layer tells its session about the running notebook."""

    value_budget_s: float

    @property
    def recent(self) -> Sequence[RecentExecution]:
        """The executions captured in this kernel session, oldest first."""
        ...

    @property
    def current_execution_id(self) -> str | None:
        """The execution running now, else the last one captured."""
        ...

    @property
    def user_ns(self) -> dict[str, Any]:
        """The user's namespace."""
        ...


class Session:
    """One journal's writer, its author and store, shipping, and the way to the store."""

    def __init__(
        self,
        store_dir: str | os.PathLike[str] | None = None,
        *,
        ships_in_background: bool = False,
        lock_timeout_s: float | None = None,
    ) -> None:
        self.session_id = uuid.uuid4().hex
        self.notebook_path = notebook_path_from_env()
        # The notebook's name on every machine (config.notebook_key), for the sidebar of a
        # team store to find teammates' runs of it.
        self.notebook_key: str | None = or_none(notebook_key_from_env)
        self.store_dir = resolve_store_dir(store_dir, self.notebook_path)
        # A kernel's session ships new events to the team store on a thread a moment after each
        # cell; the CLI and scripts ship when they read (every query syncs first) or with `sync`.
        self.ships_in_background = ships_in_background
        self.kernel: KernelContext | None = None
        self.experiment: OpenExperiment | None = None
        self.annotation_ids: dict[str, str] = {}  # annotation id → thread id, this session
        # The team store, as set by %lineage_config: "" is the local store only, None the
        # configured one (JUPYTER_LINEAGE_STORE, or .lineage/config.toml).
        self.store_url: str | None = None
        self._warned: set[str] = set()
        self._configured_url = self._read_store_url()
        self._journal: JournalWriter | None = None
        self._journal_problem: str | None = None
        self._author: str | None = None
        self._shipper: Shipper | None = None
        self._stores: dict[tuple[str, str | None], Store] = {}
        # How long a read waits for another process's hold on the DuckDB file (None: the default).
        self._store_options = {} if lock_timeout_s is None else {"lock_timeout_s": lock_timeout_s}

    # -- where events go -------------------------------------------------------

    def set_store_dir(self, store_dir: str | os.PathLike[str]) -> None:
        """Send future events to another store (a new journal there, same session)."""
        self.close()
        self.store_dir = resolve_store_dir(store_dir)
        self._journal_problem = None
        self._configured_url = self._read_store_url()

    @property
    def team_store_url(self) -> str | None:
        """The team store this session's events are shipped to and read from, or None."""
        if self.store_url is not None:
            return self.store_url or None
        return self._configured_url

    def _read_store_url(self) -> str | None:
        try:
            return team_store_url(self.store_dir)
        except LineageError as exc:
            self.warn_once("team-store-config", f"{exc}; events stay in the local store")
            return None

    def store(self) -> Store:
        """The store this session reads: the team store when one is configured, else the local
        DuckDB file. One object per store, so ingests stay incremental."""
        from .store import store_for

        self.flush()
        key = (str(self.store_dir), self.team_store_url)
        store = self._stores.get(key)
        if store is None:
            store = self._stores[key] = store_for(
                self.store_dir, url=key[1] or "", **self._store_options
            )
        return store

    @property
    def has_journals(self) -> bool:
        """Whether anything was recorded in this session's store yet (a query would find rows)."""
        return (self.store_dir / JOURNAL_DIR_NAME).is_dir() or self.team_store_url is not None

    # -- the journal -----------------------------------------------------------

    @property
    def journal_path(self) -> Path | None:
        return self._journal.path if self._journal else None

    def journal(self) -> JournalWriter:
        """The session's journal; it holds events in memory while it cannot be written."""
        if self._journal is None:
            self._journal = JournalWriter(self.store_dir / JOURNAL_DIR_NAME, self.session_id)
            self._journal.append_event(
                SessionStart(
                    pid=os.getpid(),
                    user=or_none(getpass.getuser),
                    hostname=or_none(socket.gethostname),
                    notebook_path=self.notebook_path,
                    notebook_key=self.notebook_key,
                    author=or_none(lambda: self.author),
                    working_dir=or_none(os.getcwd),
                    lineage_version=__version__,
                    ipython_version=_ipython_version(),
                )
            )
        return self._journal

    def emit(self, event: Event) -> str:
        """Append one event of the catalogue (:mod:`jupyter_lineage.events`) to this session's
        journal; returns its id.

        Its strings pass through the redactor on the way (``JournalWriter.append``).
        """
        journal = self.journal()
        event_id = journal.append_event(event)
        self.check_journal(journal)
        self.ship()
        return event_id

    def flush(self) -> None:
        """Write the events the journal holds in memory, if it can take them now (before a query)."""
        if self._journal is not None and self._journal.pending:
            self._journal.flush()
            self.check_journal(self._journal)

    def forget(self, execution_id: str, reason: str | None = None) -> str:
        """Record that an execution's texts must no longer be shown (a ``forget`` event).

        The journal is append-only, so the original event stays in its file; the
        store hides the execution's source, error text, value summaries, shell commands
        and the texts of annotations on it from every view.
        """
        if not isinstance(execution_id, str) or not is_execution_id(execution_id):
            raise UsageError(
                f"execution id {execution_id!r} is not one; see SELECT execution_id FROM runs"
            )
        return self.emit(Forget(execution_id=execution_id, reason=reason, forgotten_at=utc_now()))

    def check_journal(self, journal: JournalWriter) -> None:
        """Report a journal that cannot be written once, and say so when it can be again."""
        error = journal.error
        if error is None:
            if self._journal_problem is not None:
                self._journal_problem = None
                dropped = f"; {journal.dropped} event(s) were dropped" if journal.dropped else ""
                self.say(f"capture resumed: the journal {journal.path} is writable again{dropped}")
            return
        problem = f"{type(error).__name__}:{getattr(error, 'errno', '')}"
        if problem == self._journal_problem:
            return
        self._journal_problem = problem
        self.say(
            f"cannot write the journal {journal.path} ({describe(error)}); events are held in "
            "memory and written when it can be, and cells run as usual"
        )

    # -- shipping to a team store -------------------------------------------------

    def ship(self) -> None:
        """Wake the shipping thread (started on first use) when this session ships in the
        background and a team store is configured."""
        url = self.team_store_url if self.ships_in_background else None
        if url is None:
            if self._shipper is not None:
                self._shipper.cancel()
                self._shipper = None
            return
        if self._shipper is None or self._shipper.url != url:
            if self._shipper is not None:
                self._shipper.cancel()
            from .store.shipping import Shipper

            self._shipper = Shipper(url, self.store_dir, self.say)
            # At exit, what the last cells captured is shipped (within a few seconds).
            atexit.register(self._shipper.close, 5.0)
        self._shipper.poke()

    def wait_shipped(self, timeout: float = 30.0) -> bool:
        """Block until what was recorded so far reached the team store (True) or failed to."""
        self.flush()
        if self._shipper is None:
            return True
        self._shipper.poke()
        return self._shipper.wait_idle(timeout)

    # -- who -------------------------------------------------------------------

    @property
    def author(self) -> str:
        """Who annotates: ``JUPYTER_LINEAGE_AUTHOR``, else git's user.email, else user@host."""
        if self._author is None:
            self._author = (
                os.environ.get("JUPYTER_LINEAGE_AUTHOR")
                or _git_email()
                or (
                    f"{or_none(getpass.getuser) or 'unknown'}@{or_none(socket.gethostname) or 'localhost'}"
                )
            )
        return self._author

    # -- the kernel's facts ------------------------------------------------------

    def resolve_execution(self, spec: str) -> str:
        """The execution ``spec`` names: ``LAST``, an id, or a unique prefix of one."""
        from .store.base import resolve_execution

        if spec.upper() == "LAST":
            if not self.recent:
                raise UsageError("no captured execution in this kernel session yet (LAST)")
            return self.recent[-1].execution_id
        known = [r.execution_id for r in self.recent]
        store = self.store() if self.has_journals else None
        return resolve_execution(store, spec, known=known)

    @property
    def recent(self) -> Sequence[RecentExecution]:
        """The executions captured in this kernel session (none outside a kernel)."""
        return self.kernel.recent if self.kernel is not None else ()

    @property
    def current_execution_id(self) -> str | None:
        """The execution running now, else the last one captured (None outside a kernel)."""
        return self.kernel.current_execution_id if self.kernel is not None else None

    # -- reporting ---------------------------------------------------------------

    def warn_once(self, key: str, message: str) -> None:
        """Print a one-line warning the first time a kind of problem happens."""
        if key in self._warned:
            return
        self._warned.add(key)
        self.say(message)

    def say(self, message: str) -> None:
        try:
            print(f"jupyter-lineage: {message}", file=sys.stderr)
        except Exception:
            pass

    def close(self) -> None:
        """Write what is held, close the journal and stop shipping (after a last try)."""
        if self._journal is not None:
            lost = self._journal.close()
            if lost:
                self.say(f"{lost} event(s) could not be written to {self._journal.path}")
            self._journal = None
        if self._shipper is not None:
            self._shipper.close(timeout=5.0)
            self._shipper = None


# -- the current session ---------------------------------------------------------------

_process_session: Session | None = None


def current_session() -> Session:
    """The session of the running IPython kernel, or one for this process outside IPython.

    Outside IPython (scripts, the CLI), events go to a journal of their own in the
    store named by ``JUPYTER_LINEAGE_DIR`` (or ``./.lineage``).
    """
    global _process_session
    # A running shell has imported IPython: a process that has not (the CLI, a script)
    # is spared importing it just to learn that there is none.
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    if shell is not None:
        session = getattr(shell, SHELL_ATTR, None)
        if session is None:
            raise UsageError(
                "jupyter-lineage is not loaded in this kernel; run %load_ext jupyter_lineage first"
            )
        return session  # type: ignore[no-any-return]
    if _process_session is None:
        _process_session = Session()
    return _process_session


def current_store() -> Store:
    """The store of the current session (``current_session().store()``)."""
    return current_session().store()


def store_at(store_dir: str | os.PathLike[str] | None) -> Store:
    """The store a session in ``store_dir`` reads: its configured team store, else the local
    file (``None``: the current session's store)."""
    if store_dir is None:
        return current_store()
    from .store import open_store

    return open_store(store_dir)


def use_store(store_dir: str | os.PathLike[str] | None) -> Session:
    """Make this process's session write to and read from ``store_dir`` (the CLI's ``--store``)."""
    global _process_session
    if _process_session is not None:
        _process_session.close()
    _process_session = Session(store_dir)
    return _process_session


_store_sessions: dict[str, Session] = {}


def session_in(
    store_dir: str | os.PathLike[str], *, lock_timeout_s: float | None = None
) -> Session:
    """This process's session for ``store_dir``, kept for the process's life.

    For a long-lived process serving several stores (the Jupyter server): each store
    keeps one session, so its journal stays one file however many requests write to
    it, and one store object, so ingests stay incremental.
    """
    key = str(Path(store_dir).expanduser().resolve())
    session = _store_sessions.get(key)
    if session is None:
        session = _store_sessions[key] = Session(key, lock_timeout_s=lock_timeout_s)
    return session


@contextmanager
def session_for_store(store_dir: str | os.PathLike[str]) -> Iterator[Session]:
    """Within the block, this process's session is :func:`session_in` ``store_dir``, and the
    process's own session is back in place after it. Not for concurrent use: callers run
    these blocks one at a time."""
    global _process_session
    session = session_in(store_dir)
    previous, _process_session = _process_session, session
    try:
        yield session
    finally:
        _process_session = previous


# -- small helpers -----------------------------------------------------------------------


def _git_email() -> str | None:
    try:
        out = subprocess.run(
            ["git", "config", "user.email"], capture_output=True, text=True, timeout=2, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _ipython_version() -> str | None:
    module = sys.modules.get("IPython")
    version = getattr(module, "__version__", None)
    return version if isinstance(version, str) else None
