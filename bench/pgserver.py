"""A throwaway PostgreSQL server: initdb into a temporary directory, started on a free port.

PostgreSQL refuses to run as root, so as root the server runs as ``nobody``.
Used by the team store benchmark and the team store tests.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server programs are not installed."""


def bin_dir() -> Path:
    """The newest installed PostgreSQL's ``bin`` directory (Debian's layout, else PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable(
        "PostgreSQL is not installed (no initdb): `apt-get install -y postgresql`"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    bin_dir: Path
    base: Path
    port: int

    @classmethod
    def create(cls) -> PostgresServer:
        """initdb a new cluster (user ``lineage``, trust on loopback) and start it."""
        programs = bin_dir()
        base = Path(tempfile.mkdtemp(prefix="jl-pg-"))
        base.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(base, "nobody")
        server = cls(programs, base, free_port())
        done = server._run(
            str(programs / "initdb"), "-D", str(server.data), "-U", "lineage",
            "--auth=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stdout}{done.stderr}")
        server.start()
        return server

    @property
    def data(self) -> Path:
        return self.base / "data"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*prefix, *args], capture_output=True, text=True, timeout=120, check=False
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        )
        done = self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.base / "server.log"), "-w", "start",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stdout}{done.stderr}{self.log()}")

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def log(self) -> str:
        try:
            return (self.base / "server.log").read_text()
        except OSError:
            return ""

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://lineage@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        """A new, empty database; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}")
        return self.url(name)
