"""Files a cell opens, seen through a ``sys.addaudithook`` hook.

The hook sees every ``open`` from Python code, whichever library calls it
(pandas, numpy, pickle, plain ``open``). Audit hooks cannot be removed, so
one hook is installed per process and does nothing unless a tracker is active.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterable

# Parts os.path.normpath would change: ``.``, ``..``, an empty part.
_UNNORMAL = re.compile(r"/\.\.?(?:/|$)|//")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC

_lock = threading.Lock()
_active: list[FileTracker] = []
_installed = False
# Threads of the extension's own (the background file hasher) whose opens are not a cell's.
_quiet = threading.local()


class FileTracker:
    """Collects the paths opened while it is active, with whether each was read or written."""

    def __init__(self, ignore: tuple[str, ...]) -> None:
        self.accesses: dict[str, set[str]] = {}
        self._ignore = ignore

    def __enter__(self) -> FileTracker:
        install()
        with _lock:
            _active.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with _lock:
            if self in _active:
                _active.remove(self)

    def record(self, path: object, mode: object, flags: object) -> None:
        if type(path) is str and path.startswith(self._ignore) and not _UNNORMAL.search(path):
            # The common case, an import reading the interpreter's own files, decided
            # without normalising the path (a path with ``.``, ``..`` or ``//`` parts is).
            return
        if isinstance(path, int):
            return  # an already open file descriptor: its path was seen when it was opened
        try:
            path = os.fsdecode(os.fspath(path))  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return
        if not os.path.isabs(path):
            path = os.path.join(os.getcwd(), path)
        path = os.path.normpath(path)
        if path.startswith(self._ignore) or "__pycache__" in path:
            return
        access = _access_of(mode, flags)
        if _fails(path, mode, flags):
            return
        self.accesses.setdefault(path, set()).add(access)

    def results(self) -> dict[str, str]:
        """Path → ``read``, ``write`` or ``readwrite``."""
        out = {}
        for path, kinds in self.accesses.items():
            if os.path.isdir(path):
                continue
            out[path] = "readwrite" if len(kinds) > 1 or "readwrite" in kinds else next(iter(kinds))
        return out


def _access_of(mode: object, flags: object) -> str:
    # A file opened for reading and writing is a read only if it keeps what it held:
    # ``w+`` and ``O_TRUNC`` empty it first (Pillow saves images with ``w+b``).
    if isinstance(mode, str) and mode:
        if "+" in mode and not any(c in mode for c in "wx"):
            return "readwrite"
        if any(c in mode for c in "wax+"):
            return "write"
        return "read"
    if isinstance(flags, int):
        if flags & os.O_RDWR and not flags & os.O_TRUNC:
            return "readwrite"
        if flags & _WRITE_FLAGS:
            return "write"
    return "read"


def _fails(path: str, mode: object, flags: object) -> bool:
    """Whether an open is bound to fail because what it needs is not there.

    The audit event comes before the open is tried: a probe for a file that does
    not exist (``try: open(...)``, a library looking for an optional config file)
    reads nothing, so it is not recorded.
    """
    creates = (
        any(c in mode for c in "wax")
        if isinstance(mode, str) and mode
        else isinstance(flags, int) and bool(flags & os.O_CREAT)
    )
    if creates:
        return not os.path.isdir(os.path.dirname(path))
    return not os.path.exists(path)


def ignored_prefixes(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Directories whose files are never a cell's data: the interpreter, the OS, the store."""
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots = [os.path.join(os.path.realpath(p), "") for p in prefixes if p]
    roots += [os.path.join(p, "") for p in prefixes if p]
    # ipykernel writes each cell's source to a temp file that tracebacks read back.
    roots.append(os.path.join(tempfile.gettempdir(), f"ipykernel_{os.getpid()}", ""))
    roots += [os.path.join(os.path.realpath(p), "") for p in extra]
    # Libraries' caches (matplotlib's font list, ...): by definition not anyone's data.
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    roots.append(os.path.join(cache, ""))
    return (*roots, "/proc/", "/sys/", "/dev/", "/usr/share/zoneinfo/", "/usr/lib/")


def ignore_this_thread() -> None:
    """Never record the files the calling thread opens."""
    _quiet.active = True


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event != "open" or not _active or getattr(_quiet, "active", False):
        return
    try:
        path, mode, flags = args
        for tracker in tuple(_active):
            tracker.record(path, mode, flags)
    except Exception:  # an audit hook must never raise into user code
        pass


def install() -> None:
    """Install the process-wide audit hook once."""
    global _installed
    with _lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True
