"""A file's SHA-256, streamed: the one way the record hashes a file's bytes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

CHUNK_BYTES = 1 << 20


def sha256_file(
    path: str | os.PathLike[str], *, progress: Callable[[int], object] | None = None
) -> tuple[str, int]:
    """The SHA-256 hex digest and size in bytes of a file, read in a stream.

    ``progress`` is called with the size of each chunk read (for a progress bar);
    without it, ``hashlib.file_digest`` reads the file in C.
    """
    with open(path, "rb", buffering=0) as f:
        if progress is None:
            digest = hashlib.file_digest(f, "sha256")
            return digest.hexdigest(), f.tell()
        digest = hashlib.sha256()
        buffer = bytearray(CHUNK_BYTES)
        view = memoryview(buffer)
        size = 0
        while n := f.readinto(buffer):
            digest.update(view[:n])
            size += n
            progress(n)
        return digest.hexdigest(), size
