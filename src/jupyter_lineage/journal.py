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
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import JournalError
from .events import Event, JournalGap, event_data, event_type
from .redact import may_contain_secret, redact_value

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


# Events held in memory while the journal cannot be written (disk full, store
# directory gone or read-only); beyond this, new events are counted and dropped.
MAX_PENDING_BYTES = 64 << 20


class JournalWriter:
    """Appends events to ``<directory>/<session_id>.jsonl``.

    ``append`` never raises: when the journal cannot be written (a full disk,
    a store directory that is missing, read-only or not a directory) the event
    is kept in memory, in order, and written by the next ``append`` or
    ``flush`` that can; ``error`` says what is wrong meanwhile. Every event's
    strings pass through the redactor (:mod:`jupyter_lineage.redact`) before
    anything is written, and an event that had credentials replaced says so in
    its ``redactions`` list.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        session_id: str,
        *,
        redact: bool = True,
        max_pending_bytes: int = MAX_PENDING_BYTES,
    ) -> None:
        self.directory = Path(directory)
        self.session_id = session_id
        self.path = self.directory / f"{session_id}{JOURNAL_SUFFIX}"
        self.redact = redact
        self.max_pending_bytes = max_pending_bytes
        self.error: OSError | JournalError | None = None
        self.dropped = 0
        self._fd: int | None = None
        self._size = 0
        self._prev = genesis_hash(session_id)
        self._seq = 0
        self._pending: deque[tuple[str, str, str, str, list[str] | None]] = deque()
        self._pending_bytes = 0
        self._gap: JournalGap | None = None
        self._lock = threading.Lock()
        self._sync_wanted = threading.Event()
        self._closed = False
        self._sync_error: OSError | None = None
        with self._lock:
            self._try_open()
        self._syncer = threading.Thread(target=self._sync_loop, name="lineage-fsync", daemon=True)
        self._syncer.start()

    # -- opening -------------------------------------------------------------

    def _try_open(self) -> bool:
        """Open (or reopen) the file and continue its chain; False, with ``error`` set, if not."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            self.error = exc
            return False
        try:
            self._size, self._prev, self._seq = _resume(fd, self.path, self.session_id)
        except (OSError, JournalError) as exc:
            os.close(fd)
            self.error = exc
            return False
        self._fd = fd
        return True

    # -- writing -------------------------------------------------------------

    def append_event(self, event: Event, *, redactions: list[str] | None = None) -> str:
        """Write one event of the catalogue (:mod:`jupyter_lineage.events`); returns its id.

        ``redactions`` lists what the caller already redacted in it (``field:kind``).
        """
        return self.append(event_type(event), event_data(event), redactions=redactions)

    def append(
        self, type_: str, data: dict[str, Any], *, redactions: list[str] | None = None
    ) -> str:
        """Write one event (or hold it until the journal can be written); returns its id.

        ``redactions`` lists what the caller already redacted in ``data``
        (``field:kind``); it is recorded with whatever the redactor finds here.
        """
        event_id = uuid.uuid4().hex
        ts = utc_now()
        body = _dumps(data)
        redactions = list(redactions) if redactions else None
        if self.redact and may_contain_secret(body):
            # Walk the JSON as written, so text that only appears through str() of an
            # object (a Path, a datetime, anything the encoder stringifies) is covered.
            clean, found = redact_value(json.loads(body))
            if found:
                body, redactions = _dumps(clean), [*(redactions or ()), *found]
        with self._lock:
            if self._closed:
                raise JournalError(f"journal {self.path} is closed; reopen it to append")
            size = len(body) + 300
            if self._pending and self._pending_bytes + size > self.max_pending_bytes:
                self._drop(ts)
                return event_id
            self._pending.append((event_id, ts, type_, body, redactions))
            self._pending_bytes += size
            self._write_pending()
        return event_id

    def _drop(self, ts: str) -> None:
        self.dropped += 1
        if self._gap is None:
            self._gap = JournalGap(
                dropped_events=0, first_dropped_at=ts, reason=str(self.error), last_dropped_at=ts
            )
        self._gap.dropped_events += 1
        self._gap.last_dropped_at = ts

    def flush(self) -> bool:
        """Write the events held in memory, if the journal can take them now."""
        with self._lock:
            if not self._closed:
                self._write_pending()
            return not self._pending

    def _write_pending(self) -> None:
        if self._fd is not None and _unlinked(self._fd):
            # The journal (or the whole store) was deleted: start a new file rather
            # than write into one nobody can read (one fstat, about a microsecond).
            os.close(self._fd)
            self._fd = None
        if self._fd is None and not self._try_open():
            return
        if self._gap is not None:
            # Say, in order, that events were dropped while the journal was unwritable.
            gap, self._gap = self._gap, None
            body = _dumps(event_data(gap))
            self._pending.append((uuid.uuid4().hex, utc_now(), event_type(gap), body, None))
        while self._pending:
            event_id, ts, type_, body, redactions = self._pending[0]
            line = _line(
                event_id, self._seq, ts, type_, self.session_id, self._prev, body, redactions
            )
            try:
                self._write_all(line)
            except OSError as exc:
                self.error = exc
                return
            self._prev = hashlib.sha256(line).hexdigest()
            self._seq += 1
            self._pending.popleft()
            self._pending_bytes -= len(body) + 300
        self._pending_bytes = 0
        self.error = None

    def _write_all(self, line: bytes) -> None:
        assert self._fd is not None
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
                # Reopening repairs the file (it cuts a torn last line).
                os.close(self._fd)
                self._fd = None
            raise
        self._size = start + len(line)

    @property
    def pending(self) -> int:
        """Events held in memory, not yet written."""
        return len(self._pending)

    # -- durability ----------------------------------------------------------

    def request_sync(self) -> None:
        """End of a cell: write held events, fsync on the background thread."""
        with self._lock:
            if self._closed:
                return
            if self._pending or self._fd is None:
                self._write_pending()
        self._sync_wanted.set()

    def sync(self) -> None:
        """fsync now, in the caller's thread."""
        with self._lock:
            if self._closed or self._fd is None:
                return
            # fsync a duplicate outside the lock: an fsync takes milliseconds, and
            # holding the lock through it would make the next cell's append wait.
            fd = os.dup(self._fd)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

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

    def close(self) -> int:
        """Write what can be written, fsync and close; returns the events that could not be."""
        with self._lock:
            if self._closed:
                return 0
            self._write_pending()
            lost = len(self._pending)
            if self._fd is not None:
                try:
                    os.fsync(self._fd)
                except OSError:
                    pass
                os.close(self._fd)
                self._fd = None
            self._closed = True
        self._sync_wanted.set()
        return lost


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=_json_default)


