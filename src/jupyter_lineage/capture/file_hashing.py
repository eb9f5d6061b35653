"""SHA-256 of large files a cell wrote, computed after the cell has returned.

SHA-256 runs at about 1.6 GB/s here, so hashing a 1 GB checkpoint inline would make
the cell that saved it wait more than half a second longer than without capture.
A file a cell wrote that is at least :data:`DEFER_BYTES` long is hashed on a
background thread instead: the cell's record says so in its ``note``, and a
``file_hashed`` event completes it when the hash is known, saying when. The file's
size, modification time and inode are compared before and after hashing, so a file
changed meanwhile is reported as changed, never given the hash of other content.
A later cell that reads the same file while its hash is still being computed shares
that computation instead of hashing the file again.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..hashing import sha256_file
from . import files

# Below this, hashing inline costs less than 40 ms: not worth a record completed later.
DEFER_BYTES = 64 << 20
NOTE_PENDING = "SHA-256 computed after the cell (a file_hashed event completes this record)"

FileKey = tuple[str, int, int, int]  # path, size, mtime_ns, inode


def file_key(path: str, st: os.stat_result) -> FileKey:
    """What identifies one version of a file without reading it."""
    return (path, st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass(frozen=True, slots=True)
class HashJob:
    """One file record waiting for its hash."""

    execution_id: str
    path: str
    key: FileKey


# (job, sha256 or None, note when there is no hash)
Done = Callable[[HashJob, "str | None", "str | None"], None]


class DeferredHasher:
    """One background thread hashing files in the order they were submitted."""

    def __init__(self, done: Done) -> None:
        self._done = done
        self._queue: queue.Queue[FileKey | None] = queue.Queue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._waiting: dict[FileKey, list[HashJob]] = {}
        self._thread: threading.Thread | None = None

    def pending(self, key: FileKey) -> bool:
        """Whether this version of a file is waiting to be hashed."""
        with self._lock:
            return key in self._waiting

    def submit(self, job: HashJob) -> None:
        """Hash ``job.path`` later and report it through ``done``; one computation per file version."""
        with self._lock:
            jobs = self._waiting.get(job.key)
            if jobs is not None:
                jobs.append(job)
                return
            self._waiting[job.key] = [job]
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="lineage-file-hash", daemon=True
                )
                self._thread.start()
        self._queue.put(job.key)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted file is hashed; False if ``timeout`` ran out first."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._waiting, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Finish the files already submitted (up to ``timeout``), then stop the thread."""
        finished = self.wait(timeout)
        self._queue.put(None)
        return finished

    def _run(self) -> None:
        files.ignore_this_thread()  # its own opens are not the running cell's reads
        while True:
            key = self._queue.get()
            if key is None:
                return
            digest, note = _hash(key)
            with self._lock:
                jobs = self._waiting.pop(key, [])
            for job in jobs:
                try:
                    self._done(job, digest, note)
                except Exception:
                    pass  # reporting is the recorder's; a failure there must not stop the thread
            with self._idle:
                self._idle.notify_all()


def _hash(key: FileKey) -> tuple[str | None, str | None]:
    """The file's SHA-256 if it is still the version ``key`` names before and after reading it."""
    path = key[0]
    try:
        if file_key(path, os.stat(path)) != key:
            return None, "changed after the cell, before it could be hashed"
        digest, _ = sha256_file(path)
        if file_key(path, os.stat(path)) != key:
            return None, "changed while it was being hashed after the cell"
    except FileNotFoundError:
        return None, "gone after the cell, before it could be hashed"
    except OSError as exc:
        return None, f"not hashed: {type(exc).__name__}: {exc}"[:200]
    return digest, None
