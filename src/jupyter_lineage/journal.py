"""The per-kernel, append-only, hash-chained event journal.

This is the only writer on the capture path. Each event is one JSON line,
written with one unbuffered ``os.write`` as it happens, so a killed kernel
loses nothing already written. Each line carries the SHA-256 of the line
before it (``prev``), so editing, deleting or reordering lines is detectable.
``fsync`` runs on a background thread at the end of each cell, so a power loss
costs at most the cell in flight and the cell never waits for the disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import JournalError

FORMAT_VERSION = 1
JOURNAL_SUFFIX = ".jsonl"
_READ_CHUNK = 16 << 20


def genesis_hash(session_id: str) -> str:
    """The ``prev`` of a journal's first line: ties the chain to its session."""
    return hashlib.sha256(f"jupyter-lineage journal {session_id}".encode()).hexdigest()


def utc_now() -> str:
    """The current time as ISO-8601 UTC with microseconds."""
    return datetime.now(timezone.utc).isoformat()


def _json_default(obj: object) -> object:
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def encode_event(event: dict[str, Any]) -> bytes:
    """One journal line. ASCII-only JSON: lone surrogates and NUL survive as escapes."""
    return (
        json.dumps(event, ensure_ascii=True, separators=(",", ":"), default=_json_default) + "\n"
    ).encode("ascii")


class JournalWriter:
    """Appends events to ``<directory>/<session_id>.jsonl``."""

    def __init__(self, directory: str | os.PathLike[str], session_id: str) -> None:
        self.directory = Path(directory)
        self.session_id = session_id
        self.path = self.directory / f"{session_id}{JOURNAL_SUFFIX}"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = os.fstat(self._fd).st_size
        self._prev, self._seq = self._resume()
        self._lock = threading.Lock()
        self._sync_wanted = threading.Event()
        self._closed = False
        self._sync_error: OSError | None = None
        self._syncer = threading.Thread(target=self._sync_loop, name="lineage-fsync", daemon=True)
        self._syncer.start()

    def _resume(self) -> tuple[str, int]:
        """Continue the chain of an existing journal (same session id reopened)."""
        if self._size == 0:
            return genesis_hash(self.session_id), 0
        last = None
        for line in iter_lines(self.path):
            last = line
        if last is None or last.event is None:
            raise JournalError(f"cannot append to {self.path}: its last line is unreadable")
        return last.line_hash, int(last.event["seq"]) + 1

    def append(self, type_: str, data: dict[str, Any]) -> str:
        """Write one event; returns its id. Raises OSError when the disk refuses it."""
        event_id = uuid.uuid4().hex
        with self._lock:
            line = encode_event(
                {
                    "v": FORMAT_VERSION,
                    "id": event_id,
                    "seq": self._seq,
                    "ts": utc_now(),
                    "type": type_,
                    "session": self.session_id,
                    "prev": self._prev,
                    "data": data,
                }
            )
            self._write_all(line)
            self._prev = hashlib.sha256(line).hexdigest()
            self._seq += 1
        return event_id

    def _write_all(self, line: bytes) -> None:
        start = self._size
        view = memoryview(line)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError:
            # Never leave half a line behind: the next event would be glued to it.
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                pass
            raise
        self._size = start + len(line)

    def request_sync(self) -> None:
        """Ask the background thread to fsync (called at the end of each cell)."""
        self._sync_wanted.set()

    def sync(self) -> None:
        """fsync now, in the caller's thread."""
        with self._lock:
            if not self._closed:
                os.fsync(self._fd)

    def _sync_loop(self) -> None:
        while True:
            self._sync_wanted.wait()
            self._sync_wanted.clear()
            if self._closed:
                return
            try:
                self.sync()
            except OSError as exc:
                self._sync_error = exc

    def take_sync_error(self) -> OSError | None:
        """The last fsync failure, if any (reported once)."""
        err, self._sync_error = self._sync_error, None
        return err

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                os.fsync(self._fd)
            except OSError:
                pass
            os.close(self._fd)
            self._closed = True
        self._sync_wanted.set()


@dataclass(slots=True)
class JournalLine:
    """One complete line of a journal: its bytes' hash, where it starts, and the event."""

    offset: int
    line_hash: str
    event: dict[str, Any] | None
    error: str | None = None
    raw: bytes = b""


def iter_lines(path: str | os.PathLike[str], offset: int = 0) -> Iterator[JournalLine]:
    """Complete lines from ``offset`` on. A torn last line (no newline yet) is not yielded."""
    with open(path, "rb") as f:
        f.seek(offset)
        pending = b""
        pos = offset
        while True:
            chunk = f.read(_READ_CHUNK)
            if not chunk:
                return
            data = pending + chunk
            end = data.rfind(b"\n")
            if end < 0:
                pending = data
                continue
            complete, pending = data[: end + 1], data[end + 1 :]
            start = 0
            while start < len(complete):
                nl = complete.index(b"\n", start)
                raw = complete[start:nl]
                line_hash = hashlib.sha256(complete[start : nl + 1]).hexdigest()
                try:
                    event = json.loads(raw)
                    if not isinstance(event, dict) or "id" not in event or "type" not in event:
                        raise ValueError("not a journal event")
                    yield JournalLine(pos + start, line_hash, event, raw=raw)
                except ValueError as exc:
                    yield JournalLine(pos + start, line_hash, None, f"unreadable line: {exc}", raw)
                start = nl + 1
            pos += len(complete)


def complete_length(path: str | os.PathLike[str]) -> int:
    """Byte length of the journal up to and including its last newline."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        back = min(size, 1 << 20)
        while back:
            f.seek(size - back)
            tail = f.read(back)
            nl = tail.rfind(b"\n")
            if nl >= 0:
                return size - back + nl + 1
            if back == size:
                return 0
            back = min(size, back * 2)
    return 0


def journal_files(directory: str | os.PathLike[str]) -> list[Path]:
    """Every journal in a store's journal directory, oldest first."""
    d = Path(directory)
    if not d.is_dir():
        return []
    return sorted(d.glob(f"*{JOURNAL_SUFFIX}"), key=lambda p: (p.stat().st_mtime_ns, p.name))


@dataclass(slots=True)
class ChainProblem:
    journal: str
    offset: int
    problem: str


def verify_chain(path: str | os.PathLike[str]) -> list[ChainProblem]:
    """Check a journal's hash chain; returns the problems found (empty when intact)."""
    problems: list[ChainProblem] = []
    name = Path(path).name
    session = Path(path).name[: -len(JOURNAL_SUFFIX)]
    expected_prev = genesis_hash(session)
    expected_seq = 0
    for line in iter_lines(path):
        if line.event is None:
            problems.append(ChainProblem(name, line.offset, line.error or "unreadable line"))
            expected_prev = line.line_hash
            continue
        if line.event.get("prev") != expected_prev:
            problems.append(
                ChainProblem(
                    name,
                    line.offset,
                    "hash chain broken: a line before it was changed, removed or reordered",
                )
            )
        if line.event.get("seq") != expected_seq:
            problems.append(
                ChainProblem(
                    name,
                    line.offset,
                    f"sequence number {line.event.get('seq')} where {expected_seq} was expected",
                )
            )
        expected_prev = line.line_hash
        seq = line.event.get("seq")
        expected_seq = (seq if isinstance(seq, int) else expected_seq) + 1
    return problems
