"""Large files a cell writes are hashed after the cell returns, and their records completed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from jupyter_lineage.capture import file_hashing
from jupyter_lineage.capture.file_hashing import DeferredHasher, HashJob, file_key
from jupyter_lineage.store import DuckDBStore

SCRIPT = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "jupyter_lineage")
cells = [
    "%lineage on",
    "big = bytes(range(256)) * (70 * 4096)",  # 70 MiB: above the size hashed after the cell
    "open('big.bin', 'wb').write(big);",
    "open('small.bin', 'wb').write(b'x' * 1000);",
    "n = len(open('big.bin', 'rb').read())",   # reads it back, maybe while it is being hashed
]
for cell in cells:
    assert shell.run_cell(cell, store_history=True).success, cell
recorder = shell._jupyter_lineage_recorder
recorder.close()   # waits for the hashes
print(json.dumps({"captured": recorder.captured_count}))
"""


def test_a_large_written_file_is_hashed_after_the_cell(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    env = {**os.environ, "JUPYTER_LINEAGE_DIR": str(store_dir)}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1])["captured"] == 4, out.stderr
    big = hashlib.sha256((tmp_path / "big.bin").read_bytes()).hexdigest()
    small = hashlib.sha256((tmp_path / "small.bin").read_bytes()).hexdigest()
    rows = (
        DuckDBStore(store_dir)
        .query("SELECT path, access, size, sha256, note FROM files ORDER BY started_at")
        .to_dict("records")
    )
    by_access = {(Path(r["path"]).name, r["access"]): r for r in rows}
    written = by_access[("big.bin", "write")]
    assert written["sha256"] == big and written["size"] == 70 * 4096 * 256
    assert written["note"].startswith("SHA-256 computed after the cell, at ")
    assert by_access[("big.bin", "read")]["sha256"] == big
    small_row = by_access[("small.bin", "write")]
    assert small_row["sha256"] == small and not isinstance(small_row["note"], str)


def test_a_file_changed_before_it_is_hashed_gets_no_hash(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * 100)
    key = file_key(str(path), path.stat())
    results: list[tuple[str | None, str | None]] = []
    done = threading.Event()
    gate = threading.Event()
    real_hash = file_hashing._hash

    def slow_hash(k: file_hashing.FileKey) -> tuple[str | None, str | None]:
        gate.wait(30)
        return real_hash(k)

    def record(job: HashJob, digest: str | None, note: str | None) -> None:
        results.append((digest, note))
        done.set()

    file_hashing._hash = slow_hash  # type: ignore[assignment]
    try:
        hasher = DeferredHasher(record)
        hasher.submit(HashJob("e" * 32, str(path), key))
        assert hasher.pending(key)
        path.write_bytes(b"b" * 200)  # the next cell rewrites it
        gate.set()
        assert done.wait(30) and hasher.close(30)
    finally:
        file_hashing._hash = real_hash  # type: ignore[assignment]
    assert results == [(None, "changed after the cell, before it could be hashed")]
