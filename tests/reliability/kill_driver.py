"""A fork server for kill tests: each round forks a capturing IPython shell and SIGKILLs it.

Run as ``python kill_driver.py STORE_DIR``. The parent imports IPython, pandas,
DuckDB and jupyter_lineage once; each round (``round SEED DELAY`` on stdin) forks a
child that loads the extension (a new session, so a new journal) and runs cells
(captured ones, failing ones, annotations, multi-megabyte sources, and queries
that ingest into DuckDB) until the parent kills it ``DELAY`` seconds in. The
child reports the id of every event as soon as the journal's ``append`` returned;
the parent answers one JSON line: the round and those ids. The store is never
opened by this process, so the test can check it between rounds.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import sys
import time

import duckdb  # noqa: F401  (imported before forking, so children do not pay for it)
import numpy as np
import pandas  # noqa: F401
import pyarrow  # noqa: F401
from IPython.core.interactiveshell import InteractiveShell

import jupyter_lineage.store  # noqa: F401
from jupyter_lineage.journal import JournalWriter


def child(store_dir: str, seed: int, ack_fd: int) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ["JUPYTER_LINEAGE_DIR"] = store_dir
    rng = random.Random(seed)
    real_append = JournalWriter.append

    def append(self: JournalWriter, type_: str, data: dict, **kw: object) -> str:
        event_id = real_append(self, type_, data, **kw)
        if self.pending == 0:  # written, not held
            os.write(ack_fd, event_id.encode() + b"\n")
        return event_id

    JournalWriter.append = append  # type: ignore[method-assign]
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext jupyter_lineage")
    shell.run_cell("import numpy as np\nacc = 0\narr = np.zeros(1000)")
    n = 0
    while True:
        n += 1
        kind = rng.random()
        if kind < 0.55:
            cell = (
                f"%%lineage --name c{n}\nacc += {n}\narr[{n % 1000}] = acc\nd{n % 7} = {{'n': {n}}}"
            )
        elif kind < 0.65:
            cell = f"%%lineage --name fails{n}\nraise ValueError('attempt {n} failed')"
        elif kind < 0.75:
            size = rng.choice([1 << 18, 1 << 20, 3 << 20])
            cell = f"%%lineage --name big{n}\nblob = '{'x' * size}'\nlen(blob)"
        elif kind < 0.85:
            cell = f"%lineage_note --kind note --on LAST note {n} on the last cell"
        elif kind < 0.93:
            cell = "%%lineage\nseen = %lineage_sql SELECT count(*) AS n FROM runs"
        else:
            cell = f"%%lineage\nframe{n % 3} = np.arange({rng.randint(1, 50_000)}) * {n}"
        shell.run_cell(cell, store_history=True)


def main() -> None:
    store_dir = sys.argv[1]
    np.zeros(1)
    for request in sys.stdin:
        parts = request.split()
        if not parts:
            continue
        if parts[0] == "quit":
            return
        seed, delay = int(parts[1]), float(parts[2])
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            try:
                child(store_dir, seed, write_fd)
            finally:
                os._exit(0)
        os.close(write_fd)
        acked: list[str] = []
        buffer = b""
        deadline = time.monotonic() + delay
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([read_fd], [], [], left)
            if ready:
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:
                    break
                buffer += chunk
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        while True:
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            buffer += chunk
        os.close(read_fd)
        lines = buffer.split(b"\n")
        # The last piece may be an id cut by the kill: only whole lines were acknowledged.
        acked = [line.decode() for line in lines[:-1] if line]
        print(json.dumps({"seed": seed, "delay": delay, "acked": acked}), flush=True)


if __name__ == "__main__":
    main()