def _line(
    event_id: str,
    seq: int,
    ts: str,
    type_: str,
    session: str,
    prev: str,
    body: str,
    redactions: list[str] | None,
) -> bytes:
    """One journal line, the same bytes ``encode_event`` gives for the same event."""
    tail = f',"redactions":{_dumps(redactions)}' if redactions else ""
    return (
        f'{{"v":{FORMAT_VERSION},"id":{_dumps(event_id)},"seq":{seq},"ts":{_dumps(ts)},'
        f'"type":{_dumps(type_)},"session":{_dumps(session)},"prev":{_dumps(prev)},'
        f'"data":{body}{tail}}}\n'
    ).encode("ascii")


def _unlinked(fd: int) -> bool:
    try:
        return os.fstat(fd).st_nlink == 0
    except OSError:
        return True


def _resume(fd: int, path: Path, session_id: str) -> tuple[int, str, int]:
    """(size, prev, seq) to continue an existing journal; cuts a torn last line first.

    A torn last line is what a process killed mid-write leaves; only the same
    session reopening its journal meets it, and the event it held was never
    complete, so cutting it loses nothing that was written.
    """
    size = os.fstat(fd).st_size
    if size == 0:
        return 0, genesis_hash(session_id), 0
    complete = complete_length(path)
    if complete < size:
        os.ftruncate(fd, complete)
        size = complete
    if size == 0:
        return 0, genesis_hash(session_id), 0
    last = _last_line(path, size)
    if last is not None and last.event is not None and isinstance(last.event.get("seq"), int):
        return size, last.line_hash, int(last.event["seq"]) + 1
    # The last line is unreadable: chain onto it, numbering after the last readable one.
    prev, seq = genesis_hash(session_id), 0
    for line in iter_lines(path):
        prev = line.line_hash
        if line.event is not None and isinstance(line.event.get("seq"), int):
            seq = int(line.event["seq"]) + 1
    return size, prev, seq


def _last_line(path: Path, size: int) -> JournalLine | None:
    """The last complete line of a journal, read from its end."""
    back = min(size, 1 << 16)
    with open(path, "rb") as f:
        while True:
            f.seek(size - back)
            tail = f.read(back)
            start = tail.rfind(b"\n", 0, len(tail) - 1)
            if start >= 0 or back == size:
                offset = size - back + start + 1
                for line in iter_lines(path, offset):
                    return line
                return None
            back = min(size, back * 4)


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
    decode = line_decoder()
    for pos, raw, line_hash in iter_raw_lines(path, offset):
        yield decode(pos, raw, line_hash)


def iter_raw_lines(
    path: str | os.PathLike[str], offset: int = 0
) -> Iterator[tuple[int, bytes, str]]:
    """(offset, bytes without the newline, SHA-256 of the line) of each complete line from ``offset`` on."""
    sha256 = hashlib.sha256
    with open(path, "rb") as f:
        f.seek(offset)
        pending = b""
        pos = offset
        while True:
            chunk = f.read(_READ_CHUNK)
            if not chunk:
                return
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for raw in lines:
                digest = sha256(raw)
                digest.update(b"\n")
                yield pos, raw, digest.hexdigest()
                pos += len(raw) + 1


def line_decoder() -> Callable[[int, bytes, str], JournalLine]:
    """A function that makes a ``JournalLine`` of a line's offset, bytes and hash."""
    # msgspec parses a line about three times as fast as the json module, with the same
    # result wherever it succeeds (integers of any size included). What it refuses
    # (NaN, lone surrogates, damage) goes to the json module, whose verdict stands.
    import msgspec

    decode_json = msgspec.json.Decoder().decode

    def decode(pos: int, raw: bytes, line_hash: str) -> JournalLine:
        try:
            try:
                event = decode_json(raw)
            except msgspec.DecodeError:
                event = json.loads(raw)
            if not isinstance(event, dict) or "id" not in event or "type" not in event:
                raise ValueError("not a journal event")
        except ValueError as exc:
            return JournalLine(pos, line_hash, None, f"unreadable line: {exc}", raw)
        return JournalLine(pos, line_hash, event, None, raw)

    return decode


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


@dataclass(slots=True)
class JournalReport:
    """What one pass over a journal found (for ``jupyter-lineage doctor``)."""

    journal: str
    size: int
    events: int = 0
    unreadable: list[int] = field(default_factory=list)
    torn_bytes: int = 0
    dropped_events: int = 0
    redacted_events: int = 0
    chain: list[ChainProblem] = field(default_factory=list)


def inspect_journal(path: str | os.PathLike[str]) -> JournalReport:
    """Count a journal's events and find its problems: chain, unreadable lines, torn tail, gaps."""
    size = os.path.getsize(path)
    report = JournalReport(Path(path).name, size, torn_bytes=size - complete_length(path))
    report.chain = verify_chain(path)
    for line in iter_lines(path):
        if line.event is None:
            report.unreadable.append(line.offset)
            continue
        report.events += 1
        if line.event.get("redactions"):
            report.redacted_events += 1
        if line.event.get("type") == event_type(JournalGap):
            data = line.event.get("data") or {}
            dropped = data.get("dropped_events") if isinstance(data, dict) else None
            report.dropped_events += dropped if isinstance(dropped, int) else 0
    return report
